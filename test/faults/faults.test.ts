import { afterAll, describe, expect, it } from 'vitest';
import { runStep, type StepDefinition } from './support/step-harness.js';
import { countLine, summaryTable } from './support/report.js';
import { ensurePostgres, ensureRedis, startBroker } from './support/outages.js';
import { crashStep } from './steps/crash.js';
import { brokerOutageStep } from './steps/broker-outage.js';
import { redisOutageStep } from './steps/redis-outage.js';
import { postgresOutageStep } from './steps/postgres-outage.js';
import { redisClusterFailoverStep } from './steps/redis-cluster-failover.js';
import { rabbitNodeLossStep } from './steps/rabbit-node-loss.js';

// The service as real OS processes (two with every role, or the processes a step names) against the real servers,
// under load, while something fails. The outage steps stop servers that the whole machine shares: `make faults`
// runs this file alone, and its steps one after the other (one file, so vitest never runs two of them at once).
// The Redis Cluster step starts a cluster of its own and stops only that.

afterAll(async () => {
  // Whatever a step left behind, the machine's servers are running again for whoever comes next.
  await Promise.allSettled([startBroker(), ensureRedis(), ensurePostgres()]);
  console.log(summaryTable());
});

async function passes(step: StepDefinition): Promise<void> {
  const report = await runStep(step);
  expect(report.problems, countLine(report)).toEqual([]);
  expect({ lost: report.lost, duplicated: report.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  expect(report.acknowledged).toBeGreaterThan(0);
}

describe('faults', () => {
  it('when service processes are SIGKILLed and restarted under load, then nothing acknowledged is lost and nothing is applied twice', () => passes(crashStep));
  it('when RabbitMQ stops for 30 s under load, then the API keeps answering and the backlog drains afterwards', () => passes(brokerOutageStep));
  it('when Redis goes away and comes back empty, then reads fall back to PostgreSQL and the projection catches up', () => passes(redisOutageStep));
  it('when a master of a Redis Cluster is killed under read load, then reads fall back to PostgreSQL with the same lists until its replica takes over, and the projection ends equal to PostgreSQL', () => passes(redisClusterFailoverStep));
  it('when PostgreSQL connections are terminated and the server restarts, then requests get 503 and the service recovers by itself', () => passes(postgresOutageStep));
  // Its own 3-node cluster on this machine: the machine's RabbitMQ is not touched.
  it('when the RabbitMQ node leading the quorum queues is killed under load, then the service fails over and nothing acknowledged is lost or applied twice', () => passes(rabbitNodeLossStep));
});
