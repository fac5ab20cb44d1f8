/**
 * Capacity of the whole saga chain, the service against a like-for-like floor in the same run: POST -> outbox ->
 * relay -> OrderSaga -> customer-service simulator (approve-all) -> CustomerSaga -> approval transaction -> held
 * rows released -> relay -> Orders -> projector -> the order listed in Redis. The floor does the same durable
 * work bare (bench/support/outbox-floor.ts); each side has its own database, vhost, Redis prefix and simulator.
 *
 * 1. Step load: 50, 100, 150, ... orders/s (open loop), the sides alternating window by window, each until a step
 *    is not sustained. A step is up to BENCH_STEP_WINDOWS windows of BENCH_STEP_SECONDS per side, and sustained
 *    when most of its windows are: a window is when its p95 POST -> listed is within BENCH_P95_BOUND_MS, every
 *    order was answered 204 and listed within 10 s, and the load generator kept the rate. Per window: p95, and the CPU
 *    of every process involved as a share of one core, the machine's busy and iowait share: the first to
 *    saturate is named. Then each side runs one more step halfway between its last sustained step and its first
 *    failed one, so that one step does not decide the rate's ratio alone. The highest sustained rate of each side
 *    is printed.
 * 2. At half the floor's highest rate (BENCH_SECONDS per side, alternating in BENCH_ROUNDS slices, so that the
 *    machine's own changes of speed fall on every side alike): the round trip, and what one order costs: CPU ms
 *    per process group and in all, PostgreSQL transactions, rows written and WAL bytes, statements
 *    (pg_stat_statements, when loaded), RabbitMQ messages (routed through the Orders exchange, counted by a tap),
 *    Redis commands (server-wide).
 * Prints figures and the targets with PASS/MISS; never fails.
 *
 * Settings by environment: BENCH_WARMUP_SECONDS (10 per side at the first step's rate, not measured), BENCH_STEP_START
 * (50), BENCH_STEP (50), BENCH_STEP_MAX (1000), BENCH_STEP_SECONDS (6), BENCH_STEP_WINDOWS (3),
 * BENCH_P95_BOUND_MS (250), BENCH_SECONDS (32 per side at half rate), BENCH_ROUNDS (8), BENCH_SAGA_SPLIT (1: the
 * service's roles in three processes, http | relay | consumers,scheduler, so each role's CPU per order shows),
 * BENCH_BASELINE_REF (a commit, e.g. HEAD~1: its service as a third side, to measure a change against the code
 * before it in the same run; built once in a git worktree under /tmp, see bench/support/main-process.ts),
 * BENCH_FLOOR_IN_ORDER (1: also the floor whose relay cycles keep the service's promise of each order's events in
 * sequence, each row sent from its predecessor's confirm (bench/support/bare-relay.ts); printed as a reference
 * beside the targets, which stay against the one-wave floor. 0 leaves it out).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { median, percentile, printLoad, printMachine, round } from './support/bench-env.js';
import { CapacityTarget, HOPS, sustained, type WindowResult } from './support/capacity-target.js';
import { serviceRuntimeLabel } from './support/main-process.js';
import { totalCpu, type Usage } from './support/resource-meter.js';
import { waitForQuietMachine } from './support/quiet-machine.js';
import type { ThreadSchedule } from './support/proc-stats.js';

const STEP_START = Number(process.env.BENCH_STEP_START ?? 50);
const STEP = Number(process.env.BENCH_STEP ?? 50);
const STEP_MAX = Number(process.env.BENCH_STEP_MAX ?? 1000);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 6);
/** Windows per side and step, of which a majority decides (see step()); 1 decides on one window. */
const STEP_WINDOWS = Number(process.env.BENCH_STEP_WINDOWS ?? 3);
if (!Number.isInteger(STEP_WINDOWS) || STEP_WINDOWS < 1) throw new Error(`BENCH_STEP_WINDOWS must be a whole number of at least 1, not "${process.env.BENCH_STEP_WINDOWS}"`);
/**
 * Each side's warm-up at the first step's rate, before anything is measured: V8 was still compiling the service's
 * code after 3 s (perf: 17% of its samples in compiler and baseline code in the first 8 s window at 50/s, 9% in the
 * third; its CPU per order 10.3 ms in the first window, 8.7 later), and a first step failed for it once.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const P95_BOUND_MS = Number(process.env.BENCH_P95_BOUND_MS ?? 250);
/**
 * The half-rate phase: each side's BENCH_SECONDS in BENCH_ROUNDS alternating slices. The machine's speed drifts
 * over tens of seconds: the service alone at 80/s gave p95 43, 75 and 125 ms in three 16-second rounds in a row,
 * every phase of its relay slower by the same factor (2026-12-04). Two slices of 8 s let one slow spell fall on
 * one side; eight of 4 s spread it over all.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS must be a whole number of at least 1, not "${process.env.BENCH_ROUNDS}"`);
if (!(SECONDS / ROUNDS >= 1)) throw new Error(`BENCH_SECONDS / BENCH_ROUNDS must be at least one second a slice, not ${process.env.BENCH_SECONDS ?? SECONDS} / ${ROUNDS}`);
const SPLIT = process.env.BENCH_SAGA_SPLIT === '1';
/** A commit to measure beside the working tree's service (before/after of a change), as a third side. */
const BASELINE = process.env.BENCH_BASELINE_REF;
/** The order-keeping floor as another side: what the service's ordering promise costs when written bare. */
const FLOOR_IN_ORDER = process.env.BENCH_FLOOR_IN_ORDER === '1';
/**
 * A mean wait for a pooled connection above this means the pool ran out. Measured: 0.1-0.9 ms per transaction at
 * every sustained step of six runs on an AMD EPYC VM (2026-12-03), 5.8-147 ms at their first steps not sustained;
 * on a Xeon VM 2.3 ms at 150/s and 14.2 ms at 200/s, the relay's slots 85% busy at both.
 */
const POOL_WAIT_SATURATED_MS = 5;

printMachine('saga chain capacity (service vs a like-for-like bare outbox chain, same run)', {
  steps: `${STEP_START}, ${STEP_START + STEP}, ... orders/s, each up to ${STEP_WINDOWS} windows of ${STEP_SECONDS} s per side (a majority decides), until p95 POST -> listed > ${P95_BOUND_MS} ms, then one step halfway back, after ${WARMUP_SECONDS} s of warm-up per side`,
  half_rate_window: `${SECONDS} s per side in ${ROUNDS} alternating slices`,
  service: `${serviceRuntimeLabel()}, ${SPLIT ? 'three processes: ROLES=http | relay | consumers,scheduler' : 'ROLES=all'}, default pool and batch sizes`,
  floor: 'bench/support/outbox-floor.ts: raw pg + amqplib + ioredis, one process, outbox with a bare claim-publish-mark relay (one wave of confirms per cycle)',
  floor_in_order: FLOOR_IN_ORDER ? "the same floor, its relay sending each order's next row from its predecessor's confirm (the service's ordering promise)" : 'not run (BENCH_FLOOR_IN_ORDER=1 adds it)',
  simulator: 'customer-sim --rule approve-all, one per side',
});
const targets: CapacityTarget[] = [];
try {
  targets.push(await CapacityTarget.start(SPLIT ? 'service-split' : 'service'), await CapacityTarget.start('floor'));
  if (BASELINE) targets.push(await CapacityTarget.start('baseline'));
  if (FLOOR_IN_ORDER) targets.push(await CapacityTarget.start('floor-in-order'));
  for (const target of targets) await target.window(STEP_START, WARMUP_SECONDS); // JIT, pools, plans
  const highest = await stepLoad(targets);
  const floorHighest = highest.get('floor') ?? 0;
  const halfRate = Math.max(STEP_START, Math.round(floorHighest / 2 / 10) * 10);
  const windows = new Map<CapacityTarget, WindowResult[]>(targets.map((target) => [target, []]));
  const countersBefore = await Promise.all(targets.map((target) => target.meter.snapshot()));
  for (let slice = 0; slice < ROUNDS; slice++) {
    for (const target of targets) windows.get(target)!.push(await target.window(halfRate, SECONDS / ROUNDS));
  }
  // A busy backend reports its counts to pg_stat_database at most once a second, an idle one within 10 s (PG 15):
  // the database's transactions and rows are read over the whole phase, 11 s after its last order.
  await sleep(11_000);
  const counters = await Promise.all(targets.map(async (target, i) => target.meter.usage(countersBefore[i]!, await target.meter.snapshot())));
  console.log(`\n## at half the floor's highest sustained rate: ${halfRate} orders/s, ${SECONDS} s per side`);
  const costs = new Map(targets.map((target, i) => [target.kind, printCost(target, withDatabaseCounters(merge(windows.get(target)!), counters[i]!))]));
  printSlices(windows, targets.find((each) => each.kind === 'floor')!);
  const [service, floor] = [costs.get(SPLIT ? 'service-split' : 'service')!, costs.get('floor')!];
  const serviceHighest = highest.get(targets[0]!.kind) ?? 0;
  console.log(`\n## targets (ratios to the floor in this run)`);
  target('total cpu per order', `${round(service.cpuMs, 2)} ms vs ${round(floor.cpuMs, 2)} ms`, service.cpuMs / floor.cpuMs, '<=', 1.5);
  target('highest sustained rate', `${serviceHighest} vs ${floorHighest} orders/s`, serviceHighest / floorHighest, '>=', 0.7);
  target(`round-trip p95 at ${halfRate}/s`, `${round(service.p95, 1)} ms vs ${round(floor.p95, 1)} ms`, service.p95 / floor.p95, '<=', 2);
  console.log(`service highest sustained rate: ${serviceHighest} orders/s (half: ${Math.round(serviceHighest / 2)}; bench/publish-latency.ts measures commit -> publish there)`);
  const inOrder = costs.get('floor-in-order');
  if (inOrder) {
    const inOrderHighest = highest.get('floor-in-order') ?? 0;
    console.log(`\n## reference: against the floor that keeps each order's events in sequence (not the issue's targets)`);
    console.log(`reference highest sustained rate: ${serviceHighest} vs ${inOrderHighest} orders/s: ${times(serviceHighest, inOrderHighest)} the order-keeping floor (its own: ${times(inOrderHighest, floorHighest)} the one-wave floor)`);
    console.log(`reference round-trip p95 at ${halfRate}/s: ${round(service.p95, 1)} ms vs ${round(inOrder.p95, 1)} ms: ${round(service.p95 / inOrder.p95, 2)}x the order-keeping floor (its own: ${round(inOrder.p95 / floor.p95, 2)}x the one-wave floor)`);
    console.log(`reference cpu per order: ${round(service.cpuMs, 2)} ms vs ${round(inOrder.cpuMs, 2)} ms: ${round(service.cpuMs / inOrder.cpuMs, 2)}x the order-keeping floor`);
  }
  const baseline = costs.get('baseline');
  // The change's before/after compares like with like: one process with every role on both sides.
  if (baseline && !SPLIT) {
    const baselineHighest = highest.get('baseline') ?? 0;
    console.log(`\n## the change: this tree vs ${BASELINE}, same run`);
    console.log(`change: cpu per order ${round(baseline.cpuMs, 2)} -> ${round(service.cpuMs, 2)} ms (${round(service.cpuMs / baseline.cpuMs, 2)}x); highest sustained ${baselineHighest} -> ${serviceHighest} orders/s; p95 at ${halfRate}/s ${round(baseline.p95, 1)} -> ${round(service.p95, 1)} ms`);
  }
  printLoad('load after');
} finally {
  for (const each of targets) await each.stop();
}

/**
 * Steps both sides up, alternating, each until its first step that is not sustained; then each side that failed a
 * step right after a sustained one runs one more step halfway between the two (alternating again), so that one
 * step of BENCH_STEP does not decide the ratio alone (100 against 150 is 0.67x; either may really be 125). Returns
 * each side's highest sustained rate, halfway probe included.
 */
async function stepLoad(all: CapacityTarget[]): Promise<Map<string, number>> {
  console.log(`\n## step load (p50 / p95 / p99 POST -> listed, ms; cpu as % of one core; machine busy and iowait % of ${'all cores'}; a step is up to ${STEP_WINDOWS} windows per side, decided by their majority)`);
  const highest = new Map<string, number>();
  const failedAt = new Map<string, number>();
  const running = new Set(all);
  for (let rate = STEP_START; running.size > 0 && rate <= STEP_MAX; rate += STEP) {
    for (const [target, ok] of await step([...running], rate, '')) {
      if (ok) highest.set(target.kind, rate);
      else {
        running.delete(target);
        failedAt.set(target.kind, rate);
      }
    }
  }
  const stepHighest = new Map(highest);
  for (const target of all) {
    const [below, above] = [highest.get(target.kind), failedAt.get(target.kind)];
    if (below === undefined || above === undefined || above - below < 10) continue;
    const halfway = Math.round((below + above) / 2);
    const [, ok] = (await step([target], halfway, ' (halfway)'))[0]!;
    if (ok) highest.set(target.kind, halfway);
  }
  for (const target of all) {
    const steps = stepHighest.get(target.kind) ?? 0;
    const found = highest.get(target.kind) ?? 0;
    const how = found === steps ? `steps of ${STEP}` : `${steps} at steps of ${STEP}, ${found} halfway to the next`;
    console.log(`highest sustained rate, ${target.label}: ${found} orders/s (p95 <= ${P95_BOUND_MS} ms in a majority of a step's windows; ${how})`);
  }
  return highest;
}

/**
 * One rate for these sides: windows of BENCH_STEP_SECONDS, the sides alternating, until a majority of
 * BENCH_STEP_WINDOWS has decided each side (two of three: a third is run only when the first two disagree). A
 * window that was not sustained is drained, and the machine left to settle (settle()), before the next one starts,
 * of either side, so that no side's window runs beside the other's backlog or its aftermath. On this 2-core VM
 * one six-second window is not a measurement: the same service at 150 orders/s gave p95 171, 213, 175, 408 and
 * 361 ms in five alternating windows (2026-12-03), and the order-keeping floor 118 ms in one run and 1,133 ms in
 * the next.
 */
async function step(targets: CapacityTarget[], rate: number, note: string): Promise<[CapacityTarget, boolean][]> {
  const majority = Math.floor(STEP_WINDOWS / 2) + 1;
  /** Per side: each window's p95, how many were sustained, and the failed window with the highest p95 (for "saturates first"). */
  const votes = new Map(targets.map((target) => [target, { sustained: 0, p95: [] as number[], worst: undefined as { p95: number; result: WindowResult } | undefined }]));
  for (let window = 1; window <= STEP_WINDOWS; window++) {
    for (const [target, vote] of votes) {
      if (vote.sustained >= majority || vote.p95.length - vote.sustained >= majority) continue;
      const result = await target.window(rate, STEP_SECONDS);
      const p95 = percentile(result.visible, 95);
      vote.p95.push(p95);
      if (printStep(target, rate, result, STEP_WINDOWS === 1 ? note : `${note} (window ${window})`)) vote.sustained++;
      else {
        if (!vote.worst || p95 > vote.worst.p95) vote.worst = { p95, result };
        await settle(target);
      }
    }
  }
  return [...votes].map(([target, vote]) => {
    const ok = vote.sustained >= majority;
    const p95s = vote.p95.map((p95) => round(p95, 1)).join(', ');
    console.log(`step ${target.kind} ${rate}/s${note}: ${vote.sustained} of ${vote.p95.length} windows sustained (p95 ${p95s} ms): ${ok ? 'sustained' : 'NOT sustained'}`);
    if (!ok) console.log(`step ${target.kind}: saturates first: ${saturated(vote.worst!.result)}`);
    return [target, ok];
  });
}

/**
 * After a window not sustained: its backlog drained, then two quiet seconds (at most 20 s), so that the next
 * window, of either side, does not run beside the aftermath (autovacuum of the rows the backlog churned, the
 * broker settling its queues). Without the wait, in one run (2026-12-04), each side's first window at the halfway
 * steps came right after another side's drained backlog and was the slowest of its step by far (p95 1,697, 1,045
 * and 1,602 ms; the two windows after each, 178-274 ms).
 */
async function settle(target: CapacityTarget): Promise<void> {
  await target.drained();
  const { waitedSeconds, idle } = await waitForQuietMachine(0.85, 20);
  console.log(`step ${target.kind}: drained; the machine was ${Math.round(idle * 100)}% idle after ${waitedSeconds} s`);
}

/** Prints one window's lines; returns whether the window was sustained. */
function printStep(target: CapacityTarget, rate: number, result: WindowResult, note: string): boolean {
  const ok = sustained(result, P95_BOUND_MS);
  const step = `step ${target.kind} ${rate}/s${note}`;
  console.log(`${step}: ${latencies(result)}, ${result.failed} not 204, ${result.listed} of ${result.sent} listed, sent at ${round(result.sentRate, 1)}/s; ${ok ? 'sustained' : 'NOT sustained'}`);
  console.log(`${step} hops: ${hopLatencies(result)}`);
  console.log(`${step} cpu: ${cpuShares(result.usage)}${relayAndPool(result)}`);
  return ok;
}

function latencies(result: WindowResult): string {
  const [p50, p95, p99] = [50, 95, 99].map((p) => round(percentile(result.visible, p), 1));
  return `p50 ${p50}, p95 ${p95}, p99 ${p99} ms (POST answered p95 ${round(percentile(result.post, 95), 1)} ms)`;
}

/** p50/p95 of each hop of the round trip (see HOPS), ms. */
function hopLatencies(result: WindowResult): string {
  return HOPS.map((hop) => `${hop} ${round(percentile(result.hops[hop], 50), 1)}/${round(percentile(result.hops[hop], 95), 1)}`).join(', ') + ' (p50/p95 ms)';
}

function cpuShares(usage: Usage): string {
  const groups = [...usage.cpu].map(([group, seconds]) => `${group} ${Math.round((seconds / usage.seconds) * 100)}%`);
  return `${groups.join(', ')}; machine busy ${Math.round(usage.machineBusy * 100)}%, iowait ${Math.round(usage.machineIowait * 100)}%${scheduleShares(usage)}`;
}

/**
 * Each node process's event loop, and the PostgreSQL backends together: their share of the window on a core, and
 * waiting for one (runnable, every core taken).
 */
function scheduleShares(usage: Usage): string {
  const shares = [...usage.schedules].map(([group, { ran, waited }]) => `${group} ${percent(ran, usage)} / ${percent(waited, usage)}`);
  return shares.length === 0 ? '' : `; on a core / waiting for one: ${shares.join(', ')}`;
}

function percent(seconds: number, usage: Usage): string {
  return `${Math.round((seconds / usage.seconds) * 100)}%`;
}

/** Of the side's own processes (the service's, or the floor), the event loop that waited longest for a core. */
function mostDelayedLoop(usage: Usage): [string, ThreadSchedule] | undefined {
  return [...usage.schedules].filter(([group]) => /^(service|floor)/.test(group)).sort((a, b) => b[1].waited - a[1].waited)[0];
}

/** The service's relay slots in use and its transactions' wait for a pooled connection over the window (its metrics), for the cpu line; nothing for a floor. */
function relayAndPool({ relayBusy, poolWait }: WindowResult): string {
  const relay = relayBusy === undefined ? '' : `; relay batch slots ${Math.round(relayBusy * 100)}% busy`;
  const pool = poolWait === undefined || poolWait.transactions === 0 ? '' : `; pool wait ${round((poolWait.seconds / poolWait.transactions) * 1000, 2)} ms per transaction`;
  return relay + pool;
}

/**
 * What ran out: a node process (one event loop) near one core, else the machine's cores near full, else the
 * service's database pool (transactions wait for a connection; a relay batch waiting for one counts as a busy
 * slot, so the pool comes before the slots), else the service's relay (its batch slots nearly always busy: rows
 * wait for a slot before their claim), else the disk (iowait), else the cores that every process shares (the
 * side's event loop waited as long for a core as it ran on one: no process fills a core and the machine is not 90%
 * busy, yet the side runs at half speed or less), else nothing on the CPU: then latency came from waiting (locks,
 * the broker, a floor's pool), not from a core.
 */
function saturated({ usage, relayBusy, poolWait }: WindowResult): string {
  const [group, seconds] = [...usage.cpu].sort((a, b) => b[1] - a[1])[0]!;
  const share = seconds / usage.seconds;
  const singleThreaded = /service|floor|simulator|redis/.test(group);
  const waitMs = poolWait && poolWait.transactions > 0 ? (poolWait.seconds / poolWait.transactions) * 1000 : 0;
  const machine = `machine ${Math.round(usage.machineBusy * 100)}% busy`;
  if (singleThreaded && share >= 0.85) return `${group} at ${Math.round(share * 100)}% of one core (a single event loop)`;
  if (usage.machineBusy >= 0.9) return `the machine's CPUs (${Math.round(usage.machineBusy * 100)}% busy; largest: ${group} at ${Math.round(share * 100)}% of one core)`;
  if (waitMs >= POOL_WAIT_SATURATED_MS) return `the database pool (${round(waitMs, 1)} ms wait per transaction for a connection, ${machine}): transactions queue for a connection`;
  if (relayBusy !== undefined && relayBusy >= 0.85) return `the relay's batch slots (${Math.round(relayBusy * 100)}% busy, ${machine}): rows wait for a slot`;
  if (usage.machineIowait >= 0.2) return `the disk (iowait ${Math.round(usage.machineIowait * 100)}%)`;
  const loop = mostDelayedLoop(usage);
  if (loop && loop[1].waited >= loop[1].ran) {
    return `the machine's cores, shared (${loop[0]}'s event loop waited for a core ${percent(loop[1].waited, usage)} of the window and ran ${percent(loop[1].ran, usage)}; ${machine}): each step of an order waits its turn for a core`;
  }
  return `no CPU is full (largest: ${group} at ${Math.round(share * 100)}% of one core, ${machine}): waits (pool, locks, broker)`;
}

/** The database's own counters (transactions, rows) from the whole phase; the rest from the windows. */
function withDatabaseCounters(result: WindowResult, phase: Usage): WindowResult {
  return { ...result, usage: { ...result.usage, xacts: phase.xacts, rowsWritten: phase.rowsWritten, statements: phase.statements } };
}

function merge(parts: WindowResult[]): WindowResult {
  const usage = parts.map((part) => part.usage);
  const cpu = new Map<string, number>();
  for (const each of usage) for (const [group, seconds] of each.cpu) cpu.set(group, (cpu.get(group) ?? 0) + seconds);
  const schedules = new Map<string, ThreadSchedule>();
  for (const each of usage) {
    for (const [group, { ran, waited }] of each.schedules) {
      const sum = schedules.get(group) ?? { ran: 0, waited: 0 };
      schedules.set(group, { ran: sum.ran + ran, waited: sum.waited + waited });
    }
  }
  const sum = (pick: (u: Usage) => number) => usage.reduce((n, u) => n + pick(u), 0);
  return {
    rate: parts[0]!.rate,
    sent: parts.reduce((n, p) => n + p.sent, 0),
    sentRate: parts.reduce((n, p) => n + p.sentRate, 0) / parts.length,
    failed: parts.reduce((n, p) => n + p.failed, 0),
    listed: parts.reduce((n, p) => n + p.listed, 0),
    visible: parts.flatMap((p) => p.visible).sort((a, b) => a - b),
    post: parts.flatMap((p) => p.post).sort((a, b) => a - b),
    hops: Object.fromEntries(HOPS.map((hop) => [hop, parts.flatMap((p) => p.hops[hop]).sort((a, b) => a - b)])) as WindowResult['hops'],
    messages: parts.reduce((n, p) => n + p.messages, 0),
    relayBusy: parts.every((p) => p.relayBusy !== undefined) ? parts.reduce((n, p) => n + p.relayBusy! * p.usage.seconds, 0) / parts.reduce((n, p) => n + p.usage.seconds, 0) : undefined,
    poolWait: parts.every((p) => p.poolWait !== undefined) ? { seconds: parts.reduce((n, p) => n + p.poolWait!.seconds, 0), transactions: parts.reduce((n, p) => n + p.poolWait!.transactions, 0) } : undefined,
    usage: {
      seconds: sum((u) => u.seconds),
      cpu,
      schedules,
      machineBusy: sum((u) => u.machineBusy * u.seconds) / sum((u) => u.seconds),
      machineIowait: sum((u) => u.machineIowait * u.seconds) / sum((u) => u.seconds),
      xacts: sum((u) => u.xacts),
      rowsWritten: { inserted: sum((u) => u.rowsWritten.inserted), updated: sum((u) => u.rowsWritten.updated), deleted: sum((u) => u.rowsWritten.deleted) },
      walBytes: sum((u) => u.walBytes),
      statements: usage.every((u) => u.statements !== undefined) ? sum((u) => u.statements!) : undefined,
      redisCommands: sum((u) => u.redisCommands),
    },
  };
}

/** Prints one side's round trip and cost per order at the half rate; returns the figures the targets compare. */
function printCost(target: CapacityTarget, result: WindowResult): { cpuMs: number; p95: number } {
  const orders = result.sent;
  const per = (value: number, digits = 2) => round(value / orders, digits);
  const { usage } = result;
  const cpuMs = (totalCpu(usage) * 1000) / orders;
  const groups = [...usage.cpu].map(([group, seconds]) => `${group} ${round((seconds * 1000) / orders, 3)}`).join(', ');
  console.log(`${target.kind}: round trip ${latencies(result)}; ${result.listed} of ${orders} listed, ${result.failed} not 204`);
  console.log(`${target.kind}: hops ${hopLatencies(result)}`);
  console.log(`${target.kind}: cpu per order ${round(cpuMs, 2)} ms in all: ${groups} (ms; machine busy ${Math.round(usage.machineBusy * 100)}%${scheduleShares(usage)}${relayAndPool(result)})`);
  console.log(
    `${target.kind}: postgres per order: ${per(usage.xacts)} transactions, rows inserted ${per(usage.rowsWritten.inserted)}, updated ${per(usage.rowsWritten.updated)}, ` +
      `deleted ${per(usage.rowsWritten.deleted)}, WAL ${Math.round(usage.walBytes / orders)} bytes (server-wide), statements ${usage.statements === undefined ? 'n/a (pg_stat_statements not loaded)' : per(usage.statements)}`,
  );
  console.log(`${target.kind}: rabbitmq per order: ${per(result.messages)} messages routed through the Orders exchange; redis per order: ${per(usage.redisCommands, 1)} commands (server-wide, HGET left out: the watch's polls)`);
  return { cpuMs, p95: percentile(result.visible, 95) };
}

/**
 * Each slice's p95 per side, and each side's p95 over the floor's in the same round (slices a few seconds apart):
 * how far the pooled ratio is the machine's drift and how far the sides'.
 */
function printSlices(windows: Map<CapacityTarget, WindowResult[]>, floor: CapacityTarget): void {
  if (ROUNDS < 2) return;
  const p95s = (target: CapacityTarget) => windows.get(target)!.map((slice) => percentile(slice.visible, 95));
  const floorP95s = p95s(floor);
  for (const target of windows.keys()) {
    const own = p95s(target);
    const line = `${target.kind}: p95 slice by slice ${own.map((p95) => round(p95, 1)).join(', ')} ms`;
    if (target === floor) {
      console.log(line);
      continue;
    }
    const ratios = own.map((p95, slice) => p95 / floorP95s[slice]!);
    console.log(`${line}; over the floor's same slice: median ${round(median(ratios), 2)}x (${round(Math.min(...ratios), 2)}x to ${round(Math.max(...ratios), 2)}x)`);
  }
}

function target(name: string, figures: string, ratio: number, comparison: '<=' | '>=', bound: number): void {
  const met = comparison === '<=' ? ratio <= bound : ratio >= bound;
  console.log(`target ${name}: ${figures}: ${round(ratio, 2)}x the floor (target ${comparison} ${bound}x): ${met ? 'PASS' : 'MISS'}`);
}

/** `a / b` as a ratio ("1.23x"), or "no ratio" when b sustained no step (a division by zero is no figure). */
function times(a: number, b: number): string {
  return b > 0 ? `${round(a / b, 2)}x` : 'no ratio';
}
