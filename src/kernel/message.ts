import type { z } from 'zod';
import type { Actor } from './actor.js';
import type { UnitOfWork, UnitOfWorkKind } from '../platform/database/unit-of-work.js';

/**
 * A command or query type: a name, the zod schema of its payload, and (for the compiler only) the type of its
 * result. Senders, handlers and the mediator refer to this object, so `send(CreateOrder, input)` knows the input
 * and the result, and a handler written for another message does not compile where CreateOrder's is expected.
 */
export interface MessageType<Kind extends MessageKind = MessageKind, Schema extends z.ZodType = z.ZodType, Result = unknown> {
  readonly kind: Kind;
  readonly name: string;
  readonly schema: Schema;
  /** Never set; carries the result type. */
  readonly __result?: Result;
}

export type MessageKind = 'command' | 'query';

/** A command also says how its handler's writes commit (see UnitOfWork). */
export interface CommandType<Schema extends z.ZodType = z.ZodType, Result = unknown> extends MessageType<'command', Schema, Result> {
  readonly unitOfWork: UnitOfWorkKind;
}

export type QueryType<Schema extends z.ZodType = z.ZodType, Result = unknown> = MessageType<'query', Schema, Result>;

/** What a sender passes (the schema's input) and what a handler gets (its output, after validation). */
export type InputOf<M> = M extends MessageType<MessageKind, infer S, unknown> ? z.input<S> : never;
export type PayloadOf<M> = M extends MessageType<MessageKind, infer S, unknown> ? z.output<S> : never;
export type ResultOf<M> = M extends MessageType<MessageKind, z.ZodType, infer R> ? R : never;

/** What every behaviour and handler sees besides the payload. */
export interface MessageContext {
  readonly type: MessageType;
  readonly correlationId: string;
  /** Who sent it, when an authenticated client did; handlers apply ownership rules with it (kernel/actor.ts). */
  readonly actor?: Actor;
}

/** A command's handler also gets the unit of work its writes go through. */
export interface CommandContext extends MessageContext {
  readonly unit: UnitOfWork;
}

export type ContextOf<M> = M extends CommandType ? CommandContext : MessageContext;

/** The one handler of a message type. */
export interface Handler<M extends MessageType> {
  handle(payload: PayloadOf<M>, context: ContextOf<M>): Promise<ResultOf<M>>;
}

/** What a sender may add to a message besides its payload and correlation id. */
export interface SendOptions {
  actor?: Actor;
}

interface Returning<M> {
  /** The type of the handler's result (the only way to name it: the schema says nothing about it). */
  returning<Result>(): M extends CommandType<infer S> ? CommandType<S, Result> : M extends QueryType<infer S> ? QueryType<S, Result> : never;
}

/**
 * A command: `defineCommand('RenameProduct', schema)`; with a result, `.returning<Outcome>()`. A command's writes
 * go through one transaction unless it declares `unitOfWork: 'statement'` (it reads, then writes once).
 */
export function defineCommand<Schema extends z.ZodType>(name: string, schema: Schema, options: { unitOfWork?: UnitOfWorkKind } = {}): CommandType<Schema, void> & Returning<CommandType<Schema, void>> {
  return withReturning({ kind: 'command' as const, name, schema, unitOfWork: options.unitOfWork ?? 'transaction' });
}

export function defineQuery<Schema extends z.ZodType>(name: string, schema: Schema): QueryType<Schema, unknown> & Returning<QueryType<Schema, unknown>> {
  return withReturning({ kind: 'query' as const, name, schema });
}

function withReturning<T extends object>(type: T): T & Returning<T> {
  const defined = Object.freeze({ ...type, returning: () => defined });
  return defined as T & Returning<T>;
}
