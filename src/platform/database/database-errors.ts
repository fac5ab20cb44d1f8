import { ConflictError, UnavailableError } from '../../kernel/errors.js';

// PostgreSQL SQLSTATEs: connection exceptions (08xxx, and 08P01, which PgBouncer gives all its refusals), admin shutdown / crash / cannot connect now (57P0x), too
// many connections, out of memory or disk.
const UNAVAILABLE_SQLSTATES = /^(08[0-9A-Z]{3}|57P0[1-4]|53300|53400)$/;
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
// What pg says when the socket went away or the pool could not hand out a connection in time. "not currently
// accepting connections" (SQLSTATE 55000, a code shared with unrelated errors, hence the message): the database
// was closed to connections (ALTER DATABASE ... ALLOW_CONNECTIONS false) for maintenance. "Query read timeout":
// the pool's own bound on a statement ran out (no answer). PgBouncer's own refusals carry SQLSTATE 08P01.
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection|is not currently accepting connections|Query read timeout/i;

/** True when the error says PostgreSQL could not be reached or dropped us, rather than that our statement was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return someCause(error, (e) => {
    const code = typeof e.code === 'string' ? e.code : '';
    return UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_MESSAGES.test(typeof e.message === 'string' ? e.message : '');
  });
}

/** Serialization failures and deadlocks: the unit of work may simply be run again. */
export function isRetryableConflict(error: unknown): boolean {
  return someCause(error, (e) => e.code === '40001' || e.code === '40P01');
}

/** Unique-constraint violations (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return someCause(error, (e) => e.code === '23505');
}

export function toUnavailable(): UnavailableError {
  return new UnavailableError('database unavailable, try again', 'postgres');
}

/** Runs a write whose unique-constraint violation means "already exists": a 409 with this message, not a 500. */
export async function conflictOnDuplicate(message: string, data: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(message, data);
    throw error;
  }
}

/** The error or one of its causes (a few levels deep) matches. */
function someCause(error: unknown, test: (e: { code?: unknown; message?: unknown }) => boolean): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    if (test(current as { code?: unknown; message?: unknown })) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
