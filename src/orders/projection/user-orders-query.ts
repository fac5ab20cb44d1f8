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
import { toOrderJson, type OrderJson, type OrderView } from '../order-json.js';
import type { OrderReads } from '../persistence/order-reads.js';
import type { ProjectionStore, StoredPage } from './projection-store.js';
import { rebuildEntries } from './projection-rebuild.js';

/** Hits answer the stored JSON documents as they are (JsonBytes); rebuilds and degraded reads answer objects. */
export const GetUserOrders = defineQuery('GetUserOrders', listParams.extend({ userID: uuid })).returning<ListPage<'orders', OrderJson> | JsonBytes>();
type Params = PayloadOf<typeof GetUserOrders>;
type Answer = ListPage<'orders', OrderJson> | JsonBytes;

/** Long enough for a rebuild of a big user; short enough that a reader that died does not block others for long. */
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

  /** The reader that takes the lock rebuilds and answers from the snapshot it just wrote; the others wait for it. */
  private async rebuildThenRead(params: Params): Promise<Answer> {
    const token = randomUUID();
    let locked: boolean;
    try {
      locked = await this.store.tryLock(params.userID, token, REBUILD_LOCK_MS);
    } catch (error) {
      return this.degraded(params, error);
    }
    if (!locked) return this.waitForRebuild(params);
    try {
      // PostgreSQL failing here is a 503 like any other read; Redis failing only costs the write.
      const snapshot = await this.reads.userSnapshot(params.userID);
      if (snapshot) {
        await this.store.writeRebuild(params.userID, rebuildEntries(snapshot)).then(
          () => this.metrics.projectionRebuilds.inc({ trigger: 'read' }),
          (error) => this.logger.warn('projection rebuild not written', { userId: params.userID, error: String(error?.message ?? error) }),
        );
      }
      return pageOf(snapshot?.visible ?? [], params);
    } finally {
      await this.store.unlock(params.userID, token).catch(() => undefined);
    }
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

/** A page of a snapshot's listed orders (ascending), exactly as a projection read would answer it. */
function pageOf(visible: OrderView[], params: Params): ListPage<'orders', OrderJson> {
  const ordered = params.order === 'desc' ? [...visible].reverse() : visible;
  return listPage('orders', ordered.slice(params.offset, params.offset + params.limit).map(toOrderJson), visible.length, params);
}
