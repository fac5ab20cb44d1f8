import { createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey } from 'jose';
import type { Logger } from '../observability/logger.js';
import { boundedFetch } from './bounded-fetch.js';

export interface JwksKeysOptions {
  url: string;
  /** Bound on one fetch of the key set. */
  timeoutMs: number;
  /** Least time between two fetches that unknown `kid`s trigger, so bad tokens cannot hammer the identity service. */
  cooldownMs: number;
  /** How often the key set is fetched again in the background. */
  refreshMs: number;
  logger: Logger;
}

/** Retries of a failed fetch back off from RETRY_MIN_MS, doubling, to RETRY_MAX_MS. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/** The identity service's keys cannot be had now: a token cannot be checked either way (503, not 401). */
export class KeysUnavailableError extends Error {}

/**
 * The identity service's signing keys (its JWKS), for jose's jwtVerify. Fetched at start and every refreshMs in
 * the background (retried with backoff while the service is down, keeping the last good keys meanwhile); a token
 * signed with a key not in the set makes jose fetch again once, at most once per cooldown (key rotation).
 */
export class JwksKeys {
  private readonly remote;
  private timer: NodeJS.Timeout | undefined;
  /** Consecutive failed fetches; while above 0 no request waits on a fetch, the background retries. */
  private failures = 0;
  private loadedOnce = false;
  /** Key ids of the loaded set (asking jose for the set clones it, too slow for every request). */
  private kids = new Set<string>();
  private stopped = false;

  constructor(private readonly options: JwksKeysOptions) {
    this.remote = createRemoteJWKSet(new URL(options.url), {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: options.cooldownMs,
      // Freshness is this class's job: jose would otherwise fetch on a request's path once the set is older than
      // this, and fail every request while the identity service is down, though the keys it had are still good.
      cacheMaxAge: Number.POSITIVE_INFINITY,
      [customFetch]: boundedFetch,
    });
  }

  /** True once a key set was fetched. */
  get ready(): boolean {
    return this.loadedOnce;
  }

  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** jose's key lookup: the key that signed a token, by its header's `kid` and `alg`. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (!this.loadedOnce) throw new KeysUnavailableError('the identity service keys are not loaded yet');
    const known = header.kid === undefined || this.kids.has(header.kid);
    if (!known && this.failures > 0) throw new KeysUnavailableError('the identity service is unreachable and the token names a key not loaded yet');
    try {
      const key = await this.remote(header, token);
      // A new key id that jose just fetched (a rotation): known from now on.
      if (!known) this.noteKeys();
      return key;
    } catch (error) {
      if (isKeyMismatch(error)) throw error;
      this.failed(error);
      throw new KeysUnavailableError('the identity service is unreachable and the token names a key not loaded yet');
    }
  };

  private async refresh(): Promise<void> {
    try {
      await this.remote.reload();
      this.noteKeys();
      if (this.failures > 0 || !this.loadedOnce) this.options.logger.info('identity service keys loaded', { keys: this.remote.jwks()?.keys.length });
      this.loadedOnce = true;
      this.failures = 0;
      this.schedule(this.options.refreshMs);
    } catch (error) {
      this.failed(error);
    }
  }

  private noteKeys(): void {
    this.kids = new Set((this.remote.jwks()?.keys ?? []).flatMap((key) => (key.kid === undefined ? [] : [key.kid])));
  }

  /** A fetch failed: log the first of a run, and retry in the background with backoff. */
  private failed(error: unknown): void {
    if (this.failures === 0) this.options.logger.warn('identity service keys unavailable', { error: (error as Error)?.message ?? String(error) });
    this.failures++;
    const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
    this.schedule(backoff / 2 + Math.random() * (backoff / 2));
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh(), ms);
    // The refresh never keeps the process alive on its own.
    this.timer.unref();
  }
}

/** The key set is there but has no key for this token: the token's fault (401), not the identity service's. */
function isKeyMismatch(error: unknown): boolean {
  return error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported;
}
