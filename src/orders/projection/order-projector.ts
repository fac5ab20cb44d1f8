import type { ConsumeMessage } from 'amqplib';
import { ReplyError } from 'ioredis';
import { UnavailableError } from '../../kernel/errors.js';
import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Config } from '../../config.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { PoisonMessageError, type ConsumerOptions, type MessageOutcome } from '../../platform/messaging/rabbitmq-consumer.js';
import { QUEUES } from '../../platform/messaging/topology.js';
import { amqpUser } from '../../platform/messaging/amqp-url.js';
import { parseProjectionEvent, type ProjectionEvent } from './projection-events.js';
import type { ApplyStatus, ProjectionStore } from './projection-store.js';
import type { OrderReads } from '../persistence/order-reads.js';

/**
 * Messages in flight at once. Events of one order may be applied concurrently and out of order: each script is
 * atomic and orders them by their outbox sequence, so more prefetch only buys throughput.
 */
const PREFETCH = 64;

/**
 * The projector of role `consumers`: keeps the per-user order lists in Redis from the `Orders` queue. Only the
 * service's own events count: RabbitMQ validates the user_id property against the publisher's login, the relay
 * sets it to the service's user, and anything else on this queue (a forged OrderCreated or OrderDeleted from a
 * user allowed to publish elsewhere) is dead-lettered as untrusted_publisher before its body is read.
 */
@injectable()
export class OrderProjector implements ConsumerOptions<ProjectionEvent> {
  readonly queue = QUEUES.orders;
  readonly prefetch = PREFETCH;
  readonly maxAttempts = 5;
  readonly poisonReasons = ['invalid_json', 'missing_order_id', 'unknown_event_type', 'invalid_event', 'missing_sequence', 'invalid_sequence', 'user_mismatch'] as const;
  readonly trustedPublishers: readonly string[];

  constructor(
    @inject(TOKENS.ProjectionStore) private readonly store: ProjectionStore,
    @inject(TOKENS.OrderReads) private readonly reads: OrderReads,
    @inject(TOKENS.Metrics) private readonly metrics: Metrics,
    @inject(TOKENS.Config) config: Config,
  ) {
    this.trustedPublishers = [amqpUser(config.AMQP_URL)];
  }

  decode(message: ConsumeMessage): ProjectionEvent {
    return parseProjectionEvent(message);
  }

  /** Applies one event; the message is acknowledged after the script's write returned. */
  async handle(event: ProjectionEvent): Promise<MessageOutcome> {
    let status: ApplyStatus;
    switch (event.kind) {
      case 'none':
        return 'ignored';
      case 'line':
        status = await this.store.applyLine(event.line);
        break;
      case 'created':
        status = await this.store.applyCreated(event.created);
        break;
      case 'end':
        status = await this.applyEnd(event.orderId, event.sequence);
        break;
    }
    if (status === 'invalid_sequence' || status === 'user_mismatch') {
      throw new PoisonMessageError(status, `the event does not fit the order's other events (${status})`);
    }
    if (status === 'applied') this.metrics.projectionLag.observe(Math.max(0, Date.now() - event.occurredAt.getTime()) / 1000);
    return status;
  }

  /**
   * OrderDeleted and OrderCanceled carry no user, and the order's keys live under its user's hash tag: the user
   * comes from PostgreSQL (the order row outlives the order; one read by primary key, for the rarest events). An
   * order PostgreSQL does not have was never listed under any user: nothing to remove.
   */
  private async applyEnd(orderId: string, sequence: number): Promise<ApplyStatus> {
    const userId = (await this.reads.usersOf([orderId])).get(orderId);
    return userId ? this.store.applyEnd(userId, orderId, sequence) : 'ignored';
  }

  /** Redis, or (for an end event's user) PostgreSQL, unavailable: retried until it is back. */
  isTransient(error: unknown): boolean {
    return isTransientRedisError(error) || error instanceof UnavailableError;
  }
}

const UNAVAILABLE_MESSAGES = /Connection is closed|Stream isn't writeable|Command timed out|Socket timeout|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN/;
/**
 * A Redis Cluster failing over: the Cluster client gives up after its bounded redirections ("Too many Cluster
 * redirections. Last error: ..." wraps CLUSTERDOWN or a closed connection, no longer as a ReplyError), or has no
 * slot map yet. Waiting is what helps: a replica takes over within the cluster's node timeout.
 */
const CLUSTER_UNAVAILABLE = /Too many Cluster redirections|Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available|CLUSTERDOWN|MASTERDOWN|TRYAGAIN/;
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|OOM|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)/;

/**
 * Redis unreachable, timing out, loading or full: retried until it is back. Anything else (a script error, a
 * bug here) will not pass by waiting: the consumer dead-letters it after maxAttempts.
 */
export function isTransientRedisError(error: unknown): boolean {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  const text = String(message ?? '');
  if (error instanceof ReplyError) return UNAVAILABLE_REPLIES.test(text);
  return name === 'MaxRetriesPerRequestError' || UNAVAILABLE_MESSAGES.test(text) || CLUSTER_UNAVAILABLE.test(text);
}
