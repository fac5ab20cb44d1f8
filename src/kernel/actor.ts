/**
 * Who sends a command or query: the subject of a verified access token and the scopes it grants. Handlers
 * apply ownership rules with it. A message without an actor comes from inside the service (a consumer, the
 * scheduler) or from an API running without authentication (a loopback address, or AUTH_DISABLED): no rule
 * limits it, as before authentication existed.
 */
export interface Actor {
  /** The token's `sub`: a user id (the userID of the user's orders) for end users. */
  readonly sub: string;
  readonly scopes: ReadonlySet<string>;
}

/** The scopes the API knows (RFC 9068 `scope` claim values). */
export const SCOPES = {
  ordersRead: 'orders:read',
  ordersWrite: 'orders:write',
  ordersAdmin: 'orders:admin',
  catalogWrite: 'catalog:write',
  customersWrite: 'customers:write',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

export function hasScope(actor: Actor, scope: Scope): boolean {
  return actor.scopes.has(scope);
}

/**
 * May this actor act on the orders of `userId`? Anyone without an actor (see above), an `orders:admin`, or the
 * user themself. User ids are UUIDs, which a token may spell in upper case.
 */
export function mayActForUser(actor: Actor | undefined, userId: string): boolean {
  if (!actor || hasScope(actor, SCOPES.ordersAdmin)) return true;
  return actor.sub.toLowerCase() === userId.toLowerCase();
}
