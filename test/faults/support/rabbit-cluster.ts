import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePorts } from './environment.js';

const exec = promisify(execFile);
/** The package's own scripts: /usr/sbin's wrappers would switch to the rabbitmq user and the machine's cookie. */
const BIN = '/usr/lib/rabbitmq/bin';

export interface ClusterNode {
  name: string;
  amqpPort: number;
  distPort: number;
  dir: string;
  /** Killed on purpose by the step: nothing is asked of it any more. */
  down: boolean;
}

/**
 * A RabbitMQ cluster of its own on this machine, beside the machine's node and never touching it: each node has its
 * own name (faults<run>-<n>@localhost), AMQP and distribution ports on 127.0.0.1, data, logs and pid file in a
 * temporary directory, no plugins, and one Erlang cookie of its own (HOME points at the directory, so the machine's
 * cookie is neither read nor written). stop() stops exactly these nodes, by name and pid file, and removes the
 * directory.
 */
export class RabbitCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly dir: string,
  ) {}

  static async start(size = 3): Promise<RabbitCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'order-faults-rabbit-'));
    const home = path.join(dir, 'home');
    mkdirSync(home);
    writeFileSync(path.join(home, '.erlang.cookie'), randomBytes(20).toString('hex'));
    chmodSync(path.join(home, '.erlang.cookie'), 0o400);
    writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
    writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '');
    const ports = await freePorts(size * 2);
    const run = randomBytes(2).toString('hex');
    const nodes = Array.from({ length: size }, (_, i) => ({
      name: `faults${run}-${i + 1}@localhost`,
      amqpPort: ports[i * 2]!,
      distPort: ports[i * 2 + 1]!,
      dir: path.join(dir, `node${i + 1}`),
      down: false,
    }));
    const cluster = new RabbitCluster(nodes, dir);
    try {
      await Promise.all(nodes.map((node) => cluster.launch(node)));
      for (const node of nodes.slice(1)) {
        await cluster.ctl(node, 'stop_app');
        await cluster.ctl(node, 'join_cluster', nodes[0]!.name);
        await cluster.ctl(node, 'start_app');
      }
      await cluster.ctl(nodes[0]!, 'await_online_nodes', String(size));
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** AMQP_URL of the cluster: every node, comma separated, guest on `vhost`. */
  url(vhost: string): string {
    return this.nodes.map((node) => `amqp://guest:guest@127.0.0.1:${node.amqpPort}/${encodeURIComponent(vhost)}`).join(',');
  }

  /** A vhost of the step, on the cluster; delete() through whichever node is still up. */
  async createVhost(): Promise<{ name: string; url: string; delete(): Promise<void> }> {
    const name = `faults_${randomBytes(4).toString('hex')}`;
    await this.ctl(this.live(), 'add_vhost', name);
    await this.ctl(this.live(), 'set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
    return { name, url: this.url(name), delete: () => this.ctl(this.live(), 'delete_vhost', name).then(() => undefined) };
  }

  /** Which node leads most of these quorum queues (ties: the first listed). */
  async leaderOf(vhost: string, queues: string[]): Promise<ClusterNode> {
    const json = await this.ctl(this.live(), 'list_queues', '-p', vhost, 'name', 'leader', '--formatter', 'json', '-q');
    const leaders = (JSON.parse(json) as { name: string; leader: string }[]).filter((queue) => queues.includes(queue.name)).map((queue) => queue.leader);
    const counts = this.nodes.map((node) => leaders.filter((leader) => leader === node.name).length);
    return this.nodes[counts.indexOf(Math.max(...counts))]!;
  }

  /** Queue name -> its leader node, for the notes. */
  async leaders(vhost: string): Promise<Record<string, string>> {
    const json = await this.ctl(this.live(), 'list_queues', '-p', vhost, 'name', 'leader', '--formatter', 'json', '-q');
    return Object.fromEntries((JSON.parse(json) as { name: string; leader: string }[]).map((queue) => [queue.name, queue.leader]));
  }

  /** The node dies as a machine would lose it: SIGKILL to its Erlang VM, no goodbye to clients or peers. */
  async kill(node: ClusterNode): Promise<void> {
    node.down = true;
    const pid = this.pidOf(node);
    if (pid) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && pid && alive(pid); i++) await sleep(100);
  }

  /** Stops every node it started (politely, then by pid) and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const pid = this.pidOf(node);
        if (!node.down) await this.ctl(node, 'stop', path.join(node.dir, 'pid')).catch(() => undefined);
        if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      }),
    );
    if (process.env.FAULTS_KEEP_LOGS === '1') console.log(`[faults] the cluster's data and logs are kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  async ctl(node: ClusterNode, ...args: string[]): Promise<string> {
    const { stdout } = await exec(path.join(BIN, 'rabbitmqctl'), ['-n', node.name, ...args], { env: this.env(node), timeout: 120_000 });
    return stdout;
  }

  private live(): ClusterNode {
    const node = this.nodes.find((candidate) => !candidate.down);
    if (!node) throw new Error('no node of the cluster is up');
    return node;
  }

  private async launch(node: ClusterNode): Promise<void> {
    mkdirSync(node.dir);
    writeFileSync(path.join(node.dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${node.amqpPort}\n`);
    await exec(path.join(BIN, 'rabbitmq-server'), ['-detached'], { env: this.env(node), timeout: 60_000 });
    // -detached returns before the node has registered with epmd, when await_startup would say it is not running.
    const deadline = Date.now() + 180_000;
    for (;;) {
      const up = await this.ctl(node, 'await_startup', '--timeout', '60').then(() => true, (error: unknown) => error);
      if (up === true) return;
      if (Date.now() > deadline) throw new Error(`${node.name} did not start (logs in ${path.join(node.dir, 'log')}): ${String(up).slice(0, 300)}`);
      await sleep(1_000);
    }
  }

  private env(node: ClusterNode): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: path.join(this.dir, 'home'),
      RABBITMQ_NODENAME: node.name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(node.amqpPort),
      RABBITMQ_DIST_PORT: String(node.distPort),
      RABBITMQ_MNESIA_BASE: path.join(node.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(node.dir, 'log'),
      RABBITMQ_PID_FILE: path.join(node.dir, 'pid'),
      RABBITMQ_CONFIG_FILE: path.join(node.dir, 'rabbitmq'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.dir, 'enabled_plugins'),
      // Not /etc/rabbitmq/rabbitmq-env.conf, which names the machine's node.
      RABBITMQ_CONF_ENV_FILE: path.join(this.dir, 'rabbitmq-env.conf'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  private pidOf(node: ClusterNode): number | undefined {
    try {
      const pid = Number(readFileSync(path.join(node.dir, 'pid'), 'utf8').trim());
      return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
