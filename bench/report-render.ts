/** bench/REPORT.md from a run of bench/run-all.ts: machine, results table, what-ifs, steps and load, profiles, printed figures. */
import { existsSync, readFileSync } from 'node:fs';
import type { Step } from './run-all.js';
import type { Row, WhatIfRow } from './report-table.js';
import type { OtherWork } from './support/other-work.js';

export interface StepRun {
  step: Step;
  startedAt: Date;
  seconds: number;
  exitCode: number | null;
  loadBefore: number[];
  loadAfter: number[];
  loadMax1m: number;
  /** Seconds spent before the step on a PostgreSQL CHECKPOINT and two quiet seconds (absent in older records). */
  settledSeconds?: number;
  otherWork: OtherWork;
  output: string;
}

export interface RunRecord {
  started: Date;
  finished: Date;
  machine: [string, string][];
  runs: StepRun[];
  whatIfs: StepRun[];
  profiles: string[];
  table: Row[];
  whatIfTable: WhatIfRow[];
}

const cell = (text: string) => text.replaceAll('|', '\\|');
const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');

export function renderReport(record: RunRecord): string {
  const { started, finished, machine, runs, whatIfs, profiles, table, whatIfTable } = record;
  const lines = [
    '# Benchmark report',
    '',
    `Written by \`make bench\` (bench/run-all.ts), started ${started.toISOString()}, ${Math.round((finished.getTime() - started.getTime()) / 60_000)} min in all. ` +
      'The benchmarks print figures and never fail a build. On this shared 2-core machine the figures move with other work: ' +
      'each step lists the load average around it and the other work seen meanwhile (the load average counts the benchmark itself, which keeps both cores busy).',
    '',
    '## Machine',
    '',
    ...machine.map(([key, value]) => `- ${key}: ${value}`),
    '',
    '## Results',
    '',
    '| benchmark | figure | floor | ratio to floor | target | met? |',
    '|---|---|---|---|---|---|',
    ...table.map((row) => `| ${cell(row.benchmark)} | ${cell(row.figure)} | ${cell(row.floor)} | ${cell(row.ratio)} | ${cell(row.target)} | ${row.met} |`),
    '',
    'Ratio: the figure divided by the floor (for throughput higher is better; for latency and memory, how many times the floor it is).',
    'A floor marked "quoted" is the figure the issue gives for a bare implementation on this machine kind, not measured in this run.',
    '',
    ...(whatIfTable.length
      ? [
          '## What-if runs (deployment choices measured the other way, not the shipped configuration)',
          '',
          '| benchmark | as shipped (table above) | what-if | change measured |',
          '|---|---|---|---|',
          ...whatIfTable.map((row) => `| ${cell(row.benchmark)} | ${cell(row.shipped)} | ${cell(row.whatIf)} | ${cell(row.change)} |`),
          '',
        ]
      : []),
    '## Steps: settings and load',
    '',
    '| step | settings | CHECKPOINT + wait for a quiet machine | started (UTC) | took | load avg before (1/5/15 min) | max 1-min load during | load avg after | other work during the step |',
    '|---|---|---|---|---|---|---|---|---|',
    ...[...runs, ...whatIfs].map((run) => {
      const env = Object.entries(run.step.env).map(([key, value]) => `${key}=${value}`).join(' ');
      const other = `node processes outside the run: ${Math.round(run.otherWork.cpuSeconds)} cpu-s${run.otherWork.suites.length ? `; suites: ${run.otherWork.suites.join('; ')}` : '; no test suite'}`;
      return (
        `| ${run.step.name}${run.exitCode === 0 ? '' : ` (exit ${run.exitCode})`} | ${cell(run.step.about)}${env ? `; ${cell(env)}` : ''} | ` +
        `${run.settledSeconds === undefined ? '—' : `${run.settledSeconds} s`} | ${run.startedAt.toISOString().slice(11, 19)} | ` +
        `${Math.round(run.seconds)} s | ${load(run.loadBefore)} | ${run.loadMax1m.toFixed(2)} | ${load(run.loadAfter)} | ${cell(other)} |`
      );
    }),
    '',
    ...(profiles.length ? ['## Where the CPU time goes (profiled reruns of the missed targets)', '', ...profiles] : []),
    ...analysis(),
    '## Printed figures',
    '',
    ...[...runs, ...whatIfs].flatMap((run) => [`### ${run.step.name}`, '', '```', ...run.output.trimEnd().split('\n').filter((line) => !line.startsWith('{')), '```', '']),
  ];
  return `${lines.join('\n')}\n`;
}

/** Hand-written analysis kept beside the generated report (bench/REPORT-analysis.md), included as is. */
function analysis(): string[] {
  const file = 'bench/REPORT-analysis.md';
  return existsSync(file) ? [readFileSync(file, 'utf8').trimEnd(), ''] : [];
}
