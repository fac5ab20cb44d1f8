import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Keeps one message's headers from closing a whole RabbitMQ connection. amqplib decodes a header table by calling
 * itself once per nested table or array, so headers nested some 4,000 deep (about 28 KB, which RabbitMQ passes on)
 * overflow the stack inside the socket's reader: amqplib then closes the connection, which in this process also
 * carries the relay and the projector, and the message comes back on the next one, again and again. Any user who
 * may publish to a consumed queue could stop the service so.
 *
 * This module wraps amqplib's table decoder: a table that cannot be decoded (a RangeError: too deep, or a length
 * that runs past its frame) becomes UNREADABLE_HEADERS instead, and the message is handled (or dead-lettered) like
 * any other. amqplib's modules keep the decoder they found when they were loaded, so this must be imported before
 * anything loads amqplib: first in every entry point (main.ts, the tools, the tests' setup). guardIsActive() tells
 * whether it came first; serve() refuses to start without it.
 */

/** What a message's headers become when amqplib cannot decode them. */
export const UNREADABLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'x-unreadable-headers': 'nested too deeply or malformed: dropped on receipt' });

type DecodeFields = (slice: Buffer) => Record<string, unknown>;

const require = createRequire(import.meta.url);
/** amqplib's own modules, by path: its package exports only its API (the self-check below notices a layout change). */
const amqplibModule = (name: string): unknown => require(join(dirname(require.resolve('amqplib')), 'lib', name));
const codec = amqplibModule('codec.js') as { decodeFields: DecodeFields; guarded?: true };

if (!codec.guarded) {
  const decodeFields = codec.decodeFields;
  codec.decodeFields = (slice) => {
    try {
      return decodeFields(slice);
    } catch (error) {
      if (error instanceof RangeError) return { ...UNREADABLE_HEADERS };
      throw error;
    }
  };
  codec.guarded = true;
}

/**
 * Whether amqplib decodes with the guard: a properties frame whose headers nest 10,000 deep, decoded as a message's
 * header frame is, comes back with UNREADABLE_HEADERS (without the guard, it throws).
 */
export function guardIsActive(): boolean {
  const defs = amqplibModule('defs.js') as { decode(id: number, buffer: Buffer): { headers?: Record<string, unknown> }; BasicProperties: number };
  try {
    const headers = defs.decode(defs.BasicProperties, propertiesWithHeaders(nestedTable(10_000))).headers;
    return headers?.['x-unreadable-headers'] === UNREADABLE_HEADERS['x-unreadable-headers'];
  } catch {
    return false;
  }
}

/** A field table holding one table, `depth` times over: { a: { a: ... {} } }, as AMQP encodes it (7 bytes a level). */
function nestedTable(depth: number): Buffer {
  const table = Buffer.alloc(7 * depth);
  for (let level = 0; level < depth; level++) {
    const at = 7 * level;
    table.writeUInt8(1, at); // name length
    table.write('a', at + 1); // name
    table.write('F', at + 2); // type: table
    table.writeUInt32BE(7 * (depth - level - 1), at + 3); // the tables inside it
  }
  return table;
}

/** The properties part of a header frame with only the headers flag (bit 13) set, as defs.decode reads it. */
function propertiesWithHeaders(table: Buffer): Buffer {
  const flags = Buffer.alloc(2);
  flags.writeUInt16BE(0x2000, 0);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(table.length, 0);
  return Buffer.concat([flags, length, table]);
}
