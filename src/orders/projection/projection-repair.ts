import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import type { Database } from '../../platform/database/database.js';
import type { CustomerRepository } from '../../customers/customer-repository.js';
import { orderJsonText } from '../order-json.js';
import type { OrderReads } from '../persistence/order-reads.js';
import { orderMember } from './projection-keys.js';
import type { FoundKey, OrderToRead, ProjectionRepairStore } from './projection-repair-store.js';

/** Orders compared per round trip (Redis, then PostgreSQL). */
const REPAIR_BATCH = 200;
/** Whether a member is what orderMember makes of some serial number (anything else was never written by the service). */
function isMemberForm(member: string): boolean {
  return /^\d{1,19}$/.test(member) && orderMember(BigInt(member)) === member;
}

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
@injectable()
export class ProjectionRepair {
  constructor(
    @inject(TOKENS.ProjectionRepairStore) private readonly store: ProjectionRepairStore,
    @inject(TOKENS.OrderReads) private readonly reads: OrderReads,
    @inject(TOKENS.CustomerRepository) private readonly customers: CustomerRepository,
    @inject(TOKENS.Database) private readonly database: Database,
  ) {}

  /**
   * Repairs one user's list and orders (those `written` by the rebuild just before, with their members); returns
   * how many. Both halves go a batch at a time, Redis first, so a user with a long history costs a batch of memory.
   */
  async repairUser(userId: string, written: OrderToRead[]): Promise<number> {
    let repaired = 0;
    for (let start = 0; start < written.length; start += REPAIR_BATCH) repaired += await this.repairListed(userId, written.slice(start, start + REPAIR_BATCH));
    for await (const docs of this.store.scanDocs(userId)) repaired += await this.repairUnlisted(userId, docs);
    return repaired;
  }

  /** The orders of the batch that PostgreSQL lists: rewritten where Redis holds anything but what it lists. */
  private async repairListed(userId: string, batch: OrderToRead[]): Promise<number> {
    const stored = await this.store.readOrders(userId, batch);
    const truth = await this.reads.listedViews(userId, batch.map((order) => order.orderId));
    let repaired = 0;
    for (const view of truth) {
      const member = orderMember(view.serialNumber);
      const read = stored.get(view.orderId)!;
      const json = orderJsonText(view);
      // What the projector (or a rebuild) leaves for a listed order: no tombstone, its version, member, listed, four fields.
      if (read.doc === json && read.state === `|${view.version}|${member}|1|4`) continue;
      const entry = { orderId: view.orderId, userId, member, score: String(view.createdAtMs), json, version: view.version };
      if ((await this.store.repairListed(entry, read.state, read.doc)) === 'repaired') repaired++;
    }
    return repaired;
  }

  /** The documents of the batch whose members PostgreSQL does not list (forged, or of an order since deleted): taken off. */
  private async repairUnlisted(userId: string, docs: Map<string, string>): Promise<number> {
    const serials = [...docs.keys()].filter(isMemberForm).map(BigInt);
    const listed = await this.reads.listedSerialNumbers(userId, serials);
    let repaired = 0;
    for (const [member, doc] of docs) {
      if (isMemberForm(member) && listed.has(BigInt(member))) continue;
      if ((await this.store.repairUnlisted(userId, member, doc)) === 'repaired') repaired++;
    }
    return repaired;
  }

  /**
   * Deletes the keys of orders and users that PostgreSQL does not have (never deleted there: orders and users are
   * kept, deleted orders included), and an order's keys under a user who is not its user, so they can only come
   * from forged events or writes by hand. Same rule as above: the keys are seen first, PostgreSQL is asked second.
   * Then deletes every key of the layout before the hash tags. Returns how many keys of each were deleted.
   */
  async removeOrphans(): Promise<{ orphans: number; oldLayout: number }> {
    let orphans = 0;
    for await (const found of this.store.scanKeys()) {
      const knownUsers = await this.customers.existingUsers(this.database, [...new Set(found.map((key) => key.userId))].filter(isUuid));
      const owners = await this.reads.usersOf(found.flatMap((key) => (key.orderId && isUuid(key.orderId) ? [key.orderId] : [])));
      const doomed = found.filter((key) => !knownUsers.has(key.userId) || (key.orderId !== undefined && owners.get(key.orderId) !== key.userId));
      for (const names of groupByUser(doomed).values()) orphans += await this.store.deleteUserKeys(names);
    }
    return { orphans, oldLayout: await this.store.deleteOldLayout() };
  }
}

function groupByUser(keys: FoundKey[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) groups.set(key.userId, [...(groups.get(key.userId) ?? []), key.name]);
  return groups;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isUuid(id: string): boolean {
  return UUID.test(id);
}
