import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { TooManyRequestsError } from '../../kernel/errors.js';
import { actorOf } from './authenticate.js';
import type { RedisClient } from '../cache/redis.js';

export interface RateLimitSettings {
  /** Requests a client may send per window. */
  limit: number;
  windowMs: number;
}

/** The policy's name in the RateLimit headers. */
const POLICY = 'per-client';

/**
 * A fixed-window limit per client, shared by every replica through Redis: a client is its token's `sub` when it
 * sent a valid one, else its address (so bad tokens are counted too). When Redis cannot answer, each process
 * counts in memory instead of failing requests (a looser limit, per replica, until Redis is back). Answers 429
 * with Retry-After; every answer carries the RateLimit-Policy and RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers).
 */
export function rateLimit(redis: RedisClient, settings: RateLimitSettings): RequestHandler {
  const duration = Math.max(1, Math.ceil(settings.windowMs / 1000));
  const options = { points: settings.limit, duration, keyPrefix: 'ratelimit' };
  // Keys land under the client's REDIS_KEY_PREFIX, like every other key of the service. Each call is a script or
  // a MULTI on one key (ratelimit:<client>), so on a Redis Cluster it is one slot by itself: no hash tag needed.
  const limiter = new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) });
  const policy = `"${POLICY}";q=${settings.limit};w=${duration}`;
  return async (req, res, next) => {
    let result: RateLimiterRes;
    try {
      result = await limiter.consume(clientKey(req, res));
    } catch (rejection) {
      // The limiter rejects with its result when the limit is reached; anything else is a bug, not a 429.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      setHeaders(res, policy, rejection);
      throw new TooManyRequestsError(secondsUntil(rejection));
    }
    setHeaders(res, policy, result);
    next();
  };
}

function clientKey(req: Request, res: Response): string {
  const actor = actorOf(res);
  return actor ? `sub:${actor.sub}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}

function setHeaders(res: Response, policy: string, result: RateLimiterRes): void {
  res.setHeader('RateLimit-Policy', policy);
  res.setHeader('RateLimit', `"${POLICY}";r=${result.remainingPoints};t=${secondsUntil(result)}`);
}

function secondsUntil(result: RateLimiterRes): number {
  return Math.max(1, Math.ceil(result.msBeforeNext / 1000));
}
