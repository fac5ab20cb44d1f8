import type { RequestHandler, Response } from 'express';
import type { Actor, Scope } from '../../kernel/actor.js';
import { ForbiddenError, UnauthenticatedError } from '../../kernel/errors.js';

/** Verifies a bearer token: the actor it speaks for, or an UnauthenticatedError / UnavailableError. */
export type TokenVerifier = (token: string) => Promise<Actor>;

/** The authenticated actor of a request, once authenticate() found one. */
export function actorOf(res: Response): Actor | undefined {
  return res.locals.actor as Actor | undefined;
}

/**
 * Reads and verifies the request's bearer token (RFC 6750, section 2.1). It only records the outcome: the rate
 * limiter runs next and counts a client with a bad token by its address, then requireAuthenticated() refuses it.
 */
export function authenticate(verify: TokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (token === undefined) {
      res.locals.authFailure = new UnauthenticatedError('an access token is required (Authorization: Bearer <token>)', false);
    } else {
      try {
        res.locals.actor = await verify(token);
      } catch (error) {
        res.locals.authFailure = error;
      }
    }
    next();
  };
}

/** Refuses a request that authenticate() found without a valid token: 401, or 503 while keys cannot be had. */
export function requireAuthenticated(): RequestHandler {
  return (_req, res, next) => {
    if (res.locals.authFailure !== undefined) throw res.locals.authFailure;
    next();
  };
}

/** A route's scope rule: a token holding one of `anyOf`, or any valid token when it is empty (403 otherwise). */
export function requireScopes(anyOf: readonly Scope[]): RequestHandler {
  return (_req, res, next) => {
    const actor = actorOf(res);
    if (!actor) throw new UnauthenticatedError('an access token is required (Authorization: Bearer <token>)', false);
    if (anyOf.length > 0 && !anyOf.some((scope) => actor.scopes.has(scope))) {
      throw new ForbiddenError(`this needs the scope ${anyOf.join(' or ')}`, anyOf[0]!);
    }
    next();
  };
}

/**
 * The token of an `Authorization: Bearer <token>` header; undefined without one (or with another scheme, which
 * is no bearer credential at all). A Bearer header without a well-formed token gives '' so it counts as invalid.
 */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer(?: +(.*))?$/i.exec(header.trim());
  if (!match) return undefined;
  const token = (match[1] ?? '').trim();
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(token) ? token : '';
}
