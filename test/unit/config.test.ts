import { describe, expect, it } from 'vitest';
import { authModeOf, ConfigError, isLoopback, parseConfig } from '../../src/config.js';
import { parseDuration } from '../../src/platform/duration.js';

describe('configuration', () => {
  it('when nothing is set, then the local defaults apply', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ PORT: 8000, ROLES: ['http', 'relay', 'consumers', 'scheduler'], SAGA_TIMEOUT: 300_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('when values are set, then they are parsed into their types', () => {
    const config = parseConfig({ PORT: '9000', ROLES: 'http, relay', SAGA_TIMEOUT: '1500ms', OUTBOX_RETENTION: '2d' });
    expect(config).toMatchObject({ PORT: 9000, ROLES: ['http', 'relay'], SAGA_TIMEOUT: 1500, OUTBOX_RETENTION: 172_800_000 });
  });

  it('when BODY_LIMIT is outside 1kb to 64mb, then starting fails naming its range; at either end it is taken', () => {
    for (const bad of ['0', '1023', '65mb', '999999999mb', 'lots']) {
      expect(messageOf(() => parseConfig({ BODY_LIMIT: bad }))).toMatch(/^  BODY_LIMIT must be a size from 1024 bytes to 64 MB/m);
    }
    expect([parseConfig({ BODY_LIMIT: '1kb' }).BODY_LIMIT, parseConfig({ BODY_LIMIT: '64mb' }).BODY_LIMIT]).toEqual([1024, 64 * 1024 ** 2]);
  });

  it('when values are wrong, then starting fails with every problem named', () => {
    expect(() => parseConfig({ PORT: 'eighty', ROLES: 'http,web', SAGA_TIMEOUT: 'soon', DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    const message = messageOf(() => parseConfig({ PORT: 'eighty', ROLES: 'http,web', SAGA_TIMEOUT: 'soon' }));
    // One sentence per setting, no validator jargon, and where to fix them.
    expect(message).toMatch(/^invalid configuration: the service cannot start with these 3 settings:$/m);
    expect(message).toMatch(/^  PORT must be a whole number from 0 to 65535\.$/m);
    expect(message).toMatch(/^  ROLES names unknown role\(s\) web: use http, relay, consumers, scheduler \(comma separated\) or all\.$/m);
    expect(message).toMatch(/^  SAGA_TIMEOUT must be a duration such as 500ms, 30s, 5m or 7d, not "soon"\.$/m);
    expect(message).toMatch(/^Set them in the environment or in \.env/m);
    expect(message).not.toMatch(/Invalid input|expected|received/);
  });
});

/** The start-up line for a bounded duration setting given a value outside its range. */
const rangeMessage = (name: string, min: string, max: string) => new RegExp(`^  ${name} must be a duration from ${min} to ${max}\\.$`, 'm');

describe('configuration of the durations that timers wait', () => {
  // Node runs a setTimeout delay over 2^31-1 ms (24.8 days) after 1 ms: "25d" would refresh the JWKS in a loop.
  const BOUNDS: [string, string, string][] = [
    ['AUTH_JWKS_REFRESH', '1s', '24h'],
    ['RATE_LIMIT_WINDOW', '1s', '24h'],
    ['DEPENDENCY_TIMEOUT', '1ms', '5m'],
    ['SHUTDOWN_TIMEOUT', '1ms', '1h'],
    ['AUTH_JWKS_COOLDOWN', '0ms', '24h'],
  ];

  it.each(BOUNDS)('when %s is longer than a timer can wait, or than its bound, then starting fails naming it and its range', (name, min, max) => {
    for (const value of ['25d', '30d', '3000000000']) {
      expect(messageOf(() => parseConfig({ [name]: value }))).toMatch(rangeMessage(name, min, max));
    }
    const justOver = `${parseDuration(max)! + 1}ms`;
    expect(messageOf(() => parseConfig({ [name]: justOver }))).toMatch(rangeMessage(name, min, max));
  });

  it.each(BOUNDS)('when %s is at either end of its range, then it is taken', (name, min, max) => {
    expect(parseConfig({ [name]: max })[name as 'AUTH_JWKS_REFRESH']).toBe(parseDuration(max));
    expect(parseConfig({ [name]: min })[name as 'AUTH_JWKS_REFRESH']).toBe(parseDuration(min));
    if (parseDuration(min)! > 0) expect(messageOf(() => parseConfig({ [name]: `${parseDuration(min)! - 1}ms` }))).toMatch(rangeMessage(name, min, max));
  });

  it.each(['REQUEST_TIMEOUT', 'HEADERS_TIMEOUT'])('when %s is outside 1s to 1h, then starting fails naming it and its range; at either end it is taken', (name) => {
    // The other of the two at the same value: HEADERS_TIMEOUT may not be longer than REQUEST_TIMEOUT.
    const both = (value: string) => ({ REQUEST_TIMEOUT: value, HEADERS_TIMEOUT: value });
    for (const value of ['999ms', '3601s', '25d']) {
      expect(messageOf(() => parseConfig(both(value)))).toMatch(rangeMessage(name, '1s', '1h'));
    }
    expect(parseConfig(both('1h'))[name as 'REQUEST_TIMEOUT']).toBe(3_600_000);
    expect(parseConfig(both('1s'))[name as 'REQUEST_TIMEOUT']).toBe(1_000);
  });

  it('when a bound setting is not a duration at all, then the message says so once', () => {
    const message = messageOf(() => parseConfig({ AUTH_JWKS_REFRESH: 'hourly' }));
    expect(message).toMatch(/^  AUTH_JWKS_REFRESH must be a duration such as 500ms, 30s, 5m or 7d, not "hourly"\.$/m);
    expect(message).toMatch(/with this setting:/);
  });
});

describe('configuration of the durations added to timestamps in SQL', () => {
  // A deadline past what a Date holds would fail every order; a cut-off past what an interval holds, every retention run.
  const BOUNDS: [string, string, string][] = [
    ['SAGA_TIMEOUT', '100ms', '30d'],
    ['OUTBOX_RETENTION', '1m', '3650d'],
    ['INBOX_RETENTION', '1m', '3650d'],
    ['SAGA_REPLY_RETENTION', '1m', '3650d'],
  ];

  it.each(BOUNDS)('when %s is outside its range, then starting fails naming it and its range; at either end it is taken', (name, min, max) => {
    for (const value of ['9999999999d', `${parseDuration(max)! + 1}ms`, `${parseDuration(min)! - 1}ms`]) {
      expect(messageOf(() => parseConfig({ [name]: value }))).toMatch(rangeMessage(name, min, max));
    }
    expect(parseConfig({ [name]: max })[name as 'SAGA_TIMEOUT']).toBe(parseDuration(max));
    expect(parseConfig({ [name]: min })[name as 'SAGA_TIMEOUT']).toBe(parseDuration(min));
  });
});

describe('configuration of the database connections', () => {
  const POOLER = 'postgresql://app@pgbouncer:6432/order_service';
  const DIRECT = 'postgresql://app@postgres:5432/order_service';

  it('when DATABASE_LISTEN_URL is not set, then LISTEN uses DATABASE_URL in session mode', () => {
    expect(parseConfig({ DATABASE_URL: DIRECT })).toMatchObject({ DATABASE_POOL_MODE: 'session', DATABASE_LISTEN_URL: DIRECT });
  });

  it('when DATABASE_URL is a transaction pooler, then a direct DATABASE_LISTEN_URL is required', () => {
    const message = messageOf(() => parseConfig({ DATABASE_URL: POOLER, DATABASE_POOL_MODE: 'transaction' }));
    expect(message).toMatch(/^  DATABASE_LISTEN_URL must be set, to a direct connection to PostgreSQL .*LISTEN needs a session of its own\.$/m);
    expect(() => parseConfig({ DATABASE_URL: POOLER, DATABASE_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: POOLER })).toThrow(ConfigError);
    expect(parseConfig({ DATABASE_URL: POOLER, DATABASE_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: DIRECT })).toMatchObject({ DATABASE_LISTEN_URL: DIRECT });
    expect(messageOf(() => parseConfig({ DATABASE_POOL_MODE: 'statement' }))).toMatch(/^  DATABASE_POOL_MODE must be one of session, transaction\.$/m);
  });
  it('when REDIS_CLUSTER_NODES names host:port seeds, then they are the cluster\'s; empty, the one Redis of REDIS_URL is used', () => {
    expect(parseConfig({}).REDIS_CLUSTER_NODES).toEqual([]);
    expect(parseConfig({ REDIS_CLUSTER_NODES: 'redis-0:6379, 10.0.0.2:7000,[::1]:7001' }).REDIS_CLUSTER_NODES).toEqual(['redis-0:6379', '10.0.0.2:7000', '[::1]:7001']);
    expect(messageOf(() => parseConfig({ REDIS_CLUSTER_NODES: 'redis-0,redis://x:1' }))).toMatch(/^  REDIS_CLUSTER_NODES must be host:port seeds of a Redis Cluster, comma separated, not "redis-0,redis:\/\/x:1"\.$/m);
  });
});

describe('configuration of authentication (fail closed)', () => {
  const AUTH = { AUTH_JWKS_URL: 'https://id.example/.well-known/jwks.json', AUTH_ISSUER: 'https://id.example', AUTH_AUDIENCE: 'orders' };

  it('when nothing is set, then the API listens on loopback without authentication and off by default limits apply', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ HOST: '127.0.0.1', AUTH_DISABLED: false, RATE_LIMIT: 0, REQUEST_TIMEOUT: 30_000, HEADERS_TIMEOUT: 10_000, MAX_CONNECTIONS: 1000 });
    expect(config.AUTH_JWKS_URL).toBeUndefined();
    expect(config.METRICS_PORT).toBeUndefined();
    expect(authModeOf(config)).toBe('off-loopback');
  });

  it('when the API listens on a non-loopback address without AUTH_JWKS_URL, then starting fails naming AUTH_JWKS_URL and AUTH_DISABLED', () => {
    for (const HOST of ['0.0.0.0', '::', '10.0.0.5', 'orders.internal']) {
      const message = messageOf(() => parseConfig({ HOST }));
      expect(message).toMatch(/AUTH_JWKS_URL is required when HOST \(.+\) is not a loopback address/);
      expect(message).toMatch(/AUTH_DISABLED=true/);
    }
  });

  it('when AUTH_DISABLED=true says so explicitly, or the process serves no HTTP, then a non-loopback address is allowed', () => {
    expect(authModeOf(parseConfig({ HOST: '0.0.0.0', AUTH_DISABLED: 'true' }))).toBe('off-disabled');
    expect(parseConfig({ HOST: '0.0.0.0', ROLES: 'relay,consumers' }).HOST).toBe('0.0.0.0');
  });

  it('when AUTH_JWKS_URL is set without issuer or audience, then starting fails naming both', () => {
    const message = messageOf(() => parseConfig({ AUTH_JWKS_URL: AUTH.AUTH_JWKS_URL }));
    expect(message).toMatch(/AUTH_ISSUER is required/);
    expect(message).toMatch(/AUTH_AUDIENCE is required/);
  });

  it('when AUTH_JWKS_URL, issuer and audience are set, then authentication is on on any address; AUTH_DISABLED beside them is a contradiction', () => {
    expect(authModeOf(parseConfig({ ...AUTH, HOST: '0.0.0.0' }))).toBe('jwt');
    expect(messageOf(() => parseConfig({ ...AUTH, AUTH_DISABLED: 'true' }))).toMatch(/AUTH_DISABLED cannot be true while AUTH_JWKS_URL is set/);
    expect(messageOf(() => parseConfig({ ...AUTH, AUTH_JWKS_URL: 'ftp://id.example/keys' }))).toMatch(/AUTH_JWKS_URL/);
  });

  it('when AUTH_JWKS_URL is http to another machine, then starting fails unless AUTH_JWKS_ALLOW_HTTP=true; http to this machine is allowed', () => {
    for (const AUTH_JWKS_URL of ['http://id.example/keys', 'http://10.0.0.5:8100/keys', 'http://127.0.0.1.example.com/keys']) {
      expect(messageOf(() => parseConfig({ ...AUTH, AUTH_JWKS_URL })), AUTH_JWKS_URL).toMatch(/AUTH_JWKS_URL must be https unless its host is a loopback address[\s\S]*AUTH_JWKS_ALLOW_HTTP=true/);
      expect(authModeOf(parseConfig({ ...AUTH, AUTH_JWKS_URL, AUTH_JWKS_ALLOW_HTTP: 'true' })), AUTH_JWKS_URL).toBe('jwt');
    }
    for (const AUTH_JWKS_URL of ['http://127.0.0.1:8100/keys', 'http://localhost/keys', 'http://[::1]:8100/keys']) {
      expect(authModeOf(parseConfig({ ...AUTH, AUTH_JWKS_URL })), AUTH_JWKS_URL).toBe('jwt');
    }
    // No URL at all: refused with the setting's sentence, never a TypeError from the https check.
    for (const AUTH_JWKS_URL of ['https://', 'http://[bad', 'http:// 127.0.0.1/']) {
      expect(messageOf(() => parseConfig({ ...AUTH, AUTH_JWKS_URL })), AUTH_JWKS_URL).toMatch(/AUTH_JWKS_URL must be a https or http:\/\/ URL/);
    }
  });

  it('when server limits are inconsistent, then starting fails naming them', () => {
    expect(messageOf(() => parseConfig({ HEADERS_TIMEOUT: '60s', REQUEST_TIMEOUT: '30s' }))).toMatch(/HEADERS_TIMEOUT must not be longer than REQUEST_TIMEOUT/);
    expect(messageOf(() => parseConfig({ METRICS_PORT: '8000' }))).toMatch(/METRICS_PORT must differ from PORT/);
    // Without the http role nothing listens on PORT, so METRICS_PORT may be the same number.
    expect(parseConfig({ METRICS_PORT: '8000', ROLES: 'relay,consumers' }).METRICS_PORT).toBe(8000);
    expect(messageOf(() => parseConfig({ RATE_LIMIT: '-1', MAX_CONNECTIONS: '0' }))).toMatch(/RATE_LIMIT[\s\S]*MAX_CONNECTIONS/);
  });

  it('when a host is a loopback address, then isLoopback says so, and only then', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '128.0.0.1', '10.0.0.1', 'example.com', '127.0.0.1.example.com']) expect(isLoopback(host), host).toBe(false);
  });
});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}
