import amqp, { type ChannelModel } from 'amqplib';
import { withTimeout } from '../with-timeout.js';
import { amqpNodes } from './amqp-url.js';

/**
 * For the command-line tools: a plain connection (no reconnection) to the first node of AMQP_URL that answers, in
 * the order listed, each attempt bounded by the timeout. The error names the nodes tried, never a password.
 */
export async function connectAnyNode(amqpUrl: string, timeoutMs: number): Promise<ChannelModel> {
  const failures: string[] = [];
  for (const node of amqpNodes(amqpUrl)) {
    const connecting = amqp.connect(node.url, { timeout: timeoutMs });
    try {
      const model = await withTimeout(connecting, timeoutMs, `connecting to ${node.label}`);
      model.on('error', () => undefined);
      return model;
    } catch (error) {
      void connecting.then((late) => late.close()).catch(() => undefined);
      failures.push(`${node.label}: ${(error as Error)?.message?.split('\n')[0] ?? 'failed'}`);
    }
  }
  throw new Error(`no RabbitMQ node of AMQP_URL answered (${failures.join('; ')})`);
}
