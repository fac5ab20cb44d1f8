/**
 * A reply of the customer service as it arrives on CustomerSaga: `{"orderID": "<uuid>", "orderType":
 * "Approved" | "Rejected"}`, plain JSON or a JSON string holding that JSON (the old service's clients send
 * both), keys and the orderType's value in any case. Pure: no I/O, so every shape is unit-tested.
 */
export type SagaDecision = 'Approved' | 'Rejected';

export interface SagaReply {
  orderId: string;
  decision: SagaDecision;
}

/** Why a body can never become a reply; each is a dead-letter reason (x-dead-letter-reason). */
export type SagaReplyProblem = 'malformed_json' | 'not_an_object' | 'invalid_order_id' | 'unknown_order_type';

/** A failure names the order when the body had a valid orderID (only its orderType was wrong). */
export type ParsedSagaReply = { ok: true; reply: SagaReply } | { ok: false; problem: SagaReplyProblem; detail: string; orderId?: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DECISIONS: Record<string, SagaDecision> = { approved: 'Approved', rejected: 'Rejected' };

export function parseSagaReply(body: Buffer | string): ParsedSagaReply {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let value = parseJson(text);
  // The old clients' double encoding: a JSON string whose content is the JSON object. Unwrapped once, no more.
  if (typeof value === 'string') value = parseJson(value);
  if (value === INVALID) return { ok: false, problem: 'malformed_json', detail: preview(text) };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: 'not_an_object', detail: preview(text) };
  }
  const fields = lowerCaseKeys(value as Record<string, unknown>);
  const orderId = fields.get('orderid');
  if (typeof orderId !== 'string' || !UUID.test(orderId)) {
    return { ok: false, problem: 'invalid_order_id', detail: orderId === undefined ? 'orderID is missing' : preview(String(orderId)) };
  }
  const type = fields.get('ordertype');
  const decision = typeof type === 'string' ? DECISIONS[type.toLowerCase()] : undefined;
  if (!decision) {
    return { ok: false, problem: 'unknown_order_type', detail: type === undefined ? 'orderType is missing' : preview(String(type)), orderId: orderId.toLowerCase() };
  }
  return { ok: true, reply: { orderId: orderId.toLowerCase(), decision } };
}

const INVALID = Symbol('invalid JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID;
  }
}

/** When a key comes in two casings, the contract's spelling wins, as for HTTP bodies. */
function lowerCaseKeys(object: Record<string, unknown>): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  for (const [key, value] of Object.entries(object)) {
    const lower = key.toLowerCase();
    if (!fields.has(lower) || key === 'orderID' || key === 'orderType') fields.set(lower, value);
  }
  return fields;
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
