import type { Database } from '../../platform/database/prisma.js';
import { toOrderJson } from '../order-json.js';
import { orderMember } from './projection-keys.js';
import type { ProjectionRepairStore } from './projection-repair-store.js';
import { loadUserOrders } from './user-orders-postgres.js';

/**
 * Repairs what the merge of a rebuild leaves as it is because it cannot tell it from the projector's own recent
 * work: a document or tombstone that no event of the service wrote (forged before publishers were checked, or
 * written by hand), and members of a list that PostgreSQL does not list.
 *
 * The rule that makes it safe while the projector runs: Redis is read first, PostgreSQL second. Everything the
 * projector genuinely wrote came from an event published after its change committed, so PostgreSQL, read later,
 * already shows that change. Whatever Redis holds that this later read contradicts is therefore not genuine, and
 * is rewritten from PostgreSQL, by a script that first checks Redis still holds what was read.
 */
export async function repairUser(database: Database, store: ProjectionRepairStore, userId: string, knownOrderIds: string[]): Promise<number> {
  const stored = await store.readUser(userId, knownOrderIds);
  const truth = await loadUserOrders(database, userId);
  if (!truth) return 0;
  let repaired = 0;
  const listed = new Set<string>();
  for (const row of truth.visible) {
    const member = orderMember(row.serialNumber);
    listed.add(member);
    const json = JSON.stringify(toOrderJson(row));
    const version = row.lastEventSequence;
    const readState = stored.orders.get(row.id);
    // Not asked for: approved since the rebuild's snapshot, so the projector lists it now; the next run looks at it.
    if (readState === undefined) continue;
    const readDoc = stored.docs.get(member) ?? '';
    // What the projector (or a rebuild) leaves for a listed order: no tombstone, its version, member, listed, four fields.
    if (readDoc === json && readState === `|${version}|${member}|1|4`) continue;
    const entry = { orderId: row.id, userId, member, score: String(row.createdAt.getTime()), json, version };
    if ((await store.repairListed(entry, readState, readDoc)) === 'repaired') repaired++;
  }
  for (const [member, doc] of stored.docs) {
    if (listed.has(member)) continue;
    if ((await store.repairUnlisted(userId, member, doc)) === 'repaired') repaired++;
  }
  return repaired;
}

/**
 * Deletes the keys of orders and users that PostgreSQL does not have (never deleted there: orders and users are
 * kept, deleted orders included), so they can only come from forged events or writes by hand. Same rule as above:
 * the keys are seen first, PostgreSQL is asked second. Returns how many keys were deleted.
 */
export async function removeOrphans(database: Database, store: ProjectionRepairStore): Promise<number> {
  let deleted = 0;
  for await (const ids of store.scanIds('order')) {
    const existing = await database.order.findMany({ where: { id: { in: ids.filter(isUuid) } }, select: { id: true } });
    const known = new Set(existing.map((row) => row.id));
    deleted += await store.deleteOrders(ids.filter((id) => !known.has(id)));
  }
  for await (const ids of store.scanIds('user')) {
    const existing = await database.user.findMany({ where: { id: { in: ids.filter(isUuid) } }, select: { id: true } });
    const known = new Set(existing.map((row) => row.id));
    deleted += await store.deleteUsers(ids.filter((id) => !known.has(id)));
  }
  return deleted;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isUuid(id: string): boolean {
  return UUID.test(id);
}
