import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';

/**
 * The decision rules of the customer-service simulator, kept pure (no I/O, no clock, no global randomness) so
 * that the same rule, seed and request always give the same answer, in a test or in a run.
 */
export type SimRule =
  | { kind: 'approve-all' }
  /** Reject an order whose total is above the limit (in the same units as the request's totalPrice). */
  | { kind: 'credit-limit'; limit: number }
  /** Approve about `approvePercent` percent of orders, chosen by a hash of the seed and the order id. */
  | { kind: 'percent'; approvePercent: number; seed: number };

export type Decision = 'Approved' | 'Rejected';

/** What the simulator reads of an OrderCreateSaga request. */
export interface SagaRequest {
  orderId: string;
  /** Absent when the request did not carry a usable total. */
  totalPrice?: number;
}

export function decide(rule: SimRule, request: SagaRequest): Decision {
  switch (rule.kind) {
    case 'approve-all':
      return 'Approved';
    case 'credit-limit':
      // No amount, no credit: a credit check cannot pass without knowing what it is checking.
      return request.totalPrice !== undefined && request.totalPrice <= rule.limit ? 'Approved' : 'Rejected';
    case 'percent':
      return percentile(rule.seed, request.orderId) < rule.approvePercent ? 'Approved' : 'Rejected';
  }
}

/**
 * A number in [0, 100) fixed by seed and order id. Hashing the order id, rather than drawing from a seeded
 * sequence, keeps each order's answer independent of arrival order, of redeliveries and of how many
 * simulators share the queue.
 */
export function percentile(seed: number, orderId: string): number {
  const digest = createHash('sha256').update(`${seed}:${orderId.toLowerCase()}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}

/** Reads an OrderCreateSaga body (plain JSON, or a JSON string holding it; keys in any case). */
export function parseSagaRequest(body: string): SagaRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
    if (typeof value === 'string') value = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const fields = new Map(Object.entries(value).map(([key, field]) => [key.toLowerCase(), field as unknown]));
  const orderId = fields.get('orderid');
  if (typeof orderId !== 'string' || orderId === '') return undefined;
  const total = fields.get('totalprice');
  return { orderId, totalPrice: typeof total === 'number' && Number.isFinite(total) ? total : undefined };
}

export const USAGE = `usage: npm run customer-sim -- --rule <rule> [options]
  --rule approve-all                          approve every order
  --rule credit-limit --limit <amount>        reject orders whose totalPrice is above <amount>
  --rule percent --approve <0..100> [--seed <integer>]
                                              approve that percentage of orders, the same ones for the same seed`;

export type ParsedArgs = { ok: true; rule: SimRule } | { ok: false; error: string };

export function parseSimArgs(argv: string[]): ParsedArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { rule: { type: 'string' }, limit: { type: 'string' }, approve: { type: 'string' }, seed: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  switch (values.rule) {
    case 'approve-all':
      return { ok: true, rule: { kind: 'approve-all' } };
    case 'credit-limit': {
      const limit = decimal(values.limit);
      if (limit === undefined || limit < 0) return { ok: false, error: '--rule credit-limit needs --limit <amount>, a number >= 0' };
      return { ok: true, rule: { kind: 'credit-limit', limit } };
    }
    case 'percent': {
      const approvePercent = decimal(values.approve);
      if (approvePercent === undefined || approvePercent < 0 || approvePercent > 100) {
        return { ok: false, error: '--rule percent needs --approve <percentage>, a number from 0 to 100' };
      }
      const seed = values.seed ?? '0';
      if (!/^-?\d{1,15}$/.test(seed)) return { ok: false, error: '--seed must be an integer' };
      return { ok: true, rule: { kind: 'percent', approvePercent, seed: Number(seed) } };
    }
    case undefined:
      return { ok: false, error: '--rule is required' };
    default:
      return { ok: false, error: `unknown rule "${values.rule}"; use approve-all, credit-limit or percent` };
  }
}

export function describeRule(rule: SimRule): string {
  switch (rule.kind) {
    case 'approve-all':
      return 'approve-all';
    case 'credit-limit':
      return `credit-limit (reject totals above ${rule.limit})`;
    case 'percent':
      return `percent (approve ${rule.approvePercent}%, seed ${rule.seed})`;
  }
}

function decimal(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}
