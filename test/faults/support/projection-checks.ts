import { isDeepStrictEqual } from 'node:util';
import type { RedisClient } from '../../../src/platform/cache/redis.js';
import { projectionKeys } from '../../../src/orders/projection/projection-keys.js';
import { memberOf, type OrderJson } from './expected-orders.js';

interface Tally {
  lost: Set<string>;
  duplicated: Set<string>;
}

/**
 * Looks into Redis itself (the client carries the step's key prefix): each user's sorted set and docs hash must
 * hold exactly the database's approved orders, once each, with the right score and JSON. Returns how many
 * approved orders are projected correctly.
 */
export async function checkProjection(redis: RedisClient, expected: Map<string, OrderJson[]>, tally: Tally, problem: (text: string) => void): Promise<number> {
  let projected = 0;
  for (const [userId, orders] of expected) {
    const flat = await redis.zrange(projectionKeys.userIndex(userId), '0', '-1', 'WITHSCORES');
    const scores = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) scores.set(flat[i]!, Number(flat[i + 1]));
    const docs = await redis.hgetall(projectionKeys.userDocs(userId));
    const wanted = new Map(orders.map((order) => [memberOf(order), order]));
    for (const [member, order] of wanted) {
      const score = scores.get(member);
      const doc = docs[member];
      if (score === undefined || doc === undefined) {
        tally.lost.add(order.OrderID);
        problem(`projection of user ${userId} misses approved order ${order.OrderID} (ZSCORE ${score}, HGET ${doc === undefined ? 'nil' : 'set'})`);
        continue;
      }
      if (score !== Date.parse(order.createdAt) || !isDeepStrictEqual(JSON.parse(doc), order)) {
        problem(`projection of order ${order.OrderID} differs from PostgreSQL: score ${score}, doc ${doc.slice(0, 300)}`);
        continue;
      }
      projected++;
    }
    for (const member of new Set([...scores.keys(), ...Object.keys(docs)])) {
      if (wanted.has(member)) continue;
      const doc = docs[member];
      const orderId = doc ? (JSON.parse(doc) as OrderJson).OrderID : `member ${member}`;
      tally.duplicated.add(orderId);
      problem(`projection of user ${userId} lists ${orderId}, which is not an approved order of the user`);
    }
    if (scores.size !== Object.keys(docs).length) problem(`projection of user ${userId}: ZCARD ${scores.size} but HLEN ${Object.keys(docs).length}`);
  }
  return projected;
}
