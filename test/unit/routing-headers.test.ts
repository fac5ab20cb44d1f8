import type { GetMessage, MessageProperties } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { deadLetterCopyOptions } from '../../src/platform/messaging/dead-letter-copy.js';
import { replayOptions, type DeadLetter } from '../../src/platform/messaging/dead-letters.js';
import { copyOptions } from '../../src/platform/messaging/message-move.js';

// RabbitMQ routes a message by its CC and BCC headers too (sender-selected distribution), on any exchange: nothing
// the service publishes again may carry them, or it would reach queues besides the one it is meant for.

const properties = (headers: Record<string, unknown>) => ({ headers, messageId: 'm-1' }) as unknown as MessageProperties;
const ROUTING = { CC: ['CustomerSaga'], bcc: ['Orders'], Cc: 'Orders', kept: 'yes' };

describe('CC and BCC headers on what the service publishes again', () => {
  it('when a message is dead-lettered, then its copy carries them only as x-original-* headers', () => {
    const options = deadLetterCopyOptions({
      properties: properties(ROUTING),
      fields: { exchange: '', routingKey: 'CustomerSaga' },
      queue: 'CustomerSaga',
      reason: 'malformed_json',
      detail: 'x',
      copyId: 'c-1',
      now: new Date(0),
      userId: 'orders',
    });
    expect(options.headers).toMatchObject({ 'x-original-cc': 'Orders', 'x-original-bcc': ['Orders'], kept: 'yes' });
    expect(Object.keys(options.headers ?? {}).filter((name) => /^b?cc$/i.test(name))).toEqual([]);
  });

  it('when a dead letter is replayed or a message moved, then they are left off and every other header stays', () => {
    const letter = { message: { properties: properties(ROUTING) } } as unknown as DeadLetter;
    expect(replayOptions(letter, 'orders').headers).toEqual({ kept: 'yes' });
    const message = { properties: properties(ROUTING), content: Buffer.from('{}') } as unknown as GetMessage;
    expect(copyOptions(message, 'orders').headers).toEqual({ kept: 'yes' });
  });
});
