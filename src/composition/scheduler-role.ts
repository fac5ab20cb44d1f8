import type { Service } from './service.js';
import type { RunningRole } from './roles.js';
import { TOKENS } from '../tokens.js';
import { startCronJobs } from '../platform/scheduling/cron-jobs.js';
import type { ScheduledJob } from '../platform/scheduling/scheduled-job.js';

/**
 * The scheduler role: every TOKENS.ScheduledJob on its schedule (outbox and inbox retention, saga timeouts).
 * The relay's one-second sweep is not one of them: it runs inside the relay role, because a sweep in another
 * process could only send a NOTIFY, and a lost NOTIFY is what the sweep is there to cover.
 */
export async function startSchedulerRole(service: Service): Promise<RunningRole> {
  const running = startCronJobs(service.container.resolveAll<ScheduledJob>(TOKENS.ScheduledJob), service.logger);
  return { name: 'scheduler', stop: running.stop };
}
