/** A closed-loop GET load with keep-alive connections, and the server child's CPU per answered request. */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { percentile } from './bench-env.js';

export interface GetLoadResult {
  /** Server process CPU (user + system) per answered request, in ms: what each request costs the server. */
  serverCpuMs?: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
}

/** A load result with the server's CPU per answered request measured (withServerCpu). */
export type MeasuredLoad = GetLoadResult & { serverCpuMs: number };

/**
 * `connections` loops, each sending its next GET when the previous answer is read, for `seconds`; 200 counts.
 * `headers` may be a function, called for each request.
 */
export async function getLoad(
  port: number,
  path: () => string,
  seconds: number,
  connections: number,
  headers: Record<string, string> | (() => Record<string, string>) = {},
): Promise<GetLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  try {
    return await closedLoop(seconds, connections, async () => (await get(agent, port, path(), typeof headers === 'function' ? headers() : headers).catch(() => 0)) === 200);
  } finally {
    agent.destroy();
  }
}

/** `connections` loops, each sending its next request when `send` resolved, for `seconds`; `send` says if it counts. */
export async function closedLoop(seconds: number, connections: number, send: () => Promise<boolean>): Promise<GetLoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      if (await send()) latencies.push(performance.now() - sent);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), requests: latencies.length, errors };
}

/** Slices of one variant as one result: mean rate, p50 and CPU weighted by requests, the worst p99. */
export function mergeLoads(parts: MeasuredLoad[]): MeasuredLoad {
  const requests = parts.reduce((n, part) => n + part.requests, 0);
  const weighted = (pick: (part: MeasuredLoad) => number) => parts.reduce((sum, part) => sum + pick(part) * part.requests, 0) / requests;
  return {
    rps: parts.reduce((sum, part) => sum + part.rps, 0) / parts.length,
    p50: weighted((part) => part.p50),
    p99: Math.max(...parts.map((part) => part.p99)),
    requests,
    errors: parts.reduce((n, part) => n + part.errors, 0),
    serverCpuMs: weighted((part) => part.serverCpuMs),
  };
}

function get(agent: http.Agent, port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent, headers, timeout: 10_000 }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

/** Runs a load phase and adds the server child's CPU per answered request (the child answers 'cpu' with process.cpuUsage()). */
export async function withServerCpu(server: ChildProcess, phase: () => Promise<GetLoadResult>): Promise<MeasuredLoad> {
  const cpu = async () => {
    server.send('cpu');
    const [usage] = (await once(server, 'message')) as [NodeJS.CpuUsage];
    return usage.user + usage.system;
  };
  const before = await cpu();
  const result = await phase();
  const after = await cpu();
  return { ...result, serverCpuMs: (after - before) / 1000 / Math.max(1, result.requests) };
}
