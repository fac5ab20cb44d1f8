import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { z } from 'zod';

/**
 * The one batch of a queue migration that may be half done: read from `source` (not yet acked there), being
 * copied to `target`. Written to disk before the first copy is published and removed once the originals are acked,
 * so that a migration killed in between knows, when run again, which copies already exist (message-move.ts).
 */
const batchSchema = z.object({
  /** Which broker and vhost: a journal is never applied to another one. */
  broker: z.string(),
  source: z.string(),
  target: z.string(),
  /** Ready messages in each queue just before the batch was taken. */
  sourceBefore: z.number().int().min(0),
  targetBefore: z.number().int().min(0),
  /** The batch's messages, in the order they were published to the target. */
  fingerprints: z.array(z.string()).min(1),
});
export type JournalBatch = z.infer<typeof batchSchema>;

export class MigrationJournal {
  constructor(readonly path: string) {}

  /** The pending batch, if a migration was interrupted; a file that is not a journal is an error, not ignored. */
  read(): JournalBatch | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = batchSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.path} is not a migration journal; move it away if it is not ours`);
    return parsed.data;
  }

  /** Durable before it returns: written to a file of its own, flushed, then renamed over the journal. */
  write(batch: JournalBatch): void {
    const temporary = `${this.path}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(batch));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
  }

  clear(): void {
    rmSync(this.path, { force: true });
  }
}
