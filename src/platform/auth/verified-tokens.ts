import { createHash } from 'node:crypto';
import type { Actor } from '../../kernel/actor.js';

/**
 * Access tokens verified lately, so that a client sending the same token again (as clients do until it expires)
 * does not pay for the signature check again: it is most of a cheap read's CPU (bench/auth-cost.ts). Entries are
 * keyed by the token's SHA-256 (the whole token, signature included), kept until the token expires or for
 * maxAgeMs, whichever comes first, and the oldest go first when the cache is full. Only valid tokens are kept.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { actor: Actor; until: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64');
  }

  get(key: string, now = Date.now()): Actor | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now < entry.until) return entry.actor;
    this.entries.delete(key);
    return undefined;
  }

  /** Keeps a verified token's actor until `validUntil` (its expiry, in ms) or for maxAgeMs from `now`. */
  set(key: string, actor: Actor, validUntil: number, now = Date.now()): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { actor, until: Math.min(validUntil, now + this.maxAgeMs) });
  }

  get size(): number {
    return this.entries.size;
  }
}
