import { createHash } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, GetMessage, Options } from 'amqplib';
import { withTimeout } from '../with-timeout.js';
import { isRoutingHeader, ORIGINAL_PROPERTY_HEADERS } from './dead-letter-copy.js';
import type { JournalBatch, MigrationJournal } from './migration-journal.js';

/** Messages taken, copied and acknowledged together. */
const BATCH = 100;
/** The header a quorum queue writes on each delivery: its own bookkeeping, which a new queue starts afresh. */
const BROKER_COUNT_HEADER = 'x-delivery-count';

export interface MoveContext {
  model: ChannelModel;
  journal: MigrationJournal;
  /** Names the broker and vhost in the journal. */
  broker: string;
  /** The user the tool logs in as: the only user_id RabbitMQ lets it publish with. */
  user: string;
  timeoutMs: number;
}

export interface MoveResult {
  moved: number;
  /** Messages whose user_id was another user's: kept in header x-original-user-id, as dead-letter copies keep it. */
  userIdsMoved: number;
}

/**
 * Moves every message of `source` to `target`, in order, with its properties and headers, neither losing nor
 * duplicating one, even when killed half way and run again:
 *
 * take a batch unacknowledged -> journal it (durable) -> publish copies with confirms -> ack the originals ->
 * a round trip on the same channel (the ack was applied) -> clear the journal.
 *
 * Killed before the acks, the originals come back to `source`; the journal and the queues' counts then say how many
 * copies reached `target` (a channel's publishes land in order, so those are the first ones), and recover() drops
 * exactly those originals. Both queues must be left alone meanwhile (no consumers, no publishers): counts that fit
 * no explanation stop the move with an error, rather than guessing.
 */
export async function moveMessages(context: MoveContext, source: string, target: string): Promise<MoveResult> {
  const result: MoveResult = { moved: 0, userIdsMoved: 0 };
  for (;;) {
    const batch = await moveBatch(context, source, target, result);
    if (batch === 0) return result;
  }
}

async function moveBatch(context: MoveContext, source: string, target: string, result: MoveResult): Promise<number> {
  const { model, journal, timeoutMs } = context;
  const reader = await openChannel(model, timeoutMs);
  const writer = await withTimeout(model.createConfirmChannel(), timeoutMs, 'opening a confirm channel');
  writer.on('error', () => undefined);
  const returned: string[] = [];
  writer.on('return', (message: GetMessage) => returned.push(message.fields.routingKey));
  try {
    const sourceBefore = (await withTimeout(reader.checkQueue(source), timeoutMs, `counting ${source}`)).messageCount;
    const targetBefore = (await withTimeout(reader.checkQueue(target), timeoutMs, `counting ${target}`)).messageCount;
    const messages = await take(reader, source, Math.min(BATCH, sourceBefore), timeoutMs);
    if (messages.length === 0) return 0;
    journal.write({ broker: context.broker, source, target, sourceBefore, targetBefore, fingerprints: messages.map(fingerprint) });
    await Promise.all(messages.map((message) => publishCopy(writer, target, message, context, result)));
    if (returned.length > 0) throw new Error(`queue ${target} refused ${returned.length} message(s) (it does not exist?); the originals stay in ${source}`);
    reader.ack(messages.at(-1)!, true);
    // Frames of one channel are handled in order: once this answers, the ack above has been applied.
    await withTimeout(reader.checkQueue(source), timeoutMs, `counting ${source}`);
    journal.clear();
    result.moved += messages.length;
    return messages.length;
  } finally {
    await writer.close().catch(() => undefined);
    await reader.close().catch(() => undefined);
  }
}

/**
 * Settles the batch a killed migration left in the journal, before anything else is moved (see moveMessages).
 * Returns how many originals it dropped because their copies had already reached the target.
 */
export async function recover(context: MoveContext): Promise<number> {
  const batch = context.journal.read();
  if (!batch) return 0;
  if (batch.broker !== context.broker) throw new Error(`${context.journal.path} belongs to a migration on ${batch.broker}, not ${context.broker}: run it there, or remove it`);
  const reader = await openChannel(context.model, context.timeoutMs);
  try {
    const count = async (queue: string) => (await withTimeout(reader.checkQueue(queue), context.timeoutMs, `counting ${queue}`)).messageCount;
    const size = batch.fingerprints.length;
    const copied = (await count(batch.target)) - batch.targetBefore;
    const sourceNow = await count(batch.source);
    const acked = sourceNow === batch.sourceBefore - size;
    if (!acked && sourceNow !== batch.sourceBefore) throw unexplained(batch, `${batch.source} holds ${sourceNow}`);
    if (copied < 0 || copied > size || (acked && copied !== size)) throw unexplained(batch, `${batch.target} gained ${copied}`);
    if (!acked && copied > 0) await dropCopied(reader, batch, copied, context.timeoutMs);
    context.journal.clear();
    return acked ? 0 : copied;
  } finally {
    await reader.close().catch(() => undefined);
  }
}

/** The batch is back at the head of the source; the originals of its first `copied` messages are acked. */
async function dropCopied(reader: Channel, batch: JournalBatch, copied: number, timeoutMs: number): Promise<void> {
  const messages = await take(reader, batch.source, batch.fingerprints.length, timeoutMs);
  const seen = messages.map(fingerprint);
  if (!sameMultiset(seen, batch.fingerprints)) throw unexplained(batch, `the first ${messages.length} message(s) of ${batch.source} are not the journal's batch`);
  const toDrop = batch.fingerprints.slice(0, copied);
  for (const message of messages) {
    const at = toDrop.indexOf(fingerprint(message));
    if (at < 0) continue;
    toDrop.splice(at, 1);
    reader.ack(message);
  }
  // The rest go back when the channel closes, to be moved by the next batch.
  await withTimeout(reader.checkQueue(batch.source), timeoutMs, `counting ${batch.source}`);
}

function unexplained(batch: JournalBatch, what: string): Error {
  return new Error(
    `cannot tell what became of the interrupted batch of ${batch.fingerprints.length} message(s) from ${batch.source} to ${batch.target}: ${what}. ` +
      'Something else consumed or published meanwhile; check both queues by hand (npm run topology -- show) before removing the journal.',
  );
}

async function take(channel: Channel, queue: string, limit: number, timeoutMs: number): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  while (messages.length < limit) {
    const message = await withTimeout(channel.get(queue, { noAck: false }), timeoutMs, `reading ${queue}`);
    if (!message) break;
    messages.push(message);
  }
  return messages;
}

function publishCopy(channel: ConfirmChannel, target: string, message: GetMessage, context: MoveContext, result: MoveResult): Promise<void> {
  const options = copyOptions(message, context.user);
  if (options.headers?.[ORIGINAL_PROPERTY_HEADERS.userId!]) result.userIdsMoved++;
  const confirmed = new Promise<void>((resolve, reject) => {
    channel.sendToQueue(target, message.content, options, (error: unknown) => (error ? reject(error) : resolve()));
  });
  return withTimeout(confirmed, context.timeoutMs, `waiting for ${target} to confirm a copy`);
}

/**
 * The original's properties and headers, as they were. Three exceptions: the quorum queue's own delivery count (the
 * new queue counts afresh); CC and BCC, which would route the copy to other queues besides the target
 * (isRoutingHeader); and a user_id that is not the tool's user, which RabbitMQ would refuse: it goes into
 * x-original-user-id, as on a dead-letter copy. An expiration starts again from the move.
 */
export function copyOptions(message: GetMessage, user: string): Options.Publish {
  const { headers = {}, userId, ...properties } = message.properties;
  const kept: Record<string, unknown> = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== BROKER_COUNT_HEADER && !isRoutingHeader(name)));
  const ownUser = userId === undefined || userId === user;
  if (!ownUser) kept[ORIGINAL_PROPERTY_HEADERS.userId!] = String(userId);
  const defined = Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined && value !== null));
  return { ...defined, ...(ownUser && userId !== undefined ? { userId } : {}), headers: kept, mandatory: true };
}

/** A message told apart from others by its body and identifying properties (not the broker's delivery count). */
export function fingerprint(message: GetMessage): string {
  const { messageId, type, timestamp, correlationId } = message.properties;
  return createHash('sha256').update(JSON.stringify([messageId, type, timestamp, correlationId])).update(message.content).digest('base64');
}

function sameMultiset(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

async function openChannel(model: ChannelModel, timeoutMs: number): Promise<Channel> {
  const channel = await withTimeout(model.createChannel(), timeoutMs, 'opening a channel');
  channel.on('error', () => undefined);
  return channel;
}
