import type { Service } from './service.js';
import type { RunningRole } from './roles.js';
import { TOKENS } from '../tokens.js';
import { amqpUser } from '../platform/messaging/amqp-url.js';
import { RabbitConsumer, type ConsumerLimits, type ConsumerOptions } from '../platform/messaging/rabbitmq-consumer.js';

/**
 * The consumers of role `consumers`: every TOKENS.Consumer registered (the saga-reply consumer on CustomerSaga, the
 * projector on Orders), each on a RabbitConsumer of its own with the service's limits.
 */
export async function startConsumersRole(service: Service): Promise<RunningRole> {
  const limits = consumerLimits(service);
  const consumers = service.container
    .resolveAll<ConsumerOptions<unknown>>(TOKENS.Consumer)
    .map((options) => new RabbitConsumer(service.rabbit, options, limits, service.logger, service.metrics));
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
  return { maxMessageBytes: config.MAX_MESSAGE_BYTES, timeoutMs: config.DEPENDENCY_TIMEOUT, queueType: config.QUEUE_TYPE, userId: amqpUser(config.AMQP_URL) };
}
