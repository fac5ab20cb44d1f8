import { parseDuration } from '../../../src/platform/duration.js';
import type { SimRule } from '../../../src/tools/customer-sim-rules.js';
import { checkEnd, settle } from './end-checks.js';
import { createFaultEnvironment, freePorts, type FaultEnvironment, type StepBroker } from './environment.js';
import { EventCapture } from './event-capture.js';
import { request } from './http-client.js';
import { takeAnswerChecks } from './answer-checks.js';
import { formatStatuses, OrderLoad, seedCatalog, type Catalog } from './load.js';
import { Progress, waitForQuietCpu } from './progress.js';
import { countLine, reports, type StepReport } from './report.js';
import { EVERY_ROLE, serviceProcess, simulatorProcess, type ManagedProcess } from './service-processes.js';
import { startRedisCluster, type ClusterShape, type RunningRedisCluster } from '../../support/redis-cluster.js';

export const SAGA_TIMEOUT = '20s';
/** The simulator's rule: about 90% approved; the decision per order is known (a hash of seed and id). */
export const RULE = { kind: 'percent', approvePercent: 90, seed: 1 } as const satisfies SimRule;

export interface StepContext {
  env: FaultEnvironment;
  capture: EventCapture;
  /** The service processes (two with every role, unless the step names its own). */
  services: ManagedProcess[];
  /** The first customer-service simulator, and all of them. */
  simulator: ManagedProcess;
  simulators: ManagedProcess[];
  /** The step's own Redis Cluster, when it asked for one. */
  redisCluster: RunningRedisCluster | undefined;
  catalog: Catalog;
  load: OrderLoad;
  /** Ports of the processes that are up now. */
  livePorts(): number[];
  /** Lines printed under the count line: what the fault did and measured. */
  notes: string[];
  /** Problems the fault itself saw (an answer that should not be, a recovery that did not come). */
  problems: string[];
  /** A timestamped line in the step's progress log (printed when the step fails, or with FAULTS_VERBOSE=1). */
  log(text: string): void;
}

export interface StepDefinition {
  name: string;
  /** Orders per second and in all. */
  rate: number;
  total: number;
  users: number;
  /** Reads rebuild the projection before Redis is inspected (after Redis lost everything). */
  readFirst?: boolean;
  /** The ROLES of each service process; default two processes with every role. */
  processes?: string[];
  /** Customer-service simulators competing for the saga requests; default 1. */
  simulators?: number;
  /** A Redis Cluster the step starts (and stops) for its services instead of the machine's Redis. */
  redisCluster?: ClusterShape;
  /** Runs while the load runs; returns when its fault is over and every process is up again. */
  fault(ctx: StepContext): Promise<void>;
  /** A broker of the step's own (started before anything else, stopped after everything); else the machine's. */
  broker?: () => Promise<StepBroker>;
}

/**
 * One fault step from start to end: its own database, vhost, Redis prefix and capture queue; two service
 * processes and the simulator; the load and the fault at once; then settling, the end checks and the report.
 * Whatever happens, the processes are stopped and the resources removed (logs kept when the step failed).
 */
export async function runStep(def: StepDefinition): Promise<StepReport> {
  const started = Date.now();
  const broker = await def.broker?.();
  const redisCluster = def.redisCluster ? await startRedisCluster(def.redisCluster).catch(async (error: unknown) => {
    await broker?.stop();
    throw error;
  }) : undefined;
  const env = await createFaultEnvironment(def.name, SAGA_TIMEOUT, broker, redisCluster?.seeds).catch(async (error: unknown) => {
    await redisCluster?.stop();
    await broker?.stop();
    throw error;
  });
  const processes: ManagedProcess[] = [];
  let capture: EventCapture | undefined;
  let report: StepReport | undefined;
  let progress: Progress | undefined;
  try {
    capture = await EventCapture.start(env.settings.amqpUrl, broker?.captureQueue);
    const roles = def.processes ?? [EVERY_ROLE, EVERY_ROLE];
    const ports = await freePorts(roles.length);
    const services = ports.map((port, i) => serviceProcess(`service-${i + 1}`, port, env.settings, env.logDir, roles[i]));
    processes.push(...services);
    await Promise.all(services.map((service) => service.start()));
    const simulators = await startSimulators(def.simulators ?? 1, env, capture, processes);
    // Only processes with the http role take requests.
    const httpPorts = ports.filter((_, i) => roles[i]!.split(',').includes('http'));
    const livePorts = () => {
      const up = httpPorts.filter((port) => services[ports.indexOf(port)]!.isUp);
      return up.length > 0 ? up : httpPorts;
    };
    const catalog = await seedCatalog(httpPorts[0]!, def.users, 20);
    // Fresh tables get sequential-scan plans for the foreign-key checks until analyzed (ARCHITECTURE.md).
    await env.pool.query('ANALYZE');
    const load = new OrderLoad({ ports: livePorts, catalog, rate: def.rate, total: def.total, retryForMs: 90_000 });
    const sampler = new Progress(env, capture, load);
    progress = sampler;
    const ctx: StepContext = { env, capture, services, simulator: simulators[0]!, simulators, redisCluster, catalog, load, livePorts, notes: [], problems: [], log: (text) => sampler.note(text) };
    const waited = await waitForQuietCpu(30_000);
    if (waited > 1_500) ctx.notes.push(`waited ${(waited / 1000).toFixed(1)} s for the CPU to calm down before the load`);
    sampler.start();

    const loadStarted = Date.now();
    await Promise.all([load.run(), def.fault(ctx)]);
    const loadSeconds = (Date.now() - loadStarted) / 1000;
    ctx.notes.push(`load: ${load.stats.sent} orders in ${loadSeconds.toFixed(1)} s (${(load.stats.sent / loadSeconds).toFixed(0)}/s, at worst ${load.stats.maxBehind} behind schedule); answers ${formatStatuses(load.stats.byStatus)}`);
    for (const service of services) if (!service.isUp) await service.start();

    const touch = def.readFirst ? () => touchUsers(livePorts()[0]!, catalog) : undefined;
    const settledAt = Date.now();
    const state = await settle(env, capture, parseDuration(SAGA_TIMEOUT)! + 120_000, touch);
    ctx.notes.push(`${state} (${((Date.now() - settledAt) / 1000).toFixed(1)} s after the load)`);
    const end = await checkEnd({ env, capture, load, rule: RULE, port: () => livePorts()[0]!, readFirst: def.readFirst ?? false });
    const answers = await takeAnswerChecks();
    ctx.notes.push(`held to the API documents: ${answers.checked} HTTP answers to /openapi.json, ${capture.checkedMessages} captured messages to /asyncapi.json`);

    const problems = [
      ...ctx.problems,
      ...end.problems,
      ...answers.problems,
      ...capture.documentProblems(),
      ...load.stats.unexpected,
      ...(load.stats.timeouts > 0 ? [`${load.stats.timeouts} requests got no answer within 15 s`] : []),
      ...processes.flatMap((p) => p.unexpectedExits),
    ];
    report = {
      step: def.name,
      durationMs: Date.now() - started,
      sent: load.stats.sent,
      acknowledged: load.stats.acknowledged,
      published: end.published,
      deliveries: end.deliveries,
      projected: end.projected,
      approved: end.outcomes.Approved,
      rejected: end.outcomes.Rejected,
      timedOut: end.outcomes.TimedOut,
      lost: end.lost.size,
      duplicated: end.duplicated.size,
      problems,
      notes: ctx.notes,
    };
    return report;
  } finally {
    progress?.stop();
    await Promise.all(processes.map((p) => p.stop().catch(() => p.kill())));
    await Promise.all(processes.map((p) => p.closeLog()));
    await capture?.close();
    // A step that failed before its report leaves its answers' problems behind: they are not the next step's.
    if (!report) await takeAnswerChecks();
    const failed = !report || report.lost > 0 || report.duplicated > 0 || report.problems.length > 0;
    if (report) {
      report.durationMs = Date.now() - started;
      reports.push(report);
      console.log([countLine(report), ...report.notes.map((note) => `  ${note}`), ...report.problems.slice(0, 30).map((p) => `  PROBLEM ${p}`)].join('\n'));
    }
    const keepLogs = failed || process.env.FAULTS_KEEP_LOGS === '1';
    if (failed) console.log([`[faults] ${def.name}: progress:`, ...(progress?.lines ?? [])].join('\n  '));
    if (keepLogs) console.log(`[faults] ${def.name}: service logs kept in ${env.logDir}`);
    await env.cleanup(keepLogs);
    await redisCluster?.stop();
    await broker?.stop();
  }
}

/** Simulators started one after the other, each up once the queue has one more consumer. */
async function startSimulators(count: number, env: FaultEnvironment, capture: EventCapture, processes: ManagedProcess[]): Promise<ManagedProcess[]> {
  const simulators: ManagedProcess[] = [];
  for (let i = 0; i < count; i++) {
    const name = count === 1 ? 'customer-sim' : `customer-sim-${i + 1}`;
    const simulator = simulatorProcess(env.settings, RULE.approvePercent, RULE.seed, env.logDir, async () => (await capture.consumerCount('OrderSaga')) > i, name);
    simulators.push(simulator);
    processes.push(simulator);
    await simulator.start();
  }
  return simulators;
}

/** One read of every user's list: after Redis came back empty, it is a read that rebuilds a user's projection. */
async function touchUsers(port: number, catalog: Catalog): Promise<void> {
  await Promise.all(catalog.users.map((user) => request(port, 'GET', `/api/v1/orders/user/${user.id}?limit=1`)));
}
