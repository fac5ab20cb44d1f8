import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject, injectable } from 'tsyringe';
import { TOKENS } from '../../tokens.js';
import { defineQuery, type Handler, type MessageContext, type PayloadOf } from '../../kernel/message.js';
import { listPage, listPageBytes, listParams, uuid, type ListPage } from '../../kernel/schemas.js';
import { ForbiddenError } from '../../kernel/errors.js';
import { mayActForUser, SCOPES } from '../../kernel/actor.js';
import type { JsonBytes } from '../../kernel/json-bytes.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { toOrderJson, type OrderJson } from '../order-json.js';
import type { OrderReads } from '../persistence/order-reads.js';
import type { ProjectionStore, StoredPage } from './projection-store.js';
import type { ProjectionRebuild } from './projection-rebuild.js';

/** Hits answer the stored JSON documents as they are (JsonBytes); rebuilds and degraded reads answer objects. */
export const GetUserOrders = defineQuery('GetUserOrders', listParams.extend({ userID: uuid })).returning<ListPage<'orders', OrderJson> | JsonBytes>();
type Params = PayloadOf<typeof GetUserOrders>;
type Answer = ListPage<'orders', OrderJson> | JsonBytes;

/**
 * The rebuild lock's time to live, renewed after each page the rebuild writes: a rebuild of any length keeps it, and
 * a reader that died holds it no longer than this.
 */
const REBUILD_LOCK_MS = 5_000;
/** How long a reader waits for another reader's rebuild before it answers from PostgreSQL itself. */
const REBUILD_WAIT_MS = 1_000;
const REBUILD_POLL_MS = 50;
/** While Redis is down every read is degraded: log the first and then a summary at most this often. */
const DEGRADED_LOG_INTERVAL_MS = 10_000;

/**
 * A user's approved orders from the Redis projection: one script call on a hit. A projection that is missing
 * (never built, Redis flushed or replaced) is rebuilt from PostgreSQL by one reader while the others wait for it;
 * while Redis is down the page comes from PostgreSQL, the same JSON, counted as degraded.
 */
@injectable()
export class GetUserOrdersHandler implements Handler<typeof GetUserOrders> {
  private degradedLoggedAt = 0;
  private degradedSinceLog = 0;

  constructor(
    @inject(TOKENS.ProjectionStore) private readonly store: ProjectionStore,
    @inject(TOKENS.OrderReads) private readonly reads: OrderReads,
    @inject(TOKENS.ProjectionRebuild) private readonly rebuild: ProjectionRebuild,
    @inject(TOKENS.Metrics) private readonly metrics: Metrics,
    @inject(TOKENS.Logger) private readonly logger: Logger,
  ) {}

  async handle(params: Params, { actor }: MessageContext): Promise<Answer> {
    // The list route names the user, so unlike an order by id there is nothing to hide: 403, not 404.
    if (!mayActForUser(actor, params.userID)) throw new ForbiddenError("another user's orders need orders:admin", SCOPES.ordersAdmin, params.userID);
    let page: StoredPage | undefined;
    try {
      page = await this.store.readPage(params.userID, params);
    } catch (error) {
      return this.degraded(params, error);
    }
    if (page) {
      this.metrics.projectionReads.inc({ result: 'hit' });
      return listPageBytes('orders', page.docs, page.total, params);
    }
    this.metrics.projectionReads.inc({ result: 'miss' });
    return this.rebuildThenRead(params);
  }

  /**
   * The reader that takes the lock rebuilds, a page of orders at a time, and then answers from Redis; the others
   * wait for it. A rebuild that fails (Redis, or PostgreSQL) answers from PostgreSQL: a 503 if that fails too.
   */
  private async rebuildThenRead(params: Params): Promise<Answer> {
    const { userID } = params;
    const token = randomUUID();
    let locked: boolean;
    try {
      locked = await this.store.tryLock(userID, token, REBUILD_LOCK_MS);
    } catch (error) {
      return this.degraded(params, error);
    }
    if (!locked) return this.waitForRebuild(params);
    try {
      const rebuilt = await this.rebuild.rebuildUser(userID, { afterPage: () => this.renewLock(userID, token) });
      // No such user: nothing was written, and the list is empty.
      if (!rebuilt) return listPage('orders', [], 0, params);
      this.metrics.projectionRebuilds.inc({ trigger: 'read' });
      const page = await this.store.readPage(userID, params);
      if (page) return listPageBytes('orders', page.docs, page.total, params);
    } catch (error) {
      this.logger.warn('projection rebuild not written', { userId: userID, error: String((error as Error)?.message ?? error) });
    } finally {
      await this.store.unlock(userID, token).catch(() => undefined);
    }
    return this.fromPostgres(params);
  }

  /**
   * Keeps the rebuild lock while pages are written. A lock that expired (a page took longer than REBUILD_LOCK_MS) may
   * be another reader's now: both rebuilds merge safely, so this one goes on, and says so.
   */
  private async renewLock(userId: string, token: string): Promise<void> {
    if (!(await this.store.renewLock(userId, token, REBUILD_LOCK_MS))) this.logger.warn('projection rebuild lock expired mid-rebuild; another reader may rebuild this user too', { userId });
  }

  private async waitForRebuild(params: Params): Promise<Answer> {
    const deadline = Date.now() + REBUILD_WAIT_MS;
    while (Date.now() < deadline) {
      await sleep(REBUILD_POLL_MS);
      const page = await this.store.readPage(params.userID, params).catch(() => undefined);
      if (page) return listPageBytes('orders', page.docs, page.total, params);
    }
    return this.fromPostgres(params);
  }

  private degraded(params: Params, error: unknown): Promise<Answer> {
    this.metrics.projectionReads.inc({ result: 'degraded' });
    if (Date.now() - this.degradedLoggedAt >= DEGRADED_LOG_INTERVAL_MS) {
      this.logger.warn('redis projection unavailable; user orders read from PostgreSQL', { error: String((error as Error)?.message ?? error), reads_since_last_log: this.degradedSinceLog + 1 });
      this.degradedLoggedAt = Date.now();
      this.degradedSinceLog = 0;
    } else {
      this.degradedSinceLog++;
    }
    return this.fromPostgres(params);
  }

  /** The same page read straight from PostgreSQL. */
  private async fromPostgres(params: Params): Promise<Answer> {
    const { views, total } = await this.reads.approvedPage(params, params.userID);
    return listPage('orders', views.map(toOrderJson), total, params);
  }
}
