import type { Logger } from '../platform/observability/logger.js';
import type { Metrics } from '../platform/observability/metrics.js';
import type { Database } from '../platform/database/database.js';
import type { UnitOfWork } from '../platform/database/unit-of-work.js';
import type { OutgoingMessage, PublishOutcome, RabbitPublisher } from '../platform/messaging/rabbitmq-publisher.js';
import { claimRows, markFailed, markPublished, RELAY_PLANNER_SETTINGS, type ClaimedRow, type FailedRow, type RunEnd } from './persistence/relay-cycle.js';
import { publishInSequence } from './publish-in-sequence.js';
import { endRowTrace, inBatchSpan, rowTrace, type RowTrace } from './publish-tracing.js';
import { OutboxStatus } from './outbox-status.js';
import { retryDelayMs } from './retry-delay.js';

/** What the relay needs of a publisher (tests stand in for the broker with this). */
export type RelayPublisher = Pick<RabbitPublisher, 'isReady' | 'publishRuns'>;

export interface RelayOptions {
  batchSize: number;
  /** Failed attempts after which a row is parked. */
  maxAttempts: number;
  /** Bounds a batch's publishing and confirms (the publisher's timeout); the cycle is bounded as a unit of work (Database). */
  timeoutMs: number;
  /** Batches in flight at once (one claims and publishes while another awaits its confirms). */
  concurrency: number;
}

/** The rows a batch saw confirmed, while its transaction is open (ended: committed, rolled back or cut off). */
interface BatchConfirms {
  ids: number[];
  ended: boolean;
}

interface BatchResult {
  rows: ClaimedRow[];
  /** By row; a row without one was not sent because the row before it (same order) failed. */
  outcomes: Map<ClaimedRow, PublishOutcome>;
  failed: FailedRow[];
  /** Just before the failed rows were marked: each one's next attempt is its delay after this, or later. */
  failedAt: number;
  /** The tick just before the published rows were marked (0: none were). */
  markedAt: number;
  /** The mark saw a row released behind this batch's runs (see markPublished). */
  releasedBehind: boolean;
}

/**
 * Moves outbox rows to RabbitMQ: claims a batch, publishes it, waits for the confirms and marks the rows in the
 * same transaction, so a row is published (at least once) before it is marked, and a crash anywhere leaves it
 * Ready for the next try. Several relays (in this process or others) share the work through the claim query.
 *
 * Up to `concurrency` batches are in flight: a wake-up while one batch awaits its confirms starts another for
 * the rows committed since, instead of making them wait; beyond that, wake-ups coalesce into one more batch.
 * Per-order sequence does not depend on this: the claim query hands out an order's rows only to one relay at a
 * time, and publishInSequence sends each row only after the one before it is confirmed.
 */
export class OutboxRelay {
  private readonly workers = new Set<Promise<void>>();
  private pending = false;
  private stopped = false;
  /** Batches between their claim and their commit. */
  private batchesInFlight = 0;
  /** Counts marks and short claims, to tell which came first (see runBatch). */
  private ticks = 0;
  /** The tick at which the last claim that came back short while another batch was in flight returned. */
  private lastShortClaim = 0;
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;
  /**
   * Rows confirmed by the broker in batches not yet ended (committed or rolled back): this relay's claims count them
   * as finished (see claimRows), so the rows behind them go without waiting for those commits.
   */
  private readonly confirmedUnmarked = new Set<number>();

  constructor(
    private readonly database: Database,
    private readonly publisher: RelayPublisher,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {}

  /** Starts a batch now, or (all batch slots busy) one more after them. */
  wake(): void {
    if (this.stopped) return;
    if (this.workers.size >= this.options.concurrency) {
      this.pending = true;
      return;
    }
    this.startWorker();
  }

  /** Drains until nothing more is claimable at once, and resolves then (the sweep awaits this). */
  drain(): Promise<void> {
    this.wake();
    return this.whenIdle();
  }

  /** Lets the batches in flight finish (published and marked), then starts no other. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.whenIdle();
  }

  private whenIdle(): Promise<void> {
    if (this.workers.size === 0) return Promise.resolve();
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  private startWorker(): void {
    const worker = this.work().finally(() => {
      this.workers.delete(worker);
      if (this.pending && !this.stopped) {
        this.pending = false;
        this.startWorker();
      } else if (this.workers.size === 0) {
        this.idle?.resolve();
        this.idle = undefined;
      }
    });
    this.workers.add(worker);
  }

  /** Batches until one leaves nothing claimable at once; a backlog brings in the other batch slots. */
  private async work(): Promise<void> {
    try {
      for (let next = await this.runBatch(); !this.stopped && next !== 'done'; next = await this.runBatch()) {
        if (next === 'backlog' && this.workers.size < this.options.concurrency) this.startWorker();
      }
    } catch (error) {
      // The database or broker is in trouble: no tight retry loop; the next wake-up or the sweep tries again.
      this.logger.warn('outbox relay batch failed; will retry on the next wake-up or sweep', { error: String(error) });
    }
  }

  /**
   * One claim-publish-mark transaction, and what to do next: claim again at once because the claim was full
   * (`backlog`: more orders may be waiting), or because this commit unblocked rows that no claim could take while
   * this batch held the row before them (`recheck`); else `done`. The unit of work bounds the whole cycle (slow
   * confirms included): a hung socket ends it, its connection is destroyed and the rows' locks go with it.
   */
  private async runBatch(): Promise<'backlog' | 'recheck' | 'done'> {
    if (!this.publisher.isReady) return 'done';
    const othersInFlight = this.batchesInFlight > 0;
    this.batchesInFlight++;
    const batch: BatchConfirms = { ids: [], ended: false };
    let result: BatchResult;
    const started = performance.now();
    try {
      result = await this.database.run('transaction', (unit) => this.claimPublishMark(unit, batch), { localSettings: RELAY_PLANNER_SETTINGS });
    } finally {
      this.metrics.outboxRelayBusy.inc((performance.now() - started) / 1000);
      this.batchesInFlight--;
      // Committed (Published now) or rolled back (Ready again, to be claimed like any other row): no longer special.
      // A unit cut off by its bound leaves its work running: a confirm that comes after this must not count either.
      batch.ended = true;
      for (const id of batch.ids) this.confirmedUnmarked.delete(id);
    }
    this.record(result);
    if (orderCount(result.rows) >= this.options.batchSize) return 'backlog';
    // A wake-up waiting for a batch slot claims after this commit anyway (startWorker).
    const recheck = !this.pending && this.unblockedRows(result, othersInFlight);
    // Recorded after this batch's own check: it is for the batches beside this one.
    if (othersInFlight) this.lastShortClaim = ++this.ticks;
    return recheck ? 'recheck' : 'done';
  }

  /**
   * Whether this commit may have made rows claimable that no claim took: an approval's rows, released while this
   * batch held the row before them, are not claimable until it commits (or, for this relay, until that row's
   * confirm: a claim that began before it could not take them), and nothing else wakes the relay then. The mark
   * sees the ones released before it; a claim beside this batch that came back short after the mark began may have
   * begun before the confirm and missed one released later; and a short claim whose neighbours all committed while
   * it ran may have come back after their own checks.
   */
  private unblockedRows(result: BatchResult, othersInFlight: boolean): boolean {
    if (result.releasedBehind) return true;
    if (result.markedAt > 0 && this.lastShortClaim > result.markedAt) return true;
    return othersInFlight && this.batchesInFlight === 0;
  }

  /**
   * Claim, publish, mark: a row is marked published only after its confirm, in the transaction that claimed it.
   * Each row confirmed while the batch lasts goes into the relay's confirmedUnmarked as its confirm arrives, and
   * into the batch's ids, which the caller takes out of it again when the transaction ends.
   */
  private async claimPublishMark(unit: UnitOfWork, batch: BatchConfirms): Promise<BatchResult> {
    const phase = this.phaseTimer();
    const rows = await unit.read(claimRows(this.options.batchSize, [...this.confirmedUnmarked]));
    phase.ended('claim');
    if (rows.length === 0) return { rows, outcomes: new Map(), failed: [], failedAt: 0, markedAt: 0, releasedBehind: false };
    return inBatchSpan(rows, async () => {
      const outcomes = await this.publishTraced(rows, (row) => {
        if (batch.ended) return;
        batch.ids.push(row.id);
        this.confirmedUnmarked.add(row.id);
      });
      phase.ended('publish');
      const failed = this.failedRows(rows, outcomes);
      const failedAt = Date.now();
      const published = rows.filter((row) => outcomes.get(row)?.ok).map((row) => row.id);
      // The batch's last statement goes out with its COMMIT, in one round trip.
      if (published.length === 0) {
        if (failed.length > 0) await unit.writeAndCommit(markFailed(failed));
        phase.ended('commit');
        return { rows, outcomes, failed, failedAt, markedAt: 0, releasedBehind: false };
      }
      if (failed.length > 0) await unit.write(markFailed(failed));
      const markedAt = ++this.ticks;
      const [mark] = await unit.writeAndCommit(markPublished(published, runEnds(rows)));
      phase.ended('commit');
      return { rows, outcomes, failed, failedAt, markedAt, releasedBehind: mark?.releasedBehind === true };
    });
  }

  /** Times a batch's phases one after another (outbox_relay_batch_phase_seconds); a phase that throws is not recorded. */
  private phaseTimer(): { ended(phase: 'claim' | 'publish' | 'commit'): void } {
    let since = performance.now();
    return {
      ended: (phase) => {
        const now = performance.now();
        this.metrics.outboxRelayBatchPhase.observe({ phase }, (now - since) / 1000);
        since = now;
      },
    };
  }

  /** Publishes in sequence, each row with its trace (a span of its own when tracing is on, ended at its confirm). */
  private async publishTraced(rows: ClaimedRow[], confirmed: (row: ClaimedRow) => void): Promise<Map<ClaimedRow, PublishOutcome>> {
    /** The rows' spans (none with tracing off), ended with their outcomes. */
    const spans = new Map<ClaimedRow, RowTrace>();
    const toTracedMessage = (row: ClaimedRow) => {
      const traced = rowTrace(row);
      if (traced.span) spans.set(row, traced);
      return toMessage(row, traced);
    };
    const outcomes = await publishInSequence(this.publisher, rows, toTracedMessage, confirmed);
    for (const [row, traced] of spans) endRowTrace(traced, outcomes.get(row));
    return outcomes;
  }

  private failedRows(rows: ClaimedRow[], outcomes: Map<ClaimedRow, PublishOutcome>): FailedRow[] {
    const failed: FailedRow[] = [];
    rows.forEach((row) => {
      const outcome = outcomes.get(row);
      if (!outcome || outcome.ok) return;
      const parked = row.attempts + 1 >= this.options.maxAttempts;
      failed.push({
        id: row.id,
        status: parked ? OutboxStatus.Parked : OutboxStatus.Ready,
        delayMs: retryDelayMs(row.attempts + 1),
        error: `${outcome.reason}: ${outcome.error}`,
      });
    });
    return failed;
  }

  /** Metrics and logs, once the marks are committed. */
  private record({ rows, outcomes, failed, failedAt }: BatchResult): void {
    let published = 0;
    rows.forEach((row) => {
      const outcome = outcomes.get(row);
      if (!outcome) return;
      if (outcome.ok) {
        published++;
        this.metrics.outboxPublishLatency.observe(Math.max(0, outcome.confirmedAt - row.readyAtMs) / 1000);
      } else {
        this.metrics.outboxPublishFailures.inc({ reason: outcome.reason });
      }
    });
    if (published > 0) this.metrics.outboxPublished.inc(published);
    if (failed.length === 0) return;
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const row of failed) {
      const claimed = byId.get(row.id)!;
      const fields = { eventId: claimed.eventId, orderId: claimed.aggregateId, eventType: claimed.eventType, attempts: claimed.attempts + 1, reason: row.error };
      if (row.status === OutboxStatus.Parked) {
        this.logger.warn('outbox row parked after its last attempt; `npm run outbox -- retry-parked` puts it back', fields);
      } else {
        // retryAt: the earliest the next attempt can start (markFailed counts the delay from its own clock, later).
        this.logger.info('outbox publish failed; will retry', { ...fields, retryInMs: row.delayMs, retryAt: new Date(failedAt + row.delayMs).toISOString() });
      }
    }
  }
}

/** How many orders the rows belong to (a claim takes at most batchSize). */
function orderCount(rows: ClaimedRow[]): number {
  const orders = new Set<string>();
  for (const row of rows) orders.add(row.aggregateId);
  return orders.size;
}

/** Each order's last claimed sequence. */
function runEnds(rows: ClaimedRow[]): RunEnd[] {
  const last = new Map<string, number>();
  for (const row of rows) last.set(row.aggregateId, Math.max(last.get(row.aggregateId) ?? 0, row.sequence));
  return [...last].map(([aggregateId, sequence]) => ({ aggregateId, sequence }));
}

function toMessage(row: ClaimedRow, traced: RowTrace): OutgoingMessage {
  return {
    traceHeaders: traced.headers,
    traceContext: traced.context,
    exchange: row.exchange,
    routingKey: row.routingKey,
    body: Buffer.from(row.body),
    messageId: row.eventId,
    sequence: row.sequence,
    type: row.eventType,
    timestamp: Math.floor(row.createdAtMs / 1000),
    correlationId: row.correlationId,
  };
}
