/**
 * A job of the scheduler role: a name for logs, a node-cron expression (6 fields = with seconds), the work.
 * Every process with the scheduler role runs every job, so a job must be safe to run in two processes at once
 * (SKIP LOCKED, conditional updates).
 */
export interface ScheduledJob {
  readonly name: string;
  readonly cron: string;
  run(): Promise<void>;
}
