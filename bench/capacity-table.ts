/**
 * The report's rows for issue 17's targets, each a ratio to a floor measured in the same run: the saga chain
 * (bench/saga-capacity.ts: CPU per order, highest sustained rate, round trip at half the floor's highest rate),
 * commit -> publish at half the service's own highest rate (bench/publish-latency.ts, given that rate by
 * bench/run-all.ts), and the relay's drain beside a bare claim-publish-mark loop (bench/relay-throughput.ts).
 */
import type { Figures, Row, WhatIfRow } from './report-table.js';

const num = String.raw`([\d.]+)`;
const x = (value: number) => `${value.toFixed(2)}x`;

function match(figures: Figures, step: string, pattern: RegExp): number[] | undefined {
  const found = pattern.exec(figures[step] ?? '');
  return found ? found.slice(1).map(Number) : undefined;
}

const missing = (step: string, benchmark: string, target: string): Row => ({ step, benchmark, figure: "not measured (see the step's output)", floor: '—', ratio: '—', target, met: '—' });

/** The rate publish-latency should run at: half the service's highest sustained saga rate, when saga-capacity printed it. */
export function halfServiceRate(figures: Figures): number | undefined {
  const found = match(figures, 'saga-capacity', /^service highest sustained rate: (\d+) orders\/s \(half: (\d+);/m);
  return found && found[1]! > 0 ? found[1] : undefined;
}

export function capacityRows(figures: Figures): Row[] {
  const rows: Row[] = [];
  const step = 'saga-capacity';
  const targets: [string, string, string][] = [
    ['total cpu per order', 'saga chain: CPU per order, every process (service, simulator, PostgreSQL, RabbitMQ, Redis)', '<= 1.5x the floor'],
    ['highest sustained rate', 'saga chain: highest sustained rate (step load, p95 POST -> listed <= 250 ms)', '>= 0.7x the floor'],
    ['round-trip p95 at', "saga chain: round-trip p95 at half the floor's highest rate", '<= 2x the floor'],
  ];
  for (const [name, benchmark, target] of targets) {
    // NaN: the floor's figure was 0 (neither side sustained the first step), so there is no ratio.
    const line = new RegExp(`^target ${name}[^:]*: (.*?) vs (.*?): (NaN|[\\d.]+)x the floor .*?: (PASS|MISS)$`, 'm').exec(figures[step] ?? '');
    rows.push(
      line
        ? { step, benchmark: name === 'round-trip p95 at' ? `${benchmark} (${/round-trip p95 at (\d+)\/s/.exec(line[0])?.[1]} orders/s)` : benchmark, figure: line[1]!, floor: `${line[2]}: bare outbox chain, measured`, ratio: line[3] === 'NaN' ? 'no ratio (floor 0)' : x(Number(line[3])), target, met: line[4] === 'PASS' ? 'yes' : 'no' }
        : missing(step, benchmark, target),
    );
  }

  const half = halfServiceRate(figures);
  const benchmark = `commit -> publish, one process, at half the service's highest sustained rate${half ? ` (${half} orders/s)` : ''}`;
  const latency = half && match(figures, 'publish-latency', new RegExp(`^one-process, ${half}/s: commit -> receipt p50 ${num} ms, p99 ${num} ms`, 'm'));
  rows.push(
    latency
      ? { step: 'publish-latency', benchmark, figure: `p50 ${latency[0]!.toFixed(1)} ms, p99 ${latency[1]!.toFixed(1)} ms`, floor: '—', ratio: '—', target: 'p99 <= 25 ms', met: latency[1]! <= 25 ? 'yes' : 'no' }
      : missing('publish-latency', benchmark, 'p99 <= 25 ms'),
  );

  const relay = match(figures, 'relay-throughput', new RegExp(`^relay throughput: ${num} rows/s`, 'm'));
  const bare = match(figures, 'relay-throughput', new RegExp(`^bare relay throughput: ${num} rows/s`, 'm'));
  rows.push(
    relay && bare
      ? { step: 'relay-throughput', benchmark: 'relay drain vs a bare claim-publish-mark loop (50,000 rows, confirms)', figure: `${relay[0]} rows/s`, floor: `${bare[0]} rows/s: raw pg + amqplib loop, same run`, ratio: x(relay[0]! / bare[0]!), target: '>= 0.85x the bare loop', met: relay[0]! / bare[0]! >= 0.85 ? 'yes' : 'no' }
      : missing('relay-throughput', 'relay drain vs a bare loop', '>= 0.85x the bare loop'),
  );
  return [...rows, ...inOrderReferenceRows(figures)];
}

/**
 * Reference rows, not the issue's targets: the service against floors that keep its promise of each order's events
 * in sequence (each row sent from its predecessor's confirm), so a reader can tell what the promise costs bare code
 * from what the service adds to it.
 */
function inOrderReferenceRows(figures: Figures): Row[] {
  const rows: Row[] = [];
  const rate = /^reference highest sustained rate: (\d+) vs (\d+) orders\/s: ([\d.]+x|no ratio) the order-keeping floor \(its own: ([\d.]+x|no ratio) the one-wave floor\)$/m.exec(figures['saga-capacity'] ?? '');
  if (rate) {
    rows.push({
      step: 'saga-capacity',
      benchmark: 'reference: saga chain, highest sustained rate against the floor that keeps each order in sequence',
      figure: `${rate[1]} orders/s`,
      floor: `${rate[2]} orders/s: the bare chain, its relay sending each order's rows one confirm after another (${rate[4]} the one-wave floor), measured`,
      ratio: rate[3]!,
      target: '— (reference)',
      met: '—',
    });
  }
  const relay = match(figures, 'relay-throughput', new RegExp(`^relay throughput: ${num} rows/s`, 'm'));
  const inOrder = match(figures, 'relay-throughput', new RegExp(`^bare relay keeping order: ${num} rows/s`, 'm'));
  if (relay && inOrder) {
    rows.push({
      step: 'relay-throughput',
      benchmark: 'reference: relay drain against the bare loop that keeps each order in sequence',
      figure: `${relay[0]} rows/s`,
      floor: `${inOrder[0]} rows/s: the bare loop, each order's rows one confirm after another, same run`,
      ratio: x(relay[0]! / inOrder[0]!),
      target: '— (reference)',
      met: '—',
    });
  }
  return rows;
}

/** The split deployment's saga chain (what-if saga-capacity+split) beside the one-process service. */
export function splitCapacityRow(figures: Figures): WhatIfRow | undefined {
  if (!('saga-capacity+split' in figures)) return undefined;
  const cpu = (step: string, kind: string) => new RegExp(`^${kind}: cpu per order ([\\d.]+) ms in all: (.*?) \\(ms;`, 'm').exec(figures[step] ?? '');
  const rate = (step: string, label: string) => new RegExp(`^highest sustained rate, ${label}.*?: (\\d+) orders/s`, 'm').exec(figures[step] ?? '')?.[1];
  const [one, split] = [cpu('saga-capacity', 'service'), cpu('saga-capacity+split', 'service-split')];
  const [oneRate, splitRate] = [rate('saga-capacity', 'service \\(one process'), rate('saga-capacity+split', 'service \\(roles split')];
  return {
    benchmark: 'saga chain with the roles in three processes (http | relay | consumers,scheduler): CPU per order by role, highest sustained rate',
    shipped: one ? `${one[1]} ms per order in all (${one[2]}); highest sustained ${oneRate ?? '?'} orders/s` : 'not measured',
    whatIf: split ? `${split[1]} ms per order in all (${split[2]}); highest sustained ${splitRate ?? '?'} orders/s` : 'not measured',
    change: one && split ? `cpu per order ${x(Number(split[1]) / Number(one[1]))}` : '—',
  };
}
