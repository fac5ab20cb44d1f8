import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rabbitmqctl, rabbitmqctlWithInput } from './rabbitmq.js';

const BROKER = new URL(process.env.TEST_AMQP_BASE ?? 'amqp://guest:guest@127.0.0.1:5672');

export interface ImportedDefinitions {
  vhost: string;
  /** amqp URLs of the three users of configs/rabbitmq/definitions.json on its vhost. */
  serviceUrl: string;
  customerUrl: string;
  adminUrl: string;
  users: { service: string; customer: string; admin: string };
  remove(): Promise<void>;
}

/**
 * Imports the shipped configs/rabbitmq/definitions.json into this broker, rendered as render-definitions.sh renders
 * it, with names unique to the run; remove() deletes its vhost and users.
 */
export async function importShippedDefinitions(): Promise<ImportedDefinitions> {
  const run = randomBytes(4).toString('hex');
  const values: Record<string, string> = {
    RABBITMQ_VHOST: `os_test_defs_${run}`,
    RABBITMQ_USER: `os_test_orders_${run}`,
    RABBITMQ_PASSWORD: randomBytes(12).toString('hex'),
    CUSTOMER_RABBITMQ_USER: `os_test_customer_${run}`,
    CUSTOMER_RABBITMQ_PASSWORD: randomBytes(12).toString('hex'),
    RABBITMQ_ADMIN_USER: `os_test_admin_${run}`,
    RABBITMQ_ADMIN_PASSWORD: randomBytes(12).toString('hex'),
  };
  let text = await readFile('configs/rabbitmq/definitions.json', 'utf8');
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`\${${name}}`, value);
  if (/\$\{\w+\}/.test(text)) throw new Error(`definitions.json has a placeholder this test does not fill: ${/\$\{\w+\}/.exec(text)![0]}`);
  // On standard input rather than in a file: a broker in Docker could not read one of this machine's, and the
  // passwords never touch the disk.
  await rabbitmqctlWithInput(text, 'import_definitions', '--format', 'json');
  // The import finishes in the background: wait for the last thing it creates, the topic permissions.
  for (let attempt = 0; !(await rabbitmqctl('list_topic_permissions', '-p', values.RABBITMQ_VHOST!).catch(() => '')).includes(values.CUSTOMER_RABBITMQ_USER!); attempt++) {
    if (attempt > 60) throw new Error('the imported definitions did not appear within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const url = (user: string, password: string) => `amqp://${user}:${password}@${BROKER.host}/${encodeURIComponent(values.RABBITMQ_VHOST!)}`;
  return {
    vhost: values.RABBITMQ_VHOST!,
    serviceUrl: url(values.RABBITMQ_USER!, values.RABBITMQ_PASSWORD!),
    customerUrl: url(values.CUSTOMER_RABBITMQ_USER!, values.CUSTOMER_RABBITMQ_PASSWORD!),
    adminUrl: url(values.RABBITMQ_ADMIN_USER!, values.RABBITMQ_ADMIN_PASSWORD!),
    users: { service: values.RABBITMQ_USER!, customer: values.CUSTOMER_RABBITMQ_USER!, admin: values.RABBITMQ_ADMIN_USER! },
    async remove() {
      await rabbitmqctl('delete_vhost', values.RABBITMQ_VHOST!).catch(() => undefined);
      for (const user of [values.RABBITMQ_USER!, values.CUSTOMER_RABBITMQ_USER!, values.RABBITMQ_ADMIN_USER!]) {
        await rabbitmqctl('delete_user', user).catch(() => undefined);
      }
    },
  };
}
