/**
 * Runs a bounded DELETE (one batch of at most `batchSize` rows) until a batch comes back short or `maxBatches`
 * ran: short statements that never hold many locks, and a large backlog is worked off over several runs.
 * Returns how many rows were deleted.
 */
export async function deleteInBatches(deleteBatch: () => Promise<number>, batchSize: number, maxBatches: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const count = await deleteBatch();
    deleted += count;
    if (count < batchSize) break;
  }
  return deleted;
}
