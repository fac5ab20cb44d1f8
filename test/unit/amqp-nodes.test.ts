import { describe, expect, it } from 'vitest';
import type { ConsumeMessage } from 'amqplib';
import { amqpUser, parseAmqpNodes, redactAmqpUrl } from '../../src/platform/messaging/amqp-url.js';
import { NodeRotation, ROUND_BACKOFF } from '../../src/platform/messaging/node-rotation.js';
import { DeliveryCounter } from '../../src/platform/messaging/delivery-count.js';
import { parseConfig } from '../../src/config.js';

const THREE = 'amqp://orders:s3cret@rabbit-1:5672/orders,amqp://orders:s3cret@rabbit-2:5673/orders,amqp://orders:s3cret@rabbit-3:5674/orders';

describe('AMQP_URL with several nodes', () => {
  it('when it names one node, then that is the only node', () => {
    expect(parseAmqpNodes('amqp://guest:guest@127.0.0.1:5672')).toEqual({ ok: true, nodes: [{ url: 'amqp://guest:guest@127.0.0.1:5672', label: 'amqp://127.0.0.1:5672' }] });
  });

  it('when it names three nodes separated by commas, then each is a node in that order, labelled without its password', () => {
    const result = parseAmqpNodes(THREE);
    expect(result.ok && result.nodes.map((node) => node.label)).toEqual(['amqp://rabbit-1:5672/orders', 'amqp://rabbit-2:5673/orders', 'amqp://rabbit-3:5674/orders']);
    expect(JSON.stringify(result.ok && result.nodes.map((node) => node.label))).not.toContain('s3cret');
  });

  it('when a password holds a comma, then the list is split only before the next amqp://', () => {
    const result = parseAmqpNodes('amqp://u:a,b@h1:5672,amqps://u:a,b@h2:5671');
    expect(result.ok && result.nodes.map((node) => node.url)).toEqual(['amqp://u:a,b@h1:5672', 'amqps://u:a,b@h2:5671']);
  });

  it('when the nodes log in as different users or to different vhosts, then the setting is refused', () => {
    expect(parseAmqpNodes('amqp://a:p@h1,amqp://b:p@h2')).toMatchObject({ ok: false, problem: expect.stringContaining('same user') });
    expect(parseAmqpNodes('amqp://a:p@h1/x,amqp://a:p@h2/y')).toMatchObject({ ok: false });
  });

  it('when a user or password holds a malformed %-escape, then the setting is refused naming the node, without the password', () => {
    for (const text of ['amqp://%zz:pw@h1', 'amqp://u:p%4@h1', 'amqp://u:ok@h1,amqp://u:s3cret%@h2']) {
      const result = parseAmqpNodes(text);
      expect(result).toMatchObject({ ok: false, problem: expect.stringMatching(/^node [12] has a user or password with a malformed %-escape/) });
      expect(JSON.stringify(result)).not.toMatch(/s3cret|pw|p%4/);
    }
  });

  it('when a part is not an amqp URL, or there are too many, then the setting is refused naming it', () => {
    expect(parseAmqpNodes('amqp://a@h1,http://h2')).toMatchObject({ ok: false });
    expect(parseAmqpNodes('rabbit-1:5672')).toMatchObject({ ok: false, problem: expect.stringContaining('node 1') });
    expect(parseAmqpNodes(Array.from({ length: 17 }, (_, i) => `amqp://h${i}`).join(','))).toMatchObject({ ok: false });
  });

  it('when the configuration is parsed, then a bad list names AMQP_URL, and QUEUE_TYPE defaults to quorum', () => {
    expect(() => parseConfig({ AMQP_URL: 'amqp://a@h1,amqp://b@h2' })).toThrow(/AMQP_URL names nodes with different users/);
    expect(parseConfig({ AMQP_URL: THREE }).QUEUE_TYPE).toBe('quorum');
    expect(() => parseConfig({ QUEUE_TYPE: 'stream' })).toThrow(/QUEUE_TYPE must be one of quorum, classic/);
  });

  it('when a list is redacted or its user asked for, then no password shows and the user is the first node\'s', () => {
    expect(redactAmqpUrl(THREE)).toBe('amqp://orders:***@rabbit-1:5672/orders,amqp://orders:***@rabbit-2:5673/orders,amqp://orders:***@rabbit-3:5674/orders');
    expect(amqpUser(THREE)).toBe('orders');
    expect(amqpUser('amqp://127.0.0.1')).toBe('guest');
  });
});

describe('node rotation', () => {
  const nodes = ['a', 'b', 'c'].map((name) => ({ url: `amqp://${name}`, label: name }));
  const half = () => 0.5;

  it('when nodes fail one after the other, then each is tried in turn and only a whole failed round pauses', () => {
    const rotation = new NodeRotation(nodes);
    const tried: string[] = [];
    const pauses: number[] = [];
    for (let i = 0; i < 9; i++) {
      tried.push(rotation.next().label);
      pauses.push(rotation.failed(half));
    }
    expect(tried).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    expect(pauses).toEqual([0, 0, 200, 0, 0, 400, 0, 0, 800]);
  });

  it('when rounds keep failing, then the pause stops growing at its cap, jittered within a quarter', () => {
    const rotation = new NodeRotation(nodes.slice(0, 1));
    const pauses = Array.from({ length: 12 }, () => (rotation.next(), rotation.failed(half)));
    expect(pauses.at(-1)).toBe(ROUND_BACKOFF.maxMs);
    expect(rotation.failed(() => 0)).toBe(ROUND_BACKOFF.maxMs * 0.75);
    expect(rotation.failed(() => 1)).toBe(ROUND_BACKOFF.maxMs * 1.25);
  });

  it('when a connection was made and later lost, then the next node is tried at once and the pause starts afresh', () => {
    const rotation = new NodeRotation(nodes);
    rotation.next();
    rotation.failed(half);
    expect(rotation.next().label).toBe('b');
    rotation.connected();
    // b died: c next, without waiting, then a; only after all three failed, the first pause again.
    expect([rotation.next().label, rotation.failed(half), rotation.next().label, rotation.failed(half), rotation.next().label, rotation.failed(half)]).toEqual(['c', 0, 'a', 0, 'b', 200]);
  });
});

describe('delivery count', () => {
  const message = (redelivered: boolean, headers: Record<string, unknown>) =>
    ({ fields: { redelivered }, properties: { messageId: 'm', headers }, content: Buffer.from('{}') }) as unknown as ConsumeMessage;

  it('when a quorum queue says how often it delivered a message, then that count is taken', () => {
    const counter = new DeliveryCounter({ brokerCounts: true });
    expect(counter.count(message(false, { 'x-delivery-count': 0 }))).toBe(1);
    expect(counter.count(message(true, { 'x-delivery-count': 14 }))).toBe(15);
  });

  it('when a publisher forges x-delivery-count on a classic queue, or sends one that is no count, then it is ignored', () => {
    const classic = new DeliveryCounter({ brokerCounts: false });
    expect(classic.count(message(false, { 'x-delivery-count': 50 }))).toBe(1);
    const quorum = new DeliveryCounter({ brokerCounts: true });
    for (const forged of ['50', -3, 1.5, { '!': 'decimal' }, Number.NaN]) expect(quorum.count(message(false, { 'x-delivery-count': forged }))).toBe(1);
  });

  it('when a classic queue redelivers, then the process counts the redeliveries itself', () => {
    const counter = new DeliveryCounter({ brokerCounts: false });
    expect([1, 2, 3].map(() => counter.count(message(true, {})))).toEqual([2, 3, 4]);
  });
});
