import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, settled, startSagaHarness, type SagaHarness } from './saga-helpers.js';
import { expect204, orderBody } from '../support/fixtures.js';
import { decide, type SimRule } from '../../src/tools/customer-sim-rules.js';

let h: SagaHarness;
let sim: ChildProcess | undefined;
let output = '';
beforeAll(async () => {
  h = await startSagaHarness();
});
afterAll(async () => {
  // Only if the test failed before stopping it: the whole process group (npx, tsx, node).
  if (sim && sim.exitCode === null && sim.signalCode === null) process.kill(-sim.pid!, 'SIGKILL');
  await h?.close();
});

/** The simulator as a user runs it: its own process, talking to the service's vhost only through RabbitMQ. */
function startSimulator(args: string[]): ChildProcess {
  const child = spawn('npx', ['tsx', 'src/tools/customer-sim.ts', ...args], {
    env: { ...process.env, AMQP_URL: h.t.amqpUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return child;
}

describe('customer-service simulator', () => {
  it('when it answers 100 orders with a seeded percentage, then each order ends as the rule decides, and Ctrl-C prints the totals', async () => {
    const rule: SimRule = { kind: 'percent', approvePercent: 70, seed: 7 };
    sim = startSimulator(['--rule', 'percent', '--approve', '70', '--seed', '7']);
    const exited = once(sim, 'exit');

    const orderIds: string[] = [];
    for (let chunk = 0; chunk < 10; chunk++) {
      const bodies = Array.from({ length: 10 }, () => orderBody(h.catalog));
      await Promise.all(bodies.map((body) => expect204(h.t.http.post('/api/v1/orders').send(body))));
      orderIds.push(...bodies.map((body) => body.orderID));
    }
    const statuses = async () => {
      const { rows } = await h.db.query<{ id: string; saga_status: string }>('SELECT id, saga_status FROM orders WHERE id = ANY($1::uuid[])', [orderIds]);
      return new Map(rows.map((row) => [row.id, row.saga_status]));
    };
    await eventually('every saga to end', async () => {
      const now = await statuses();
      return now.size === orderIds.length && [...now.values()].every((status) => status !== 'Pending');
    }, 120_000);

    const expected = new Map(orderIds.map((id) => [id, decide(rule, { orderId: id }) === 'Approved' ? 'Approved' : 'Rejected']));
    expect(await statuses()).toEqual(expected);
    const approved = orderIds.filter((id) => expected.get(id) === 'Approved');
    expect(approved.length).toBeGreaterThan(0);
    expect(approved.length).toBeLessThan(100);
    for (const id of orderIds) {
      await settled(h, id);
      const types = h.events.of(id).map((e) => e.eventType);
      expect(types).toEqual(expected.get(id) === 'Approved'
        ? ['OrderCreateSaga', 'OrderAddProduct', 'OrderAddProduct', 'OrderCreated']
        : ['OrderCreateSaga', 'OrderCanceled']);
      expect((await h.t.http.get(`/api/v1/orders/${id}`)).status).toBe(expected.get(id) === 'Approved' ? 200 : 404);
    }

    // Ctrl-C in a terminal signals the whole foreground process group; npx itself passes nothing on.
    process.kill(-sim.pid!, 'SIGINT');
    await exited;
    expect(output).toContain(`customer-sim stopped: requests 100  approved ${approved.length}  rejected ${100 - approved.length}`);
  }, 240_000);

  it('when the arguments are wrong, then it says what is wrong and exits with status 2', async () => {
    const child = startSimulator(['--rule', 'percent']);
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(text).toMatch(/--approve/);
    expect(text).toMatch(/usage: npm run customer-sim/);
  });
});
