import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertTestCases, readAlertRules } from '../support/alert-rules.js';
import { readPanelTitles } from '../support/dashboards.js';

// The alerting rules and their promtool unit tests. promtool comes with Debian's `prometheus` package (.ci/run
// installs it); where it is missing these tests are skipped and say so.
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
const promtool = (...args: string[]) => spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
if (!hasPromtool) console.warn('alert-rules.test.ts: promtool not found (apt-get install prometheus); the promtool checks are skipped');

describe('configs/prometheus/alerts.yml', () => {
  const rules = readAlertRules();

  it('when the rules are read, then the six signals of the issue and the pool each have an alert', () => {
    expect(rules.map((rule) => rule.alert).sort()).toEqual(
      ['ConsumerNotConsuming', 'DatabasePoolWaiting', 'DeadLettersArriving', 'OutboxBacklogGrowing', 'OutboxRowsParked', 'ProjectionLagging', 'SagasPastTheirDeadline', 'SagasWaitingLong'].sort(),
    );
  });

  it('when the unit tests are read, then every alert has a case where it fires and one where it stays quiet', () => {
    const cases = alertTestCases();
    for (const rule of rules) expect(cases.get(rule.alert), rule.alert).toEqual({ fires: expect.any(Number), quiet: expect.any(Number) });
    for (const rule of rules) {
      expect(cases.get(rule.alert)!.fires, `${rule.alert} fires`).toBeGreaterThan(0);
      expect(cases.get(rule.alert)!.quiet, `${rule.alert} quiet`).toBeGreaterThan(0);
    }
  });

  it('when the rules name a README section, a dashboard, a panel or an npm script, then it exists', () => {
    const text = readFileSync('configs/prometheus/alerts.yml', 'utf8');
    const headings = new Set(readFileSync('README.md', 'utf8').match(/^#+ .+$/gm)!.map((line) => line.replace(/^#+ /, '')));
    for (const [, section] of text.matchAll(/README, "([^"]+)"/g)) expect(headings.has(section!), `README section "${section}"`).toBe(true);
    const titles = readPanelTitles();
    for (const [, dashboard] of text.matchAll(/"([^"]+)" dashboard/g)) expect(titles.has(dashboard!), `dashboard "${dashboard}"`).toBe(true);
    for (const [, panel, dashboard] of text.matchAll(/"([^"]+)" on the "([^"]+)" dashboard/g)) expect(titles.get(dashboard!)?.has(panel!), `"${panel}" on "${dashboard}"`).toBe(true);
    const scripts = Object.keys((JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: object }).scripts);
    for (const [, script] of text.matchAll(/npm run ([\w-]+)/g)) expect(scripts, `npm run ${script}`).toContain(script);
  });

  it('when Prometheus is configured, then it loads the rules file (prometheus.yml and docker-compose.yml)', () => {
    expect(readFileSync('configs/prometheus/prometheus.yml', 'utf8')).toMatch(/rule_files:\s*\n\s*- \/etc\/prometheus\/alerts\.yml/);
    expect(readFileSync('docker-compose.yml', 'utf8')).toContain('./configs/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
  });

  it.skipIf(!hasPromtool)('when promtool checks the rules, then they are valid (skipped without promtool)', () => {
    const result = promtool('check', 'rules', 'configs/prometheus/alerts.yml');
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it.skipIf(!hasPromtool)('when promtool runs the unit tests, then every alert fires and stays quiet as the cases say (skipped without promtool)', () => {
    const result = promtool('test', 'rules', 'configs/prometheus/alerts.test.yml');
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS/);
  });
});
