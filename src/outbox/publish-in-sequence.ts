import type { OutgoingMessage, PublishOutcome, RabbitPublisher } from '../platform/messaging/rabbitmq-publisher.js';
import type { ClaimedRow } from './persistence/relay-cycle.js';

/**
 * Publishes claimed rows so that each order's rows reach the broker in sequence and a row goes out only once the
 * row before it (same order) is confirmed. Rows are sent in waves: the first row of every order at once, then
 * the second row of every order whose first was confirmed, and so on, so a cycle costs one confirm round trip
 * per row of the longest run, not one claim-publish-commit cycle per row.
 *
 * A row whose predecessor failed is not sent and gets no outcome (absent from the map): it stays Ready, its
 * attempts untouched, behind the failed row that now backs off. Publishing it anyway would let it overtake.
 */
export async function publishInSequence(
  publisher: Pick<RabbitPublisher, 'publishBatch'>,
  rows: ClaimedRow[],
  toMessage: (row: ClaimedRow) => OutgoingMessage,
): Promise<Map<number, PublishOutcome>> {
  const outcomes = new Map<number, PublishOutcome>();
  const runs = runsByOrder(rows);
  for (let depth = 0; ; depth++) {
    const wave = runs.filter((run) => depth < run.length && (depth === 0 || outcomes.get(run[depth - 1]!.id)?.ok)).map((run) => run[depth]!);
    if (wave.length === 0) return outcomes;
    const results = await publisher.publishBatch(wave.map(toMessage));
    wave.forEach((row, index) => outcomes.set(row.id, results[index]!));
  }
}

/** The rows of each order in sequence, orders in the order their first row appears. */
function runsByOrder(rows: ClaimedRow[]): ClaimedRow[][] {
  const runs = new Map<string, ClaimedRow[]>();
  for (const row of rows) {
    const run = runs.get(row.aggregateId);
    if (run) run.push(row);
    else runs.set(row.aggregateId, [row]);
  }
  return [...runs.values()].map((run) => run.sort((a, b) => a.sequence - b.sequence));
}
