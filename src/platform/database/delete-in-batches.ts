import type { Database } from './database.js';
import type { Sql } from './sql.js';

/**
 * Runs a bounded DELETE (one batch of at most `batchSize` rows, RETURNING one row per row deleted) until a batch
 * comes back short or `maxBatches` ran: short statements that never hold many locks, and a large backlog is worked
 * off over several runs. Returns how many rows were deleted.
 */
export async function deleteInBatches(database: Database, batch: Sql, batchSize: number, maxBatches: number): Promise<number> {
  let deleted = 0;
  for (let run = 0; run < maxBatches; run++) {
    const rows = await database.run('statement', (unit) => unit.write(batch));
    deleted += rows.length;
    if (rows.length < batchSize) break;
  }
  return deleted;
}
