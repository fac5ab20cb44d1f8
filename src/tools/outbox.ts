// First: the decorators of the service's classes (tsyringe) need it before any of them is loaded.
import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config.js';
import { Database } from '../platform/database/database.js';
import { countRowsByStatus, retryParkedRows } from '../outbox/outbox-maintenance.js';

const USAGE = `usage: npm run outbox -- <command>
  status         rows of the outbox by status, with the oldest row of each
  retry-parked   put parked rows back to Ready with a fresh attempt budget (relays pick them up at once)`;

/** `npm run outbox -- status | retry-parked`: the operator's view of the outbox and its one repair. */
async function main(command: string | undefined): Promise<number> {
  if (command !== 'status' && command !== 'retry-parked') {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const database = new Database({ url: config.DATABASE_URL, poolMode: config.DATABASE_POOL_MODE, poolSize: 1, timeoutMs: config.DEPENDENCY_TIMEOUT, applicationName: 'order-service outbox tool' });
  try {
    if (command === 'retry-parked') {
      const count = await retryParkedRows(database);
      console.log(`${count} parked row(s) put back to Ready`);
      return 0;
    }
    const rows = await countRowsByStatus(database);
    if (rows.length === 0) console.log('the outbox is empty');
    for (const row of rows) console.log(`${row.status.padEnd(10)} ${String(row.rows).padStart(9)}   oldest ${row.oldest?.toISOString() ?? '-'}`);
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof ConfigError ? error.message : `outbox ${process.argv[2]} failed: ${String(error)}`);
    process.exit(1);
  },
);
