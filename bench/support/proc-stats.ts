/**
 * What a process costs while a load runs, read from /proc (Linux): resident memory (VmRSS, sampled) and CPU
 * time (utime + stime). Reading /proc costs the measured process nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)

export function rssMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process used since it started. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14th, stime 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Seconds a thread spent on a core and waiting for one (runnable, but every core busy with something else). */
export interface ThreadSchedule {
  ran: number;
  waited: number;
}

/**
 * The process's main thread's time on a core and in the run queue, in seconds since it started
 * (/proc/<pid>/schedstat: both in nanoseconds); undefined where the kernel keeps no such count. A node process's
 * main thread is its event loop: while it waits for a core, every callback due waits too.
 */
export function mainThreadSchedule(pid: number): ThreadSchedule | undefined {
  try {
    const [ran, waited] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
    return Number.isFinite(ran) && Number.isFinite(waited) ? { ran: ran! / 1e9, waited: waited! / 1e9 } : undefined;
  } catch {
    return undefined;
  }
}

export interface RssSummary {
  maxMb: number;
  meanMb: number;
  samples: number;
}

/** Samples VmRSS every intervalMs until stop(); stop() gives the max and mean of the samples. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): RssSummary } {
  const samples: number[] = [];
  const take = () => {
    const value = rssMb(pid);
    if (value !== undefined) samples.push(value);
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { maxMb: Math.max(...samples), meanMb: samples.reduce((a, b) => a + b, 0) / samples.length, samples: samples.length };
    },
  };
}

/** Merges the summaries of several phases of one process, weighting each mean by its samples. */
export function mergeRss(parts: RssSummary[]): RssSummary {
  const samples = parts.reduce((n, part) => n + part.samples, 0);
  return {
    maxMb: Math.max(...parts.map((part) => part.maxMb)),
    meanMb: parts.reduce((sum, part) => sum + part.meanMb * part.samples, 0) / samples,
    samples,
  };
}

/**
 * The service's own view of its memory, from prom-client's default metrics on /metrics: the V8 heap (used of
 * total) and memory outside it (Buffers, wasm, native), next to RSS. The rest of RSS is code, stacks and the
 * allocator's free pages.
 */
export async function memoryBreakdown(port: number): Promise<string> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((res) => res.text(), () => '');
  const mb = (name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)`, 'm').exec(text);
    return match ? `${(Number(match[1]) / 2 ** 20).toFixed(1)} MB` : '?';
  };
  return (
    `rss ${mb('process_resident_memory_bytes')}, v8 heap used ${mb('nodejs_heap_size_used_bytes')} of ${mb('nodejs_heap_size_total_bytes')}, ` +
    `external ${mb('nodejs_external_memory_bytes')}`
  );
}

/** CPU seconds used so far by each process whose command name is `comm` (postgres, beam.smp), by pid. */
export function cpuSecondsByPid(comm: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === comm) byPid.set(Number(name), cpuSeconds(Number(name)));
    } catch {
      // gone since the listing
    }
  }
  return byPid;
}

/**
 * CPU seconds the processes of `after` used since `before`: one that started in between counts from its start, one
 * that ended in between is left out (a connection's backend closed just before a window would otherwise subtract
 * its whole life from it).
 */
export function cpuSecondsSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}
