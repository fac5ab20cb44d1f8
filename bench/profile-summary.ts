/**
 * Where a process's CPU time went, from a V8 .cpuprofile (node --cpu-prof): self time by package
 * (node_modules/<package>, node's own modules, our src/, wasm, GC, native builtins) and the top functions.
 * Idle samples are left out of the percentages. --from/--to keep only the samples in that window (seconds
 * after the profile started, which is about when the process was spawned), to leave startup out.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--from 12.5] [--to 40] [--top 20]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  windowSeconds: number;
  busyMs: number;
  byPackage: [name: string, ms: number][];
  topFunctions: [name: string, pkg: string, ms: number][];
}

export function summarizeProfile(path: string, fromSeconds = 0, toSeconds = Number.POSITIVE_INFINITY): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, { pkg: string; ms: number }>();
  let at = 0;
  let busyUs = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    const seconds = at / 1e6;
    if (seconds < fromSeconds || seconds > toSeconds) return;
    if (Number.isNaN(first)) first = seconds;
    last = seconds;
    const frame = nodes.get(id)!.callFrame;
    const pkg = packageOf(frame.url, frame.functionName);
    if (pkg === '(idle)') return;
    busyUs += delta;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + delta / 1000);
    const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    const entry = byFunction.get(name) ?? { pkg, ms: 0 };
    entry.ms += delta / 1000;
    byFunction.set(name, entry);
  });
  return {
    windowSeconds: last - first,
    busyMs: busyUs / 1000,
    byPackage: [...byPackage].sort((a, b) => b[1] - a[1]),
    topFunctions: [...byFunction].map(([name, { pkg, ms }]) => [name, pkg, ms] as [string, string, number]).sort((a, b) => b[2] - a[2]),
  };
}

/** The package a frame's code belongs to. */
export function packageOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') return functionName;
    return '(native builtins)';
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope?.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  if (url.startsWith('node:')) return 'node (core modules)';
  if (url.startsWith('wasm://')) return 'wasm';
  if (/\/(src|dist)\/generated\//.test(url)) return 'src/generated (Prisma client)';
  if (/\/(src|dist)\//.test(url)) return 'src (ours)';
  return url;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  return url.replace(/^file:\/\/.*?\/(src|dist)\//, '$1/');
}

export function formatSummary(summary: ProfileSummary, top = 15): string {
  const pct = (ms: number) => `${((100 * ms) / summary.busyMs).toFixed(1)}%`;
  const lines = [
    `busy cpu ${Math.round(summary.busyMs)} ms over ${summary.windowSeconds.toFixed(1)} s of samples (idle left out)`,
    'self time by package:',
    ...summary.byPackage.slice(0, 14).map(([name, ms]) => `  ${pct(ms).padStart(6)}  ${Math.round(ms).toString().padStart(6)} ms  ${name}`),
    `top ${top} functions by self time:`,
    ...summary.topFunctions.slice(0, top).map(([name, pkg, ms]) => `  ${pct(ms).padStart(6)}  ${name}  [${pkg}]`),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } } });
  if (positionals.length === 0) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--from s] [--to s] [--top n]');
    process.exit(2);
  }
  for (const file of positionals) {
    console.log(`# ${file}`);
    console.log(formatSummary(summarizeProfile(file, Number(values.from ?? 0), Number(values.to ?? Number.POSITIVE_INFINITY)), Number(values.top ?? 15)));
  }
}
