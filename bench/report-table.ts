/**
 * The report's table, from the lines the benchmarks print (bench/run-all.ts keeps each step's stdout). A figure
 * a step did not print (it failed, or was not run) becomes a row saying so, never a guess.
 */
import { capacityRows, splitCapacityRow } from './capacity-table.js';

/** Step name -> everything it printed. */
export type Figures = Record<string, string>;

export interface Row {
  step: string;
  benchmark: string;
  figure: string;
  floor: string;
  ratio: string;
  target: string;
  met: 'yes' | 'no' | '—';
}

const num = String.raw`([\d.]+)`;

function match(figures: Figures, step: string, pattern: RegExp): number[] | undefined {
  const found = pattern.exec(figures[step] ?? '');
  return found ? found.slice(1).map(Number) : undefined;
}

const x = (value: number) => `${value.toFixed(2)}x`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value}`;
const missing = (step: string, benchmark: string, target: string): Row =>
  ({ step, benchmark, figure: "not measured (see the step's output)", floor: '—', ratio: '—', target, met: '—' });

export function buildTable(figures: Figures): Row[] {
  const rows: Row[] = [];

  const relay = match(figures, 'relay-throughput', new RegExp(`relay throughput: ${num} rows/s`));
  rows.push(
    relay
      ? { step: 'relay-throughput', benchmark: 'relay throughput (50,000-row backlog, confirms)', figure: `${relay[0]} rows/s`, floor: '12,500 rows/s (bare pg + amqplib loop; quoted, issue 3)', ratio: x(relay[0]! / 12_500), target: '>= 8,700 rows/s', met: relay[0]! >= 8_700 ? 'yes' : 'no' }
      : missing('relay-throughput', 'relay throughput', '>= 8,700 rows/s'),
  );

  for (const deployment of ['one-process', 'split']) {
    for (const rate of [200, 500]) {
      const found = match(figures, 'publish-latency', new RegExp(`${deployment}, ${rate}/s: commit -> receipt p50 ${num} ms, p99 ${num} ms`));
      const benchmark = `commit -> publish latency, ${deployment}, ${rate} orders/s`;
      rows.push(
        found
          ? {
              step: 'publish-latency',
              benchmark,
              figure: `p50 ${ms(found[0]!)}, p99 ${ms(found[1]!)}`,
              floor: 'p50 1.1 ms, p99 5.4 ms (bare NOTIFY-woken relay; quoted, issue 3)',
              ratio: `p50 ${x(found[0]! / 1.1)}, p99 ${x(found[1]! / 5.4)}`,
              target: 'p50 <= 5 ms, p99 <= 25 ms',
              met: found[0]! <= 5 && found[1]! <= 25 ? 'yes' : 'no',
            }
          : missing('publish-latency', benchmark, 'p50 <= 5 ms, p99 <= 25 ms'),
      );
    }
  }

  for (const deployment of ['one-process', 'split']) {
    const shipped = match(figures, 'create-order-throughput', new RegExp(`^${deployment}:after-commit: mean ${num} orders/s`, 'm'));
    const none = match(figures, 'create-order-throughput', new RegExp(`^${deployment}:none: mean ${num} orders/s`, 'm'));
    const benchmark = `create-order with the relay running, ${deployment}, wake-up as shipped (after-commit)`;
    rows.push(
      shipped && none
        ? { step: 'create-order-throughput', benchmark, figure: `${shipped[0]} orders/s`, floor: `${none[0]} orders/s (same, no wake-up at all: measured)`, ratio: x(shipped[0]! / none[0]!), target: 'none (shows the wake-up cost)', met: '—' }
        : missing('create-order-throughput', benchmark, 'none'),
    );
  }

  const service = match(figures, 'create-order-vs-floor', new RegExp(`^service \\(.*?\\): ${num} orders/s, p50 ${num} ms, p99 ${num} ms.*, ${num} not 204\\)`, 'm'));
  const floor = match(figures, 'create-order-vs-floor', new RegExp(`^floor \\(.*?\\): ${num} orders/s, p50 ${num} ms, p99 ${num} ms`, 'm'));
  rows.push(
    service && floor
      ? {
          step: 'create-order-vs-floor',
          benchmark: 'create-order, POST /api/v1/orders, 2 products, 32 connections',
          figure: `${service[0]} orders/s (p50 ${ms(service[1]!)}, p99 ${ms(service[2]!)})${service[3] ? `, ${service[3]} not 204` : ''}`,
          floor: `${floor[0]} orders/s (p50 ${ms(floor[1]!)}, p99 ${ms(floor[2]!)}): Express + raw pg inserts, measured`,
          ratio: x(service[0]! / floor[0]!),
          target: '>= 0.5x the floor',
          met: service[0]! / floor[0]! >= 0.5 ? 'yes' : 'no',
        }
      : missing('create-order-vs-floor', 'create-order vs raw-pg floor', '>= 0.5x the floor'),
  );

  const read = match(figures, 'user-orders-read', new RegExp(`^projection \\(.*?\\): ${num} requests/s, p50 ${num} ms, p99 ${num} ms`, 'm'));
  const readFloor = match(figures, 'user-orders-read', new RegExp(`^floor \\(.*?\\): ${num} requests/s, p50 ${num} ms, p99 ${num} ms`, 'm'));
  rows.push(
    read && readFloor
      ? {
          step: 'user-orders-read',
          benchmark: 'GET /api/v1/orders/user/:userID (10 orders), 32 connections',
          figure: `${read[0]} requests/s (p50 ${ms(read[1]!)}, p99 ${ms(read[2]!)})`,
          floor: `${readFloor[0]} requests/s (p50 ${ms(readFloor[1]!)}, p99 ${ms(readFloor[2]!)}): Express + one Redis GET of the same size, measured`,
          ratio: x(read[0]! / readFloor[0]!),
          target: '>= 0.75x the floor (issue 13)',
          met: read[0]! / readFloor[0]! >= 0.75 ? 'yes' : 'no',
        }
      : missing('user-orders-read', 'user orders read vs Redis floor', '>= 0.75x the floor (issue 13)'),
  );

  const saga = sagaFigures(figures, 'saga-round-trip');
  const sagaFloor = match(figures, 'saga-round-trip', new RegExp(`^floor \\(bare chain\\): POST -> listed in projection p50 ${num} ms, p95 ${num} ms`, 'm'));
  rows.push(
    saga && sagaFloor
      ? {
          step: 'saga-round-trip',
          benchmark: 'saga round trip at 100 orders/s: POST -> approved -> listed in the Redis projection',
          figure: `p50 ${ms(saga[0]!)}, p95 ${ms(saga[1]!)}${saga[2] ? ` (${saga[2]} of ${saga[3]} POSTs not 204)` : ''}`,
          floor: `p50 ${ms(sagaFloor[0]!)}, p95 ${ms(sagaFloor[1]!)}: the same hops by bare code (raw pg, direct publish, Nagle off on its socket, same simulator), measured`,
          ratio: `p95 ${x(saga[1]! / sagaFloor[1]!)}`,
          target: 'p95 <= 50 ms',
          met: saga[1]! <= 50 ? 'yes' : 'no',
        }
      : missing('saga-round-trip', 'saga round trip', 'p95 <= 50 ms'),
  );

  rows.push(...capacityRows(figures));
  rows.push(authCostRow(figures));
  rows.push(tracingCostRow(figures));

  for (const [step, load] of [['create-order-vs-floor', 'create-order'], ['saga-round-trip', 'saga']] as const) {
    const rss = match(figures, step, new RegExp(`^rss service under ${load} load: max ${num} MB, mean ${num} MB`, 'm'));
    const rssFloor = match(figures, step, new RegExp(`^rss floor under ${load} load: max ${num} MB, mean ${num} MB`, 'm'));
    const benchmark = `service process RSS under the ${load === 'saga' ? 'saga round-trip load (all roles)' : 'create-order load (role http)'}`;
    rows.push(
      rss && rssFloor
        ? {
            step,
            benchmark,
            figure: `max ${rss[0]} MB, mean ${rss[1]} MB`,
            floor: `max ${rssFloor[0]} MB, mean ${rssFloor[1]} MB: the floor process under the same load (runs under tsx), measured`,
            ratio: `max ${x(rss[0]! / rssFloor[0]!)}`,
            target: '<= 250 MB',
            met: rss[0]! <= 250 ? 'yes' : 'no',
          }
        : missing(step, benchmark, '<= 250 MB'),
    );
  }
  return rows;
}

/** The server CPU tracing adds per request (bench/tracing-cost.ts), beside the same write without it. */
function tracingCostRow(figures: Figures): Row {
  const benchmark = 'tracing per request: POST /api/v1/orders, tracing on (all / 10% sampled, OTLP export) vs off';
  const change = String.raw`([+-][\d.]+) ms \(([+-][\d.]+)%\)`;
  const cost = match(figures, 'tracing-cost', new RegExp(`^tracing cost: all sampled ${change}, 10% sampled ${change}`, 'm'));
  const off = match(figures, 'tracing-cost', new RegExp(`^tracing off: ${num} requests/s, p50 ${num} ms, p99 ${num} ms, server cpu ${num} ms/request`, 'm'));
  if (!cost || !off) return missing('tracing-cost', benchmark, 'none (reports the cost)');
  return {
    step: 'tracing-cost',
    benchmark,
    figure: `all sampled ${signed(cost[0]!)} ms, 10% sampled ${signed(cost[2]!)} ms server cpu per request`,
    floor: `${off[3]} ms server cpu per request, ${off[0]} requests/s: the same write with tracing off (the default), measured`,
    ratio: `all sampled ${x(1 + cost[1]! / 100)}, 10% sampled ${x(1 + cost[3]! / 100)}`,
    target: 'none (reports the cost)',
    met: '—',
  };
}

/** The server CPU a token check adds per request (bench/auth-cost.ts), beside the same read without one. */
function authCostRow(figures: Figures): Row {
  const benchmark = 'token check per request: GET /api/v1/orders/user/:userID (Redis hit), authentication on vs off';
  const change = String.raw`([+-][\d.]+) ms \(([+-][\d.]+)%\)`;
  const same = match(figures, 'auth-cost', new RegExp(`^token check cost, one token per client .*?: ES256 ${change}, RS256 ${change}`, 'm'));
  const fresh = match(figures, 'auth-cost', new RegExp(`^token check cost, a new ES256 token on every request: ${change}`, 'm'));
  const off = match(figures, 'auth-cost', new RegExp(`^auth off: ${num} requests/s, p50 ${num} ms, p99 ${num} ms, server cpu ${num} ms/request`, 'm'));
  const verify = match(figures, 'auth-cost', new RegExp(`^verify alone, a new token each time: ES256 ${num} us, RS256 ${num} us`, 'm'));
  if (!same || !fresh || !off) return missing('auth-cost', benchmark, 'none (reports the cost)');
  return {
    step: 'auth-cost',
    benchmark,
    figure:
      `one token per client (remembered): ES256 ${signed(same[0]!)} ms, RS256 ${signed(same[2]!)} ms; a new ES256 token each request: ${signed(fresh[0]!)} ms ` +
      `server cpu per request${verify ? ` (verify alone: ES256 ${verify[0]} us, RS256 ${verify[1]} us)` : ''}`,
    floor: `${off[3]} ms server cpu per request, ${off[0]} requests/s: the same read with authentication off, measured`,
    ratio: `remembered ES256 ${x(1 + same[1]! / 100)}, new token ${x(1 + fresh[1]! / 100)}`,
    target: 'none (reports the cost)',
    met: '—',
  };
}

/** p50, p95, POSTs not 204, orders sent: the service's line of a saga round-trip run. */
function sagaFigures(figures: Figures, step: string): number[] | undefined {
  const found = match(figures, step, new RegExp(`^service: POST -> listed in projection p50 ${num} ms, p95 ${num} ms.*?\\(\\d+ of ${num} listed within \\d+ s, ${num} not 204`, 'm'));
  return found && [found[0]!, found[1]!, found[3]!, found[2]!];
}

export interface WhatIfRow {
  benchmark: string;
  shipped: string;
  whatIf: string;
  change: string;
}

/** Each what-if run of bench/run-all.ts beside the shipped figure it changes. */
export function buildWhatIfTable(figures: Figures): WhatIfRow[] {
  const rows: WhatIfRow[] = [];
  const capacitySplit = splitCapacityRow(figures);
  if (capacitySplit) rows.push(capacitySplit);
  const shipped = sagaFigures(figures, 'saga-round-trip');
  const sagaFloor = (step: string) => match(figures, step, new RegExp(`^floor \\(bare chain\\): POST -> listed in projection p50 ${num} ms, p95 ${num} ms`, 'm'));
  const rss = (step: string, load: string) => match(figures, step, new RegExp(`^rss service under ${load} load: max ${num} MB, mean ${num} MB`, 'm'));
  const saga = (values: number[] | undefined, floor: number[] | undefined) =>
    values ? `p50 ${ms(values[0]!)}, p95 ${ms(values[1]!)}${values[2] ? `, ${values[2]} POSTs not 204` : ''}${floor ? ` (floor p50 ${ms(floor[0]!)}, p95 ${ms(floor[1]!)})` : ''}` : 'not measured';
  const split = sagaFigures(figures, 'saga-round-trip+split');
  if ('saga-round-trip+split' in figures) {
    rows.push({
      benchmark: 'saga round trip at 100 orders/s, the roles in three processes (http | relay | consumers,scheduler)',
      shipped: saga(shipped, sagaFloor('saga-round-trip')),
      whatIf: saga(split, sagaFloor('saga-round-trip+split')),
      change: shipped && split ? `p50 ${x(split[0]! / shipped[0]!)}, p95 ${x(split[1]! / shipped[1]!)} of shipped` : '—',
    });
  }
  const create = (step: string) => match(figures, step, new RegExp(`^service \\(.*?\\): ${num} orders/s, p50 ${num} ms, p99 ${num} ms, server cpu ${num} ms/order`, 'm'));
  if ('create-order-vs-floor+no-heap-cap' in figures) {
    const [a, b, ca, cb] = [rss('create-order-vs-floor', 'create-order'), rss('create-order-vs-floor+no-heap-cap', 'create-order'), create('create-order-vs-floor'), create('create-order-vs-floor+no-heap-cap')];
    rows.push({
      benchmark: 'service RSS under the create-order load without the Dockerfile heap cap (no --max-old-space-size)',
      shipped: a && ca ? `RSS max ${a[0]} MB, mean ${a[1]} MB; ${ca[0]} orders/s, ${ca[3]} ms cpu/order` : 'not measured',
      whatIf: b && cb ? `RSS max ${b[0]} MB, mean ${b[1]} MB; ${cb[0]} orders/s, ${cb[3]} ms cpu/order` : 'not measured',
      change: a && b && ca && cb ? `RSS max ${x(b[0]! / a[0]!)}, orders/s ${x(cb[0]! / ca[0]!)}, cpu/order ${x(cb[3]! / ca[3]!)}` : '—',
    });
  }
  if ('saga-round-trip+no-heap-cap' in figures) {
    const [a, b] = [rss('saga-round-trip', 'saga'), rss('saga-round-trip+no-heap-cap', 'saga')];
    const uncapped = sagaFigures(figures, 'saga-round-trip+no-heap-cap');
    rows.push({
      benchmark: 'service RSS under the saga load (all roles) without the Dockerfile heap cap',
      shipped: a ? `RSS max ${a[0]} MB, mean ${a[1]} MB; ${saga(shipped, undefined)}` : 'not measured',
      whatIf: b ? `RSS max ${b[0]} MB, mean ${b[1]} MB; ${saga(uncapped, undefined)}` : 'not measured',
      change: a && b ? `RSS max ${x(b[0]! / a[0]!)}${uncapped && shipped ? `, p95 ${x(uncapped[1]! / shipped[1]!)}` : ''}` : '—',
    });
  }
  return rows;
}
