/**
 * Redis keys of the per-user order projection. The client's keyPrefix (per test, per deployment) is added by
 * ioredis to every key named here, including the KEYS of the scripts; the scripts never build a key name
 * themselves, so every key they touch is declared.
 *
 * Every key carries its user's hash tag, `{u:<userID>}`, an order's keys included: Redis Cluster hashes only
 * what is inside the first braces, so all the keys one script touches (an order, its user's list, the user's
 * marker and lock) are in one slot, and each script runs on one node as it does on a single Redis.
 * REDIS_KEY_PREFIX may not contain braces (config.ts), so the tag is always the first pair.
 */
export const projectionKeys = {
  /** Hash: what the projector knows of one order (lines and header while it assembles, then version, member, tombstone). */
  order: (userId: string, orderId: string) => `proj:${userTag(userId)}:order:${orderId}`,
  /** Sorted set: the user's visible orders, scored by createdAt (ms); members tie-break by serial number. */
  userIndex: (userId: string) => `proj:${userTag(userId)}:index`,
  /** Hash: member -> the order's JSON, exactly as GET /orders/:orderID answers it. */
  userDocs: (userId: string) => `proj:${userTag(userId)}:docs`,
  /** String: present once the user's projection was built from PostgreSQL; missing means "rebuild before reading". */
  userBuilt: (userId: string) => `proj:${userTag(userId)}:built`,
  /** String: held by the one reader that rebuilds a missing projection, so a cold cache is not rebuilt N times at once. */
  userLock: (userId: string) => `proj:${userTag(userId)}:lock`,
};

export function userTag(userId: string): string {
  return `{u:${userId}}`;
}

/** The user's key names above, without the order keys (those need the order ids). */
export function userKeys(userId: string): string[] {
  return [projectionKeys.userIndex(userId), projectionKeys.userDocs(userId), projectionKeys.userBuilt(userId), projectionKeys.userLock(userId)];
}

/** What a key name of the projection (without the client's prefix) is: a user's key, an order's, or neither. */
export type ProjectionKey = { userId: string; orderId?: string } | undefined;

const KEY = /^proj:\{u:([^}]+)\}:(?:order:([^:]+)|index|docs|built|lock)$/;

export function parseProjectionKey(name: string): ProjectionKey {
  const match = KEY.exec(name);
  return match ? { userId: match[1]!, ...(match[2] ? { orderId: match[2] } : {}) } : undefined;
}

/** SCAN patterns of the projection's keys now, and of the layout before the hash tags (never read any more). */
export const KEY_PATTERN = 'proj:{u:*';
export const OLD_LAYOUT_PATTERNS = ['proj:order:*', 'proj:user:*'];

/**
 * The sorted-set member of an order. Equal createdAt scores are ordered by member bytes, so a zero-padded serial
 * number gives PostgreSQL's tie-break (createdAt, then serialNumber) in both directions.
 */
export function orderMember(serialNumber: number | bigint): string {
  return String(serialNumber).padStart(16, '0');
}
