import '../platform/messaging/amqp-header-guard.js'; // before anything loads amqplib
// First: the decorators of the service's classes (tsyringe) need it before any of them is loaded.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { ConfigError, loadConfig } from '../config.js';
import { parseDuration } from '../platform/duration.js';
import { withTimeout } from '../platform/with-timeout.js';
import { amqpUser } from '../platform/messaging/amqp-url.js';
import { connectAnyNode } from '../platform/messaging/connect-any-node.js';
import { DEAD_LETTER_QUEUES } from '../platform/messaging/topology.js';
import { DEAD_LETTER_HEADERS } from '../platform/messaging/dead-letter-copy.js';
import { browse, replayOptions, type BrowseLimits, type DeadLetter } from '../platform/messaging/dead-letters.js';
import { printable, shortened, terminalSafe } from './terminal-text.js';

const USAGE = `usage: npm run dead-letters -- <command>
  list [--queue <name>]                      the messages in ${DEAD_LETTER_QUEUES.join(' and ')}, oldest first
  show <id>                                  one message: its reason, properties, headers and body
  replay <id>                                put it back on the queue it came from, with its original properties
  purge --older-than <duration> [--queue <name>]
                                             delete messages dead-lettered longer ago than that (e.g. 7d, 12h)
An <id> may be shortened to any prefix that names one message.`;

/** What `show` prints of a body: enough to read a reply or an event, not a 100 MB body. */
const SHOWN_BODY_CHARS = 4_000;

class UsageError extends Error {}

/** `npm run dead-letters`: inspect, replay and purge what the consumers dead-lettered, losing nothing on the way. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parsedArgs(argv);
  const [command, id] = positionals;
  const config = loadConfig();
  const queues = values.queue === undefined ? DEAD_LETTER_QUEUES : [checkedQueue(values.queue)];
  const model = await connectAnyNode(config.AMQP_URL, config.DEPENDENCY_TIMEOUT);
  // The consumers' own limit, so that a body they rejected for its size is listed as too_large; and their user (the
  // tool runs with the service's AMQP_URL), so that their copies are told from messages that only look like them.
  const limits: BrowseLimits = { timeoutMs: config.DEPENDENCY_TIMEOUT, maxMessageBytes: config.MAX_MESSAGE_BYTES, serviceUser: amqpUser(config.AMQP_URL) };
  try {
    switch (command) {
      case 'list':
        return await list(model, queues, limits);
      case 'show':
        return await show(model, await resolveId(model, required(id), limits), limits);
      case 'replay':
        return await replay(model, await resolveId(model, required(id), limits), amqpUser(config.AMQP_URL), limits);
      case 'purge':
        return await purge(model, queues, olderThan(values['older-than']), limits);
      default:
        throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
    }
  } finally {
    await model.close().catch(() => undefined);
  }
}

async function list(model: ChannelModel, queues: readonly string[], limits: BrowseLimits): Promise<number> {
  console.log(['ID'.padEnd(37), 'QUEUE'.padEnd(18), 'REASON'.padEnd(20), 'DEAD-LETTERED'.padEnd(24), 'BYTES'.padStart(10), '  MESSAGE-ID'].join(' '));
  let total = 0;
  for (const queue of queues) {
    total += await browse(model, queue, limits, async (letter) => {
      const when = letter.deadLetteredAt?.toISOString() ?? '-';
      console.log([letter.id.padEnd(37), queue.padEnd(18), printable(letter.reason, 20).padEnd(20), when.padEnd(24), String(letter.bytes).padStart(10), ` ${printable(letter.messageId ?? '-', 60)}`].join(' '));
      return 'keep';
    });
  }
  console.log(`${total} message(s)`);
  return 0;
}

async function show(model: ChannelModel, id: string, limits: BrowseLimits): Promise<number> {
  await visitOne(model, id, limits, async (letter) => {
    const { properties, content } = letter.message;
    const { headers, ...rest } = properties;
    console.log(`id:             ${letter.id}`);
    console.log(`queue:          ${letter.deadQueue} (from ${letter.originalQueue})`);
    console.log(`reason:         ${printable(letter.reason, 200)}${letter.reasonInferred ? ` (${letter.reasonInferred})` : ''}`);
    console.log(`error:          ${printable(String(headers?.[DEAD_LETTER_HEADERS.error] ?? '-'), 500)}`);
    console.log(`dead-lettered:  ${letter.deadLetteredAt?.toISOString() ?? '-'}`);
    // JSON escapes quotes and C0 controls already (printable() would escape them a second time); terminalSafe the rest.
    console.log(`properties:     ${terminalSafe(JSON.stringify(Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined))))}`);
    console.log(`headers:        ${terminalSafe(shortened(JSON.stringify(headers ?? {}), 2_000))}`);
    const text = content.toString('utf8');
    console.log(`body (${content.length} bytes${text.length > SHOWN_BODY_CHARS ? `, first ${SHOWN_BODY_CHARS} characters` : ''}):`);
    console.log(terminalSafe(text.slice(0, SHOWN_BODY_CHARS)));
    return 'keep';
  });
  return 0;
}

async function replay(model: ChannelModel, id: string, replayingUser: string, limits: BrowseLimits): Promise<number> {
  const { timeoutMs } = limits;
  const channel = await withTimeout(model.createConfirmChannel(), timeoutMs, 'opening a confirm channel');
  channel.on('error', () => undefined);
  let returned = false;
  channel.on('return', (_message: ConsumeMessage) => (returned = true));
  try {
    await visitOne(model, id, limits, async (letter) => {
      const confirmed = new Promise<void>((resolve, reject) => {
        channel.sendToQueue(letter.originalQueue, letter.message.content, replayOptions(letter, replayingUser), (error: unknown) => (error ? reject(error) : resolve()));
      });
      await withTimeout(confirmed, timeoutMs, 'waiting for the broker to confirm the replay');
      if (returned) throw new Error(`queue ${letter.originalQueue} does not exist; the message stays in ${letter.deadQueue}`);
      console.log(`replayed ${letter.id} to ${letter.originalQueue} (message id ${printable(letter.messageId ?? '-', 100)})`);
      return 'take';
    });
  } finally {
    await channel.close().catch(() => undefined);
  }
  return 0;
}

async function purge(model: ChannelModel, queues: readonly string[], olderThanMs: number, limits: BrowseLimits): Promise<number> {
  const cutoff = Date.now() - olderThanMs;
  let purged = 0;
  let kept = 0;
  for (const queue of queues) {
    await browse(model, queue, limits, async (letter) => {
      // A message without a dead-letter time is kept: purging is for what is known to be old.
      const old = letter.deadLetteredAt !== undefined && letter.deadLetteredAt.getTime() < cutoff;
      if (old) purged++;
      else kept++;
      return old ? 'take' : 'keep';
    });
  }
  console.log(`purged ${purged} message(s) dead-lettered before ${new Date(cutoff).toISOString()}; ${kept} kept`);
  return 0;
}

/** The full id of the one message whose id starts with `prefix`, in any dead-letter queue. */
async function resolveId(model: ChannelModel, prefix: string, limits: BrowseLimits): Promise<string> {
  const matches = new Set<string>();
  for (const queue of DEAD_LETTER_QUEUES) {
    await browse(model, queue, limits, async (letter) => {
      if (letter.id.startsWith(prefix)) matches.add(letter.id);
      return 'keep';
    });
  }
  if (matches.size === 0) throw new UsageError(`no dead-lettered message has an id starting with "${printable(prefix, 60)}"`);
  if (matches.size > 1) throw new UsageError(`"${printable(prefix, 60)}" names ${matches.size} messages; give more of the id`);
  return [...matches][0]!;
}

/** Runs `act` on the message with this id (taken for good only if act says so and succeeds). */
async function visitOne(model: ChannelModel, id: string, limits: BrowseLimits, act: (letter: DeadLetter) => Promise<'keep' | 'take'>): Promise<void> {
  let found = false;
  for (const queue of DEAD_LETTER_QUEUES) {
    await browse(model, queue, limits, async (letter) => {
      if (found || letter.id !== id) return 'keep';
      found = true;
      return act(letter);
    });
  }
  if (!found) throw new UsageError(`message ${id} is no longer in a dead-letter queue`);
}

function parsedArgs(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: { queue: { type: 'string' }, 'older-than': { type: 'string' } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function checkedQueue(name: string): string {
  if (!DEAD_LETTER_QUEUES.includes(name)) throw new UsageError(`--queue must be one of ${DEAD_LETTER_QUEUES.join(', ')}`);
  return name;
}

function required(id: string | undefined): string {
  if (!id) throw new UsageError('an id is required (see `npm run dead-letters -- list`)');
  return id;
}

function olderThan(text: string | undefined): number {
  const ms = text === undefined ? undefined : parseDuration(text);
  if (ms === undefined) throw new UsageError('purge needs --older-than <duration>, such as 7d or 12h');
  return ms;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigError) console.error(error.message);
    else console.error(`dead-letters failed: ${String(error)}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
