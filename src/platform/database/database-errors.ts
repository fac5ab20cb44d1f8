import { UnavailableError } from '../../kernel/errors.js';

// PostgreSQL SQLSTATEs: connection exceptions (08xxx), admin shutdown / crash (57P0x), too many connections,
// and "cannot connect now" while the server starts.
const UNAVAILABLE_SQLSTATES = /^(08\d{3}|57P0[1-4]|53300|53400)$/;
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
// Prisma: can't reach server (P1001), timed out (P1002, P1008, P2024 pool timeout), server closed (P1017).
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);

/** True when the error says PostgreSQL could not be reached or dropped us, rather than that our query was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    const e = current as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      cause?: unknown;
      originalCode?: unknown;
      kind?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    const code = typeof e.code === 'string' ? e.code : typeof e.originalCode === 'string' ? e.originalCode : '';
    if (UNAVAILABLE_SQLSTATES.test(code) || UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_PRISMA_CODES.has(code)) return true;
    if (e.name === 'PrismaClientInitializationError') return true;
    if (e.kind === 'DatabaseNotReachable' || e.kind === 'ConnectionClosed' || e.kind === 'SocketTimeout') return true;
    const message = typeof e.message === 'string' ? e.message : '';
    // "not currently accepting connections" (SQLSTATE 55000, a code shared with unrelated errors, hence the
    // message): the database was closed to connections (ALTER DATABASE ... ALLOW_CONNECTIONS false) for maintenance.
    if (/Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection|is not currently accepting connections/i.test(message)) {
      return true;
    }
    // A PostgreSQL error that Prisma has no code for (57P03 while the server shuts down or starts up, say) comes as
    // P2039 or P2010 with the driver adapter's error, and so the SQLSTATE, only in meta.
    current = e.cause ?? e.meta?.driverAdapterError;
  }
  return false;
}

/** Serialization failures and deadlocks: the transaction may simply be run again. */
export function isRetryableConflict(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    const e = current as { code?: unknown; originalCode?: unknown; cause?: unknown; message?: unknown };
    const code = typeof e.originalCode === 'string' ? e.originalCode : typeof e.code === 'string' ? e.code : '';
    if (code === '40001' || code === '40P01' || code === 'P2034') return true;
    current = e.cause;
  }
  return false;
}

/** Unique-constraint violations (Prisma P2002 or SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    const e = current as { code?: unknown; originalCode?: unknown; cause?: unknown };
    const code = typeof e.originalCode === 'string' ? e.originalCode : typeof e.code === 'string' ? e.code : '';
    if (code === 'P2002' || code === '23505') return true;
    current = e.cause;
  }
  return false;
}

export function toUnavailable(): UnavailableError {
  return new UnavailableError('database unavailable, try again', 'postgres');
}
