import type { Envelope, MessageContext, MessageType, PayloadOf, ResultOf, InputOf, SendOptions } from './message.js';

export type Handler<M extends MessageType = MessageType> = (payload: PayloadOf<M>, context: MessageContext) => Promise<ResultOf<M>>;

/** Wraps the rest of the pipeline: do something before, call next, do something after. */
export type Behavior = (envelope: Envelope, next: () => Promise<unknown>) => Promise<unknown>;

export class MediatorConfigurationError extends Error {}

export interface MediatorOptions {
  /** Every message type the application sends; each must have exactly one handler. */
  messages: readonly MessageType[];
  handlers: ReadonlyArray<readonly [MessageType, Handler<never>]>;
  /** Outermost first. Behaviours see every message; the transaction behaviour acts on commands only. */
  behaviors: readonly Behavior[];
}

/**
 * Command bus and query bus in one object: `send` for commands, `ask` for queries. The pipeline for each
 * message type is composed once, at construction, which is also where a missing or doubled handler fails.
 */
export class Mediator {
  private readonly pipelines = new Map<MessageType, (envelope: Envelope) => Promise<unknown>>();

  constructor(options: MediatorOptions) {
    const handlers = new Map<MessageType, Handler<never>>();
    for (const [type, handler] of options.handlers) {
      if (handlers.has(type)) throw new MediatorConfigurationError(`${type.kind} ${type.name} has two handlers`);
      if (!options.messages.includes(type)) {
        throw new MediatorConfigurationError(`${type.kind} ${type.name} has a handler but is not in the message list`);
      }
      handlers.set(type, handler);
    }
    const missing = options.messages.filter((type) => !handlers.has(type));
    if (missing.length > 0) {
      const names = missing.map((type) => `${type.kind} ${type.name}`).join(', ');
      throw new MediatorConfigurationError(`no handler registered for ${names}`);
    }
    for (const [type, handler] of handlers) {
      const innermost = (envelope: Envelope) => (handler as Handler)(envelope.payload as never, envelope.context);
      const pipeline = options.behaviors.reduceRight<(envelope: Envelope) => Promise<unknown>>(
        (next, behavior) => (envelope) => behavior(envelope, () => next(envelope)),
        innermost,
      );
      this.pipelines.set(type, pipeline);
    }
  }

  send<M extends MessageType>(type: M, payload: InputOf<M> | unknown, correlationId: string, options: SendOptions = {}): Promise<ResultOf<M>> {
    if (type.kind !== 'command') throw new MediatorConfigurationError(`${type.name} is a query: use ask()`);
    return this.dispatch(type, payload, correlationId, options);
  }

  ask<M extends MessageType>(type: M, payload: InputOf<M> | unknown, correlationId: string, options: SendOptions = {}): Promise<ResultOf<M>> {
    if (type.kind !== 'query') throw new MediatorConfigurationError(`${type.name} is a command: use send()`);
    return this.dispatch(type, payload, correlationId, options);
  }

  private async dispatch<M extends MessageType>(type: M, payload: unknown, correlationId: string, options: SendOptions): Promise<ResultOf<M>> {
    const pipeline = this.pipelines.get(type);
    // Unreachable for message types that were in the list at construction; anything else is a wiring bug.
    if (!pipeline) throw new MediatorConfigurationError(`${type.kind} ${type.name} was not registered`);
    const context: MessageContext = options.actor ? { type, correlationId, actor: options.actor } : { type, correlationId };
    return (await pipeline({ context, payload })) as ResultOf<M>;
  }
}
