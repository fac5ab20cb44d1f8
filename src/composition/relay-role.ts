import type { Service } from './service.js';
import type { RunningRole } from './roles.js';
import { RabbitPublisher } from '../platform/messaging/rabbitmq-publisher.js';
import { amqpUser } from '../platform/messaging/amqp-url.js';
import { startCronJobs } from '../platform/scheduling/cron-jobs.js';
import { OutboxListener } from '../outbox/outbox-listener.js';
import { refreshOutboxGauges } from '../outbox/outbox-maintenance.js';
import { OutboxRelay } from '../outbox/relay.js';

// Two batches in flight: the broker's confirms (most of a batch's time) overlap the next batch's claim and
// marking, both for a backlog (throughput) and for rows committed while a batch is out (latency).
// bench/relay-throughput.ts, 50,000 rows, 2 cores: one batch in flight 7,967 rows/s, two 9,421, three 9,640.
const BATCHES_IN_FLIGHT = 2;

// The outbox gauges every 5 seconds, as Prometheus scrapes the service (configs/prometheus/prometheus.yml) and as
// the saga gauges run: a fresher value would never be seen. During a backlog the count reads every Ready row; at
// 50,000 Ready rows a run took PostgreSQL 70-87 ms, every second of a relay drain (bench/relay-throughput.ts).
const GAUGES_CRON = '*/5 * * * * *';

/** What the relay role runs; tests reach in to drain on demand. */
export interface RunningRelay extends RunningRole {
  relay: OutboxRelay;
  /** One sweep on demand: drain, then refresh the outbox gauges (what the one-second jobs do). */
  sweep(): Promise<void>;
}

/**
 * The relay role. Wake-ups: the in-process signal (commits in this process), LISTEN outbox_ready (commits in
 * other processes), the publisher becoming ready (after a reconnect), and a one-second sweep that bounds the
 * delay of anything the others missed. The outbox gauges are refreshed by a job of their own.
 */
export async function startRelayRole(service: Service): Promise<RunningRelay> {
  const { config, logger, metrics, database, rabbit, outboxSignal, outboxNotifier } = service;
  const publisher = new RabbitPublisher(rabbit, logger, config.DEPENDENCY_TIMEOUT, amqpUser(config.AMQP_URL));
  const relay = new OutboxRelay(database, publisher, metrics, logger, {
    batchSize: config.OUTBOX_BATCH_SIZE,
    maxAttempts: config.OUTBOX_MAX_ATTEMPTS,
    timeoutMs: config.DEPENDENCY_TIMEOUT,
    concurrency: BATCHES_IN_FLIGHT,
  });
  publisher.on('ready', () => relay.wake());
  await publisher.start();
  const stopHearing = outboxSignal.onReady(() => relay.wake());
  outboxNotifier.setLocalRelay(true);
  const listener = new OutboxListener(config.DATABASE_LISTEN_URL, logger, config.DEPENDENCY_TIMEOUT, () => relay.wake(), () => outboxNotifier.backendPid);
  await listener.start();

  const sweep = async () => {
    await relay.drain();
    await refreshOutboxGauges(database, metrics);
  };
  // Two jobs, so a long drain (a backlog) does not leave the gauges stale while it runs.
  const jobs = startCronJobs(
    [
      { name: 'outbox-relay-sweep', cron: '* * * * * *', run: () => relay.drain() },
      { name: 'outbox-gauges', cron: GAUGES_CRON, run: () => refreshOutboxGauges(database, metrics) },
    ],
    logger,
  );
  relay.wake();
  metrics.outboxRelaySlots.inc(BATCHES_IN_FLIGHT);

  let stopped: Promise<void> | undefined;
  return {
    name: 'relay',
    relay,
    sweep,
    stop() {
      stopped ??= (async () => {
        stopHearing();
        outboxNotifier.setLocalRelay(false);
        await relay.stop();
        metrics.outboxRelaySlots.dec(BATCHES_IN_FLIGHT);
        await jobs.stop();
        await listener.close();
        await publisher.close();
      })();
      return stopped;
    },
  };
}
