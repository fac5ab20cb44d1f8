import '../platform/messaging/amqp-header-guard.js'; // before anything loads amqplib
// First: the decorators of the service's classes (tsyringe) need it before any of them is loaded.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { carrierFromHeaders, carrierHeaders } from '../platform/observability/trace-context.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import winston from 'winston';
import { ConfigError, loadConfig } from '../config.js';
import { RabbitConnection } from '../platform/messaging/rabbitmq-connection.js';
import { declareTopology, mismatchSentence, ORDERS_EXCHANGE, QUEUES } from '../platform/messaging/topology.js';
import type { QueueType } from '../platform/messaging/queue-type.js';
import { parseAmqpNodes, redactAmqpUrl } from '../platform/messaging/amqp-url.js';
import { withTimeout } from '../platform/with-timeout.js';
import { SAGA_REPLY_ROUTING_KEY } from '../orders/saga/saga-reply.js';
import { decide, describeRule, parseSagaRequest, parseSimArgs, USAGE, type Decision, type SimRule } from './customer-sim-rules.js';
import { StatusLine, type SimCounts } from './customer-sim-status.js';

/**
 * A stand-in customer service: takes the saga requests from OrderSaga, decides by a rule, answers on
 * CustomerSaga. Like a real one it talks to the order service only through RabbitMQ. A request is acked only
 * after the broker confirmed its reply, so a crash in between means a redelivered request and a second reply,
 * which the order service ignores (the saga already ended).
 *
 *   npm run customer-sim -- --rule approve-all | --rule credit-limit --limit 100 | --rule percent --approve 80 --seed 42
 */
const PREFETCH = 64;
/** AMQP's reply code when a user lacks the permission for an operation. */
const ACCESS_REFUSED = 403;
/** Before a request whose reply failed goes back to the queue: bounds the loop while the broker refuses. */
const FAILED_REPLY_BACKOFF_MS = 1_000;

class CustomerSimulator {
  readonly counts: SimCounts = { requests: 0, approved: 0, rejected: 0, skipped: 0, failed: 0 };
  private consumer: { channel: Channel; tag: string } | undefined;
  /** The confirm channel replies go out on, per connection; opened anew after a refused reply. */
  private replies: { model: ChannelModel; channel: Promise<ConfirmChannel> } | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly rule: SimRule,
    private readonly timeoutMs: number,
    private readonly queueType: QueueType,
    private readonly logger: winston.Logger,
  ) {}

  /** Runs on every (re)connection: channels and consumers do not survive a lost connection. */
  async attach(model: ChannelModel): Promise<void> {
    await this.declareIfAllowed(model);
    await this.replyChannel(model);
    const requests = await model.createChannel();
    requests.on('error', (error: Error) => this.logger.warn('channel error', { error: error.message }));
    await requests.prefetch(PREFETCH);
    const { consumerTag } = await requests.consume(QUEUES.orderSaga, (message) => {
      if (!message) return;
      const work = this.answer(model, requests, message).finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    });
    this.consumer = { channel: requests, tag: consumerTag };
  }

  /**
   * The order service declares the same topology; declaring it here too lets either start first. A customer user
   * with least privilege (configs/rabbitmq/definitions.json) may not declare anything: it then uses the service's.
   */
  private async declareIfAllowed(model: ChannelModel): Promise<void> {
    try {
      const outcome = await declareTopology(model, this.timeoutMs, this.queueType);
      // The order service refuses to run on such a topology; the simulator answers on whatever queues there are.
      if (!outcome.ok) this.logger.warn(mismatchSentence(outcome.mismatch));
    } catch (error) {
      if ((error as { code?: number }).code !== ACCESS_REFUSED) throw error;
      this.logger.info('not allowed to declare the topology; using the one the order service declared');
    }
  }

  /**
   * The connection's reply channel. A refused (nacked) reply drops it and the next reply opens a new one: on
   * RabbitMQ 3.10 a channel that published to a quorum queue while its leader was being elected can stay refused.
   */
  private replyChannel(model: ChannelModel): Promise<ConfirmChannel> {
    if (this.replies?.model === model) return this.replies.channel;
    const channel = withTimeout(model.createConfirmChannel(), this.timeoutMs, 'opening the reply channel').then((replies) => {
      replies.on('error', (error: Error) => this.logger.warn('channel error', { error: error.message }));
      // One 'return' listener per reply in flight, up to the prefetch.
      replies.setMaxListeners(PREFETCH + 10);
      return replies;
    });
    this.replies = { model, channel };
    channel.catch(() => {
      if (this.replies?.channel === channel) this.replies = undefined;
    });
    return channel;
  }

  /** Many replies in flight fail together: only the first drops the channel they shared, not one opened since. */
  private dropReplyChannel(channel: ConfirmChannel): void {
    channel.close().catch(() => undefined);
    const current = this.replies;
    if (!current) return;
    void current.channel.then(
      (open) => {
        if (open === channel && this.replies === current) this.replies = undefined;
      },
      () => undefined,
    );
  }

  /** Stops taking requests and lets the ones in flight finish (bounded). */
  async stop(): Promise<void> {
    if (this.consumer) await withTimeout(this.consumer.channel.cancel(this.consumer.tag), this.timeoutMs, 'cancelling').catch(() => undefined);
    await withTimeout(Promise.allSettled([...this.inFlight]), this.timeoutMs * 3, 'finishing requests').catch(() => undefined);
  }

  private async answer(model: ChannelModel, requests: Channel, message: ConsumeMessage): Promise<void> {
    this.counts.requests++;
    const request = parseSagaRequest(message.content.toString('utf8'));
    if (!request) {
      // Nothing to answer: no order id. OrderSaga has no dead-letter queue (the order service does not consume it).
      this.counts.skipped++;
      this.logger.warn('request without an order id skipped', { body: message.content.toString('utf8').slice(0, 200) });
      return settle(() => requests.ack(message));
    }
    const decision = decide(this.rule, request);
    let replies: ConfirmChannel | undefined;
    try {
      replies = await this.replyChannel(model);
      await this.reply(replies, request.orderId, decision, { ...traceOf(message), ...correlationOf(message) });
      this.counts[decision === 'Approved' ? 'approved' : 'rejected']++;
      settle(() => requests.ack(message));
    } catch (error) {
      this.counts.failed++;
      this.logger.warn('reply not confirmed; the request goes back to the queue', { orderID: request.orderId, error: String(error) });
      if (replies && /nack/i.test(String(error))) this.dropReplyChannel(replies);
      await sleep(FAILED_REPLY_BACKOFF_MS);
      settle(() => requests.nack(message, false, true));
    }
  }

  /**
   * Publishes the reply through the Orders exchange with routing key Customer.Saga.Reply (what a customer user may
   * publish, see configs/rabbitmq/definitions.json) and waits (bounded) for its confirm. Mandatory: a reply that no
   * queue takes (CustomerSaga missing) fails, and its request goes back to the queue.
   */
  private reply(channel: ConfirmChannel, orderID: string, orderType: Decision, headers: Record<string, string>): Promise<void> {
    const body = Buffer.from(JSON.stringify({ orderID, orderType }));
    const options = {
      persistent: true,
      contentType: 'application/json',
      messageId: randomUUID(),
      timestamp: Math.floor(Date.now() / 1000),
      headers,
    };
    let returned = false;
    const onReturn = (message: ConsumeMessage) => {
      if (message.properties.messageId === options.messageId) returned = true;
    };
    channel.on('return', onReturn);
    const confirmed = new Promise<void>((resolve, reject) => {
      channel.publish(ORDERS_EXCHANGE, SAGA_REPLY_ROUTING_KEY, body, { ...options, mandatory: true }, (error: Error | null) => {
        if (error) reject(error);
        else if (returned) reject(new Error(`no queue is bound for ${SAGA_REPLY_ROUTING_KEY}`));
        else resolve();
      });
    });
    return withTimeout(confirmed, this.timeoutMs, 'waiting for the reply confirm').finally(() => channel.off('return', onReturn));
  }
}

/** The request's correlation header, so the reply's log lines join the order's; else its message id. */
function correlationOf(message: ConsumeMessage): Record<string, string> {
  const header = message.properties.headers?.['x-correlation-id'];
  if (typeof header === 'string' && header !== '') return { 'x-correlation-id': header };
  return typeof message.properties.messageId === 'string' ? { 'x-correlation-id': message.properties.messageId } : {};
}

/**
 * The request's W3C trace context (traceparent, tracestate, baggage), passed back on the reply as a traced customer
 * service would: the order service then handles the reply in the order's trace.
 */
function traceOf(message: ConsumeMessage): Record<string, string> {
  return carrierHeaders(carrierFromHeaders(message.properties.headers));
}

/** An ack or nack on a channel lost in the meantime fails; the broker redelivers that request anyway. */
function settle(action: () => void): void {
  try {
    action();
  } catch {
    // nothing to do: see above
  }
}

async function main(): Promise<void> {
  const args = parseSimArgs(process.argv.slice(2));
  if (!args.ok) {
    console.error(`${args.error}\n\n${USAGE}`);
    process.exit(2);
  }
  const config = loadConfig();
  const amqpUrl = customerAmqpUrl(config.AMQP_URL);
  // Logs go to stderr, so stdout carries only the status line and the summary.
  const logger = winston.createLogger({
    level: 'warn',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
  const simulator = new CustomerSimulator(args.rule, config.DEPENDENCY_TIMEOUT, config.QUEUE_TYPE, logger);
  const rabbit = new RabbitConnection(amqpUrl, logger, config.DEPENDENCY_TIMEOUT);
  const status = new StatusLine(simulator.counts, process.stdout);

  let stoppingSince: number | undefined;
  const shutdown = async () => {
    // One Ctrl-C can arrive twice (npm and tsx both pass it on); a later one means "now".
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince > 1_000) process.exit(130);
      return;
    }
    stoppingSince = Date.now();
    await simulator.stop();
    await rabbit.close();
    status.finish();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  console.log(`customer-sim: answering ${QUEUES.orderSaga} on ${redactAmqpUrl(amqpUrl)} with rule ${describeRule(args.rule)}; Ctrl-C stops`);
  await rabbit.onConnect((model) => simulator.attach(model));
  await rabbit.start();
  status.start();
}

/**
 * The customer service's own RabbitMQ login when one is configured (CUSTOMER_AMQP_URL, read like every setting:
 * environment, .env, .env.example), else the order service's AMQP_URL, as on a machine with only guest.
 */
function customerAmqpUrl(serviceUrl: string): string {
  const url = process.env.CUSTOMER_AMQP_URL;
  if (url === undefined || url === '') return serviceUrl;
  const nodes = parseAmqpNodes(url);
  if (!nodes.ok) throw new ConfigError(`invalid configuration: the simulator cannot start with this setting:\n  CUSTOMER_AMQP_URL ${nodes.problem}.`);
  return url;
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
