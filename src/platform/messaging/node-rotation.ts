import type { AmqpNode } from './amqp-url.js';

/** Pause after a whole round of nodes failed: doubles from the first value up to the second, with ±25% jitter. */
export const ROUND_BACKOFF = { initialMs: 200, maxMs: 5_000 } as const;

/**
 * The order in which a connection tries the nodes of AMQP_URL: in turn, starting after the node it last used, so
 * that after losing a node it goes to the next one at once rather than knocking on the one that just died. Once
 * every node failed in a row (a round), the caller waits `pauseMs()` before the next round; the pause grows with
 * each failed round and starts afresh after a connection.
 */
export class NodeRotation {
  private index = 0;
  private failuresInRound = 0;
  private failedRounds = 0;

  constructor(readonly nodes: readonly AmqpNode[]) {
    if (nodes.length === 0) throw new Error('no RabbitMQ node to connect to');
  }

  /** The node to try now. */
  next(): AmqpNode {
    const node = this.nodes[this.index % this.nodes.length]!;
    this.index = (this.index + 1) % this.nodes.length;
    return node;
  }

  /** A connection was made (and its setup ran): the next failure starts a new round. */
  connected(): void {
    this.failuresInRound = 0;
    this.failedRounds = 0;
  }

  /** An attempt failed; returns how long to wait before the next one (0 while the round has nodes left). */
  failed(random: () => number = Math.random): number {
    this.failuresInRound++;
    if (this.failuresInRound < this.nodes.length) return 0;
    this.failuresInRound = 0;
    this.failedRounds++;
    const base = Math.min(ROUND_BACKOFF.maxMs, ROUND_BACKOFF.initialMs * 2 ** (this.failedRounds - 1));
    return Math.round(base * (0.75 + random() / 2));
  }
}
