import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { exportedSampleNames, metricNamesIn, readDashboardQueries } from '../support/dashboards.js';
import { runShortWorkload } from '../support/workload.js';

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

  it('when the dashboards are read, then each of the three has Prometheus queries or a Loki panel', () => {
    expect(new Set(queries.map((q) => q.dashboard))).toEqual(new Set(['Order service', 'Outbox and saga']));
    expect(queries.length).toBeGreaterThan(20);
  });

  it('when every query is parsed, then it names at least one metric', () => {
    for (const query of queries) expect(metricNamesIn(query.expr), `${query.dashboard} / ${query.panel}: ${query.expr}`).not.toEqual([]);
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
