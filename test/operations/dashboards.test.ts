import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { exportedSampleNames, metricNamesIn, readDashboardQueries } from '../support/dashboards.js';
import { readAlertRules } from '../support/alert-rules.js';
import { runShortWorkload } from '../support/workload.js';
import { Metrics } from '../../src/platform/observability/metrics.js';

let t: TestService;
let exported: Set<string>;
beforeAll(async () => {
  t = await startTestService({ SAGA_TIMEOUT: '2s' }, { defaultMetrics: true });
  const { stop } = await runShortWorkload(t);
  exported = exportedSampleNames((await t.http.get('/metrics')).text);
  await stop();
});
afterAll(() => t.close());

describe('Grafana dashboards', () => {
  const queries = readDashboardQueries();

  it('when the dashboards are read, then each has Prometheus queries or a Loki panel', () => {
    expect(new Set(queries.map((q) => q.dashboard))).toEqual(new Set(['Order service', 'Outbox and saga', 'Order service alerts']));
    expect(queries.length).toBeGreaterThan(20);
  });

  it('when every query is parsed, then it names at least one metric', () => {
    for (const query of queries) expect(metricNamesIn(query.expr), `${query.dashboard} / ${query.panel}: ${query.expr}`).not.toEqual([]);
  });

  it("when the service's own metrics are listed, then a panel queries each (a histogram through its _bucket, _count or _sum)", () => {
    const queried = new Set(queries.flatMap((query) => metricNamesIn(query.expr)).map((name) => name.replace(/_(bucket|count|sum)$/, '')));
    const own = new Metrics({ defaultMetrics: false }).registry.getMetricsAsArray().map((metric) => metric.name);
    expect(own.filter((name) => !queried.has(name))).toEqual([]);
  });

  it('when the alerting rules are read, then each has a panel of its name that queries every metric its expression reads', () => {
    for (const rule of readAlertRules()) {
      const panel = queries.filter((query) => query.dashboard === 'Order service alerts' && query.panel === rule.alert);
      expect(panel.length, rule.alert).toBeGreaterThan(0);
      const read = new Set(panel.flatMap((query) => metricNamesIn(query.expr)));
      expect(metricNamesIn(rule.expr).filter((name) => !read.has(name)), rule.alert).toEqual([]);
    }
  });

  it('when the service ran a short workload, then every metric an alert reads is exported with samples', () => {
    const missing = readAlertRules().flatMap((rule) => metricNamesIn(rule.expr).filter((name) => !exported.has(name)).map((name) => `${rule.alert}: ${name}`));
    expect(missing).toEqual([]);
  });

  it('when the service ran a short workload, then every metric a panel queries is exported with samples', () => {
    const missing = queries.flatMap((query) =>
      metricNamesIn(query.expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${query.dashboard} / ${query.panel}: ${name}`),
    );
    expect(missing).toEqual([]);
  });
});
