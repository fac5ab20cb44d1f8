import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface AlertRule {
  alert: string;
  expr: string;
}

/** The alerting rules of configs/prometheus/alerts.yml. */
export function readAlertRules(path = 'configs/prometheus/alerts.yml'): AlertRule[] {
  const document = parse(readFileSync(path, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return document.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined);
}

/** For each alert, whether configs/prometheus/alerts.test.yml has a case where it fires and one where it does not. */
export function alertTestCases(path = 'configs/prometheus/alerts.test.yml'): Map<string, { fires: number; quiet: number }> {
  const document = parse(readFileSync(path, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const cases = new Map<string, { fires: number; quiet: number }>();
  for (const test of document.tests) {
    for (const check of test.alert_rule_test) {
      const counts = cases.get(check.alertname) ?? { fires: 0, quiet: 0 };
      if (check.exp_alerts.length > 0) counts.fires++;
      else counts.quiet++;
      cases.set(check.alertname, counts);
    }
  }
  return cases;
}
