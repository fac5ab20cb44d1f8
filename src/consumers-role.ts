import type { Service } from './composition.js';
import type { RunningRole } from './roles.js';
import { RabbitConsumer, type ConsumerOptions } from './platform/messaging/rabbitmq-consumer.js';
import { sagaReplyConsumer } from './orders/saga/saga-reply-consumer.js';
import { orderProjectorConsumer } from './orders/projection/order-projector.js';

/**
 * The consumers of role `consumers`, each built from the service: the saga-reply consumer on CustomerSaga and
 * the projector on Orders. Adding a consumer is adding one entry here.
 */
const CONSUMERS: ((service: Service) => ConsumerOptions)[] = [sagaReplyConsumer, orderProjectorConsumer];

export async function startConsumersRole(service: Service): Promise<RunningRole> {
  const consumers = CONSUMERS.map((build) => new RabbitConsumer(service.rabbit, build(service), service.logger, service.metrics));
  for (const consumer of consumers) await consumer.start();
  return {
    name: 'consumers',
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
  };
}
