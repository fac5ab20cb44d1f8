import pg from 'pg';
import type { Logger } from '../platform/observability/logger.js';
import { OUTBOX_READY_CHANNEL } from './outbox-notifier.js';

const FIRST_RECONNECT_MS = 200;
const LONGEST_RECONNECT_MS = 5_000;

/**
 * LISTENs for outbox_ready on a dedicated connection and wakes the relay. A lost connection is re-established
 * with capped exponential backoff for as long as the relay runs (each attempt bounded by the timeout); the
 * relay's one-second sweep covers the gap, and a wake-up after reconnecting covers what was missed.
 */
export class OutboxListener {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
    private readonly wake: () => void,
    /** A notification from this backend pid is ignored (this process's own notifier; the relay heard it in-process). */
    private readonly ownPid: () => number | undefined = () => undefined,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.timeoutMs,
      query_timeout: this.timeoutMs,
      keepAlive: true,
      application_name: 'order-service outbox listener',
    });
    this.client = client;
    client.on('notification', (message) => {
      if (message.processId !== this.ownPid()) this.wake();
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query('LISTEN outbox_ready');
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.closed || this.client !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    if (this.failures > 0) this.logger.info('outbox listener reconnected', { channel: OUTBOX_READY_CHANNEL });
    this.failures = 0;
    this.wake();
  }

  private lost(client: pg.Client, error: Error): void {
    // Only the current connection's loss counts; an old one's late 'end' must not start a second connection.
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    const delay = Math.min(LONGEST_RECONNECT_MS, FIRST_RECONNECT_MS * 2 ** this.failures++);
    this.logger.warn('outbox listener lost its connection; reconnecting', { error: error.message, retryInMs: delay });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
  }
}
