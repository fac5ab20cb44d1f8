/**
 * Redis keys of the per-user order projection. The client's keyPrefix (per test, per deployment) is added by
 * ioredis to every key named here, including the KEYS of the scripts; the scripts never build a key name
 * themselves, so every key they touch is declared.
 */
export const projectionKeys = {
  /** Hash: what the projector knows of one order (lines and header while it assembles, then version, member, tombstone). */
  order: (orderId: string) => `proj:order:${orderId}`,
  /** Sorted set: the user's visible orders, scored by createdAt (ms); members tie-break by serial number. */
  userIndex: (userId: string) => `proj:user:${userId}:index`,
  /** Hash: member -> the order's JSON, exactly as GET /orders/:orderID answers it. */
  userDocs: (userId: string) => `proj:user:${userId}:docs`,
  /** String: present once the user's projection was built from PostgreSQL; missing means "rebuild before reading". */
  userBuilt: (userId: string) => `proj:user:${userId}:built`,
  /** String: held by the one reader that rebuilds a missing projection, so a cold cache is not rebuilt N times at once. */
  userLock: (userId: string) => `proj:user:${userId}:lock`,
};

/**
 * The sorted-set member of an order. Equal createdAt scores are ordered by member bytes, so a zero-padded serial
 * number gives PostgreSQL's tie-break (createdAt, then serialNumber) in both directions.
 */
export function orderMember(serialNumber: number | bigint): string {
  return String(serialNumber).padStart(16, '0');
}
