/**
 * The report's rows for issue 17's targets, each a ratio to a floor measured in the same run: the saga chain
 * (bench/saga-capacity.ts: CPU per order, highest sustained rate, round trip at half the floor's highest rate),
 * commit -> publish at half the service's own highest rate (bench/publish-latency.ts, given that rate by
 * bench/run-all.ts), and the relay's drain beside a bare claim-publish-mark loop (bench/relay-throughput.ts).
 */
import type { Figures, Row } from './report-table.js';

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
    const line = new RegExp(`^target ${name}[^:]*: (.*?) vs (.*?): ${num}x the floor .*?: (PASS|MISS)$`, 'm').exec(figures[step] ?? '');
    rows.push(
      line
        ? { step, benchmark: name === 'round-trip p95 at' ? `${benchmark} (${/round-trip p95 at (\d+)\/s/.exec(line[0])?.[1]} orders/s)` : benchmark, figure: line[1]!, floor: `${line[2]}: bare outbox chain, measured`, ratio: x(Number(line[3])), target, met: line[4] === 'PASS' ? 'yes' : 'no' }
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
  return rows;
}
