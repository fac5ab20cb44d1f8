/**
 * One side of bench/saga-capacity.ts: the service (one process with every role, or the roles split over three)
 * or the like-for-like floor (bench/support/outbox-floor.ts), each on a database, vhost and Redis prefix of its
 * own, with its own customer-service simulator, event tap, projection watch and resource meter. `window()`
 * sends orders at a rate for some seconds and returns what they took and what they cost.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_REDIS_URL, createBenchEnvironment, percentile, type BenchEnvironment } from './bench-env.js';
import { EventTap } from './event-tap.js';
import { postJson } from './http-client.js';
import { openLoop } from './load.js';
import { ensureBaselineBuild, spawnMain } from './main-process.js';
import { ProjectionWatch } from './projection-watch.js';
import { ResourceMeter, type Usage } from './resource-meter.js';
import { seed, spawnSimulator, stopper, type Fixture } from './saga-setup.js';
import { stopOnInterrupt } from './interrupt.js';

/** An order not listed by then counts as not listed (and fails its step). */
const ORDER_TIMEOUT_MS = 10_000;
/** Users seeded per side; orders cycle through them. */
const USERS = 2_000;

/** baseline: the service built from BENCH_BASELINE_REF, one process with every role (the code before a change). */
/** floor-in-order: the floor whose relay cycles keep the service's promise of each order's events in sequence (bare-relay.ts). */
export type TargetKind = 'service' | 'service-split' | 'baseline' | 'floor' | 'floor-in-order';

export interface WindowResult {
  rate: number;
  sent: number;
  /** Orders sent per second, as achieved by the load generator. */
  sentRate: number;
  failed: number;
  listed: number;
  /** POST sent -> listed in the projection, ms, sorted. */
  visible: number[];
  /** POST answered, ms, sorted. */
  post: number[];
  /** Each listed order's round trip split at what the tap saw, ms, each list sorted (see HOPS). */
  hops: Record<Hop, number[]>;
  /** Messages the broker routed through the Orders exchange during the window (tap). */
  messages: number;
  usage: Usage;
  /** Share of the service's relay batch slots busy in the window (outbox_relay_busy_seconds_total); undefined for a floor. */
  relayBusy: number | undefined;
  /** What the service's transactions waited for a pooled connection in the window (db_pool_wait_seconds); undefined for a floor. */
  poolWait: PoolWait | undefined;
}

export interface PoolWait {
  seconds: number;
  transactions: number;
}

/**
 * The round trip's hops, from the tap's clock: POST answered -> the saga request routed (the relay's first hop),
 * -> the customer service's reply routed (simulator), -> the order's last event routed (the reply consumer's
 * approval transaction and the relay's second hop), -> listed (projector, and the watch's poll).
 */
export const HOPS = ['relay to saga request', 'simulator reply', 'approval and relay', 'projector to listed'] as const;
export type Hop = (typeof HOPS)[number];

export class CapacityTarget {
  private nextUser = 0;
  private readonly stops: { stop(): Promise<void> }[] = [];
  private constructor(
    readonly kind: TargetKind,
    readonly env: BenchEnvironment,
    private readonly fixture: Fixture,
    private readonly port: number,
    private readonly agent: http.Agent,
    private readonly tap: EventTap,
    private readonly watch: ProjectionWatch,
    readonly meter: ResourceMeter,
    /** The service processes' /metrics ports (none for a floor). */
    private readonly metricsPorts: number[],
  ) {}

  /** A side ready for load; if it cannot start, what it started is stopped and its environment dropped. */
  static async start(kind: TargetKind): Promise<CapacityTarget> {
    const env = await createBenchEnvironment();
    const stops: { stop(): Promise<void> }[] = [];
    try {
      return await CapacityTarget.startIn(kind, env, stops);
    } catch (error) {
      await CapacityTarget.release(env, stops);
      throw error;
    }
  }

  /** Stops what a side started, newest first, then drops its environment (database, vhost, the projection's keys). */
  private static async release(env: BenchEnvironment, stops: { stop(): Promise<void> }[]): Promise<void> {
    // One part that fails to stop must not leave the rest behind; it is said, not swallowed.
    const said = (what: string) => (error: unknown) => console.error(`bench: could not ${what}:`, String(error));
    for (const each of [...stops].reverse()) await each.stop().catch(said('stop a process or the tap'));
    await env.cleanup();
  }

  private static async startIn(kind: TargetKind, env: BenchEnvironment, stops: { stop(): Promise<void> }[]): Promise<CapacityTarget> {
    const fixture = await seed(env, USERS);
    const groups: Record<string, number[]> = {};
    let port: number;
    const metricsPorts: number[] = [];
    if (kind === 'floor' || kind === 'floor-in-order') {
      const floor = fork('bench/support/outbox-floor.ts', [], {
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          BENCH_DATABASE_URL: env.databaseUrl,
          BENCH_AMQP_URL: env.amqpUrl,
          BENCH_PREFIX: env.redisPrefix,
          BENCH_PRODUCTS: JSON.stringify(fixture.products),
          BENCH_FLOOR_IN_ORDER: kind === 'floor-in-order' ? '1' : '0',
        },
      });
      stopOnInterrupt(floor);
      stops.push(stopper(floor));
      [{ port }] = (await once(floor, 'message')) as [{ port: number }];
      groups['floor process'] = [floor.pid!];
    } else {
      const roles = kind === 'service-split' ? ['http', 'relay', 'consumers,scheduler'] : ['all'];
      const distDir = kind === 'baseline' ? await ensureBaselineBuild(process.env.BENCH_BASELINE_REF!) : undefined;
      const processes = [];
      for (const role of roles) {
        processes.push(await spawnMain(env, { roles: role, distDir }));
        stops.push(processes.at(-1)!);
        groups[`service ${role}`] = [processes.at(-1)!.pid];
        metricsPorts.push(processes.at(-1)!.port);
      }
      port = processes[0]!.port;
    }
    const simulator = await spawnSimulator(env);
    stops.push(stopper(simulator));
    groups['customer simulator'] = [simulator.pid!];
    const tap = await EventTap.start(env.amqpUrl);
    stops.push({ stop: () => tap.close() });
    const target = new CapacityTarget(
      kind,
      env,
      fixture,
      port,
      new http.Agent({ keepAlive: true, maxSockets: 512 }),
      tap,
      new ProjectionWatch(BENCH_REDIS_URL, env.redisPrefix),
      await ResourceMeter.start(env.vhost, groups),
      metricsPorts,
    );
    target.stops.push(...stops);
    return target;
  }

  get label(): string {
    return {
      service: 'service (one process, all roles)',
      'service-split': 'service (roles split: http | relay | consumers,scheduler)',
      baseline: `service at ${process.env.BENCH_BASELINE_REF} (one process, all roles: the code before the change)`,
      floor: 'floor (bare outbox chain)',
      'floor-in-order': 'floor keeping order (bare outbox chain, each order\'s rows one confirm after another)',
    }[this.kind];
  }

  /** `rate` orders/s for `seconds` (open loop); waits until each is listed or timed out, then one more second. */
  async window(rate: number, seconds: number): Promise<WindowResult> {
    const tapBefore = this.tap.received;
    const countersBefore = await this.serviceCounters();
    const before = await this.meter.snapshot();
    const { results, seconds: took } = await openLoop(rate, seconds, (_, sentAt) => this.oneOrder(sentAt));
    const hops = Object.fromEntries(HOPS.map((hop) => [hop, [] as number[]])) as Record<Hop, number[]>;
    for (const result of results) {
      const times = [result.answeredAt, this.tap.at(result.orderId, 'OrderCreateSaga'), this.tap.at(result.orderId, 'Approved'), this.tap.at(result.orderId, 'OrderCreated'), result.listedAt];
      if (times.some((time) => time === undefined || !Number.isFinite(time))) continue;
      HOPS.forEach((hop, index) => hops[hop].push(times[index + 1]! - times[index]!));
    }
    for (const hop of HOPS) hops[hop].sort((a, b) => a - b);
    await sleep(1_000); // pg_stat_database catches up; the last events' projector work is done
    const after = await this.meter.snapshot();
    const countersAfter = await this.serviceCounters();
    const visible = results.filter((r) => Number.isFinite(r.visibleMs)).map((r) => r.visibleMs).sort((a, b) => a - b);
    return {
      rate,
      sent: results.length,
      sentRate: results.length / took,
      failed: results.filter((r) => r.status !== 204).length,
      listed: visible.length,
      visible,
      post: results.filter((r) => r.status === 204).map((r) => r.postMs).sort((a, b) => a - b),
      hops,
      messages: this.tap.received - tapBefore,
      usage: await this.meter.usage(before, after),
      relayBusy: countersAfter && countersBefore && countersAfter.slots > 0 ? (countersAfter.busySeconds - countersBefore.busySeconds) / (countersAfter.slots * ((after.at - before.at) / 1000)) : undefined,
      poolWait: countersAfter && countersBefore ? { seconds: countersAfter.poolWait.seconds - countersBefore.poolWait.seconds, transactions: countersAfter.poolWait.transactions - countersBefore.poolWait.transactions } : undefined,
    };
  }

  /**
   * The relay's busy slot-seconds and slots, and the pool's wait (seconds and transactions so far), summed over the
   * service's processes (undefined for a floor).
   */
  private async serviceCounters(): Promise<{ busySeconds: number; slots: number; poolWait: PoolWait } | undefined> {
    if (this.metricsPorts.length === 0) return undefined;
    const counters = { busySeconds: 0, slots: 0, poolWait: { seconds: 0, transactions: 0 } };
    for (const port of this.metricsPorts) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      counters.busySeconds += value('outbox_relay_busy_seconds_total');
      counters.slots += value('outbox_relay_batch_slots');
      counters.poolWait.seconds += value('db_pool_wait_seconds_sum');
      counters.poolWait.transactions += value('db_pool_wait_seconds_count');
    }
    return counters;
  }

  /** After an overloaded step: until every order sent so far is listed (at most `maxSeconds`), so the next step starts clean. */
  async drained(maxSeconds = 60): Promise<void> {
    const deadline = Date.now() + maxSeconds * 1000;
    while (this.watch.waiting > 0 && Date.now() < deadline) await sleep(200);
  }

  private async oneOrder(sentAt: number): Promise<{ orderId: string; status: number; postMs: number; visibleMs: number; answeredAt: number; listedAt: number }> {
    const orderId = randomUUID();
    const userId = this.fixture.users[this.nextUser++ % this.fixture.users.length]!;
    const visible = this.watch.visible(userId, orderId);
    const body = { orderID: orderId, paymentMethod: 'Card', productsIDs: this.fixture.products.map((p) => p.id), userID: userId, deliveryAddress: this.fixture.addressId };
    const status = await postJson(this.agent, this.port, '/api/v1/orders', body, orderId);
    const answeredAt = performance.now();
    const visibleAt = status === 204 ? await Promise.race([visible, sleep(ORDER_TIMEOUT_MS, Number.NaN)]) : Number.NaN;
    return { orderId, status, postMs: answeredAt - sentAt, visibleMs: visibleAt - sentAt, answeredAt, listedAt: visibleAt };
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.watch.close();
    await this.meter.close();
    await CapacityTarget.release(this.env, this.stops);
  }
}

/** A step is sustained when every order was answered 204 and listed, at the offered rate, with p95 <= the bound. */
export function sustained(result: WindowResult, p95BoundMs: number): boolean {
  return result.failed === 0 && result.listed === result.sent && result.sentRate >= result.rate * 0.95 && percentile(result.visible, 95) <= p95BoundMs;
}
