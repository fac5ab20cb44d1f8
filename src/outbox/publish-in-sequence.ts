import type { OutgoingMessage, PublishOutcome, RabbitPublisher } from '../platform/messaging/rabbitmq-publisher.js';
import type { ClaimedRow } from './persistence/relay-cycle.js';

/**
 * Publishes claimed rows so that each order's rows reach the broker in sequence and a row goes out only once the
 * row before it (same order) is confirmed: each order's rows are a run, and the publisher sends a run's next row
 * from its predecessor's confirm. Orders do not wait for each other, so a cycle costs one confirm round trip per
 * row of its longest run, not one claim-publish-commit cycle per row, and no order waits for the slowest confirm of
 * another order's row (as whole waves, one row of every order at a time, made them).
 *
 * The outcomes are by row. A row whose predecessor failed is not sent and gets no outcome (absent from the map):
 * it stays Ready, its attempts untouched, behind the failed row that now backs off. Publishing it anyway would let
 * it overtake.
 */
export async function publishInSequence(
  publisher: Pick<RabbitPublisher, 'publishRuns'>,
  rows: ClaimedRow[],
  toMessage: (row: ClaimedRow) => OutgoingMessage,
  confirmed?: (row: ClaimedRow) => void,
): Promise<Map<ClaimedRow, PublishOutcome>> {
  return publisher.publishRuns(runsByOrder(rows), toMessage, confirmed);
}

/** The rows of each order in sequence (the claim returns them unsorted), orders in the order their first row appears: oldest head first. */
function runsByOrder(rows: ClaimedRow[]): ClaimedRow[][] {
  const runs = new Map<string, ClaimedRow[]>();
  for (const row of rows) {
    const run = runs.get(row.aggregateId);
    if (run) run.push(row);
    else runs.set(row.aggregateId, [row]);
  }
  // A run usually comes back in sequence already (the claim reads it by index): sort only the others.
  return [...runs.values()].map((run) => (inSequence(run) ? run : run.sort((a, b) => a.sequence - b.sequence)));
}

function inSequence(run: ClaimedRow[]): boolean {
  for (let index = 1; index < run.length; index++) if (run[index - 1]!.sequence > run[index]!.sequence) return false;
  return true;
}
