import { setTimeout as sleep } from 'node:timers/promises';
import { answeredAsExpected, countsSince, formatStatuses } from '../support/load.js';
import { startBroker, stopBroker } from '../support/outages.js';
import { ReadProbe } from '../support/reads.js';
import type { StepDefinition } from '../support/step-harness.js';

const OUTAGE_MS = 30_000;

/**
 * Broker outage: RabbitMQ's application stopped for 30 s during the load (every vhost on the machine). Writes
 * must keep answering 204 and reads 200 (the outbox keeps the events, the projection answers as it was); after
 * start_app the backlog drains and the end checks hold. Orders whose saga request could not go out for longer
 * than the saga timeout end TimedOut, which is the contract's answer to a customer service that never replied.
 */
export const brokerOutageStep: StepDefinition = {
  name: 'broker-outage',
  rate: Number(process.env.FAULTS_OUTAGE_RATE ?? 100),
  total: Number(process.env.FAULTS_BROKER_ORDERS ?? 6_000),
  users: 100,
  async fault(ctx) {
    const reads = new ReadProbe(ctx.livePorts, ctx.catalog.users.map((user) => user.id), ctx.env.pool, 2);
    reads.start();
    try {
      await sleep(10_000);
      const before = new Map(ctx.load.stats.byStatus);
      const stopping = Date.now();
      ctx.log('rabbitmqctl stop_app');
      await stopBroker();
      const stopped = Date.now();
      ctx.log('RabbitMQ stopped');
      await sleep(OUTAGE_MS);
      const starting = Date.now();
      ctx.log('rabbitmqctl start_app');
      await startBroker();
      ctx.log('RabbitMQ started');
      const during = countsSince(ctx.load.stats.byStatus, before);
      ctx.notes.push(
        `RabbitMQ stop_app took ${((stopped - stopping) / 1000).toFixed(1)} s, down ${((starting - stopped) / 1000).toFixed(1)} s, ` +
          `start_app took ${((Date.now() - starting) / 1000).toFixed(1)} s; order answers meanwhile ${formatStatuses(during)}`,
      );
      // Writes do not touch RabbitMQ: 204 (stop_app's own CPU burst may cost a few 503s, see answeredAsExpected).
      if (!answeredAsExpected(during, '204')) ctx.problems.push(`writes during the broker outage answered ${formatStatuses(during)}`);
    } finally {
      await startBroker();
      await reads.stop();
    }
    ctx.notes.push(`reads during the step: ${reads.stats.reads}, answers ${formatStatuses(reads.stats.byStatus)}`);
    if (!answeredAsExpected(reads.stats.byStatus, '200')) ctx.problems.push(`reads answered ${formatStatuses(reads.stats.byStatus)}`);
  },
};
