import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../../tokens.js';
import type { Config } from '../../config.js';
import { defineQuery, type Handler, type PayloadOf } from '../../kernel/message.js';
import type { Clock } from '../../kernel/clock.js';
import { NotFoundError } from '../../kernel/errors.js';
import { listPage, listParams, uuid, type ListPage } from '../../kernel/schemas.js';
import { parseDuration } from '../../platform/duration.js';
import type { SagaReads } from '../persistence/saga-reads.js';
import { MAX_RECORDED_REPLIES } from '../persistence/saga-reply-log.js';
import { toHistoryJson, toSagaJson, type HistoryJson, type SagaJson } from './saga-json.js';

/** Ten years: anything longer is a typo, and the arithmetic stays far inside a Date. */
const MAX_OLDER_THAN_MS = 3650 * 86_400_000;

/** `olderThan`: a duration such as 90s, 2m, 1h or 7d (a bare number is milliseconds), at most 3650d. */
const olderThan = z
  .string()
  .max(16, 'olderThan must be a duration such as 30s, 2m, 1h or 7d')
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms > MAX_OLDER_THAN_MS) {
      ctx.addIssue({ code: 'custom', message: 'olderThan must be a duration such as 30s, 2m, 1h or 7d, at most 3650d' });
      return z.NEVER;
    }
    return ms;
  });

/** The list parameters of the contract, plus the saga's state (default Pending) and a minimum age. */
export const sagaListParams = listParams.extend({
  status: z.enum(['Pending', 'Approved', 'Rejected', 'TimedOut'], { error: 'status must be Pending, Approved, Rejected or TimedOut' }).default('Pending'),
  olderThan: olderThan.default(0),
});

export const ListSagas = defineQuery('ListSagas', sagaListParams).returning<ListPage<'sagas', SagaJson>>();
export const GetOrderHistory = defineQuery('GetOrderHistory', z.object({ orderID: uuid })).returning<HistoryJson>();

/** Sagas in one state created at least `olderThan` ago, oldest first: "which orders are stuck, and since when?" */
@injectable()
export class ListSagasHandler implements Handler<typeof ListSagas> {
  constructor(
    @inject(TOKENS.SagaReads) private readonly reads: SagaReads,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  async handle(params: PayloadOf<typeof ListSagas>): Promise<ListPage<'sagas', SagaJson>> {
    const now = this.clock();
    const { rows, total } = await this.reads.page({ status: params.status, createdBy: new Date(now.getTime() - params.olderThan) }, params);
    return listPage('sagas', rows.map((row) => toSagaJson(row, now)), total, params);
  }
}

/**
 * One order's timeline from what the service stores: its saga, each event with its state in the outbox, each
 * recorded reply, the timeout if it fired, and what retention has already removed. Any order, in any state.
 */
@injectable()
export class GetOrderHistoryHandler implements Handler<typeof GetOrderHistory> {
  constructor(
    @inject(TOKENS.SagaReads) private readonly reads: SagaReads,
    @inject(TOKENS.Config) private readonly config: Config,
  ) {}

  async handle({ orderID }: PayloadOf<typeof GetOrderHistory>): Promise<HistoryJson> {
    const history = await this.reads.history(orderID);
    if (!history) throw new NotFoundError('order not found', orderID);
    return toHistoryJson(history, {
      outboxRetentionMs: this.config.OUTBOX_RETENTION,
      replyRetentionMs: this.config.SAGA_REPLY_RETENTION,
      repliesPerOrder: MAX_RECORDED_REPLIES,
    });
  }
}
