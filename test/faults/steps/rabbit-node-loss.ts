import { setTimeout as sleep } from 'node:timers/promises';
import { queueArguments } from '../../../src/platform/messaging/queue-type.js';
import { answeredAsExpected, countsSince, formatStatuses } from '../support/load.js';
import { RabbitCluster } from '../support/rabbit-cluster.js';
import type { StepBroker } from '../support/environment.js';
import type { StepDefinition } from '../support/step-harness.js';

const DOWN_MS = 30_000;
/** The queues whose leader matters: the service's events, the saga's requests and its replies. */
const LIVE_QUEUES = ['Orders', 'OrderSaga', 'CustomerSaga'];

let cluster: RabbitCluster | undefined;
let vhost: string | undefined;

/**
 * Node loss: the step's own 3-node RabbitMQ cluster (started on this machine, stopped at the end), every process
 * with the three nodes in AMQP_URL and QUEUE_TYPE=quorum. Under a steady load, the node that leads most of the live
 * queues (the one the processes connected to first, where the queues were declared) is killed; 30 s later the load
 * goes on with the other two, to the end of the step. Nothing acknowledged may be lost, every approved order's
 * events are published and applied once each, in order, and the outbox drains: the end checks of every step.
 */
export const rabbitNodeLossStep: StepDefinition = {
  name: 'rabbit-node-loss',
  rate: Number(process.env.FAULTS_NODE_LOSS_RATE ?? 40),
  total: Number(process.env.FAULTS_NODE_LOSS_ORDERS ?? 2_800),
  users: 50,
  async broker(): Promise<StepBroker> {
    const started = Date.now();
    cluster = await RabbitCluster.start(3);
    console.log(`[faults] rabbit-node-loss: cluster ${cluster.nodes.map((node) => `${node.name} :${node.amqpPort}`).join(', ')} up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const own = cluster;
    return {
      async createVhost() {
        const created = await own.createVhost();
        vhost = created.name;
        return created;
      },
      env: { QUEUE_TYPE: 'quorum' },
      captureQueue: queueArguments('quorum', undefined),
      async stop() {
        await own.stop();
        cluster = undefined;
      },
    };
  },
  async fault(ctx) {
    if (!cluster || !vhost) throw new Error('the step runs on its own cluster');
    const loadStarted = Date.now();
    await sleep(10_000);
    const leaders = await cluster.leaders(vhost);
    const victim = await cluster.leaderOf(vhost, LIVE_QUEUES);
    ctx.notes.push(`leaders before: ${LIVE_QUEUES.map((queue) => `${queue} on ${leaders[queue]}`).join(', ')}`);
    const before = new Map(ctx.load.stats.byStatus);
    const killedAt = Date.now();
    ctx.log(`SIGKILL ${victim.name}`);
    await cluster.kill(victim);
    await sleep(DOWN_MS);
    const during = countsSince(ctx.load.stats.byStatus, before);
    const after = await cluster.leaders(vhost);
    ctx.notes.push(
      `killed ${victim.name} at ${((killedAt - loadStarted) / 1000).toFixed(1)} s of the load; the 30 s after: order answers ${formatStatuses(during)}; ` +
        `leaders then: ${LIVE_QUEUES.map((queue) => `${queue} on ${after[queue]}`).join(', ')}; the cluster runs on without it to the end`,
    );
    // Writes never wait for RabbitMQ (the outbox takes the events), so losing a node must not show in the answers.
    if (!answeredAsExpected(during, '204')) ctx.problems.push(`writes while the node was gone answered ${formatStatuses(during)}`);
    if (LIVE_QUEUES.some((queue) => after[queue] === victim.name)) ctx.problems.push(`a queue is still led by the killed node: ${JSON.stringify(after)}`);
  },
};
