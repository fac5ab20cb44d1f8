import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
  }
  return { idle, total };
}

/**
 * Waits until the machine's CPUs were at least `idleShare` idle for two one-second windows in a row, for at most
 * `maxSeconds`: a step should not measure the previous one's aftermath (PostgreSQL's autovacuum of the rows it
 * wrote, RabbitMQ settling its queues). Returns the seconds waited and the last window's idle share.
 */
export async function waitForQuietMachine(idleShare = 0.85, maxSeconds = 60): Promise<{ waitedSeconds: number; idle: number }> {
  const started = Date.now();
  let quietWindows = 0;
  let idle = 0;
  while (Date.now() - started < maxSeconds * 1000) {
    const before = cpuTimes();
    await sleep(1_000);
    const after = cpuTimes();
    idle = (after.idle - before.idle) / Math.max(1, after.total - before.total);
    quietWindows = idle >= idleShare ? quietWindows + 1 : 0;
    if (quietWindows >= 2) break;
  }
  return { waitedSeconds: Math.round((Date.now() - started) / 1000), idle };
}

/**
 * Writes PostgreSQL's dirty pages out now (CHECKPOINT). The benchmarks before a step write hundreds of thousands
 * of rows; left alone, the checkpointer flushes them spread over the next minutes, and every commit of the next
 * step (the saga round trip has four per order) waits on a disk that is busy with it. The CPUs look idle meanwhile.
 */
export async function checkpointPostgres(serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432'): Promise<number> {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres`, connectionTimeoutMillis: 5_000, statement_timeout: 120_000 });
  const started = Date.now();
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
  return (Date.now() - started) / 1000;
}
