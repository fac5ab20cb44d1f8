import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { HandlerRegistry, Mediator, MediatorConfigurationError, type Behavior } from '../../src/kernel/mediator.js';
import { defineCommand, defineQuery, type CommandContext, type Handler, type MessageContext, type PayloadOf, type ResultOf } from '../../src/kernel/message.js';
import { loggingBehavior } from '../../src/kernel/behaviors/logging.js';
import { metricsBehavior } from '../../src/kernel/behaviors/metrics.js';
import { validationBehavior } from '../../src/kernel/behaviors/validation.js';
import { transactionBehavior, type UnitOfWorkRunner } from '../../src/kernel/behaviors/transaction.js';
import { ValidationError } from '../../src/kernel/errors.js';
import type { UnitOfWork } from '../../src/platform/database/unit-of-work.js';
import { CreateOrder } from '../../src/orders/create-order.js';
import { DeleteOrder } from '../../src/orders/delete-order.js';
import { GetOrder } from '../../src/orders/order-queries.js';
import { ApproveOrder } from '../../src/orders/saga/saga-reply-commands.js';

const Ping = defineCommand('Ping', z.object({ n: z.number() }));
const Pong = defineCommand('Pong', z.object({ n: z.number() }), { unitOfWork: 'statement' });
const Peek = defineQuery('Peek', z.object({ n: z.coerce.number() })).returning<number>();

const fakeUnit = (kind: 'transaction' | 'statement') => ({ kind }) as unknown as UnitOfWork;

function recording(name: string, log: string[]): Behavior {
  return async (envelope, next) => {
    log.push(`${name} before`);
    const result = await next(envelope);
    log.push(`${name} after`);
    return result;
  };
}

const handler = <M extends Parameters<HandlerRegistry['register']>[0]>(handle: Handler<M>['handle']): Handler<M> => ({ handle });

describe('mediator', () => {
  it('when behaviours are composed, then the first wraps the second, which wraps the handler', async () => {
    const log: string[] = [];
    const registry = new HandlerRegistry().register(Ping, handler<typeof Ping>(async () => void log.push('handler')));
    const mediator = new Mediator(registry, { commands: [recording('outer', log), recording('inner', log)], queries: [] });
    await mediator.send(Ping, { n: 1 }, 'c-1');
    expect(log).toEqual(['outer before', 'inner before', 'handler', 'inner after', 'outer after']);
  });

  it('when the service pipeline runs, then logging, metrics, validation and the unit of work run in that order, and queries get no unit', async () => {
    const log: string[] = [];
    const logger = { debug: () => log.push('log'), info: () => log.push('log'), error: () => log.push('log'), isLevelEnabled: () => true };
    const recorder = { observe: () => log.push('metrics') };
    const run: UnitOfWorkRunner = async (kind, work) => {
      log.push(`${kind} begins`);
      const result = await work(fakeUnit(kind));
      log.push(`${kind} ends`);
      return result;
    };
    const validation = validationBehavior();
    const validating: Behavior = (envelope, next) => (log.push('validate'), validation(envelope, next));
    const seenUnits: string[] = [];
    const registry = new HandlerRegistry()
      .register(Ping, handler<typeof Ping>(async (_payload, { unit }) => void (log.push('handler'), seenUnits.push(unit.kind))))
      .register(Pong, handler<typeof Pong>(async (_payload, { unit }) => void (log.push('handler'), seenUnits.push(unit.kind))))
      .register(Peek, handler<typeof Peek>(async ({ n }) => n * 2));
    // The same lists, in the same order, as src/composition/service.ts.
    const mediator = new Mediator(registry, {
      commands: [loggingBehavior(logger), metricsBehavior(recorder), validating, transactionBehavior(run)],
      queries: [loggingBehavior(logger), metricsBehavior(recorder), validating],
    });
    await mediator.send(Ping, { n: 1 }, 'c-1');
    expect(log).toEqual(['validate', 'transaction begins', 'handler', 'transaction ends', 'metrics', 'log']);

    log.length = 0;
    await mediator.send(Pong, { n: 1 }, 'c-1');
    // A command declared a single-statement unit of work gets that kind of unit instead of a transaction.
    expect(log).toEqual(['validate', 'statement begins', 'handler', 'statement ends', 'metrics', 'log']);
    expect(seenUnits).toEqual(['transaction', 'statement']);

    log.length = 0;
    await expect(mediator.receive(Ping, { n: 'x' }, 'c-2')).rejects.toBeInstanceOf(ValidationError);
    // Invalid input is timed and logged but never opens a unit of work.
    expect(log).toEqual(['validate', 'metrics', 'log']);

    log.length = 0;
    // The query's payload is what validation made of its input ("21" -> 21).
    expect(await mediator.receive(Peek, { n: '21' }, 'c-3')).toBe(42);
    expect(log).toEqual(['validate', 'metrics', 'log']);
  });

  it('when src/composition/service.ts builds the pipelines, then their behaviours are listed in the pinned order', async () => {
    const source = await import('node:fs/promises').then((fs) => fs.readFile('src/composition/service.ts', 'utf8'));
    const line = (kind: string) => [...new RegExp(`${kind}: \\[(.*)\\],?$`, 'm').exec(source)![1]!.matchAll(/(\w+Behavior)\(/g)].map((m) => m[1]);
    expect(line('commands')).toEqual(['tracingBehavior', 'loggingBehavior', 'metricsBehavior', 'validationBehavior', 'transactionBehavior']);
    expect(line('queries')).toEqual(['tracingBehavior', 'loggingBehavior', 'metricsBehavior', 'validationBehavior']);
  });

  it('when a message has no handler, then sending it fails and names it', async () => {
    const mediator = new Mediator(new HandlerRegistry(), { commands: [], queries: [] });
    expect(() => mediator.ask(Peek, { n: 1 }, 'c')).toThrow(new MediatorConfigurationError('query Peek has no handler'));
  });

  it('when a message gets two handlers, then registering the second fails', () => {
    const registry = new HandlerRegistry().register(Ping, handler<typeof Ping>(async () => undefined));
    expect(() => registry.register(Ping, handler<typeof Ping>(async () => undefined))).toThrow(/two handlers/);
  });

  it('when a sender names an actor, then behaviours and the handler see it in the context; without one, none', async () => {
    const seen: unknown[] = [];
    const registry = new HandlerRegistry().register(Peek, handler<typeof Peek>(async (_payload, context) => seen.push(context.actor)));
    const mediator = new Mediator(registry, { commands: [], queries: [async (envelope, next) => (seen.push(envelope.context.actor), next(envelope))] });
    const actor = { sub: 'user-1', scopes: new Set(['orders:read']) };
    await mediator.ask(Peek, { n: 1 }, 'c', { actor });
    await mediator.ask(Peek, { n: 1 }, 'c');
    expect(seen).toEqual([actor, actor, undefined, undefined]);
  });
});

describe('mediator types (checked by tsc, which `make test` runs first)', () => {
  it('when a message is sent, then its input and result types come from its definition', () => {
    expectTypeOf<PayloadOf<typeof CreateOrder>['productsIDs']>().toEqualTypeOf<string[]>();
    expectTypeOf<ResultOf<typeof ApproveOrder>>().toEqualTypeOf<'applied' | 'ignored' | 'duplicate'>();
    expectTypeOf<ResultOf<typeof GetOrder>['OrderID']>().toEqualTypeOf<string>();
    const mediator = new Mediator(new HandlerRegistry(), { commands: [], queries: [] });
    const sendApproval = () => mediator.send(ApproveOrder, { orderID: 'x' }, 'c');
    expectTypeOf(sendApproval).returns.resolves.toEqualTypeOf<'applied' | 'ignored' | 'duplicate'>();
    if (Math.random() > 2) {
      // @ts-expect-error a command's input must have its fields: DeleteOrder needs orderID
      void mediator.send(DeleteOrder, {}, 'c');
      // @ts-expect-error a query is asked, not sent
      void mediator.send(GetOrder, { orderID: 'x' }, 'c');
      // @ts-expect-error a command is sent, not asked
      void mediator.ask(DeleteOrder, { orderID: 'x' }, 'c');
    }
  });

  it('when a handler is registered, then it must be one for that very message', () => {
    const registry = new HandlerRegistry();
    const deleteHandler: Handler<typeof DeleteOrder> = { handle: async (_payload: PayloadOf<typeof DeleteOrder>, _context: CommandContext) => undefined };
    const getHandler: Handler<typeof GetOrder> = {
      handle: async (_payload: PayloadOf<typeof GetOrder>, _context: MessageContext) => ({}) as ResultOf<typeof GetOrder>,
    };
    registry.register(DeleteOrder, deleteHandler).register(GetOrder, getHandler);
    if (Math.random() > 2) {
      // @ts-expect-error DeleteOrder's handler does not handle ApproveOrder (its result is void, not the saga outcome)
      registry.register(ApproveOrder, deleteHandler);
      // @ts-expect-error GetOrder's handler does not handle CreateOrder (other payload, no unit of work, other result)
      registry.register(CreateOrder, getHandler);
    }
    expect(registry.handlers.size).toBe(2);
  });
});
