import type { z } from 'zod';
import type { Actor } from './actor.js';

/**
 * A command or query type: a name, the zod schema of its payload, and (phantom) the type of its result.
 * Handlers and senders refer to this object, so a message nobody handles is caught when the mediator is built.
 */
export interface MessageType<Schema extends z.ZodType = z.ZodType, Result = unknown> {
  readonly kind: 'command' | 'query';
  readonly name: string;
  readonly schema: Schema;
  /**
   * Commands only: how the transaction behaviour runs the handler. 'transaction' (the default) opens one
   * database transaction around it. 'statement' opens none: the handler may read first, but makes all its
   * writes in one SQL statement, which PostgreSQL applies atomically by itself. For the hottest write, where
   * BEGIN and COMMIT are two of its round trips.
   */
  readonly unitOfWork?: UnitOfWorkKind;
  /** Never set; carries the result type for the compiler. */
  readonly __result?: Result;
}

export type PayloadOf<M> = M extends MessageType<infer S, unknown> ? z.output<S> : never;
export type InputOf<M> = M extends MessageType<infer S, unknown> ? z.input<S> : never;
export type ResultOf<M> = M extends MessageType<z.ZodType, infer R> ? R : never;

export type UnitOfWorkKind = 'transaction' | 'statement';

export function defineCommand<Schema extends z.ZodType, Result = void>(
  name: string,
  schema: Schema,
  options: { unitOfWork?: UnitOfWorkKind } = {},
): MessageType<Schema, Result> {
  return Object.freeze({ kind: 'command', name, schema, unitOfWork: options.unitOfWork ?? 'transaction' });
}

export function defineQuery<Schema extends z.ZodType, Result>(name: string, schema: Schema): MessageType<Schema, Result> {
  return Object.freeze({ kind: 'query', name, schema });
}

/** What every behaviour and handler sees besides the payload. */
export interface MessageContext {
  readonly type: MessageType;
  readonly correlationId: string;
  /** Who sent it, when an authenticated client did; handlers apply ownership rules with it (kernel/actor.ts). */
  readonly actor?: Actor;
}

/** What a sender may add to a message besides its payload and correlation id. */
export interface SendOptions {
  actor?: Actor;
}

/** A message on its way through the pipeline: payload is raw until the validation behaviour has parsed it. */
export interface Envelope {
  readonly context: MessageContext;
  payload: unknown;
}
