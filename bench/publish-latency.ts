/**
 * Commit-to-publish latency. Orders are created through the real HTTP app at a steady rate (open loop: each
 * request leaves on schedule whether or not earlier ones were answered); a consumer on OrderSaga in this
 * process measures, per order, from the moment its create transaction committed to the message's receipt.
 * The service runs in child processes (bench/support/service-process.ts), in two deployments:
 *   - one process:  roles http+relay together (the default); the relay is woken in-process;
 *   - split:        an http process and a relay process; the relay is woken by LISTEN/NOTIFY.
 * The commit time is taken in the HTTP process right after commit (the outbox signal, in the request's
 * context) on the wall clock with sub-millisecond resolution, and compared with the receipt time here.
 * Also printed: from the event's eventTimeStamp, which is taken before the transaction, so it includes it.
 * Prints figures; never passes or fails. Target: commit -> receipt p50 <= 5 ms, p99 <= 25 ms.
 *
 * Settings by environment: BENCH_RATES (200,500 orders/s), BENCH_SECONDS (10 per rate), BENCH_WARMUP_SECONDS (2),
 * BENCH_DEPLOYMENTS (one-process,split).
 */
import amqp from 'amqplib';
import { createBenchEnvironment, percentile, printLoad, printMachine, round } from './support/bench-env.js';
import { prepareOrderClient, type OrderClient } from './support/http-client.js';
import { wallClockMs } from './support/service-messages.js';
import { spawnService, type ServiceProcess } from './support/spawn-service.js';

const RATES = (process.env.BENCH_RATES ?? '200,500').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const DEPLOYMENTS = (process.env.BENCH_DEPLOYMENTS ?? 'one-process,split').split(',');

printMachine('commit-to-publish latency (HTTP create -> relay -> consumer on OrderSaga)', {
  deployments: DEPLOYMENTS.join(' '),
  rates_per_second: RATES.join(' and '),
  seconds_per_rate: SECONDS,
  warmup_seconds: WARMUP_SECONDS,
  products_per_order: 2,
  wakeup: 'in-process signal + coalesced NOTIFY after commit + 1 s sweep',
});
for (const deployment of DEPLOYMENTS) await measure(deployment);
printLoad('load after');

async function measure(deployment: string): Promise<void> {
  const env = await createBenchEnvironment();
  const processes: ServiceProcess[] = [];
  try {
    const http = await spawnService(env, deployment === 'split' ? 'http' : 'http,relay');
    processes.push(http);
    if (deployment === 'split') processes.push(await spawnService(env, 'relay'));
    const client = await prepareOrderClient(env, http.port!);
    const committedAt = new Map<string, number>();
    http.onCommits((commits) => commits.forEach(([id, at]) => committedAt.set(id, at)));

    const receivedAt = new Map<string, number>();
    const eventAge = new Map<string, number>();
    const consumer = await amqp.connect(env.amqpUrl);
    const channel = await consumer.createChannel();
    await channel.consume(
      'OrderSaga',
      (message) => {
        if (!message) return;
        const now = wallClockMs();
        const id = String(message.properties.headers?.['x-correlation-id']);
        receivedAt.set(id, now);
        eventAge.set(id, now - Date.parse(JSON.parse(message.content.toString()).eventTimeStamp));
      },
      { noAck: true },
    );

    for (const rate of RATES) {
      await runAtRate(client, rate, WARMUP_SECONDS, `warmup-${rate}`);
      http.resetCpu();
      const { ids, seconds } = await runAtRate(client, rate, SECONDS, `run-${rate}`);
      const cpu = await http.cpuSeconds();
      const deadline = Date.now() + 30_000;
      while (ids.some((id) => !receivedAt.has(id) || !committedAt.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const fromCommit = ids.filter((id) => receivedAt.has(id) && committedAt.has(id)).map((id) => receivedAt.get(id)! - committedAt.get(id)!);
      const fromEvent = ids.filter((id) => eventAge.has(id)).map((id) => eventAge.get(id)!);
      console.log(`${deployment}, ${rate}/s: http process cpu ${Math.round((cpu / seconds) * 100)}% of one core while sending`);
      console.log(`${deployment}, ${rate}/s: commit -> receipt ${summary(fromCommit)} (${fromCommit.length} of ${ids.length}; target p50 <= 5, p99 <= 25)`);
      console.log(`${deployment}, ${rate}/s: eventTimeStamp -> receipt ${summary(fromEvent)} (includes the create transaction)`);
    }
    await consumer.close();
    client.close();
  } finally {
    for (const service of processes.reverse()) await service.stop();
    await env.cleanup();
  }
}

/** Sends rate x seconds orders on schedule; resolves with the correlation ids of those answered 204 and the time taken. */
async function runAtRate(client: OrderClient, rate: number, seconds: number, label: string): Promise<{ ids: string[]; seconds: number }> {
  const ids: string[] = [];
  const answers: Promise<number>[] = [];
  const started = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const id = `${label}-${i}`;
    ids.push(id);
    answers.push(client.createOrder(id));
  }
  const statuses = await Promise.all(answers);
  const elapsed = (performance.now() - started) / 1000;
  const achieved = (rate * seconds) / elapsed;
  if (label.startsWith('run')) {
    const failed = statuses.filter((status) => status !== 204).length;
    console.log(`${label.slice(4)}/s: sent ${ids.length} orders, all answered at ${round(achieved, 1)}/s, ${failed} not 204`);
  }
  return { ids: ids.filter((_, index) => statuses[index] === 204), seconds: elapsed };
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${round(percentile(sorted, 50), 2)} ms, p99 ${round(percentile(sorted, 99), 2)} ms, max ${round(sorted.at(-1) ?? NaN, 2)} ms`;
}
