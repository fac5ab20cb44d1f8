import { z } from 'zod';
import { SchemaComponents } from '../../platform/schema-components.js';
import { DEAD_LETTER_EXCHANGE, ORDERS_EXCHANGE, TOPOLOGY, deadLetterQueue } from '../../platform/messaging/topology.js';
import { CORRELATION_HEADER, SEQUENCE_HEADER, eventHeaders, replyHeaders } from '../../platform/messaging/message-headers.js';
import { deadLetterHeaders } from '../../platform/messaging/dead-letter-headers.js';
import { messageBinding, operation, queueChannel, routingKeyChannel, topicMatches } from '../../platform/messaging/asyncapi-amqp.js';
import { ORDER_EVENT_BODIES } from '../domain/order-event-bodies.js';
import type { OrderEventType } from '../domain/order-events.js';
import { SAGA_REPLY_ROUTING_KEY, sagaReplyBody } from '../saga/saga-reply.js';
import { ORDER_EVENT_ROUTES } from './order-event-routes.js';

const EVENT_TYPES = Object.keys(ORDER_EVENT_BODIES) as OrderEventType[];
const PUBLISHED_BY_THE_SERVICE =
  "Published by the relay from the outbox, in recorded order per order, on a confirm channel. Properties: content_type application/json, delivery_mode 2 (persistent), message_id = eventID, type = eventType, timestamp (seconds), and user_id = the service's own RabbitMQ user (the user of AMQP_URL): RabbitMQ refuses a user_id that is not the publisher's login, so consumers can tell the service's events from anyone else's.";

/** The messages of the document: each event, the saga reply, and a dead letter. */
function messages(schemas: SchemaComponents): Record<string, object> {
  const correlationId = { $ref: '#/components/correlationIds/request' };
  const events = EVENT_TYPES.map((type) => {
    const body = ORDER_EVENT_BODIES[type];
    return [
      type,
      {
        name: type,
        title: type,
        summary: body.description,
        description: PUBLISHED_BY_THE_SERVICE,
        contentType: 'application/json',
        headers: schemas.of(eventHeaders, 'input'),
        payload: schemas.of(body, 'input'),
        correlationId,
        bindings: messageBinding(type),
        // This document's extensions: where the AMQP message_id property comes from (a runtime expression), and
        // whose the user_id is.
        'x-amqp-message-id': { location: '$message.payload#/eventID' },
        'x-amqp-user-id': "the publishing service's own RabbitMQ user (the user of its AMQP_URL)",
      },
    ];
  });
  const reply = {
    name: 'SagaReply',
    title: 'Saga reply',
    summary: "The customer service's answer to OrderCreateSaga.",
    description: `Published on ${ORDERS_EXCHANGE} with ${SAGA_REPLY_ROUTING_KEY} (any Customer.Saga.* key), or to the queue by name. A message_id makes a redelivered copy count as a duplicate. A reply that can never be applied (not JSON, no valid orderID, an unknown orderType or order) goes to ${deadLetterQueue('CustomerSaga')}.`,
    contentType: 'application/json',
    headers: schemas.of(replyHeaders, 'input'),
    payload: schemas.of(sagaReplyBody, 'input'),
    correlationId,
    bindings: messageBinding(undefined),
  };
  const deadLetter = {
    name: 'DeadLetter',
    title: 'Dead letter',
    summary: 'A message its queue could never handle, with why.',
    description: `Either the service's copy (the original body and harmless properties, the reason headers, moved properties in x-original-* headers, user_id = the service's own user, which tells it from a look-alike) or, when no copy could be made, the original as RabbitMQ dead-lettered it through ${DEAD_LETTER_EXCHANGE} with its x-death header. npm run dead-letters lists, shows and replays them.`,
    headers: schemas.of(deadLetterHeaders, 'input'),
    payload: schemas.of(z.unknown().meta({ description: 'the original body, as it came (any content type)' }), 'input'),
  };
  return Object.fromEntries([...events, ['SagaReply', reply], ['DeadLetter', deadLetter]]);
}

/** Channels: each routing key on Orders, each queue of the topology and each dead-letter queue. */
function channels(): Record<string, object> {
  const keys = [...EVENT_TYPES.map((type) => [ORDER_EVENT_ROUTES[type].routingKey, type] as const), [SAGA_REPLY_ROUTING_KEY, 'SagaReply'] as const];
  const byKey = keys.map(([key, message]) => [
    channelId(key),
    routingKeyChannel(key, ORDERS_EXCHANGE, [message], message === 'SagaReply' ? 'Where the customer service answers.' : `Where the service publishes ${message}.`),
  ]);
  const queues = TOPOLOGY.flatMap((queue) => {
    const taken = keys.filter(([key]) => queue.bindings.some((pattern) => topicMatches(pattern, key))).map(([, message]) => message);
    const description = `${queue.description} Bound to ${ORDERS_EXCHANGE} with ${queue.bindings.join(', ')}.`;
    const own = [channelId(queue.name), queueChannel(queue.name, taken, description)];
    if (!queue.consumed) return [own];
    const dead = deadLetterQueue(queue.name);
    return [own, [channelId(dead), queueChannel(dead, ['DeadLetter'], `What ${queue.name} could never handle, with the reason (README, "Poison messages").`)]];
  });
  return Object.fromEntries([...byKey, ...queues]);
}

/** Operations of the service itself: it publishes the events and dead letters, and consumes replies and its own events. */
function operations(): Record<string, object> {
  const sends = EVENT_TYPES.map((type) => [
    `publish${type}`,
    operation({ action: 'send', channel: channelId(ORDER_EVENT_ROUTES[type].routingKey), messages: [type], summary: `Publish ${type}` }),
  ]);
  const ordersQueue = TOPOLOGY.find((queue) => queue.name === 'Orders')!;
  const ownEvents = EVENT_TYPES.filter((type) => ordersQueue.bindings.some((pattern) => topicMatches(pattern, ORDER_EVENT_ROUTES[type].routingKey)));
  const consumed = [
    operation({
      action: 'receive',
      channel: channelId('CustomerSaga'),
      messages: ['SagaReply'],
      summary: 'Apply saga replies',
      description: 'The first reply for a pending order decides it; later ones change nothing and are acknowledged.',
    }),
    operation({
      action: 'receive',
      channel: channelId('Orders'),
      messages: ownEvents,
      summary: "Project the service's own events",
      description: `Only events whose user_id is the service's own RabbitMQ user are applied; any other goes to ${deadLetterQueue('Orders')} as untrusted_publisher unread. Events are ordered and deduplicated by their ${SEQUENCE_HEADER} header.`,
    }),
  ];
  const deadLetters = TOPOLOGY.filter((queue) => queue.consumed).map((queue) => {
    const dead = deadLetterQueue(queue.name);
    return [`deadLetter${queue.name}`, operation({ action: 'send', channel: channelId(dead), messages: ['DeadLetter'], summary: `Dead-letter what ${queue.name} cannot handle` })];
  });
  return Object.fromEntries([...sends, ['applySagaReplies', consumed[0]], ['projectOwnEvents', consumed[1]], ...deadLetters]);
}

/** A channel id from an address: Order.Saga.Create is orderSagaCreate, CustomerSaga.dead is customerSagaDead. */
function channelId(address: string): string {
  const words = address.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((word, index) => (index === 0 ? word[0]!.toLowerCase() : word[0]!.toUpperCase()) + word.slice(1)).join('');
}

/**
 * The AsyncAPI 3.0 document of the service's RabbitMQ side, from the zod schemas and the routing and topology
 * tables the code uses. It names no server: the broker's address belongs to each deployment, and the same
 * document (docs/asyncapi.json) then holds for all of them.
 */
export function buildAsyncApiDocument(): object {
  const schemas = new SchemaComponents('draft-07');
  const messageObjects = messages(schemas);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Order service events',
      version: '1.0.0',
      description: `The ${ORDERS_EXCHANGE} topic exchange (durable): the events the order service publishes, the customer saga's requests and replies, and the dead-letter queues. Every queue is durable and declared by the service at start.`,
    },
    channels: channels(),
    operations: operations(),
    components: {
      schemas: schemas.all(),
      messages: messageObjects,
      correlationIds: {
        request: { description: 'The correlation id of the HTTP request that caused the message, carried through every step', location: `$message.header#/${CORRELATION_HEADER}` },
      },
    },
  };
}
