/**
 * Other work on a shared machine while a benchmark runs, read from /proc: test suites (vitest, a fault or fuzz
 * suite stops brokers and databases) and the CPU time used by node processes that are not this process or its
 * descendants (other engineers' tests and services). The servers (PostgreSQL, Redis, RabbitMQ) are left out:
 * the benchmarks themselves load them.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cpuSeconds: number;
  cmdline: string;
}

function processes(): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      found.push({ pid: Number(name), ppid: Number(fields[1]), comm, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND, cmdline });
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

/** Node processes outside this process's tree, with their CPU seconds so far. */
function foreignNode(): Map<number, Proc> {
  const all = processes();
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const ours = new Set<number>();
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop()!;
    ours.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return new Map(all.filter((p) => !ours.has(p.pid) && (p.comm === 'node' || p.comm.startsWith('npm'))).map((p) => [p.pid, p]));
}

export interface OtherWork {
  /** Test-suite command lines seen during the step. */
  suites: string[];
  /** CPU seconds used by foreign node processes during the step. */
  cpuSeconds: number;
}

/** Watches from now until stop(): suites seen every 2 s, foreign node CPU from start to stop. */
export function watchOtherWork(): { stop(): OtherWork } {
  const before = foreignNode();
  const suites = new Set<string>();
  const look = () => {
    for (const p of foreignNode().values()) {
      const suite = /vitest'?\s+run\b.*/.exec(p.cmdline);
      if (suite) suites.add(suite[0].replace("vitest'", 'vitest').slice(0, 90));
    }
  };
  look();
  const timer = setInterval(look, 2_000);
  return {
    stop() {
      clearInterval(timer);
      look();
      let cpu = 0;
      for (const p of foreignNode().values()) cpu += p.cpuSeconds - (before.get(p.pid)?.cpuSeconds ?? 0);
      return { suites: [...suites], cpuSeconds: cpu };
    },
  };
}
