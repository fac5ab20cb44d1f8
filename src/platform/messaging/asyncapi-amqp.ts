/**
 * AsyncAPI 3.0 objects for RabbitMQ, with the AMQP bindings (0.3.0): a routing key on a topic exchange, a queue,
 * an operation on one of them. The builders of a service's document (e.g. orders/messaging/asyncapi-document.ts)
 * put them together; the names come from the topology and routing tables the code declares and publishes with.
 */
const BINDING_VERSION = '0.3.0';

export const messageRef = (name: string) => ({ $ref: `#/components/messages/${name}` });

/** A routing key on a durable topic exchange: where publishers send. */
export function routingKeyChannel(routingKey: string, exchange: string, messages: string[], description: string): object {
  return {
    address: routingKey,
    description,
    messages: Object.fromEntries(messages.map((name) => [name, messageRef(name)])),
    bindings: { amqp: { is: 'routingKey', exchange: { name: exchange, type: 'topic', durable: true, autoDelete: false }, bindingVersion: BINDING_VERSION } },
  };
}

/** A durable queue: where consumers read. */
export function queueChannel(queue: string, messages: string[], description: string): object {
  return {
    address: queue,
    description,
    messages: Object.fromEntries(messages.map((name) => [name, messageRef(name)])),
    bindings: { amqp: { is: 'queue', queue: { name: queue, durable: true, exclusive: false, autoDelete: false }, bindingVersion: BINDING_VERSION } },
  };
}

export interface OperationSpec {
  action: 'send' | 'receive';
  channel: string;
  messages: string[];
  summary: string;
  description?: string;
}

/**
 * An operation of the service on a channel. What it sends is persistent (delivery mode 2), mandatory (a message
 * no queue takes is a failure, not a success) and timestamped; what it receives it acknowledges after handling.
 */
export function operation(spec: OperationSpec): object {
  const amqp = spec.action === 'send' ? { deliveryMode: 2, mandatory: true, timestamp: true } : { ack: true };
  return {
    action: spec.action,
    channel: { $ref: `#/channels/${spec.channel}` },
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    messages: spec.messages.map((name) => ({ $ref: `#/channels/${spec.channel}/messages/${name}` })),
    bindings: { amqp: { ...amqp, bindingVersion: BINDING_VERSION } },
  };
}

/** A message's AMQP binding: its `type` property. */
export function messageBinding(messageType: string | undefined): object {
  return { amqp: { ...(messageType ? { messageType } : {}), bindingVersion: BINDING_VERSION } };
}

/** Does a topic binding pattern take this routing key? `*` is one word, `#` zero or more (RabbitMQ's topic rules). */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const match = (p: string[], k: string[]): boolean => {
    if (p.length === 0) return k.length === 0;
    if (p[0] === '#') return match(p.slice(1), k) || (k.length > 0 && match(p, k.slice(1)));
    return k.length > 0 && (p[0] === '*' || p[0] === k[0]) && match(p.slice(1), k.slice(1));
  };
  return match(pattern.split('.'), routingKey.split('.'));
}
