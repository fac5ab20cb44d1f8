import pg from 'pg';
import type { Logger } from '../platform/observability/logger.js';
import type { OutboxSignal } from './outbox-signal.js';

/** The PostgreSQL channel on which relays in other processes hear that ready rows were committed. */
export const OUTBOX_READY_CHANNEL = 'outbox_ready';

/**
 * Wakes relays in other processes after ready rows were committed here: a NOTIFY after the commit, on a
 * connection of its own, at most one in flight; commits that arrive meanwhile are covered by exactly one more
 * NOTIFY after it. Skipped while a relay runs in this process: the in-process signal wakes that one at once.
 * A notification lost here (connection down) costs at most the relays' one-second sweep.
 *
 * Why not NOTIFY inside the command's transaction (a trigger, say): PostgreSQL serializes the commits of
 * transactions that notify (a database-wide lock held through each commit's WAL flush), which defeats group
 * commit; ARCHITECTURE.md measured 21-37% of insert throughput. bench/create-order-throughput.ts, 3 rounds of
 * 10 s at 32 connections on the 2-core machine kind, mean orders/s:
 *   split deployment (an http process and a relay process, where a NOTIFY is needed): after commit (this
 *     class) 173.5; inside the transaction 150.5 (-13%, and the http process no longer saturates its core:
 *     it waits on the serialized commits); none at all 191.3 (the relay then runs on its 1 s sweep only).
 *   one process (http+relay): after commit, skipped as here 188.6; after commit, always sent 188.0; inside
 *     the transaction 194.8; none 192.5: all within the noise, because the http process is CPU-bound at
 *     ~190 orders/s (Prisma), so its commits are too few to queue on the notify lock.
 * The split gap to "none" is mostly the relay process waking per commit on the same two cores (the price of
 * millisecond latency), not the NOTIFY itself.
 */
export class OutboxNotifier {
  private client: pg.Client | undefined;
  private pid: number | undefined;
  private sending = false;
  private again = false;
  private enabled = true;
  private localRelays = 0;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** Notifies after every commit that the signal reports. */
  attach(signal: OutboxSignal): () => void {
    return signal.onReady(() => this.notify());
  }

  /** The backend pid of this notifier's connection, so a relay in this process can ignore its own NOTIFYs. */
  get backendPid(): number | undefined {
    return this.pid;
  }

  /**
   * A relay runs in this process (the relay role calls this with true on start, false on stop). Its in-process
   * wake-up covers this process's commits, so no NOTIFY is sent: relays elsewhere find these rows on their
   * sweep at the latest, and the local relay takes them first anyway.
   */
  setLocalRelay(running: boolean): void {
    this.localRelays = Math.max(0, this.localRelays + (running ? 1 : -1));
  }

  notify(): void {
    if (!this.enabled || this.localRelays > 0) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    void this.sendUntilCaughtUp();
  }

  /** Stops notifying (also used by the benchmark to compare wake-up designs). */
  disable(): void {
    this.enabled = false;
  }

  async close(): Promise<void> {
    this.enabled = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async sendUntilCaughtUp(): Promise<void> {
    this.sending = true;
    try {
      do {
        this.again = false;
        const client = await this.connection();
        await client.query('SELECT pg_notify($1, $2)', [OUTBOX_READY_CHANNEL, '']);
      } while (this.again && this.enabled);
    } catch (error) {
      this.logger.debug('outbox NOTIFY failed; the relay sweep covers it', { error: String(error) });
      this.drop();
    } finally {
      this.sending = false;
    }
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.timeoutMs,
      query_timeout: this.timeoutMs,
      keepAlive: true,
      application_name: 'order-service outbox notifier',
    });
    client.on('error', () => this.drop());
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      this.pid = rows[0]?.pid;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (!this.enabled) {
      await client.end().catch(() => undefined);
      throw new Error('outbox notifier closed');
    }
    this.client = client;
    return client;
  }

  private drop(): void {
    const client = this.client;
    this.client = undefined;
    this.pid = undefined;
    client?.end().catch(() => undefined);
  }
}
