import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { parseDuration } from './platform/duration.js';
import { parseSize } from './platform/size.js';
import { parseAmqpNodes } from './platform/messaging/amqp-url.js';
import { QUEUE_TYPES } from './platform/messaging/queue-type.js';

export const ALL_ROLES = ['http', 'relay', 'consumers', 'scheduler'] as const;
export type Role = (typeof ALL_ROLES)[number];

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a duration such as 500ms, 30s, 5m or 7d, not "${text.slice(0, 40)}"` });
    return z.NEVER;
  }
  return ms;
});

/** A duration from `min` to `max`; the message says both. */
const durationWithin = (min: string, max: string) => {
  const [low, high] = [parseDuration(min)!, parseDuration(max)!];
  return duration.refine((ms) => ms >= low && ms <= high, `must be a duration from ${min} to ${max}`);
};

/**
 * A duration a timer waits (setTimeout, AbortSignal.timeout, a pg or rate-limiter timeout): Node runs any delay
 * over 2^31-1 ms (about 24.8 days) after 1 ms instead, so "25d" would fire at once, again and again. Each such
 * setting is bounded well below that, at what makes sense for it, and the bound is said at start.
 */
const timerDuration = durationWithin;

/**
 * A duration added to or taken from a timestamp (a saga's deadline, a retention's cut-off): bounded, so that a slip
 * such as "9999999999d" cannot fail each order (a deadline past what a JavaScript Date holds) or each retention run
 * (an interval past what PostgreSQL holds).
 */
const sqlDuration = durationWithin;

const roles = z.string().transform((text, ctx) => {
  const names = text.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0 || names.includes('all')) return [...ALL_ROLES];
  const unknown = names.filter((name) => !(ALL_ROLES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `names unknown role(s) ${unknown.join(', ').slice(0, 80)}: use ${ALL_ROLES.join(', ')} (comma separated) or all` });
    return z.NEVER;
  }
  return [...new Set(names)] as Role[];
});

const byteCount = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const size = parseSize(text);
    if (size === undefined || size < min || size > max) {
      ctx.addIssue({ code: 'custom', message: `must be a size from ${min} bytes to ${max / 1024 ** 2} MB, such as 256kb, not "${text.slice(0, 40)}"` });
      return z.NEVER;
    }
    return size;
  });
const url = (protocols: string[]) =>
  z.string().refine((text) => protocols.some((p) => text.startsWith(`${p}://`)) && URL.canParse(text), `must be a ${protocols.join(' or ')}:// URL`);
/**
 * A setting that may be left empty: '' becomes undefined. Anything else must pass `schema`, and a refusal keeps its
 * sentence (a union of the two would only say "Invalid input").
 */
const optional = <T extends z.ZodType<unknown, string>>(schema: T) =>
  z.string().transform((text, ctx): z.output<T> | undefined => {
    if (text === '') return undefined;
    const parsed = schema.safeParse(text);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });
const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((text) => text === 'true');
/** A whole number written in digits, within a range, with a sentence that says so (not the validator's wording). */
const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `must be a whole number from ${min} to ${max}`);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` });
const port = wholeNumber(0, 65535);
const host = z.string().regex(/^[\w.:-]{1,253}$/, 'must be an IP address or host name');

const settings = z.object({
  PORT: port,
  HOST: host,
  DATABASE_URL: url(['postgresql', 'postgres']),
  // session: every connection of the pool is a session of its own (PostgreSQL itself, or a session pooler).
  // transaction: DATABASE_URL is a transaction pooler such as PgBouncer's pool_mode=transaction (see README).
  DATABASE_POOL_MODE: oneOf(['session', 'transaction']),
  // LISTEN (and the NOTIFY that wakes relays elsewhere) needs a session of its own: behind a transaction pooler
  // this is a direct connection to PostgreSQL. Empty: DATABASE_URL.
  DATABASE_LISTEN_URL: optional(url(['postgresql', 'postgres'])),
  REDIS_URL: url(['redis', 'rediss']),
  // host:port seeds of a Redis Cluster, comma separated; empty: the one Redis of REDIS_URL.
  REDIS_CLUSTER_NODES: z.string().transform((text, ctx) => {
    const nodes = text.split(',').map((node) => node.trim()).filter(Boolean);
    const bad = nodes.filter((node) => !/^(\[[0-9a-fA-F:.]+\]|[\w.-]{1,253}):\d{1,5}$/.test(node));
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `must be host:port seeds of a Redis Cluster, comma separated, not "${bad.join(',').slice(0, 80)}"` });
      return z.NEVER;
    }
    return nodes;
  }),
  REDIS_KEY_PREFIX: z.string().max(100, 'must be at most 100 characters').regex(/^[\w:.-]*$/, 'must have only letters, digits and _ : . -'),
  // One node, or the nodes of a cluster separated by commas (amqp-url.ts): the connection fails over between them.
  AMQP_URL: z.string().superRefine((text, ctx) => {
    const nodes = parseAmqpNodes(text);
    if (!nodes.ok) ctx.addIssue({ code: 'custom', message: nodes.problem });
  }),
  // quorum: replicated, the default for new deployments; classic: what existing deployments were declared with.
  QUEUE_TYPE: oneOf(QUEUE_TYPES),
  // The largest message a consumer takes; bigger ones are dead-lettered unread. The broker's own cap is 128 MB.
  MAX_MESSAGE_BYTES: byteCount(1024, 64 * 1024 ** 2),
  ROLES: roles,
  LOG_LEVEL: oneOf(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']),
  SAGA_TIMEOUT: sqlDuration('100ms', '30d'),
  OUTBOX_BATCH_SIZE: wholeNumber(1, 5000),
  OUTBOX_MAX_ATTEMPTS: wholeNumber(1, 1000),
  OUTBOX_RETENTION: sqlDuration('1m', '3650d'),
  INBOX_RETENTION: sqlDuration('1m', '3650d'),
  SAGA_REPLY_RETENTION: sqlDuration('1m', '3650d'),
  // Every request's body is read into memory up to this: bounded like any other input (0 would refuse every body).
  BODY_LIMIT: byteCount(1024, 64 * 1024 ** 2),
  DATABASE_POOL_SIZE: wholeNumber(1, 200),
  // Some waits are a few of these (a connection's set-up, PostgreSQL's statement timeout is five): 5m keeps
  // them all far below the timers' limit.
  DEPENDENCY_TIMEOUT: timerDuration('1ms', '5m'),
  SHUTDOWN_TIMEOUT: timerDuration('1ms', '1h'),
  AUTH_JWKS_URL: optional(url(['https', 'http'])),
  AUTH_ISSUER: optional(z.string().max(500, 'must be at most 500 characters')),
  AUTH_AUDIENCE: optional(z.string().max(500, 'must be at most 500 characters')),
  AUTH_DISABLED: flag,
  AUTH_JWKS_ALLOW_HTTP: flag,
  // Compared with the time of the last fetch, not waited for by a timer; bounded all the same, at what the
  // background refresh (at most 24h) makes the longest useful value.
  AUTH_JWKS_COOLDOWN: durationWithin('0ms', '24h'),
  AUTH_JWKS_REFRESH: timerDuration('1s', '24h'),
  METRICS_HOST: host,
  METRICS_PORT: optional(port),
  RATE_LIMIT: wholeNumber(0, 1_000_000),
  // The in-memory fallback (Redis down) forgets a client's count with a timer of this length.
  RATE_LIMIT_WINDOW: timerDuration('1s', '24h'),
  REQUEST_TIMEOUT: timerDuration('1s', '1h'),
  HEADERS_TIMEOUT: timerDuration('1s', '1h'),
  MAX_CONNECTIONS: wholeNumber(1, 1_000_000),
  // Open connections from one client address, so that one client cannot hold every slot of MAX_CONNECTIONS.
  // Empty: derived from MAX_CONNECTIONS (defaultConnectionsPerAddress). 0: no cap per address. The address is
  // the connection's own: behind a proxy or load balancer every connection is the proxy's, and no
  // X-Forwarded-For has arrived yet when a connection does, so a proxied deployment sets 0 and caps clients at
  // the proxy (README, "Limits").
  MAX_CONNECTIONS_PER_ADDRESS: optional(wholeNumber(0, 1_000_000)),
  // Where clients reach the API (behind a proxy, say), for /openapi.json's servers; without it, http://HOST:PORT.
  PUBLIC_URL: optional(url(['https', 'http']).transform((text) => text.replace(/\/+$/, ''))),
});
const schema = settings
  .superRefine(checkExposure)
  .superRefine(checkDatabaseSessions)
  .transform((config) => ({
    ...config,
    DATABASE_LISTEN_URL: config.DATABASE_LISTEN_URL ?? config.DATABASE_URL,
    MAX_CONNECTIONS_PER_ADDRESS: config.MAX_CONNECTIONS_PER_ADDRESS ?? defaultConnectionsPerAddress(config.MAX_CONNECTIONS),
  }));

/**
 * MAX_CONNECTIONS_PER_ADDRESS when it is not set: a quarter of MAX_CONNECTIONS (250 of 1000), so that filling the
 * server takes four addresses; at least 8, since a browser alone opens up to 6 connections to one host; and never
 * more than MAX_CONNECTIONS, so that lowering that one alone is never refused.
 */
function defaultConnectionsPerAddress(maxConnections: number): number {
  return Math.min(maxConnections, Math.max(8, Math.ceil(maxConnections / 4)));
}

export type Config = Readonly<z.output<typeof schema>>;

/** Values used when neither the environment nor .env nor .env.example sets one. */
const FALLBACKS: Record<keyof z.input<typeof settings>, string> = {
  PORT: '8000',
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/order_service',
  DATABASE_POOL_MODE: 'session',
  DATABASE_LISTEN_URL: '',
  REDIS_URL: 'redis://127.0.0.1:6379',
  REDIS_CLUSTER_NODES: '',
  REDIS_KEY_PREFIX: '',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  QUEUE_TYPE: 'quorum',
  MAX_MESSAGE_BYTES: '256kb',
  ROLES: 'all',
  LOG_LEVEL: 'info',
  SAGA_TIMEOUT: '5m',
  OUTBOX_BATCH_SIZE: '500',
  OUTBOX_MAX_ATTEMPTS: '10',
  OUTBOX_RETENTION: '7d',
  INBOX_RETENTION: '7d',
  SAGA_REPLY_RETENTION: '30d',
  BODY_LIMIT: '1mb',
  DATABASE_POOL_SIZE: '10',
  DEPENDENCY_TIMEOUT: '2s',
  SHUTDOWN_TIMEOUT: '10s',
  HOST: '127.0.0.1',
  AUTH_JWKS_URL: '',
  AUTH_ISSUER: '',
  AUTH_AUDIENCE: '',
  AUTH_DISABLED: 'false',
  AUTH_JWKS_ALLOW_HTTP: 'false',
  AUTH_JWKS_COOLDOWN: '30s',
  AUTH_JWKS_REFRESH: '10m',
  METRICS_HOST: '127.0.0.1',
  METRICS_PORT: '',
  RATE_LIMIT: '0',
  RATE_LIMIT_WINDOW: '1m',
  REQUEST_TIMEOUT: '30s',
  HEADERS_TIMEOUT: '10s',
  MAX_CONNECTIONS: '1000',
  MAX_CONNECTIONS_PER_ADDRESS: '',
  PUBLIC_URL: '',
};

/**
 * Fail closed: the API runs without authentication only on a loopback address, or when told so explicitly;
 * with a key set it also needs the issuer and audience (a token for another audience must not get in).
 */
function checkExposure(config: z.output<typeof settings>, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (config.AUTH_JWKS_URL) {
    if (config.AUTH_DISABLED) issue('AUTH_DISABLED', 'cannot be true while AUTH_JWKS_URL is set: unset one of them');
    if (!config.AUTH_ISSUER) issue('AUTH_ISSUER', 'is required with AUTH_JWKS_URL (the iss claim tokens must carry)');
    if (!config.AUTH_AUDIENCE) issue('AUTH_AUDIENCE', 'is required with AUTH_JWKS_URL (the aud claim tokens must carry)');
    if (!keysTravelSafely(config.AUTH_JWKS_URL, config.AUTH_JWKS_ALLOW_HTTP)) {
      issue('AUTH_JWKS_URL', 'must be https unless its host is a loopback address: whoever can change the key set on its way can sign any token. On a private network you trust (docker compose\'s dev-jwks), AUTH_JWKS_ALLOW_HTTP=true allows http');
    }
  } else if (config.ROLES.includes('http') && !config.AUTH_DISABLED && !isLoopback(config.HOST)) {
    issue('AUTH_JWKS_URL', `is required when HOST (${config.HOST}) is not a loopback address: set it, or AUTH_DISABLED=true to serve without authentication`);
  }
  if (config.HEADERS_TIMEOUT > config.REQUEST_TIMEOUT) issue('HEADERS_TIMEOUT', 'must not be longer than REQUEST_TIMEOUT');
  if ((config.MAX_CONNECTIONS_PER_ADDRESS ?? 0) > config.MAX_CONNECTIONS) {
    issue('MAX_CONNECTIONS_PER_ADDRESS', `must not be more than MAX_CONNECTIONS (${config.MAX_CONNECTIONS}): set at most that, or 0 for no cap per address`);
  }
  // Only the http role listens on PORT.
  if (config.ROLES.includes('http') && config.METRICS_PORT !== undefined && config.METRICS_PORT === config.PORT && config.PORT !== 0) issue('METRICS_PORT', 'must differ from PORT');
}

/**
 * Behind a transaction pooler, a LISTEN would hold one of the pooler's server connections for a moment and then
 * hear nothing: the listening connection must be a direct one, so it has to be named.
 */
function checkDatabaseSessions(config: z.output<typeof settings>, ctx: z.RefinementCtx): void {
  if (config.DATABASE_POOL_MODE !== 'transaction') return;
  if (!config.DATABASE_LISTEN_URL || config.DATABASE_LISTEN_URL === config.DATABASE_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['DATABASE_LISTEN_URL'],
      message: 'must be set, to a direct connection to PostgreSQL (not the pooler of DATABASE_URL), with DATABASE_POOL_MODE=transaction: LISTEN needs a session of its own',
    });
  }
}

/** The key set comes over https, or over http from this machine, or over http where AUTH_JWKS_ALLOW_HTTP says so. */
function keysTravelSafely(jwksUrl: string, allowHttp: boolean): boolean {
  const { protocol, hostname } = new URL(jwksUrl);
  return protocol === 'https:' || allowHttp || isLoopback(hostname);
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name === '::ffff:127.0.0.1';
}

/** How the HTTP API authenticates, as this configuration asks. */
export type AuthMode = 'jwt' | 'off-loopback' | 'off-disabled';

export function authModeOf(config: Config): AuthMode {
  if (config.AUTH_JWKS_URL) return 'jwt';
  return isLoopback(config.HOST) ? 'off-loopback' : 'off-disabled';
}

/** Where clients reach the API: PUBLIC_URL, else HOST and PORT (a wildcard address is reached as localhost). */
export function publicUrlOf(config: Config): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL;
  const host = ['0.0.0.0', '::'].includes(config.HOST) ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return `http://${host}:${config.PORT}`;
}

export class ConfigError extends Error {}

/** Parses a set of variables into the typed, frozen configuration; throws a ConfigError naming every bad one. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const input = Object.fromEntries(
    Object.entries(FALLBACKS).map(([key, fallback]) => [key, env[key] === undefined || env[key] === '' ? fallback : env[key]]),
  );
  const result = schema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')} ${issue.message}.`);
    throw new ConfigError(
      `invalid configuration: the service cannot start with ${lines.length === 1 ? 'this setting' : `these ${lines.length} settings`}:\n` +
        `${lines.join('\n')}\nSet them in the environment or in .env (README.md, "Configuration", lists every setting).`,
    );
  }
  return Object.freeze(result.data);
}

/** The environment first, then .env, then .env.example (dotenv never overrides a variable already set). */
export function loadConfig(): Config {
  loadDotenv({ path: ['.env', '.env.example'], quiet: true });
  return parseConfig(process.env);
}
