import { readFile } from 'node:fs/promises';
import { Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { ASYNCAPI_FILE, asyncApiFileText } from '../../src/tools/api-docs.js';

// /asyncapi.json as an AsyncAPI tool takes it, and docs/asyncapi.json kept equal to what the code builds.

/** Diagnostics as text, errors (0) and warnings (1) only: the parser's info and hints (2, 3) are advice. */
async function parseProblems(document: unknown): Promise<string[]> {
  const { diagnostics } = await new Parser().parse(JSON.stringify(document));
  return diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
}

interface AsyncApi {
  channels: Record<string, { address: string; messages: Record<string, unknown> }>;
  components: { messages: Record<string, { payload: { $ref: string } }> };
}
let t: TestService;
let served: AsyncApi;
beforeAll(async () => {
  t = await startTestService();
  served = (await t.http.get('/asyncapi.json')).body;
});
afterAll(() => t.close());

describe('the AsyncAPI document', () => {
  it('when the code builds it, then it is docs/asyncapi.json byte for byte (npm run api-docs writes that file)', async () => {
    expect(await readFile(ASYNCAPI_FILE, 'utf8')).toBe(asyncApiFileText());
  });

  it('when /asyncapi.json is fetched, then it is the committed document', async () => {
    expect(served).toEqual(JSON.parse(await readFile(ASYNCAPI_FILE, 'utf8')));
  });

  it('when @asyncapi/parser parses it, then there is no error and no warning', async () => {
    expect(await parseProblems(served)).toEqual([]);
  });

  it('when a payload refers to a schema that does not exist, then the parser reports it (the check above can fail)', async () => {
    const broken = structuredClone(served);
    broken.components.messages.OrderCreated!.payload = { $ref: '#/components/schemas/NoSuchEvent' };
    expect((await parseProblems(broken)).join('\n')).toMatch(/NoSuchEvent/);
  });

  it("when the contract's names are looked up, then each routing key, queue and dead-letter queue is a channel with its messages", () => {
    const channels = Object.fromEntries(Object.values(served.channels).map((channel) => [channel.address, Object.keys(channel.messages)]));
    expect(channels).toEqual({
      'Order.Saga.Create': ['OrderCreateSaga'],
      'Order.AddProduct': ['OrderAddProduct'],
      'Order.Create': ['OrderCreated'],
      'Order.Delete': ['OrderDeleted'],
      'Order.Cancel': ['OrderCanceled'],
      'Customer.Saga.Reply': ['SagaReply'],
      Orders: ['OrderAddProduct', 'OrderCreated', 'OrderDeleted', 'OrderCanceled'],
      OrderSaga: ['OrderCreateSaga'],
      CustomerSaga: ['SagaReply'],
      'Orders.dead': ['DeadLetter'],
      'CustomerSaga.dead': ['DeadLetter'],
    });
  });
});
