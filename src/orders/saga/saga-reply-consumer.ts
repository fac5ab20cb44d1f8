import type { ConsumeMessage } from 'amqplib';
import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Mediator } from '../../kernel/mediator.js';
import type { Database } from '../../platform/database/database.js';
import { firstRowOrigin } from '../../outbox/persistence/outbox-reads.js';
import { NotFoundError, UnavailableError } from '../../kernel/errors.js';
import { isRetryableConflict } from '../../platform/database/database-errors.js';
import { PoisonMessageError, type ConsumerOptions, type MessageOrigin } from '../../platform/messaging/rabbitmq-consumer.js';
import { QUEUES } from '../../platform/messaging/topology.js';
import { currentCorrelationId } from '../../platform/observability/correlation.js';
import { boundCarrier } from '../../platform/observability/trace-context.js';
import type { SagaReplyLog } from '../persistence/saga-reply-log.js';
import { ApproveOrder, RejectOrder, type SagaReplyResult } from './saga-reply-commands.js';
import { parseSagaReply, sagaReplyInboxKey, type SagaReply } from './saga-reply.js';
import { inboxKey, type InboxKey } from '../../inbox/inbox-key.js';

/**
 * Replies handled at once. Replies for different orders run in parallel; each holds one pooled connection
 * for its transaction, so this stays well under the pool size times the number of consumer processes.
 */
const PREFETCH = 32;

/**
 * The saga-reply consumer (role `consumers`) on CustomerSaga. The generic consumer acks only after handle()
 * resolved, i.e. after the command's transaction committed. What it cannot use goes to CustomerSaga.dead:
 * a body that is not a reply (malformed_json, not_an_object, invalid_order_id, unknown_order_type) or a reply
 * for an order that does not exist (unknown_order). A database that is down or a lost serialization race is
 * transient: retried with backoff, never dead-lettered.
 */
@injectable()
export class SagaReplyConsumer implements ConsumerOptions<DecodedReply> {
  readonly queue = QUEUES.customerSaga;
  readonly prefetch = PREFETCH;
  readonly poisonReasons = ['malformed_json', 'not_an_object', 'invalid_order_id', 'unknown_order_type', 'unknown_order'] as const;

  constructor(
    @inject(TOKENS.Mediator) private readonly mediator: Mediator,
    @inject(TOKENS.Database) private readonly database: Database,
    @inject(TOKENS.SagaReplyLog) private readonly replies: SagaReplyLog,
  ) {}

  decode(message: ConsumeMessage): DecodedReply {
    const parsed = parseSagaReply(message.content);
    // The order the body named, if it named a valid one, goes with the error: deadLettered records it unparsed.
    if (!parsed.ok) throw new PoisonMessageError(parsed.problem, parsed.detail, parsed.orderId);
    return { reply: parsed.reply, inbox: sagaReplyInboxKey(message.properties.messageId, parsed.reply) };
  }

  async handle({ reply, inbox }: DecodedReply): Promise<SagaReplyResult> {
    const command = reply.decision === 'Approved' ? ApproveOrder : RejectOrder;
    // The consumer runs handle() inside the message's correlation id (header, else the order's).
    const correlationId = currentCorrelationId() ?? reply.orderId;
    try {
      return await this.mediator.send(command, { orderID: reply.orderId, inbox }, correlationId);
    } catch (error) {
      if (error instanceof NotFoundError) throw new PoisonMessageError('unknown_order', `order ${reply.orderId} does not exist`);
      throw error;
    }
  }

  /**
   * A reply typed by hand carries no correlation or trace header: log and trace it under the request that created
   * the order (its first outbox row keeps both), so one id and one trace still hold the whole life of the order;
   * else the order id. One read, made only for such a reply.
   */
  async originOf({ reply }: DecodedReply): Promise<MessageOrigin> {
    const [row] = await this.database.read(firstRowOrigin(reply.orderId));
    return { correlationId: row?.correlationId ?? reply.orderId, ...(row && { trace: boundCarrier(row) }) };
  }

  /**
   * A reply for an order that was dead-lettered after all (an orderType nobody knows, a handler that kept failing)
   * is recorded for the order's history. One for no order (unknown_order, or no readable orderID) is not: ids
   * anyone can make up must not leave rows behind.
   */
  async deadLettered(message: ConsumeMessage, reason: string, decoded: DecodedReply | undefined, subject: string | undefined): Promise<void> {
    if (reason === 'unknown_order') return;
    // Undecodable: the orderId decode found, carried by its PoisonMessageError; the body is not parsed again.
    const orderId = decoded?.reply.orderId ?? subject;
    if (!orderId) return;
    const messageId = decoded?.inbox?.messageId ?? inboxKey(message.properties.messageId, '')?.messageId ?? null;
    await this.replies.recordDeadLettered({ orderId, messageId, decision: decoded?.reply.decision ?? null, outcome: 'dead_lettered', reason, correlationId: currentCorrelationId() ?? null });
  }

  isTransient(error: unknown): boolean {
    // PostgreSQL down (the Database maps that to UnavailableError), or a conflict still lost after the unit's retries.
    return error instanceof UnavailableError || isRetryableConflict(error);
  }
}

/** A reply read once: what it says, and its inbox key when the message carried an id. */
interface DecodedReply {
  reply: SagaReply;
  inbox: InboxKey | undefined;
}
