import '../platform/messaging/amqp-header-guard.js'; // before anything loads amqplib
// First: the decorators of the service's classes (tsyringe) need it before any of them is loaded.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { ChannelModel } from 'amqplib';
import { ConfigError, loadConfig } from '../config.js';
import { amqpNodes, amqpUser } from '../platform/messaging/amqp-url.js';
import { connectAnyNode } from '../platform/messaging/connect-any-node.js';
import { recover, type MoveContext } from '../platform/messaging/message-move.js';
import { MigrationJournal } from '../platform/messaging/migration-journal.js';
import { holdingQueue, inspect, migrateQueue, type QueueMigration } from '../platform/messaging/queue-migration.js';
import { QUEUE_TYPES, type QueueType } from '../platform/messaging/queue-type.js';
import { probeQueueType } from '../platform/messaging/queue-type-probe.js';
import { CONTRACT_QUEUES } from '../platform/messaging/topology.js';

const USAGE = `usage: npm run topology -- <command>
  show                       each queue of the contract: its type, messages and consumers
  migrate [--to quorum|classic] [--journal <file>]
                             give every live and dead-letter queue the type QUEUE_TYPE (or --to) names, moving
                             its messages without losing or duplicating one; stop the order service and the
                             customer service first. Safe to run again, also after it was interrupted.`;

const DEFAULT_JOURNAL = '.topology-migration.json';

class UsageError extends Error {}

/** `npm run topology`: what the RabbitMQ topology is, and moving it from one queue type to the other. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parsedArgs(argv);
  const config = loadConfig();
  const to = values.to === undefined ? config.QUEUE_TYPE : checkedType(values.to);
  const model = await connectAnyNode(config.AMQP_URL, config.DEPENDENCY_TIMEOUT);
  try {
    switch (positionals[0]) {
      case 'show':
        return await show(model, config.DEPENDENCY_TIMEOUT);
      case 'migrate':
        return await migrate({
          model,
          journal: new MigrationJournal(values.journal ?? DEFAULT_JOURNAL),
          broker: brokerName(config.AMQP_URL),
          user: amqpUser(config.AMQP_URL),
          timeoutMs: config.DEPENDENCY_TIMEOUT,
        }, to);
      default:
        throw new UsageError(positionals[0] === undefined ? 'a command is required' : `unknown command "${positionals[0]}"`);
    }
  } finally {
    await model.close().catch(() => undefined);
  }
}

async function show(model: ChannelModel, timeoutMs: number): Promise<number> {
  console.log(['QUEUE'.padEnd(28), 'TYPE'.padEnd(8), 'MESSAGES'.padStart(9), 'CONSUMERS'.padStart(10)].join(' '));
  for (const queue of CONTRACT_QUEUES) {
    const type = await probeQueueType(model, queue, timeoutMs);
    const state = await inspect(model, queue.name, timeoutMs);
    console.log([queue.name.padEnd(28), type.padEnd(8), String(state?.messageCount ?? '-').padStart(9), String(state?.consumerCount ?? '-').padStart(10)].join(' '));
    const holding = await inspect(model, holdingQueue(queue.name), timeoutMs);
    if (holding) console.log([holdingQueue(queue.name).padEnd(28), '(held)'.padEnd(8), String(holding.messageCount).padStart(9), String(holding.consumerCount).padStart(10)].join(' '));
  }
  return 0;
}

/**
 * Every queue in turn (live queues first: a dead-letter queue stays in place while its live queue moves, so the
 * broker's own dead-lettering has somewhere to go). One line per queue with the counts; a count that does not add up
 * fails the run with exit code 1.
 */
async function migrate(context: MoveContext, to: QueueType): Promise<number> {
  const recovered = await recover(context);
  if (recovered > 0) console.log(`interrupted batch settled: ${recovered} message(s) already copied, their originals dropped`);
  let failures = 0;
  for (const queue of CONTRACT_QUEUES) {
    const result = await migrateQueue(context, queue, to);
    console.log(line(result));
    if (result.before !== result.after) failures++;
  }
  if (failures > 0) {
    console.error(`topology migrate: the counts of ${failures} queue(s) disagree (before != after): something published or consumed meanwhile, or a message was lost; look before going on`);
    return 1;
  }
  console.log(`every queue is ${to}; the journal ${context.journal.path} is clear`);
  return 0;
}

function line(result: QueueMigration): string {
  const what = result.from === result.to ? `already ${result.to}` : `${result.from} -> ${result.to}`;
  const verdict = result.before === result.after ? 'ok' : 'COUNTS DISAGREE';
  const users = result.userIdsMoved > 0 ? `; ${result.userIdsMoved} user_id(s) of other users kept in x-original-user-id` : '';
  return `${result.queue.padEnd(20)} ${what.padEnd(20)} before ${String(result.before).padStart(7)}  moved ${String(result.moved).padStart(7)}  after ${String(result.after).padStart(7)}  ${verdict}${users}`;
}

/** The first node and the vhost, which a journal records so that it is never applied to another broker. */
function brokerName(amqpUrl: string): string {
  return amqpNodes(amqpUrl)[0]!.label;
}

function parsedArgs(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: { to: { type: 'string' }, journal: { type: 'string' } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function checkedType(text: string): QueueType {
  if (!(QUEUE_TYPES as readonly string[]).includes(text)) throw new UsageError(`--to must be one of ${QUEUE_TYPES.join(', ')}`);
  return text as QueueType;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigError) console.error(error.message);
    else console.error(`topology failed: ${String((error as Error)?.message ?? error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
