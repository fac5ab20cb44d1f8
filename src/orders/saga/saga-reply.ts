import { z } from 'zod';
import { uuid } from '../../kernel/schemas.js';
import { inboxKey, type InboxKey } from '../../inbox/inbox-key.js';

/**
 * A reply of the customer service as it arrives on CustomerSaga: `{"orderID": "<uuid>", "orderType":
 * "Approved" | "Rejected"}`, plain JSON or a JSON string holding that JSON (the old service's clients send
 * both), keys and the orderType's value in any case. Pure: no I/O, so every shape is unit-tested.
 */
const DECISIONS = ['Approved', 'Rejected'] as const;
/** The routing key a customer service answers with on the Orders exchange (any Customer.Saga.* reaches CustomerSaga). */
export const SAGA_REPLY_ROUTING_KEY = 'Customer.Saga.Reply';
export type SagaDecision = (typeof DECISIONS)[number];

/** The reply's body, keys in the contract's spelling (parseSagaReply brings other casings to it); /asyncapi.json documents it. */
export const sagaReplyBody = z
  .object({
    orderID: uuid.meta({ description: 'the order of the saga request (OrderCreateSaga) answered' }),
    orderType: z
      .string()
      .transform((value) => DECISIONS.find((decision) => decision.toLowerCase() === value.toLowerCase()) ?? value)
      .pipe(z.enum(DECISIONS))
      // What the customer service should send; any case is accepted (the JSON Schema of a transform's input is only "a string").
      .meta({ enum: [...DECISIONS], description: 'the decision, matched in any case' }),
  })
  .meta({
    id: 'SagaReply',
    description:
      "The customer service's answer to a saga request. Keys match in any case (the contract's spelling wins when a key comes twice); unknown keys are ignored; a JSON string holding this object is accepted too.",
  });

export interface SagaReply {
  orderId: string;
  decision: SagaDecision;
}

/** Why a body can never become a reply; each is a dead-letter reason (x-dead-letter-reason). */
export type SagaReplyProblem = 'malformed_json' | 'not_an_object' | 'invalid_order_id' | 'unknown_order_type';

/** A failure names the order when the body had a valid orderID (only its orderType was wrong). */
export type ParsedSagaReply = { ok: true; reply: SagaReply } | { ok: false; problem: SagaReplyProblem; detail: string; orderId?: string };

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
  const reply = { orderID: fields.get('orderid'), orderType: fields.get('ordertype') };
  const parsed = sagaReplyBody.safeParse(reply);
  if (parsed.success) return { ok: true, reply: { orderId: parsed.data.orderID, decision: parsed.data.orderType } };
  // The first issue is the first field's: orderID is judged before orderType, as the dead-letter reasons say.
  const field = parsed.error.issues[0]!.path[0] === 'orderID' ? 'orderID' : 'orderType';
  const given = reply[field];
  const detail = given === undefined ? `${field} is missing` : preview(shown(given));
  if (field === 'orderID') return { ok: false, problem: 'invalid_order_id', detail };
  // The orderID was valid: the failure can be recorded on that order's history.
  return { ok: false, problem: 'unknown_order_type', detail, orderId: String(reply.orderID).toLowerCase() };
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

/**
 * A value as the dead-letter detail shows it. Not String(): an object's own toString (`{"toString": 0}`) throws, and
 * an array nested 20,000 deep overflows the stack (both seen); either made the reply a handler_error that lost its
 * orderID. JSON.stringify reads no method of a parsed object, and what it cannot show is named by its kind.
 */
function shown(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Array.isArray(value) ? '(an array too deeply nested to show)' : '(an object too deeply nested to show)';
  }
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/** The inbox key of a reply (src/inbox/inbox-key.ts): its message id, and its meaning, the order and the decision. */
export function sagaReplyInboxKey(messageId: unknown, reply: Pick<SagaReply, 'orderId' | 'decision'>): InboxKey | undefined {
  return inboxKey(messageId, `${reply.orderId}:${reply.decision}`);
}
