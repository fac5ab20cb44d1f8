import cron, { type ScheduledTask } from 'node-cron';
import type { Service } from './composition.js';
import type { RunningRole } from './roles.js';
import type { Logger } from './platform/observability/logger.js';
import { deletePublishedRows } from './outbox/outbox-maintenance.js';
import { runSagaTimeouts } from './orders/saga/saga-timeout-job.js';
import { deleteExpiredInboxRows } from './inbox/inbox-retention.js';

/** A job of the scheduler role: a name for logs, a node-cron expression (6 fields = with seconds), the work. */
export interface ScheduledJob {
  name: string;
  cron: string;
  run(service: Service): Promise<void>;
}

/**
 * The scheduler role's jobs. To add one, append it here. Every process with the scheduler role runs every job,
 * so a job must be safe to run in two processes at once (SKIP LOCKED, conditional updates).
 *
 * The relay sweep is not here: it runs inside the relay role (see outbox/relay-role.ts), because a sweep in
 * another process could only send a NOTIFY, and a lost NOTIFY is what the sweep is there to cover.
 */
export const SCHEDULED_JOBS: ScheduledJob[] = [
  {
    name: 'outbox-retention',
    cron: '0 * * * * *',
    async run({ database, config, logger }) {
      const deleted = await deletePublishedRows(database, config.OUTBOX_RETENTION);
      if (deleted > 0) logger.info('deleted published outbox rows past retention', { deleted, retentionMs: config.OUTBOX_RETENTION });
    },
  },
  {
    // Every second: SAGA_TIMEOUT is minutes in production but may be a second in tests and demos.
    name: 'saga-timeouts',
    cron: '* * * * * *',
    async run(service) {
      const timedOut = await runSagaTimeouts(service);
      if (timedOut > 0) service.logger.info('pending sagas timed out', { timedOut });
    },
  },
  {
    name: 'inbox-retention',
    cron: '30 * * * * *',
    async run({ database, logger, config }) {
      const deleted = await deleteExpiredInboxRows(database, config.INBOX_RETENTION);
      if (deleted > 0) logger.info('deleted inbox rows past retention', { deleted });
    },
  },
];

export async function startSchedulerRole(service: Service, jobs: ScheduledJob[] = SCHEDULED_JOBS): Promise<RunningRole> {
  const running = startCronJobs(
    jobs.map((job) => ({ name: job.name, cron: job.cron, run: () => job.run(service) })),
    service.logger,
  );
  return { name: 'scheduler', stop: running.stop };
}

export interface CronJob {
  name: string;
  cron: string;
  run(): Promise<unknown>;
}

/**
 * Runs each job on its schedule, never two runs of one job at once (a run still going when the next is due
 * makes that one skip), logging failures instead of throwing. stop() waits for the runs in progress.
 */
export function startCronJobs(jobs: CronJob[], logger: Logger): { stop(): Promise<void> } {
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
