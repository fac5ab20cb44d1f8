import type { ChannelModel } from 'amqplib';
import { withTimeout } from '../with-timeout.js';

/**
 * Which exchanges exist on the current connection, so a publisher can fail the messages for a missing one
 * without publishing them: the broker answers a publish to a missing exchange by closing the channel, which
 * on a confirm channel would fail every other message in flight. Unknown names are checked on a throwaway
 * channel; names seen to exist are remembered until forget() (a new connection, a channel error).
 */
export class KnownExchanges {
  private known = new Set<string>();

  constructor(private readonly timeoutMs: number) {}

  /** Starts afresh with names known to exist (declared on this connection). */
  reset(names: string[]): void {
    this.known = new Set(['', ...names]);
  }

  forget(): void {
    this.known = new Set(['']);
  }

  /** The names among these that do not exist. A check that fails for another reason assumes existence. */
  async missing(model: ChannelModel, names: Iterable<string>): Promise<Set<string>> {
    const missing = new Set<string>();
    for (const name of new Set(names)) {
      if (this.known.has(name)) continue;
      if (await this.exists(model, name).catch(() => true)) this.known.add(name);
      else missing.add(name);
    }
    return missing;
  }

  private async exists(model: ChannelModel, name: string): Promise<boolean> {
    const probe = await withTimeout(model.createChannel(), this.timeoutMs, 'opening a channel');
    probe.on('error', () => undefined);
    try {
      await withTimeout(probe.checkExchange(name), this.timeoutMs, 'checking an exchange');
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    } finally {
      await probe.close().catch(() => undefined);
    }
  }
}
