import type { Service } from './composition.js';
import type { RunningRole } from './roles.js';
import { RabbitConsumer, type ConsumerLimits, type ConsumerOptions } from './platform/messaging/rabbitmq-consumer.js';
import { sagaReplyConsumer } from './orders/saga/saga-reply-consumer.js';
import { orderProjectorConsumer } from './orders/projection/order-projector.js';

type StartedConsumer = Pick<RabbitConsumer, 'start' | 'stop'>;

/** A consumer of the service, built from its options (each consumer decodes its messages to a type of its own). */
const consumerOf =
  <Decoded>(build: (service: Service) => ConsumerOptions<Decoded>) =>
  (service: Service): StartedConsumer =>
    new RabbitConsumer(service.rabbit, build(service), consumerLimits(service), service.logger, service.metrics);

/**
 * The consumers of role `consumers`: the saga-reply consumer on CustomerSaga and the projector on Orders. Adding a
 * consumer is adding one entry here.
 */
const CONSUMERS = [consumerOf(sagaReplyConsumer), consumerOf(orderProjectorConsumer)];

export async function startConsumersRole(service: Service): Promise<RunningRole> {
  const consumers = CONSUMERS.map((create) => create(service));
  for (const consumer of consumers) await consumer.start();
  return {
    name: 'consumers',
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
  };
}

/** The limits every consumer applies before reading a message (see RabbitConsumer). */
export function consumerLimits({ config }: Service): ConsumerLimits {
  return { maxMessageBytes: config.MAX_MESSAGE_BYTES, timeoutMs: config.DEPENDENCY_TIMEOUT };
}
