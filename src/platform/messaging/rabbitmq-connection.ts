import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type ChannelModel } from 'amqplib';
import type { Logger } from '../observability/logger.js';
import { withTimeout } from '../with-timeout.js';
import { amqpNodes, type AmqpNode } from './amqp-url.js';
import { NodeRotation } from './node-rotation.js';

/** Runs after every (re)connection: declare topology, open channels, start consumers. */
export type ConnectionHook = (model: ChannelModel) => Promise<void>;

/** A connection that lived less than this before closing counts as a failed attempt (its node is not well). */
const SHORT_LIVED_MS = 1_000;
/** One hook may take this many DEPENDENCY_TIMEOUTs (the topology declares five queues, each bounded by one). */
const HOOK_TIMEOUTS = 3;

/**
 * One AMQP connection per process, to one node of AMQP_URL at a time. It reconnects by itself, to the next node in
 * turn (node-rotation.ts: every node once, then a growing pause, each attempt bounded by the timeout), after a node
 * stopped, a broker restart or a closed connection; the hooks run again on each new connection because channels and
 * consumers do not survive it. The service starts even while RabbitMQ is down (the outbox keeps the events).
 * A hook may refuse the broker it found (a topology of the other queue type): the connection then closes for good
 * and tells whoever listens, which for the service means not running at all.
 */
export class RabbitConnection {
  private current: ChannelModel | undefined;
  private currentNode: AmqpNode | undefined;
  private readonly hooks: ConnectionHook[] = [];
  private readonly refusalListeners: ((reason: string) => void)[] = [];
  private readonly rotation: NodeRotation;
  private refusal: string | undefined;
  /** Attempts that failed since start: the first round is over once every node had one. */
  private failedAttempts = 0;
  private running: Promise<void> | undefined;
  private closing = false;
  private readonly abort = new AbortController();

  constructor(
    url: string,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {
    this.rotation = new NodeRotation(amqpNodes(url));
  }

  /** Registers a hook; if already connected it also runs now, on the current connection. */
  async onConnect(hook: ConnectionHook): Promise<void> {
    this.hooks.push(hook);
    if (this.current) await hook(this.current);
  }

  /** Called with the reason once a hook refused the broker; the connection does not come back. */
  onRefused(listener: (reason: string) => void): void {
    this.refusalListeners.push(listener);
    if (this.refusal !== undefined) listener(this.refusal);
  }

  /** For a hook: this broker must not be used (the reason is one sentence for the operator). */
  refuse(reason: string): void {
    if (this.refusal !== undefined) return;
    this.refusal = reason;
    this.abort.abort();
    void this.current?.close().catch(() => undefined);
    for (const listener of this.refusalListeners) listener(reason);
  }

  get refused(): string | undefined {
    return this.refusal;
  }

  /** Starts connecting in the background; returns at once. */
  async start(): Promise<void> {
    this.running ??= this.keepConnected();
  }

  get isConnected(): boolean {
    return this.current !== undefined;
  }

  /** host:port of the node connected to now, for logs and tests. */
  get node(): string | undefined {
    return this.currentNode?.label;
  }

  /** Resolves once connected, or rejects after timeoutMs (at once when the broker was refused). */
  async waitForConnection(timeoutMs = this.timeoutMs): Promise<ChannelModel> {
    const deadline = Date.now() + timeoutMs;
    while (!this.current) {
      if (this.refusal !== undefined) throw new Error(this.refusal);
      if (!this.running) throw new Error('rabbitmq connection not started');
      if (Date.now() > deadline) throw new Error(`rabbitmq not connected within ${timeoutMs} ms`);
      await sleep(25);
    }
    return this.current;
  }

  /**
   * Resolves once the first round of attempts is over: connected (hooks done), refused, or every node tried and
   * failed. Bounded by timeoutMs. The start awaits it, so that a refusal comes before anything runs.
   */
  async firstRound(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.current && this.refusal === undefined && this.failedAttempts < this.rotation.nodes.length && Date.now() < deadline) await sleep(25);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.abort.abort();
    const model = this.current;
    this.current = undefined;
    await model?.close().catch(() => undefined);
    await this.running;
  }

  private get stopped(): boolean {
    return this.closing || this.refusal !== undefined;
  }

  private async keepConnected(): Promise<void> {
    while (!this.stopped) {
      const node = this.rotation.next();
      const connection = await this.connect(node);
      const livedMs = connection ? await this.use(connection, node) : 0;
      if (this.stopped) return;
      if (livedMs >= SHORT_LIVED_MS) {
        this.rotation.connected();
        continue;
      }
      this.failedAttempts++;
      const pauseMs = this.rotation.failed();
      if (pauseMs > 0) {
        this.logger.warn('no rabbitmq node answered; trying again', { nodes: this.rotation.nodes.map((n) => n.label), pause_ms: pauseMs });
        await sleep(pauseMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  /**
   * Connects to one node and runs the hooks on it; undefined when either failed (logged). `closed` is listened for
   * from the start, so that a connection lost while the hooks ran is not waited on for ever.
   */
  private async connect(node: AmqpNode): Promise<{ model: ChannelModel; closed: Promise<unknown> } | undefined> {
    let model: ChannelModel | undefined;
    try {
      model = await connectBounded(node, this.timeoutMs);
      // `once` also settles on an 'error' event, which amqplib emits before closing a connection it lost.
      const closed = once(model, 'close').catch((error: unknown) => [error]);
      model.on('error', (error: Error) => this.logger.warn('rabbitmq connection error', { node: node.label, error: this.scrub(error.message) }));
      for (const hook of this.hooks) {
        if (this.stopped) break;
        // Bounded: a consume on a quorum queue whose leader is being elected may wait; the next node may not.
        await withTimeout(hook(model), this.timeoutMs * HOOK_TIMEOUTS, 'setting up the connection');
      }
      if (!this.stopped) return { model, closed };
    } catch (error) {
      if (!this.stopped) this.logger.warn('rabbitmq node not usable', { node: node.label, error: this.scrub(String((error as Error)?.message ?? error)) });
    }
    await model?.close().catch(() => undefined);
    return undefined;
  }

  /** Serves the connection until it closes; returns how long it lived. */
  private async use({ model, closed }: { model: ChannelModel; closed: Promise<unknown> }, node: AmqpNode): Promise<number> {
    const since = Date.now();
    this.current = model;
    this.currentNode = node;
    this.logger.info('rabbitmq connected', { node: node.label });
    const [error] = ((await closed) ?? []) as [Error | undefined];
    if (this.current === model) this.current = undefined;
    this.currentNode = undefined;
    // Settled by an 'error', the connection may still be closing: make sure it is gone before the next one.
    await model.close().catch(() => undefined);
    if (!this.stopped) this.logger.warn('rabbitmq connection lost; reconnecting', { node: node.label, error: this.scrub(error?.message ?? 'closed') });
    return Date.now() - since;
  }

  /** Error texts come from the network and the broker: whatever they say, no password leaves in a log line. */
  private scrub(text: string): string {
    let clean = text;
    for (const { url } of this.rotation.nodes) {
      const password = new URL(url).password;
      if (password) clean = clean.split(password).join('***').split(decodeURIComponent(password)).join('***');
    }
    return clean;
  }
}

/** amqplib bounds the TCP connect; this bounds the whole handshake too, and closes a connection that came too late. */
async function connectBounded(node: AmqpNode, timeoutMs: number): Promise<ChannelModel> {
  const connecting = amqp.connect(node.url, {
    timeout: timeoutMs,
    // Nagle delays small frames (publishes, acks) waiting for more data; the bench measured saga p95 290 -> 134 ms without it.
    noDelay: true,
    clientProperties: { connection_name: `order-service pid ${process.pid}` },
  });
  try {
    return await withTimeout(connecting, timeoutMs, `connecting to ${node.label}`);
  } catch (error) {
    void connecting.then((late) => late.close()).catch(() => undefined);
    throw error;
  }
}
