/**
 * `make bench`: runs every benchmark as a child process of its own (each stays runnable alone), after a PostgreSQL
 * CHECKPOINT and two quiet seconds (bench/support/quiet-machine.ts), echoes what
 * each prints, picks its figures out of those lines (bench/report-table.ts), and writes bench/REPORT.md: the
 * machine, the settings, the load average and other work seen on the machine during each step, and one table
 * of figure, floor, ratio, target and whether it was met. Where a relay, create-order or saga target is missed,
 * that benchmark runs once more with the relay or service under `node --cpu-prof`, and the report says where its
 * CPU time went (bench/profile-summary.ts). Last, what-if runs measure deployment choices the other way (the service
 * without the Dockerfile's heap cap, the roles split over three processes) beside the shipped figures. Profiled and
 * what-if figures stay out of the table.
 *
 * Settings by environment: BENCH_ONLY (comma-separated step names), BENCH_PROFILE_MISSED (1; 0 = none),
 * BENCH_WHAT_IF (1; 0 = none), BENCH_REPORT (bench/REPORT.md). Each step's own settings are in STEPS.
 * `npx tsx bench/run-all.ts --rerender` rewrites the report from the last run (bench/results/last-run.json),
 * e.g. after editing the hand-written analysis (bench/REPORT-analysis.md), without measuring again; `--what-ifs`
 * measures only the what-if runs again and rewrites the report with them.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { buildTable, buildWhatIfTable, type Figures } from './report-table.js';
import { halfServiceRate } from './capacity-table.js';
import { renderReport, type StepRun } from './report-render.js';
import { describeMachine } from './support/machine.js';
import { ensureBuild } from './support/main-process.js';
import { watchOtherWork } from './support/other-work.js';
import { checkpointPostgres, waitForQuietMachine } from './support/quiet-machine.js';

export interface Step {
  name: string;
  file: string;
  env: Record<string, string>;
  /** What the step measures, for the settings section. */
  about: string;
  /** Settings taken from the steps run before it (publish-latency runs at half saga-capacity's highest rate). */
  envFrom?: (earlier: StepRun[]) => Record<string, string>;
}

const SAGA_ENV = { BENCH_RATE: '100', BENCH_SECONDS: '20', BENCH_ROUNDS: '2', BENCH_WARMUP_SECONDS: '3' };
const CREATE_ENV = { BENCH_CONNECTIONS: '32', BENCH_SECONDS: '10', BENCH_ROUNDS: '2', BENCH_WARMUP_SECONDS: '3', BENCH_POOL_SIZE: '10' };
/** What-if runs are shorter: they show a direction and a size, beside the full-length shipped figure. */
const WHAT_IF_SAGA_ENV = { ...SAGA_ENV, BENCH_SECONDS: '10' };

/** The saga chain's capacity, service and like-for-like floor (issue 17); about 8 to 12 minutes. */
const CAPACITY_ENV = { BENCH_STEP_SECONDS: '6', BENCH_STEP_WINDOWS: '3', BENCH_SECONDS: '32', BENCH_ROUNDS: '8' };

const STEPS: Step[] = [
  // Five rounds: one drain swings by 10-15% either way on a 2-core VM, and the verdict is a ratio of two medians.
  { name: 'relay-throughput', file: 'bench/relay-throughput.ts', env: { BENCH_ROUNDS: '5' }, about: 'drain 50,000 ready rows (5 per order) with confirms, one relay, batch 500; then the same backlog by a bare claim-publish-mark loop, one wave per cycle and (reference) each order\'s rows one confirm after another; each side first drains 10,000 rows unmeasured, then 5 alternating rounds, medians compared' },
  {
    name: 'saga-capacity',
    file: 'bench/saga-capacity.ts',
    env: { ...CAPACITY_ENV, BENCH_FLOOR_IN_ORDER: '1' },
    about: 'saga chain, service (all roles, one process) vs the bare outbox chain: step load 50, 100, ... orders/s, each step up to 3 windows of 6 s per side decided by their majority, until p95 > 250 ms, then one step halfway back; then cost per order and round trip at half the floor\'s highest rate (32 s per side in 8 alternating slices); the floor keeping each order\'s events in sequence beside them as a reference',
  },
  {
    name: 'publish-latency',
    file: 'bench/publish-latency.ts',
    env: { BENCH_RATES: '200,500', BENCH_DEPLOYMENTS: 'one-process,split', BENCH_SECONDS: '10', BENCH_WARMUP_SECONDS: '2' },
    envFrom: (earlier) => {
      const half = halfServiceRate(figuresOf(earlier));
      return half && half !== 200 && half !== 500 ? { BENCH_RATES: `${half},200,500` } : ({} as Record<string, string>);
    },
    about: "commit -> consumer receipt at half saga-capacity's highest service rate, 200 and 500 orders/s, 10 s each, one-process and split deployments",
  },
  { name: 'create-order-throughput', file: 'bench/create-order-throughput.ts', env: { BENCH_ROUNDS: '1', BENCH_SECONDS: '10' }, about: 'create-order at 32 connections with the relay running, per wake-up design (7 cases, 10 s each)' },
  { name: 'create-order-vs-floor', file: 'bench/create-order-vs-floor.ts', env: CREATE_ENV, about: 'POST /api/v1/orders (role http) vs raw-pg floor, 32 connections, 10 s each in 2 alternating slices' },
  {
    name: 'user-orders-read',
    file: 'bench/user-orders-read.ts',
    env: { BENCH_USERS: '300', BENCH_CONNECTIONS: '32', BENCH_SECONDS: '10', BENCH_WARMUP_SECONDS: '2' },
    about: 'GET /api/v1/orders/user/:userID (10 orders each, 300 users) vs one Redis string, 32 connections, 10 s each in 4 alternating slices',
  },
  { name: 'saga-round-trip', file: 'bench/saga-round-trip.ts', env: SAGA_ENV, about: 'POST -> simulator approves -> listed in the Redis projection, 100 orders/s, 20 s each in 2 alternating slices' },
  {
    name: 'auth-cost',
    file: 'bench/auth-cost.ts',
    env: { BENCH_CONNECTIONS: '16', BENCH_SECONDS: '8', BENCH_ROUNDS: '4', BENCH_WARMUP_SECONDS: '1' },
    about: 'GET /api/v1/orders/user/:userID with authentication off, on with one ES256 or RS256 token, on with a new ES256 token per request; 16 connections, 8 s each in 4 alternating slices; verify() alone',
  },
  {
    name: 'tracing-cost',
    file: 'bench/tracing-cost.ts',
    env: { BENCH_CONNECTIONS: '16', BENCH_SECONDS: '6', BENCH_ROUNDS: '2', BENCH_WARMUP_SECONDS: '1' },
    about: 'POST /api/v1/orders with tracing off, on (all sampled) and on (10% sampled), exporting OTLP/HTTP to a local sink; 16 connections, 6 s each in 2 alternating slices',
  },
];

/** Deployment choices measured the other way (what the shipped configuration buys), and a split deployment. */
const WHAT_IFS: Step[] = [
  { name: 'saga-capacity+split', file: 'bench/saga-capacity.ts', env: { ...CAPACITY_ENV, BENCH_SAGA_SPLIT: '1' }, about: 'saga chain capacity with the roles in three processes (http | relay | consumers,scheduler): each role\'s CPU per order' },
  { name: 'create-order-vs-floor+no-heap-cap', file: 'bench/create-order-vs-floor.ts', env: { ...CREATE_ENV, BENCH_DEPLOYED_NODE_OPTIONS: '' }, about: "create-order vs floor, the service without the Dockerfile's NODE_OPTIONS heap cap" },
  { name: 'saga-round-trip+no-heap-cap', file: 'bench/saga-round-trip.ts', env: { ...WHAT_IF_SAGA_ENV, BENCH_DEPLOYED_NODE_OPTIONS: '' }, about: "saga round trip (10 s per side), the service without the Dockerfile's NODE_OPTIONS heap cap" },
  { name: 'saga-round-trip+split', file: 'bench/saga-round-trip.ts', env: { ...WHAT_IF_SAGA_ENV, BENCH_SAGA_SPLIT: '1' }, about: 'saga round trip (10 s per side) with the roles in three processes (http | relay | consumers,scheduler)' },
];

const REPORT = process.env.BENCH_REPORT ?? 'bench/REPORT.md';
/** Everything the report is made from, kept so that `--rerender` can rewrite it. */
const LAST_RUN = 'bench/results/last-run.json';
const only = process.env.BENCH_ONLY?.split(',');

if (process.argv.includes('--rerender') || process.argv.includes('--what-ifs')) {
  const saved = JSON.parse(readFileSync(LAST_RUN, 'utf8')) as { started: string; finished: string; machine: [string, string][]; runs: StepRun[]; whatIfs: StepRun[]; profiles: string[] };
  const [runs, saveWhatIfs] = [saved.runs, saved.whatIfs].map((list) => list.map((run) => ({ ...run, startedAt: new Date(run.startedAt) })));
  let whatIfs = saveWhatIfs!;
  // --what-ifs: measure the what-ifs again (the machine was busy the first time, say) beside the saved run.
  if (process.argv.includes('--what-ifs')) {
    await ensureBuild();
    process.env.BENCH_DIST_READY = '1';
    whatIfs = [];
    for (const step of WHAT_IFS) whatIfs.push(await runStep(step));
    writeFileSync(LAST_RUN, JSON.stringify({ ...saved, whatIfs }, null, 1));
  }
  writeFileSync(REPORT, renderReport({ ...saved, started: new Date(saved.started), finished: new Date(saved.finished), runs: runs!, whatIfs, table: buildTable(figuresOf(runs!)), whatIfTable: buildWhatIfTable(figuresOf([...runs!, ...whatIfs])) }));
  console.log(`rewrote ${REPORT} from ${LAST_RUN}`);
} else {
  const started = new Date();
  const machine = await describeMachine();
  console.log(`# make bench: ${started.toISOString()}\n${machine.map(([key, value]) => `${key}: ${value}`).join('\n')}`);
  await ensureBuild();
  process.env.BENCH_DIST_READY = '1';
  const runs: StepRun[] = [];
  for (const step of STEPS.filter((s) => !only || only.includes(s.name))) runs.push(await runStep(step, step.envFrom?.(runs)));
  const table = buildTable(figuresOf(runs));

  const profiles: string[] = [];
  if (process.env.BENCH_PROFILE_MISSED !== '0') {
    const missed = new Set(table.filter((row) => row.met === 'no').map((row) => row.step));
    for (const step of STEPS.filter((s) => ['relay-throughput', 'create-order-vs-floor', 'saga-round-trip'].includes(s.name) && missed.has(s.name))) profiles.push(await profileStep(step));
  }
  const whatIfs: StepRun[] = [];
  if (process.env.BENCH_WHAT_IF !== '0') {
    for (const step of WHAT_IFS.filter((s) => !only || only.includes(s.name.split('+')[0]!))) whatIfs.push(await runStep(step));
  }
  const finished = new Date();
  const whatIfTable = buildWhatIfTable(figuresOf([...runs, ...whatIfs]));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(LAST_RUN, JSON.stringify({ started, finished, machine, runs, whatIfs, profiles }, null, 1));
  writeFileSync(REPORT, renderReport({ started, finished, machine, runs, whatIfs, profiles, table, whatIfTable }));
  console.log(`\nwrote ${REPORT} (${Math.round((finished.getTime() - started.getTime()) / 1000)} s in all)`);
}

function figuresOf(stepRuns: StepRun[]): Figures {
  return Object.fromEntries(stepRuns.map((run) => [run.step.name, run.output]));
}

/** Runs one benchmark in a child process, echoing and keeping its output; watches load and other work meanwhile. */
async function runStep(step: Step, extraEnv: Record<string, string> = {}, nodeArgs: string[] = []): Promise<StepRun> {
  console.log(`\n## ${step.name} (${step.file})`);
  const checkpointSeconds = await checkpointPostgres();
  const quiet = await waitForQuietMachine();
  console.log(`settled: CHECKPOINT took ${checkpointSeconds.toFixed(1)} s, then waited ${quiet.waitedSeconds} s for a quiet machine (cpus ${Math.round(quiet.idle * 100)}% idle)`);
  const loadBefore = loadavg();
  let loadMax1m = loadBefore[0]!;
  const loadWatch = setInterval(() => (loadMax1m = Math.max(loadMax1m, loadavg()[0]!)), 2_000);
  const otherWork = watchOtherWork();
  const startedAt = new Date();
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, step.file], { env: { ...process.env, ...step.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    process.stdout.write(chunk);
  });
  const exitCode = await new Promise<number | null>((done) => child.on('close', done));
  clearInterval(loadWatch);
  const loadAfter = loadavg();
  if (exitCode !== 0) console.log(`(${step.name} exited with ${exitCode})`);
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  return { step, startedAt, seconds, exitCode, loadBefore, loadAfter, loadMax1m: Math.max(loadMax1m, loadAfter[0]!), settledSeconds: Math.round(checkpointSeconds + quiet.waitedSeconds), otherWork: otherWork.stop(), output };
}

/** Reruns a step with the service under node --cpu-prof and summarizes the measured window of its profile. */
async function profileStep(step: Step): Promise<string> {
  const dir = `bench/results/profiles/${step.name}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The relay runs inside the benchmark's own process; the others spawn the service (bench/support/main-process.ts).
  const run = step.name === 'relay-throughput' ? await runStep(step, {}, ['--cpu-prof', `--cpu-prof-dir=${dir}`]) : await runStep(step, { BENCH_CPU_PROF_DIR: dir });
  const window = /profile window: \w+ pid (\d+), from ([\d.]+) s to ([\d.]+) s/.exec(run.output);
  const file = window && readdirSync(dir).find((name) => name.includes(`.${window[1]}.0.`) && name.endsWith('.cpuprofile'));
  if (!window || !file) return `### ${step.name}\n\nThe profiled rerun left no profile (exit ${run.exitCode}).\n`;
  const summary = formatSummary(summarizeProfile(`${dir}/${file}`, Number(window[2]), Number(window[3])), 20);
  const headline = run.output.split('\n').filter((line) => /^(service|ratio)/.test(line));
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');
  return [
    `### ${step.name}: the ${step.name === 'relay-throughput' ? 'relay (in the benchmark process)' : 'service process'} under node --cpu-prof (${dir}/${file})`,
    '',
    `Profiled rerun, load average ${load(run.loadBefore)} before, ${load(run.loadAfter)} after, other node processes ${Math.round(run.otherWork.cpuSeconds)} cpu-s` +
      `${run.otherWork.suites.length ? `, suites: ${run.otherWork.suites.join('; ')}` : ''}. Its figures, with the profiler's overhead:`,
    '',
    ...headline.map((line) => `    ${line}`),
    '',
    `Samples from ${window[2]} s to ${window[3]} s after the process started (the measured slices; the floor's slices in between are idle and left out).`,
    '',
    '```',
    summary,
    '```',
    '',
  ].join('\n');
}
