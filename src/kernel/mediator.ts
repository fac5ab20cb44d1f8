import type { CommandType, Handler, InputOf, MessageContext, MessageType, QueryType, ResultOf, SendOptions } from './message.js';

/** A message on its way through the pipeline: the payload is raw until the validation behaviour parsed it. */
export interface Envelope {
  readonly context: MessageContext;
  readonly payload: unknown;
}

/** Wraps the rest of the pipeline: do something before, call next (with the same envelope or a new one), after. */
export type Behavior = (envelope: Envelope, next: (envelope: Envelope) => Promise<unknown>) => Promise<unknown>;

export class MediatorConfigurationError extends Error {}

/**
 * Pairs each message type with its one handler. `register` only compiles when the handler is one for that message
 * type (its payload, context and result), which is the type check the mediator's map cannot keep by itself.
 */
export class HandlerRegistry {
  readonly handlers = new Map<MessageType, Handler<never>>();

  register<M extends MessageType>(type: M, handler: Handler<M>): this {
    if (this.handlers.has(type)) throw new MediatorConfigurationError(`${type.kind} ${type.name} has two handlers`);
    this.handlers.set(type, handler as unknown as Handler<never>);
    return this;
  }
}

export interface PipelineBehaviors {
  /** Outermost first. */
  commands: readonly Behavior[];
  queries: readonly Behavior[];
}

/**
 * Command bus and query bus in one object: `send` for commands, `ask` for queries, each typed by its message;
 * `receive` for adapters whose input comes from outside (an HTTP body), which only the validation behaviour can
 * turn into a payload. The pipeline of each message type is composed once, here: commands and queries each get
 * the behaviours of their kind, so a query pays for no transaction behaviour.
 */
export class Mediator {
  private readonly pipelines = new Map<MessageType, (envelope: Envelope) => Promise<unknown>>();

  constructor(registry: HandlerRegistry, behaviors: PipelineBehaviors) {
    for (const [type, handler] of registry.handlers) {
      const innermost = (envelope: Envelope) => handler.handle(envelope.payload as never, envelope.context as never);
      const chain = type.kind === 'command' ? behaviors.commands : behaviors.queries;
      this.pipelines.set(
        type,
        chain.reduceRight<(envelope: Envelope) => Promise<unknown>>((next, behavior) => (envelope) => behavior(envelope, next), innermost),
      );
    }
  }

  send<M extends CommandType>(type: M, input: InputOf<M>, correlationId: string, options: SendOptions = {}): Promise<ResultOf<M>> {
    return this.dispatch(type, input, correlationId, options) as Promise<ResultOf<M>>;
  }

  ask<M extends QueryType>(type: M, input: InputOf<M>, correlationId: string, options: SendOptions = {}): Promise<ResultOf<M>> {
    return this.dispatch(type, input, correlationId, options) as Promise<ResultOf<M>>;
  }

  /** A message whose input arrived from outside, unchecked: the pipeline validates it like any other. */
  receive<M extends MessageType>(type: M, input: unknown, correlationId: string, options: SendOptions = {}): Promise<ResultOf<M>> {
    return this.dispatch(type, input, correlationId, options) as Promise<ResultOf<M>>;
  }

  private dispatch(type: MessageType, payload: unknown, correlationId: string, options: SendOptions): Promise<unknown> {
    const pipeline = this.pipelines.get(type);
    if (!pipeline) throw new MediatorConfigurationError(`${type.kind} ${type.name} has no handler`);
    const context: MessageContext = options.actor ? { type, correlationId, actor: options.actor } : { type, correlationId };
    return pipeline({ context, payload });
  }
}
