import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Mediator, MediatorConfigurationError, type Behavior } from '../../src/kernel/mediator.js';
import { defineCommand, defineQuery } from '../../src/kernel/message.js';
import { loggingBehavior } from '../../src/kernel/behaviors/logging.js';
import { metricsBehavior } from '../../src/kernel/behaviors/metrics.js';
import { validationBehavior } from '../../src/kernel/behaviors/validation.js';
import { transactionBehavior } from '../../src/kernel/behaviors/transaction.js';
import { errorTranslationBehavior } from '../../src/kernel/behaviors/error-translation.js';
import { ValidationError } from '../../src/kernel/errors.js';

const Ping = defineCommand('Ping', z.object({ n: z.number() }));
const Pong = defineCommand('Pong', z.object({ n: z.number() }), { unitOfWork: 'statement' });
const Peek = defineQuery<z.ZodObject<{ n: z.ZodNumber }>, number>('Peek', z.object({ n: z.number() }));

function recording(name: string, log: string[]): Behavior {
  return async (_envelope, next) => {
    log.push(`${name} before`);
    const result = await next();
    log.push(`${name} after`);
    return result;
  };
}

describe('mediator', () => {
  it('when behaviours are composed, then the first wraps the second, which wraps the handler', async () => {
    const log: string[] = [];
    const mediator = new Mediator({
      messages: [Ping],
      handlers: [[Ping, (async () => void log.push('handler')) as never]],
      behaviors: [recording('outer', log), recording('inner', log)],
    });
    await mediator.send(Ping, { n: 1 }, 'c-1');
    expect(log).toEqual(['outer before', 'inner before', 'handler', 'inner after', 'outer after']);
  });

  it('when the service pipeline runs, then logging, metrics, validation and transaction run in that order', async () => {
    const log: string[] = [];
    const logger = { debug: () => log.push('log'), info: () => log.push('log'), error: () => log.push('log') };
    const recorder = { observe: () => log.push('metrics') };
    const runInTransaction = async <T>(work: () => Promise<T>) => {
      log.push('begin');
      const result = await work();
      log.push('commit');
      return result;
    };
    const runAsStatement = async <T>(work: () => Promise<T>) => {
      log.push('statement unit');
      const result = await work();
      log.push('statement done');
      return result;
    };
    const validation = validationBehavior();
    const mediator = new Mediator({
      messages: [Ping, Pong, Peek],
      handlers: [
        [Ping, (async () => void log.push('handler')) as never],
        [Pong, (async () => void log.push('handler')) as never],
        [Peek, (async ({ n }: { n: number }) => n * 2) as never],
      ],
      // The same list, in the same order, as src/composition.ts.
      behaviors: [
        loggingBehavior(logger),
        metricsBehavior(recorder),
        async (envelope, next) => {
          log.push('validate');
          return validation(envelope, next);
        },
        transactionBehavior({ transaction: runInTransaction, statement: runAsStatement }),
      ],
    });
    await mediator.send(Ping, { n: 1 }, 'c-1');
    expect(log).toEqual(['validate', 'begin', 'handler', 'commit', 'metrics', 'log']);

    log.length = 0;
    await mediator.send(Pong, { n: 1 }, 'c-1');
    // A command declared a single-statement unit of work gets that runner instead of a transaction.
    expect(log).toEqual(['validate', 'statement unit', 'handler', 'statement done', 'metrics', 'log']);

    log.length = 0;
    await expect(mediator.send(Ping, { n: 'x' }, 'c-2')).rejects.toBeInstanceOf(ValidationError);
    // Invalid input is timed and logged but never opens a transaction.
    expect(log).toEqual(['validate', 'metrics', 'log']);

    log.length = 0;
    expect(await mediator.ask(Peek, { n: 21 }, 'c-3')).toBe(42);
    // Queries get no transaction.
    expect(log).toEqual(['validate', 'metrics', 'log']);
  });

  it('when src/composition.ts builds the pipeline, then its behaviours are listed in the pinned order', async () => {
    const source = await import('node:fs/promises').then((fs) => fs.readFile('src/composition.ts', 'utf8'));
    const listed = [...source.matchAll(/(loggingBehavior|metricsBehavior|errorTranslationBehavior|validationBehavior|transactionBehavior)\(/g)].map((m) => m[1]);
    expect(listed).toEqual(['loggingBehavior', 'metricsBehavior', 'errorTranslationBehavior', 'validationBehavior', 'transactionBehavior']);
  });

  it('when a dependency fails inside the handler, then the translation behaviour turns it into the application error', async () => {
    const mediator = new Mediator({
      messages: [Ping],
      handlers: [[Ping, (async () => { throw new Error('ECONNREFUSED'); }) as never]],
      behaviors: [errorTranslationBehavior((error) => ((error as Error).message === 'ECONNREFUSED' ? new ValidationError('translated', 'x') : undefined))],
    });
    await expect(mediator.send(Ping, { n: 1 }, 'c')).rejects.toThrow('translated');
  });

  it('when a message in the list has no handler, then building the mediator fails and names it', () => {
    expect(() => new Mediator({ messages: [Ping, Peek], handlers: [[Ping, (async () => undefined) as never]], behaviors: [] })).toThrow(
      new MediatorConfigurationError('no handler registered for query Peek'),
    );
  });

  it('when a message has two handlers, then building the mediator fails', () => {
    const handler = (async () => undefined) as never;
    expect(() => new Mediator({ messages: [Ping], handlers: [[Ping, handler], [Ping, handler]], behaviors: [] })).toThrow(/two handlers/);
  });

  it('when a handler is registered for a message outside the list, then building the mediator fails', () => {
    expect(() => new Mediator({ messages: [], handlers: [[Ping, (async () => undefined) as never]], behaviors: [] })).toThrow(/not in the message list/);
  });

  it('when a sender names an actor, then behaviours and the handler see it in the context; without one, none', async () => {
    const seen: unknown[] = [];
    const mediator = new Mediator({
      messages: [Peek],
      handlers: [[Peek, (async (_payload: unknown, context: { actor?: unknown }) => seen.push(context.actor)) as never]],
      behaviors: [async (envelope, next) => (seen.push(envelope.context.actor), next())],
    });
    const actor = { sub: 'user-1', scopes: new Set(['orders:read']) };
    await mediator.ask(Peek, { n: 1 }, 'c', { actor });
    await mediator.ask(Peek, { n: 1 }, 'c');
    expect(seen).toEqual([actor, actor, undefined, undefined]);
  });

  it('when a query is sent as a command, then it is refused as a programming error', async () => {
    const mediator = new Mediator({ messages: [Peek], handlers: [[Peek, (async () => 1) as never]], behaviors: [] });
    expect(() => mediator.send(Peek, { n: 1 }, 'c')).toThrow(MediatorConfigurationError);
  });

  it('when the service is composed, then every message of the catalogue has exactly one handler', async () => {
    const { ALL_MESSAGES, messageHandlers } = await import('../../src/messages.js');
    const handled = messageHandlers({ config: {} as never, database: {} as never, products: {} as never, orders: {} as never, clock: () => new Date(), metrics: {} as never, redis: {} as never, logger: {} as never }).map(
      ([type]) => type,
    );
    expect(new Set(handled)).toEqual(new Set(ALL_MESSAGES));
    expect(handled).toHaveLength(ALL_MESSAGES.length);
  });
});
