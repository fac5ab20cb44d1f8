import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface ClusterNode {
  port: number;
  /** "127.0.0.1:<port>" */
  address: string;
  process: ChildProcess;
}

export interface RunningRedisCluster {
  /** Every node, masters first as `redis-cli --cluster create` made them (then their replicas). */
  nodes: ClusterNode[];
  /** "127.0.0.1:<port>" of every node: the seeds (REDIS_CLUSTER_NODES). */
  seeds: string[];
  /** The directory of the nodes' cluster config files and logs, removed by stop(). */
  directory: string;
  /** Starts a node that was killed again, on its port and cluster config file: it rejoins the cluster it knew. */
  restart(node: ClusterNode): void;
  stop(): Promise<void>;
}

export interface ClusterShape {
  masters: number;
  replicasPerMaster: number;
  /** cluster-node-timeout: how long a master may be unreachable before its replica takes over. */
  nodeTimeoutMs: number;
}

/**
 * A Redis Cluster on loopback ports, every node a child process of this one with its config file in a temporary
 * directory, keeping nothing on disk. Each node's port P needs P + 10000 free too (the cluster bus). stop() ends
 * every node by its pid and removes the directory.
 */
export async function startRedisCluster(shape: ClusterShape): Promise<RunningRedisCluster> {
  const count = shape.masters * (1 + shape.replicasPerMaster);
  const directory = await mkdtemp(path.join(tmpdir(), 'os-redis-cluster-'));
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => stopNode(node.process)));
    await rm(directory, { recursive: true, force: true });
  };
  try {
    for (const port of await clusterPorts(count)) nodes.push({ port, address: `127.0.0.1:${port}`, process: startNode(port, directory, shape.nodeTimeoutMs) });
    await Promise.all(nodes.map((node) => until(`node ${node.address} answering`, async () => (await cli(node.port, 'ping')) === 'PONG', 15_000)));
    await exec('redis-cli', ['--cluster', 'create', ...nodes.map((node) => node.address), '--cluster-replicas', String(shape.replicasPerMaster), '--cluster-yes'], { timeout: 60_000 });
    await waitUntilHealthy(nodes, shape);
  } catch (error) {
    await stop();
    throw error;
  }
  const restart = (node: ClusterNode) => {
    node.process = startNode(node.port, directory, shape.nodeTimeoutMs);
  };
  return { nodes, seeds: nodes.map((node) => node.address), directory, restart, stop };
}

function startNode(port: number, directory: string, nodeTimeoutMs: number): ChildProcess {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes', '--cluster-config-file', path.join(directory, `nodes-${port}.conf`),
    '--cluster-node-timeout', String(nodeTimeoutMs),
    '--save', '', '--appendonly', 'no', '--dir', directory, '--logfile', path.join(directory, `redis-${port}.log`),
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

/** Every slot served, every node agreeing, and each replica in sync with its master. */
async function waitUntilHealthy(nodes: ClusterNode[], shape: ClusterShape): Promise<void> {
  await until('cluster_state:ok on every node', async () => {
    const infos = await Promise.all(nodes.map((node) => cli(node.port, 'cluster', 'info')));
    return infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${nodes.length}`));
  }, 30_000);
  if (shape.replicasPerMaster === 0) return;
  await until('every replica in sync', async () => {
    const roles = await Promise.all(nodes.map((node) => cli(node.port, 'info', 'replication')));
    const replicas = roles.filter((info) => info.includes('role:slave'));
    return replicas.length === shape.masters * shape.replicasPerMaster && replicas.every((info) => info.includes('master_link_status:up'));
  }, 30_000);
}

/** redis-cli against one node, its answer trimmed ('' when it does not answer within 5 s). */
export async function cli(port: number, ...args: string[]): Promise<string> {
  return exec('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5_000 }).then(
    ({ stdout }) => stdout.trim(),
    () => '',
  );
}

export async function until(what: string, check: () => Promise<boolean>, deadlineMs: number, pollMs = 200): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`no ${what} within ${deadlineMs} ms`);
    await sleep(pollMs);
  }
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // Nothing is kept on disk, so there is nothing for a gentler stop to save.
  child.kill('SIGKILL');
  await exited;
}

/** `count` ports P in 17000-27999 with P and P + 10000 (its cluster bus) both free on loopback. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 500) throw new Error('no free ports for a Redis Cluster');
    const port = 17_000 + Math.floor(Math.random() * 11_000);
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
