import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../observability/logger.js';
import type { ScheduledJob } from './scheduled-job.js';

/**
 * Runs each job on its schedule, never two runs of one job at once (a run still going when the next is due
 * makes that one skip), logging failures instead of throwing. stop() waits for the runs in progress.
 */
export function startCronJobs(jobs: readonly ScheduledJob[], logger: Logger): { stop(): Promise<void> } {
  const inProgress = new Map<string, Promise<void>>();
  const tasks: ScheduledTask[] = jobs.map((job) =>
    cron.schedule(
      job.cron,
      () => {
        if (inProgress.has(job.name)) return;
        const run = job
          .run()
          .then(
            () => undefined,
            (error: unknown) => void logger.warn('scheduled job failed', { job: job.name, error: String(error) }),
          )
          .finally(() => inProgress.delete(job.name));
        inProgress.set(job.name, run);
      },
      // node-cron's own warnings (missed or overlapping ticks under load) are expected here: debug only.
      { name: job.name, noOverlap: true, logger: cronLogger(logger), suppressMissedWarning: true },
    ),
  );
  return {
    async stop() {
      await Promise.all(tasks.map((task) => task.destroy()));
      await Promise.all(inProgress.values());
    },
  };
}

function cronLogger(logger: Logger) {
  return {
    info: (message: string) => logger.debug(message, { source: 'node-cron' }),
    warn: (message: string) => logger.debug(message, { source: 'node-cron' }),
    error: (message: string | Error) => logger.error(String(message), { source: 'node-cron' }),
    debug: (message: string | Error) => logger.debug(String(message), { source: 'node-cron' }),
  };
}
