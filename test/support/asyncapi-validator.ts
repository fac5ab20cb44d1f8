import type { MessageProperties } from 'amqplib';
import { DocumentSchemas } from './document-schemas.js';

/** A message as a test received it from RabbitMQ: where it was published, its properties, its body. */
export interface ObservedMessage {
  fields: { exchange: string; routingKey: string };
  properties: MessageProperties;
  content: Buffer;
}

interface MessageObject {
  name: string;
  contentType?: string;
  headers?: unknown;
  payload?: unknown;
  bindings?: { amqp?: { messageType?: string } };
  'x-amqp-message-id'?: { location: string };
  'x-amqp-user-id'?: string;
}
interface AsyncApiDocument {
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; bindings?: { amqp?: { deliveryMode?: number } } }>;
  components: { schemas: Record<string, unknown>; messages: Record<string, MessageObject> };
}

/** The exchange through which RabbitMQ dead-letters a rejected message itself, with the queue's name as routing key. */
const DEAD_LETTER_EXCHANGE = 'Orders.dead-letters';

/**
 * Holds a message the service published to the AsyncAPI document: the channel of its routing key (or of the
 * queue it was sent to by name), one of that channel's messages, and for that message its content type, body
 * schema, headers schema, `type` (the AMQP binding's messageType), message_id (x-amqp-message-id), the
 * publishing operation's delivery mode, and user_id (x-amqp-user-id: the service's own user). Only what the service sends is
 * held to it: a saga reply comes from the customer service. A message of neither a documented routing key nor
 * a documented type (a test's hand-made outbox row, OrderTestEvent on Order.Test) is nothing the document
 * speaks of.
 */
export class AsyncApiValidator {
  private readonly schemas: DocumentSchemas;
  private readonly sent = new Set<string>();

  constructor(private readonly document: AsyncApiDocument) {
    this.schemas = new DocumentSchemas(document.components.schemas);
    for (const operation of Object.values(document.operations)) {
      if (operation.action !== 'send') continue;
      for (const ref of Object.values(this.channelAt(operation.channel.$ref).messages)) this.sent.add(ref.$ref);
    }
  }

  /** What is wrong with the message, as sentences naming it; [] when it conforms or is not the service's. */
  problems(message: ObservedMessage, serviceUser: string): string[] {
    const where = `message on ${message.fields.exchange || '(default exchange)'} with ${message.fields.routingKey}`;
    return this.check(message, serviceUser).map((problem) => `${where}: ${problem}`);
  }

  private check(message: ObservedMessage, serviceUser: string): string[] {
    const channel = this.channelOf(message.fields);
    if (!channel) {
      const type: unknown = message.properties.type;
      const documented = Object.values(this.document.components.messages).some((m) => m.bindings?.amqp?.messageType !== undefined && m.bindings.amqp.messageType === type);
      return documented ? [`a ${String(type)} on a routing key the document has no channel for`] : [];
    }
    const refs = Object.values(channel.messages).map((ref) => ref.$ref);
    if (!refs.some((ref) => this.sent.has(ref))) return [];
    const candidates = refs.map((ref) => this.messageAt(ref));
    const typed = candidates.filter((m) => !m.bindings?.amqp?.messageType || m.bindings.amqp.messageType === message.properties.type);
    if (typed.length === 0) return [`type ${String(message.properties.type)} is none of ${candidates.map((m) => m.name).join(', ')}`];
    const attempts = typed.map((candidate) => this.checkAgainst(candidate, message, serviceUser));
    return attempts.find((problems) => problems.length === 0) ?? attempts[0]!;
  }

  private checkAgainst(declared: MessageObject, message: ObservedMessage, serviceUser: string): string[] {
    const { properties } = message;
    const problems = this.schemas.problems(declared.headers ?? {}, properties.headers ?? {}).map((p) => `headers ${p}`);
    // A dead letter declares no content type: it keeps the original's, whatever that was.
    if (declared.contentType && properties.contentType !== declared.contentType) problems.push(`content_type ${String(properties.contentType)}, not ${declared.contentType}`);
    if (declared.contentType !== 'application/json') return problems;
    let body: unknown;
    try {
      body = JSON.parse(message.content.toString('utf8'));
    } catch {
      return [...problems, 'the body is not JSON'];
    }
    problems.push(...this.schemas.problems(declared.payload ?? {}, body).map((p) => `payload ${p}`));
    const idField = declared['x-amqp-message-id']?.location.replace('$message.payload#/', '');
    if (idField && properties.messageId !== (body as Record<string, unknown>)[idField]) problems.push(`message_id ${String(properties.messageId)} is not the payload's ${idField}`);
    if (properties.deliveryMode !== this.deliveryModeOf(declared)) problems.push(`delivery_mode ${String(properties.deliveryMode)}, not ${this.deliveryModeOf(declared)}`);
    if (declared['x-amqp-user-id'] && properties.userId !== serviceUser) problems.push(`user_id ${String(properties.userId)}, not the service's user ${serviceUser}`);
    return problems;
  }

  /** The delivery mode the operations that send this message declare. */
  private deliveryModeOf(declared: MessageObject): number | undefined {
    for (const operation of Object.values(this.document.operations)) {
      const channel = this.channelAt(operation.channel.$ref);
      if (operation.action === 'send' && Object.values(channel.messages).some((ref) => this.messageAt(ref.$ref) === declared)) return operation.bindings?.amqp?.deliveryMode;
    }
    return undefined;
  }

  private channelOf(fields: ObservedMessage['fields']): AsyncApiDocument['channels'][string] | undefined {
    const address = fields.exchange === DEAD_LETTER_EXCHANGE ? `${fields.routingKey}.dead` : fields.routingKey;
    // Through an exchange the address is a routing key; through the default exchange it is a queue's name.
    return Object.values(this.document.channels).find((channel) => channel.address === address);
  }

  private channelAt(ref: string): AsyncApiDocument['channels'][string] {
    return this.document.channels[ref.replace('#/channels/', '')]!;
  }

  private messageAt(ref: string): MessageObject {
    return this.document.components.messages[ref.replace('#/components/messages/', '')]!;
  }
}
