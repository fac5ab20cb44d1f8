import { spawn } from 'node:child_process';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { declareTopology } from '../../src/platform/messaging/topology.js';

let t: TestService;
let model: ChannelModel;

beforeAll(async () => {
  t = await startTestService();
  model = await amqp.connect(t.amqpUrl);
  model.on('error', () => undefined);
  // What a deployment from before QUEUE_TYPE has: the whole topology as classic queues.
  expect(await declareTopology(model, 10_000, 'classic')).toEqual({ ok: true });
});
afterAll(async () => {
  await model?.close().catch(() => undefined);
  await t?.close();
});

const SENTENCE =
  'RabbitMQ queue Orders is a classic queue but QUEUE_TYPE is quorum: the service will not start until `npm run topology -- migrate` has moved its messages to quorum queues (or QUEUE_TYPE is set to classic).';

/** `node src/main.ts` with the test's database and vhost: its exit code and everything it printed. */
function runService(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DATABASE_URL: t.databaseUrl, AMQP_URL: t.amqpUrl, LOG_LEVEL: 'warn', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('a queue of the other type', () => {
  it('when the queues are classic and QUEUE_TYPE is quorum, then the service process exits with code 1 and the sentence naming npm run topology -- migrate', async () => {
    const { code, output } = await runService({ QUEUE_TYPE: 'quorum', ROLES: 'consumers,relay' });
    expect(code).toBe(1);
    expect(output).toContain(SENTENCE);
    expect(output).not.toContain('order service started');
  });

  it('when the queues are classic and QUEUE_TYPE is quorum, then the connection is refused with that sentence and never comes back', async () => {
    const rabbit = t.sibling({ QUEUE_TYPE: 'quorum' }).service.rabbit;
    await rabbit.start();
    await rabbit.firstRound(20_000);
    expect(rabbit.refused).toBe(SENTENCE);
    expect(rabbit.isConnected).toBe(false);
    await expect(rabbit.waitForConnection(1_000)).rejects.toThrow(SENTENCE);
    await rabbit.close();
  });

  it('when the queues are classic and QUEUE_TYPE is classic, then the service connects as before', async () => {
    const rabbit = t.sibling({ QUEUE_TYPE: 'classic' }).service.rabbit;
    await rabbit.start();
    await rabbit.waitForConnection(20_000);
    expect(rabbit.refused).toBeUndefined();
    await rabbit.close();
  });
});
