import { describe, expect, it } from 'vitest';
import type { OutgoingMessage, PublishOutcome } from '../../src/platform/messaging/rabbitmq-publisher.js';
import type { ClaimedRow } from '../../src/outbox/persistence/relay-cycle.js';
import { publishInSequence } from '../../src/outbox/publish-in-sequence.js';

/**
 * The claim returns an order's rows in no promised order (its heads first, then their runs); publishInSequence
 * must hand the publisher each order's rows as one run in sequence, or an order's events would overtake each other.
 */

function row(aggregateId: string, sequence: number, id: number): ClaimedRow {
  return {
    id,
    eventId: `${aggregateId}-${sequence}`,
    aggregateId,
    sequence,
    exchange: 'Orders',
    routingKey: 'Order.Test',
    eventType: 'OrderTestEvent',
    body: '{}',
    correlationId: null,
    attempts: 0,
    createdAtMs: 0,
    readyAtMs: 0,
    traceparent: null,
    tracestate: null,
    baggage: null,
  };
}

/** Records the runs it is given and confirms every row. */
class RecordingPublisher {
  runs: string[][] = [];

  async publishRuns<T extends { readonly exchange: string }>(runs: readonly (readonly T[])[], toMessage: (item: T) => OutgoingMessage): Promise<Map<T, PublishOutcome>> {
    this.runs = runs.map((run) => run.map((item) => toMessage(item).messageId));
    return new Map(runs.flat().map((item) => [item, { ok: true, confirmedAt: 0 }]));
  }
}

const toMessage = (claimed: ClaimedRow): OutgoingMessage => ({
  traceHeaders: {},
  exchange: claimed.exchange,
  routingKey: claimed.routingKey,
  body: Buffer.from(claimed.body),
  messageId: claimed.eventId,
  sequence: claimed.sequence,
  type: claimed.eventType,
  timestamp: 0,
  correlationId: null,
});

describe('publishing claimed rows in sequence', () => {
  it('when the claim returns heads first and the runs after them, out of sequence, then each order is one run in sequence, oldest head first', async () => {
    const publisher = new RecordingPublisher();
    const claimed = [row('b', 4, 10), row('a', 1, 11), row('a', 3, 13), row('b', 6, 16), row('a', 2, 12), row('b', 5, 15)];

    const outcomes = await publishInSequence(publisher, claimed, toMessage);

    expect(publisher.runs).toEqual([
      ['b-4', 'b-5', 'b-6'],
      ['a-1', 'a-2', 'a-3'],
    ]);
    expect([...outcomes.keys()].map((claimedRow) => claimedRow.id).sort((x, y) => x - y)).toEqual([10, 11, 12, 13, 15, 16]);
  });
});
