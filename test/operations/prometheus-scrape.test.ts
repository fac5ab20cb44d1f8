import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { readDashboardQueries } from '../support/dashboards.js';
import { eventually, runShortWorkload } from '../support/workload.js';

// Debian's `prometheus` package; where it is not installed (apt-get install prometheus) this file is skipped.
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;

/** Grafana's variables, filled as a person looking at the whole service would. */
function asQuery(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__range|\$\{__range\}/g, '5m')
    .replace(/\$__interval|\$\{__interval\}/g, '5s')
    .replace(/\$\{?quantile\}?/g, '0.95')
    .replace(/\$\{?(instance|route)(:[a-z]+)?\}?/g, '.*');
}

let t: TestService;
let server: Server;
let prometheus: ChildProcess;
let prometheusUrl: string;
let dataDirectory: string;

async function query(expr: string): Promise<unknown[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data!.result;
}

describe.skipIf(!hasPrometheus)('dashboards against a real Prometheus scraping the service', () => {
  beforeAll(async () => {
    t = await startTestService({ SAGA_TIMEOUT: '2s' }, { defaultMetrics: true });
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;

    dataDirectory = await mkdtemp(path.join(tmpdir(), 'prometheus-'));
    const config = path.join(dataDirectory, 'prometheus.yml');
    // The job name is the one the dashboards select on (configs/prometheus/prometheus.yml uses it too).
    await writeFile(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: order-service\n    static_configs:\n      - targets: ['${target}']\n`);
    const port = 19_000 + Math.floor(Math.random() * 1_000);
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${dataDirectory}/data`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    await eventually('Prometheus to start', async () => (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok === true);
    await eventually('the first scrape', async () => (await query('up{job="order-service"} == 1')).length === 1);

    const { userId, stop } = await runShortWorkload(t);
    // A few more seconds of reads, so that rates over the last minute have several scrapes to work with.
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      await t.http.get('/api/v1/orders');
      await t.http.get(`/api/v1/orders/user/${userId}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stop();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
  }, 120_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    server?.close();
    await t?.close();
    if (dataDirectory) await rm(dataDirectory, { recursive: true, force: true });
  });

  it('when every panel query is asked of Prometheus, then each one returns data', async () => {
    const empty: string[] = [];
    for (const panel of readDashboardQueries()) {
      const result = await query(asQuery(panel.expr));
      if (result.length === 0) empty.push(`${panel.dashboard} / ${panel.panel}: ${panel.expr}`);
    }
    expect(empty).toEqual([]);
  });
});
