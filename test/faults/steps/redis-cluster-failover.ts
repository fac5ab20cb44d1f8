import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Command } from 'ioredis';
import { projectionKeys } from '../../../src/orders/projection/projection-keys.js';
import { answeredAsExpected, formatStatuses } from '../support/load.js';
import { ReadProbe } from '../support/reads.js';
import { DegradedWindow, projectionReads } from '../support/projection-reads.js';
import { expectedUserLists } from '../support/expected-orders.js';
import { checkProjection } from '../support/projection-checks.js';
import { cli, until, type ClusterNode, type RunningRedisCluster } from '../../support/redis-cluster.js';
import type { StepContext, StepDefinition } from '../support/step-harness.js';

const run = promisify(execFile);
/**
 * How long reads keep being compared with PostgreSQL once the cluster is whole again: they are hits again, and may
 * lag while the projector's retried events (backoff capped at 5 s) land; the last lagging read says when the
 * projection caught up.
 */
const CATCH_UP_MS = 15_000;

/**
 * Redis Cluster failover: the services run on a cluster of three masters with a replica each (cluster-node-timeout
 * 10 s), started by the step. Under orders, and reads of the users whose slots the busiest master holds, that master
 * is SIGKILLed; until its replica takes over, those reads fall back to PostgreSQL and must answer exactly the
 * database's list, and the projector's events for those users wait and are retried. Then the killed node is started
 * again and rejoins as a replica. Once the load is done and every event applied, Redis is compared with PostgreSQL
 * (what the failover lost: replication is asynchronous, so a write the master acknowledged but had not yet sent to
 * its replica is gone), `npm run projections -- rebuild` repairs it, and the end checks compare again.
 */
export const redisClusterFailoverStep: StepDefinition = {
  name: 'redis-cluster-failover',
  rate: Number(process.env.FAULTS_FAILOVER_RATE ?? 50),
  total: Number(process.env.FAULTS_FAILOVER_ORDERS ?? 2_500),
  // Many users, so that a user's list rarely changes during one read, and the reads can be compared.
  users: 300,
  // A master is declared failed after 10 s (Redis's default is 15 s): long enough for many reads to fall back.
  redisCluster: { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 10_000 },
  async fault(ctx) {
    const cluster = ctx.redisCluster!;
    const { victim, users } = await busiestMaster(ctx, cluster);
    const replica = await replicaOf(cluster, victim);
    const reads = new ReadProbe(ctx.livePorts, users, ctx.env.pool, 8, 10);
    reads.start();
    let compared = 0;
    let killedAt = Date.now();
    try {
      await sleep(10_000);
      killedAt = Date.now();
      compared = await killMaster(ctx, reads, victim, replica);
      await rejoin(ctx, cluster, victim);
    } finally {
      reads.compareWithDatabase = false;
      await reads.stop();
    }
    ctx.notes.push(`reads during the step: ${reads.stats.reads}, answers ${formatStatuses(reads.stats.byStatus)}`);
    if (!answeredAsExpected(reads.stats.byStatus, '200')) ctx.problems.push(`reads answered ${formatStatuses(reads.stats.byStatus)}`);
    if (compared === 0) ctx.problems.push('no read during the failover could be compared with PostgreSQL');
    await untilEveryEventApplied(ctx);
    ctx.notes.push(`once every event was applied, before any rebuild: ${await differences(ctx)}`);
    const line = await rebuild(ctx);
    ctx.notes.push(`then, ${seconds(Date.now() - killedAt)} s after the kill: ${line}`);
  },
};

/**
 * SIGKILLs the master and watches the reads of its users. Until its replica won the election (the time its log
 * gives), nobody serves the master's slots and every read is a degraded one, which must equal PostgreSQL's list
 * exactly; after, reads are hits again and may lag while the projector's retried events land. Returns how many
 * degraded reads were compared.
 */
async function killMaster(ctx: StepContext, reads: ReadProbe, victim: ClusterNode, replica: ClusterNode): Promise<number> {
  const before = await projectionReads(ctx.livePorts());
  const killedAt = Date.now();
  const window = new DegradedWindow(ctx.livePorts, killedAt);
  window.start();
  ctx.log(`SIGKILL Redis master ${victim.address} (pid ${victim.process.pid})`);
  victim.process.kill('SIGKILL');
  reads.compareWithDatabase = true;
  const promotionSeen = firstSeenAsMaster(replica, killedAt + 120_000);
  await until('cluster_state:ok on every node', () => failedOver(ctx.redisCluster!, victim), 120_000);
  const failoverMs = Date.now() - killedAt;
  await sleep(CATCH_UP_MS);
  reads.compareWithDatabase = false;
  await window.stop();
  const after = await projectionReads(ctx.livePorts());
  // The replica's log gives the election to the millisecond; the ROLE poll is the bound when the log line is
  // missing (cluster_state:ok everywhere comes later, and reads served by the new master in between may lag).
  const wonAt = await electionWonAt(ctx, replica);
  const seenAt = await promotionSeen;
  const promotedAt = Math.min(wonAt ?? Infinity, seenAt ?? Infinity, killedAt + failoverMs);
  const during = reads.stats.timeline.filter((read) => read.answeredAt < promotedAt);
  const lagging = reads.stats.timeline.filter((read) => read.answeredAt >= promotedAt && !read.matched);
  ctx.problems.push(...during.filter((read) => !read.matched).map((read) => `while the master was gone: ${read.text}`).slice(0, 20));
  ctx.notes.push(
    `master ${victim.address} SIGKILLed; replica ${replica.address} won its election +${seconds(promotedAt - killedAt)} s after the kill ` +
      `(its log: ${wonAt === undefined ? 'no election line' : `+${seconds(wonAt - killedAt)} s`}; ROLE master first seen at +${seconds(seenAt === undefined ? undefined : seenAt - killedAt)} s), ` +
      `cluster_state:ok everywhere at +${seconds(failoverMs)} s; ` +
      `reads fell back to PostgreSQL from +${seconds(window.first)} s to +${seconds(window.last)} s: ${after.degraded - before.degraded} degraded, ${after.hit - before.hit} hits, ${after.miss - before.miss} misses`,
    `reads compared with PostgreSQL: ${during.length} while the master was gone (${during.filter((read) => !read.matched).length} differed), ` +
      `${reads.stats.timeline.length - during.length} after its replica took over (${lagging.length} behind PostgreSQL` +
      `${lagging.length > 0 ? `, the last at +${seconds(lagging.at(-1)!.answeredAt - killedAt)} s after the kill` : ''})`,
  );
  if (after.degraded === before.degraded) ctx.problems.push('no read fell back to PostgreSQL: the failover was not seen by the readers');
  return during.length;
}

/** When the replica became master, from its log ("<pid>:S 01 Dec 2026 18:15:10.123 * Failover election won: ..."). */
/** When the replica first answers ROLE as a master, polled every 100 ms (undefined if not by the deadline). */
async function firstSeenAsMaster(replica: ClusterNode, deadline: number): Promise<number | undefined> {
  while (Date.now() < deadline) {
    const role = await cli(replica.port, 'role').catch(() => '');
    if (role.startsWith('master')) return Date.now();
    await sleep(100);
  }
  return undefined;
}

async function electionWonAt(ctx: StepContext, replica: ClusterNode): Promise<number | undefined> {
  const log = await readFile(path.join(ctx.redisCluster!.directory, `redis-${replica.port}.log`), 'utf8').catch(() => '');
  // Redis 7.0 logs it at warning level: "7935:S 01 Dec 2026 19:35:59.962 # Failover election won: I'm the new master."
  const stamp = /^\d+:\w (\d{2} \w{3} \d{4} [\d:.]+) [#*] Failover election won/m.exec(log)?.[1];
  return stamp ? Date.parse(`${stamp} UTC`) : undefined;
}

/** The load sent everything, no saga waits, the outbox is empty, every published event was taken off Orders. */
async function untilEveryEventApplied(ctx: StepContext): Promise<void> {
  await until('every order sent and every event applied', async () => {
    if (ctx.load.stats.sent < redisClusterFailoverStep.total) return false;
    const { rows: [row] } = await ctx.env.pool.query<{ waiting: number }>(
      `SELECT (SELECT count(*) FROM orders WHERE saga_status = 'Pending') + (SELECT count(*) FROM outbox WHERE status = 'Ready') AS waiting`);
    return Number(row!.waiting) === 0 && (await ctx.capture.queueDepth('Orders')) === 0;
  }, 300_000);
  // The projector acknowledges after its script returned; give the last acknowledgements a moment.
  await sleep(2_000);
}

/** How far Redis is from PostgreSQL now, in approved orders missing, listed wrongly, and differences in all. */
async function differences(ctx: StepContext): Promise<string> {
  const tally = { lost: new Set<string>(), duplicated: new Set<string>() };
  let count = 0;
  await checkProjection(ctx.env.redis, await expectedUserLists(ctx.env.pool), tally, () => count++);
  return `${tally.lost.size} approved orders missing from Redis, ${tally.duplicated.size} listed that should not be, ${count} differences`;
}

/** The master whose slots hold the most of the step's users, and those users (all of a user's keys are in its slot). */
async function busiestMaster(ctx: StepContext, cluster: RunningRedisCluster): Promise<{ victim: ClusterNode; users: string[] }> {
  const ranges = await masterSlotRanges(cluster.nodes[0]!.port);
  const usersOf = new Map<string, string[]>();
  for (const user of ctx.catalog.users) {
    const slot = new Command('exists', [projectionKeys.userIndex(user.id)]).getSlot();
    const owner = [...ranges].find(([, owned]) => owned.some(([from, to]) => slot >= from && slot <= to))?.[0];
    if (owner) usersOf.set(owner, [...(usersOf.get(owner) ?? []), user.id]);
  }
  const [address, users] = [...usersOf].sort((a, b) => b[1].length - a[1].length)[0]!;
  ctx.log(`master ${address} holds ${users.length} of ${ctx.catalog.users.length} users`);
  return { victim: cluster.nodes.find((node) => node.address === address)!, users };
}

/** Each master's slot ranges, from CLUSTER NODES ("<id> <ip:port@bus> <flags> <master> ... <from>-<to> ..."). */
async function masterSlotRanges(port: number): Promise<Map<string, [number, number][]>> {
  const ranges = new Map<string, [number, number][]>();
  for (const line of (await cli(port, 'cluster', 'nodes')).split('\n')) {
    const fields = line.trim().split(' ');
    if (!fields[2]?.split(',').includes('master')) continue;
    const owned = fields.slice(8).filter((field) => /^\d/.test(field)).map((field) => field.split('-').map(Number));
    ranges.set(fields[1]!.split('@')[0]!, owned.map(([from, to]) => [from!, to ?? from!]));
  }
  return ranges;
}

/** The node replicating `master` (INFO replication: "slave0:ip=127.0.0.1,port=<port>,state=online,..."). */
async function replicaOf(cluster: RunningRedisCluster, master: ClusterNode): Promise<ClusterNode> {
  const port = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(await cli(master.port, 'info', 'replication'))?.[1]);
  const replica = cluster.nodes.find((node) => node.port === port);
  if (!replica) throw new Error(`no replica of ${master.address} found`);
  return replica;
}

/** Every surviving node says the cluster is ok, and three masters answer (the victim's replica is one of them). */
async function failedOver(cluster: RunningRedisCluster, victim: ClusterNode): Promise<boolean> {
  const survivors = cluster.nodes.filter((node) => node !== victim);
  const infos = await Promise.all(survivors.map((node) => cli(node.port, 'cluster', 'info')));
  const roles = await Promise.all(survivors.map((node) => cli(node.port, 'role')));
  return infos.every((info) => info.includes('cluster_state:ok')) && roles.filter((role) => role.startsWith('master')).length === 3;
}

/** The killed node started again: it rejoins as a replica of the master that replaced it. */
async function rejoin(ctx: StepContext, cluster: RunningRedisCluster, victim: ClusterNode): Promise<void> {
  cluster.restart(victim);
  const started = Date.now();
  await until('the killed node back as a replica in sync', async () => {
    const info = await cli(victim.port, 'info', 'replication');
    return info.includes('role:slave') && info.includes('master_link_status:up');
  }, 60_000);
  ctx.notes.push(`${victim.address} started again: a replica in sync after ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** `npm run projections -- rebuild` on the step's cluster and key prefix, while the load goes on; its summary line. */
async function rebuild(ctx: StepContext): Promise<string> {
  const { settings } = ctx.env;
  const { stdout } = await run('npx', ['tsx', 'src/tools/projections.ts', 'rebuild'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DATABASE_URL: settings.databaseUrl, REDIS_URL: settings.redisUrl, REDIS_CLUSTER_NODES: settings.redisClusterNodes, REDIS_KEY_PREFIX: settings.redisPrefix, LOG_LEVEL: 'error' },
    timeout: 120_000,
  });
  return stdout.trim().split('\n').at(-1) ?? '';
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '?' : (ms / 1000).toFixed(1);
}
