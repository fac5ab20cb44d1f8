import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { defineQuery } from '../../kernel/message.js';
import type { Handler } from '../../kernel/mediator.js';
import { listPageText, listParams, uuid, type ListPage, type ListParams } from '../../kernel/schemas.js';
import { ForbiddenError } from '../../kernel/errors.js';
import { mayActForUser, SCOPES } from '../../kernel/actor.js';
import type { JsonText } from '../../kernel/json-text.js';
import type { Database } from '../../platform/database/prisma.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { OrderJson } from '../order-json.js';
import { ProjectionStore, type StoredPage } from './projection-store.js';
import { rebuildEntries } from './projection-rebuild.js';
import { loadUserOrders, pageOfSnapshot, readUserOrdersPage } from './user-orders-postgres.js';

const userOrdersParams = listParams.extend({ userID: uuid });
/** Hits answer the stored JSON texts as they are (JsonText); rebuilds and degraded reads answer objects. */
export const GetUserOrders = defineQuery<typeof userOrdersParams, ListPage<'orders', OrderJson> | JsonText>('GetUserOrders', userOrdersParams);

/** Long enough for a rebuild of a big user; short enough that a reader that died does not block others for long. */
const REBUILD_LOCK_MS = 5_000;
/** How long a reader waits for another reader's rebuild before it answers from PostgreSQL itself. */
const REBUILD_WAIT_MS = 1_000;
const REBUILD_POLL_MS = 50;
/** While Redis is down every read is degraded: log the first and then a summary at most this often. */
const DEGRADED_LOG_INTERVAL_MS = 10_000;

export interface UserOrdersDependencies {
  database: Database;
  redis: Redis;
  metrics: Metrics;
  logger: Logger;
}

/**
 * A user's approved orders from the Redis projection: one script call on a hit. A projection that is missing
 * (never built, Redis flushed or replaced) is rebuilt from PostgreSQL by one reader while the others wait for it;
 * while Redis is down the page comes from PostgreSQL, the same JSON, counted as degraded.
 */
export function getUserOrdersHandler(deps: UserOrdersDependencies): Handler<typeof GetUserOrders> {
  const store = new ProjectionStore(deps.redis);
  const degraded = degradedReader(deps);
  return async (params, { actor }) => {
    // The list route names the user, so unlike an order by id there is nothing to hide: 403, not 404.
    if (!mayActForUser(actor, params.userID)) throw new ForbiddenError("another user's orders need orders:admin", SCOPES.ordersAdmin, params.userID);
    let page;
    try {
      page = await store.readPage(params.userID, params);
    } catch (error) {
      return degraded(params, error);
    }
    if (page) {
      deps.metrics.projectionReads.inc({ result: 'hit' });
      return pageOf(page, params);
    }
    deps.metrics.projectionReads.inc({ result: 'miss' });
    return rebuildThenRead(deps, store, params, degraded);
  };
}

type Params = ListParams & { userID: string };

/** The stored JSON texts go out as they are, inside the contract's envelope. */
function pageOf(stored: StoredPage, params: Params): JsonText {
  return listPageText('orders', stored.docs, stored.total, params);
}
type DegradedReader = (params: Params, error: unknown) => Promise<ListPage<'orders', OrderJson>>;

/** The reader that takes the lock rebuilds and answers from the snapshot it just wrote; the others wait for it. */
async function rebuildThenRead(deps: UserOrdersDependencies, store: ProjectionStore, params: Params, degraded: DegradedReader) {
  const token = randomUUID();
  let locked: boolean;
  try {
    locked = await store.tryLock(params.userID, token, REBUILD_LOCK_MS);
  } catch (error) {
    return degraded(params, error);
  }
  if (!locked) return waitForRebuild(deps, store, params);
  try {
    // PostgreSQL failing here is a 503 like any other read; Redis failing only costs the write.
    const snapshot = await loadUserOrders(deps.database, params.userID);
    if (snapshot) {
      await store.writeRebuild(params.userID, rebuildEntries(snapshot)).then(
        () => deps.metrics.projectionRebuilds.inc({ trigger: 'read' }),
        (error) => deps.logger.warn('projection rebuild not written', { userId: params.userID, error: String(error?.message ?? error) }),
      );
    }
    return pageOfSnapshot(snapshot, params);
  } finally {
    await store.unlock(params.userID, token).catch(() => undefined);
  }
}

async function waitForRebuild(deps: UserOrdersDependencies, store: ProjectionStore, params: Params) {
  const deadline = Date.now() + REBUILD_WAIT_MS;
  while (Date.now() < deadline) {
    await sleep(REBUILD_POLL_MS);
    const page = await store.readPage(params.userID, params).catch(() => undefined);
    if (page) return pageOf(page, params);
  }
  return readUserOrdersPage(deps.database, params.userID, params);
}

function degradedReader(deps: UserOrdersDependencies): DegradedReader {
  let lastLogged = 0;
  let unlogged = 0;
  return (params, error) => {
    deps.metrics.projectionReads.inc({ result: 'degraded' });
    if (Date.now() - lastLogged >= DEGRADED_LOG_INTERVAL_MS) {
      deps.logger.warn('redis projection unavailable; user orders read from PostgreSQL', { error: String((error as Error)?.message ?? error), reads_since_last_log: unlogged + 1 });
      lastLogged = Date.now();
      unlogged = 0;
    } else {
      unlogged++;
    }
    return readUserOrdersPage(deps.database, params.userID, params);
  };
}
