import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { Actor } from '../../kernel/actor.js';
import { UnauthenticatedError, UnavailableError } from '../../kernel/errors.js';
import { JwksKeys, KeysUnavailableError, type JwksKeysOptions } from './jwks-keys.js';
import { VerifiedTokens } from './verified-tokens.js';

/** Asymmetric only: an HMAC token would be "signed" with whatever secret the verifier is tricked into using. */
const ALGORITHMS = ['RS256', 'ES256'];
/** Seconds of clock difference allowed between the identity service and this one for exp and nbf. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** A real access token is 1-2 KB; anything far longer is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 8_192;
const MAX_SUB_LENGTH = 255;
const MAX_SCOPES = 64;
/** How many verified tokens are remembered, and for how long at most (a key removed from the JWKS stops counting within this). */
const VERIFIED_TOKENS = 10_000;
const VERIFIED_MAX_AGE_MS = 60_000;

export interface AccessTokenOptions extends JwksKeysOptions {
  issuer: string;
  audience: string;
}

/**
 * Verifies bearer access tokens (RFC 9068 JWTs) against the identity service's keys and turns a valid one into
 * the Actor it speaks for. Every refusal is an UnauthenticatedError whose message names what is wrong, never
 * the token; while the keys cannot be had, a token cannot be judged and the answer is an UnavailableError (503).
 */
export class AccessTokens {
  readonly keys: JwksKeys;
  private readonly verified = new VerifiedTokens(VERIFIED_TOKENS, VERIFIED_MAX_AGE_MS);

  constructor(private readonly options: AccessTokenOptions) {
    this.keys = new JwksKeys(options);
  }

  start(): void {
    this.keys.start();
  }

  stop(): void {
    this.keys.stop();
  }

  async verify(token: string): Promise<Actor> {
    if (token.length > MAX_TOKEN_LENGTH) throw new UnauthenticatedError('access token too long', true);
    const key = VerifiedTokens.keyOf(token);
    const known = this.verified.get(key);
    if (known) return known;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.getKey, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof KeysUnavailableError) throw new UnavailableError(`cannot check the access token now: ${error.message}`, 'auth');
      if (error instanceof errors.JOSEError) throw new UnauthenticatedError(reasonOf(error), true);
      throw error;
    }
    const actor = actorOf(payload);
    // Valid as long as jwtVerify would still accept it: until exp, plus the clock tolerance.
    this.verified.set(key, actor, (payload.exp! + CLOCK_TOLERANCE_SECONDS) * 1000);
    return actor;
  }
}

/** What was wrong with a token, in a few words fit for a client and an error_description. */
function reasonOf(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTExpired) return 'access token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `access token ${error.claim} claim not accepted`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'access token algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'access token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'access token signed with an unknown key';
  return 'malformed access token';
}

/** The subject and scopes of a verified token; a subject unfit for logs and keys is refused. */
function actorOf(payload: JWTPayload): Actor {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH || /[\p{Cc}\s]/u.test(sub)) {
    throw new UnauthenticatedError('access token sub claim not accepted', true);
  }
  const scope = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean).slice(0, MAX_SCOPES) : [];
  return { sub, scopes: new Set(scope) };
}
