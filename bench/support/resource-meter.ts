/**
 * What a window of load cost on the whole machine, for one benchmark target (the service or a floor), from
 * /proc and the servers' own counters:
 *   - CPU seconds (utime + stime, /proc/<pid>/stat) of each process group: the target's node processes, its
 *     simulator, the PostgreSQL backends connected to its database (pg_stat_activity), PostgreSQL's own
 *     processes (walwriter, checkpointer, background writer, autovacuum), RabbitMQ's beam and redis-server
 *     (found by the port they listen on); and the machine's busy and iowait share (/proc/stat);
 *   - the schedules of the single-threaded processes: the main thread (the event loop) of each of the target's
 *     node processes and each PostgreSQL backend, time on a core and time waiting for one (/proc/<pid>/schedstat),
 *     which tells cores that are contended from cores that are idle;
 *   - PostgreSQL: transactions committed and rows inserted, updated and deleted in its database
 *     (pg_stat_database), WAL bytes (pg_current_wal_lsn; server-wide), statements when the server preloads
 *     pg_stat_statements (shared_preload_libraries; the meter creates the extension in the run's database), else "n/a";
 *   - Redis: commands processed (INFO commandstats; server-wide), HGET and INFO left out: HGET is what the
 *     benchmark's projection watch polls with, INFO is this meter.
 * The server-wide figures (PostgreSQL's own processes, WAL, beam, redis-server) include other work on a shared
 * machine; each benchmark prints the load average next to them.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { cpuSeconds, cpuSecondsSince, mainThreadSchedule, type ThreadSchedule } from './proc-stats.js';

const SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Snapshot {
  at: number;
  /** group -> pid -> cpu seconds since the process started. */
  cpu: Map<string, Map<number, number>>;
  /** group -> pid -> its main thread's schedule since it started, for the node groups and the backends (absent where the kernel keeps none). */
  schedules: Map<string, Map<number, ThreadSchedule>>;
  machine: { busy: number; iowait: number; total: number };
  pg: { xacts: number; inserted: number; updated: number; deleted: number; walLsn: string; statements: number | undefined };
  redisCommands: number;
}

export interface Usage {
  seconds: number;
  /** group -> cpu seconds used in the window. */
  cpu: Map<string, number>;
  /** group -> seconds its main threads (the node groups' event loops, the backends) spent on a core and waiting for one in the window. */
  schedules: Map<string, ThreadSchedule>;
  /** Share of the machine's CPU time that was busy, and waiting on I/O (0..1). */
  machineBusy: number;
  machineIowait: number;
  xacts: number;
  rowsWritten: { inserted: number; updated: number; deleted: number };
  walBytes: number;
  statements: number | undefined;
  redisCommands: number;
}

/** The pids listening on a local TCP port (/proc/net/tcp*, then the socket inode among /proc/<pid>/fd). */
export function pidsListeningOn(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; st 0A is LISTEN; the inode is the tenth field.
      if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1]!.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (readdirSync(`/proc/${name}/fd`).some((fd) => inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${name}/fd/${fd}`))?.[1] ?? ''))) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function machineTimes(): Snapshot['machine'] {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values as number[];
  return { busy: user! + nice! + system! + irq! + softirq! + steal!, iowait: iowait!, total: values.reduce((a, b) => a + b, 0) };
}

export class ResourceMeter {
  private constructor(
    private readonly admin: pg.Client,
    private readonly redis: Redis,
    private readonly database: string,
    private readonly serverPids: { rabbitmq: number[]; redis: number[] },
    private readonly statementsAvailable: boolean,
    /** The target's own processes by group name (service, simulator, floor, ...). */
    readonly nodeGroups: Record<string, number[]>,
  ) {}

  static async start(database: string, nodeGroups: Record<string, number[]>): Promise<ResourceMeter> {
    const admin = new pg.Client({ connectionString: `${SERVER_URL}/${database}` });
    await admin.connect();
    // Statements are counted where the server preloads pg_stat_statements (a setting that needs a restart, which a
    // benchmark never does); the run's own database then gets the extension, whose view reads the server's counts.
    const preloaded = (await admin.query<{ preloaded: boolean }>(`SELECT current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%' AS preloaded`)).rows[0]!.preloaded;
    if (preloaded) await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const { rows } = await admin.query<{ loaded: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')
              AND current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%' AS loaded`,
    );
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    await redis.connect();
    const amqpPort = Number(new URL(process.env.BENCH_AMQP_BASE ?? 'amqp://127.0.0.1:5672').port || 5672);
    const redisPort = Number(new URL(REDIS_URL).port || 6379);
    return new ResourceMeter(admin, redis, database, { rabbitmq: pidsListeningOn(amqpPort), redis: pidsListeningOn(redisPort) }, rows[0]!.loaded, nodeGroups);
  }

  /** Whether statements are counted (pg_stat_statements loaded and installed in this database). */
  get countsStatements(): boolean {
    return this.statementsAvailable;
  }

  async snapshot(): Promise<Snapshot> {
    const { rows: backends } = await this.admin.query<{ pid: number; kind: string }>(
      `SELECT pid, CASE WHEN datname = $1 THEN 'postgres backends' ELSE 'postgres server' END AS kind FROM pg_stat_activity
       WHERE (datname = $1 AND pid <> pg_backend_pid()) OR backend_type IN ('walwriter', 'checkpointer', 'background writer', 'autovacuum worker', 'autovacuum launcher')`,
      [this.database],
    );
    const groups: Record<string, number[]> = { ...this.nodeGroups, 'rabbitmq (beam)': this.serverPids.rabbitmq, 'redis-server': this.serverPids.redis };
    for (const { pid, kind } of backends) (groups[kind] ??= []).push(pid);
    const cpu = new Map<string, Map<number, number>>();
    for (const [group, pids] of Object.entries(groups)) {
      const byPid = new Map<number, number>();
      for (const pid of pids) {
        try {
          byPid.set(pid, cpuSeconds(pid));
        } catch {
          // ended
        }
      }
      cpu.set(group, byPid);
    }
    const schedules = new Map<string, Map<number, ThreadSchedule>>();
    for (const [group, pids] of Object.entries({ ...this.nodeGroups, 'postgres backends': groups['postgres backends'] ?? [] })) {
      const byPid = new Map<number, ThreadSchedule>();
      for (const pid of pids) {
        const schedule = mainThreadSchedule(pid);
        if (schedule) byPid.set(pid, schedule);
      }
      schedules.set(group, byPid);
    }
    const { rows } = await this.admin.query<{ xacts: string; inserted: string; updated: string; deleted: string; lsn: string }>(
      `SELECT xact_commit AS xacts, tup_inserted AS inserted, tup_updated AS updated, tup_deleted AS deleted, pg_current_wal_lsn()::text AS lsn
       FROM pg_stat_database WHERE datname = $1`,
      [this.database],
    );
    const statements = this.statementsAvailable
      ? Number((await this.admin.query<{ calls: string }>(`SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)`, [this.database])).rows[0]!.calls)
      : undefined;
    const redisCommands = countRedisCommands(await this.redis.info('commandstats'));
    const row = rows[0]!;
    return {
      at: performance.now(),
      cpu,
      schedules,
      machine: machineTimes(),
      pg: { xacts: Number(row.xacts), inserted: Number(row.inserted), updated: Number(row.updated), deleted: Number(row.deleted), walLsn: row.lsn, statements },
      redisCommands,
    };
  }

  /**
   * What was used between two snapshots. A process there at both counts its difference; one that appeared in
   * between (a backend a pool opened under load) counts all its time; one that ended in between is missed, so
   * pools should keep their connections through a window. pg_stat_database hears of a busy backend's
   * transactions at most once a second, of an idle one's within 10 s (PostgreSQL 15): read it well after the load.
   */
  async usage(before: Snapshot, after: Snapshot): Promise<Usage> {
    const cpu = new Map<string, number>();
    for (const [group, pids] of after.cpu) cpu.set(group, cpuSecondsSince(before.cpu.get(group) ?? new Map(), pids));
    const schedules = new Map<string, ThreadSchedule>();
    for (const [group, pids] of after.schedules) {
      const since = { ran: 0, waited: 0 };
      for (const [pid, now] of pids) {
        const then = before.schedules.get(group)?.get(pid) ?? { ran: 0, waited: 0 };
        since.ran += now.ran - then.ran;
        since.waited += now.waited - then.waited;
      }
      if (pids.size > 0) schedules.set(group, since);
    }
    const machineTotal = after.machine.total - before.machine.total;
    const { rows } = await this.admin.query<{ bytes: string }>(`SELECT pg_wal_lsn_diff($1, $2)::text AS bytes`, [after.pg.walLsn, before.pg.walLsn]);
    return {
      seconds: (after.at - before.at) / 1000,
      cpu,
      schedules,
      machineBusy: (after.machine.busy - before.machine.busy) / machineTotal,
      machineIowait: (after.machine.iowait - before.machine.iowait) / machineTotal,
      xacts: after.pg.xacts - before.pg.xacts,
      rowsWritten: { inserted: after.pg.inserted - before.pg.inserted, updated: after.pg.updated - before.pg.updated, deleted: after.pg.deleted - before.pg.deleted },
      walBytes: Number(rows[0]!.bytes),
      statements: after.pg.statements === undefined || before.pg.statements === undefined ? undefined : after.pg.statements - before.pg.statements,
      redisCommands: after.redisCommands - before.redisCommands,
    };
  }

  async close(): Promise<void> {
    await this.admin.end();
    this.redis.disconnect();
  }
}

/** Calls of every command but HGET (the projection watch's polls) and INFO (this meter). */
function countRedisCommands(commandstats: string): number {
  let calls = 0;
  for (const [, command, count] of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (command !== 'hget' && command !== 'info') calls += Number(count);
  }
  return calls;
}

/** Total CPU seconds of a window, over every group. */
export function totalCpu(usage: Usage): number {
  return [...usage.cpu.values()].reduce((a, b) => a + b, 0);
}
