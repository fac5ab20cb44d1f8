import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { parseDuration } from './platform/duration.js';
import { parseSize } from './platform/size.js';

export const ALL_ROLES = ['http', 'relay', 'consumers', 'scheduler'] as const;
export type Role = (typeof ALL_ROLES)[number];

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration such as 500ms, 30s, 5m, 7d` });
    return z.NEVER;
  }
  return ms;
});

const roles = z.string().transform((text, ctx) => {
  const names = text.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0 || names.includes('all')) return [...ALL_ROLES];
  const unknown = names.filter((name) => !(ALL_ROLES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `unknown role(s) ${unknown.join(', ')}; use ${ALL_ROLES.join(', ')} or all` });
    return z.NEVER;
  }
  return [...new Set(names)] as Role[];
});

const bytes = z.string().regex(/^\d+(b|kb|mb)?$/i, 'a size such as 1mb or 512kb');
const byteCount = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const size = parseSize(text);
    if (size === undefined || size < min || size > max) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a size from ${min} bytes to ${max / 1024 ** 2} MB, such as 256kb` });
      return z.NEVER;
    }
    return size;
  });
const url = (protocols: string[]) =>
  z.string().refine((text) => protocols.some((p) => text.startsWith(`${p}://`)), `a ${protocols.join(' or ')}:// URL`);

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535),
  DATABASE_URL: url(['postgresql', 'postgres']),
  REDIS_URL: url(['redis', 'rediss']),
  REDIS_KEY_PREFIX: z.string().max(100).regex(/^[\w:.-]*$/, 'letters, digits and _ : . - only'),
  AMQP_URL: url(['amqp', 'amqps']),
  // The largest message a consumer takes; bigger ones are dead-lettered unread. The broker's own cap is 128 MB.
  MAX_MESSAGE_BYTES: byteCount(1024, 64 * 1024 ** 2),
  ROLES: roles,
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']),
  SAGA_TIMEOUT: duration,
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(5000),
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000),
  OUTBOX_RETENTION: duration,
  INBOX_RETENTION: duration,
  BODY_LIMIT: bytes,
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200),
  DEPENDENCY_TIMEOUT: duration,
  SHUTDOWN_TIMEOUT: duration,
});

export type Config = Readonly<z.output<typeof schema>>;

/** Values used when neither the environment nor .env nor .env.example sets one. */
const FALLBACKS: Record<keyof z.input<typeof schema>, string> = {
  PORT: '8000',
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/order_service',
  REDIS_URL: 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: '',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  MAX_MESSAGE_BYTES: '256kb',
  ROLES: 'all',
  LOG_LEVEL: 'info',
  SAGA_TIMEOUT: '5m',
  OUTBOX_BATCH_SIZE: '500',
  OUTBOX_MAX_ATTEMPTS: '10',
  OUTBOX_RETENTION: '7d',
  INBOX_RETENTION: '7d',
  BODY_LIMIT: '1mb',
  DATABASE_POOL_SIZE: '10',
  DEPENDENCY_TIMEOUT: '2s',
  SHUTDOWN_TIMEOUT: '10s',
};

export class ConfigError extends Error {}

/** Parses a set of variables into the typed, frozen configuration; throws a ConfigError naming every bad one. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const input = Object.fromEntries(
    Object.entries(FALLBACKS).map(([key, fallback]) => [key, env[key] === undefined || env[key] === '' ? fallback : env[key]]),
  );
  const result = schema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(result.data);
}

/** The environment first, then .env, then .env.example (dotenv never overrides a variable already set). */
export function loadConfig(): Config {
  loadDotenv({ path: ['.env', '.env.example'], quiet: true });
  return parseConfig(process.env);
}
