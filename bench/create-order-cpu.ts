/**
 * CPU per created order inside one process: CreateOrder (2 products) sent straight to the mediator by 16
 * concurrent callers, no HTTP. It isolates the write path's own cost (validation, transaction, queries) from
 * the network and the load generator, so it stays meaningful on a busy machine. Prints figures; never fails.
 * Settings by environment: BENCH_ORDERS (2000), BENCH_CONCURRENCY (16).
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { parseConfig } from '../src/config.js';
import { composeService } from '../src/composition/service.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { ensureDatabase, migrate } from '../src/platform/database/migrate.js';
import { CreateOrder } from '../src/orders/create-order.js';
import { CreateProduct } from '../src/catalog/create-product.js';
import { CreateAddress } from '../src/customers/create-address.js';
import { CreateUser } from '../src/customers/create-user.js';
import { sql } from '../src/platform/database/sql.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const server = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const url = `${server}/bench_cpu_${randomBytes(4).toString('hex')}`;

console.log('# create-order CPU per order (mediator, no HTTP)');
console.log(`machine: ${os.cpus().length} cpu, ${os.cpus()[0]?.model}, node ${process.version}; settings: orders=${ORDERS} concurrency=${CONCURRENCY}`);
await ensureDatabase(url);
await migrate(url);
const service = composeService(parseConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '8' }), {
  logger: createLogger({ level: 'warn' }),
  defaultMetrics: false,
});
try {
  const { mediator } = service;
  const addressID = randomUUID(), userID = randomUUID(), first = randomUUID(), second = randomUUID();
  await mediator.send(CreateAddress, { addressID, buildingNumber: 1, streetName: 'Pushkina', city: 'Moscow', country: 'Russia' }, 'bench');
  await mediator.send(CreateUser, { userID, username: 'bench', addressID }, 'bench');
  await mediator.send(CreateProduct, { productID: first, name: `Phone ${first}`, price: 100, discount: 10 }, 'bench');
  await mediator.send(CreateProduct, { productID: second, name: `Case ${second}`, price: 9.99, discount: 0 }, 'bench');
  const order = () => ({ orderID: randomUUID(), paymentMethod: 'Card', productsIDs: [first, second], userID, deliveryAddress: addressID });
  for (let i = 0; i < 300; i++) await mediator.send(CreateOrder, order(), 'bench');
  await service.database.read(sql`ANALYZE`);

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < ORDERS) await mediator.send(CreateOrder, order(), 'bench');
  }));
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  console.log(`created ${ORDERS} orders in ${Math.round(wallMs)} ms: ${Math.round((ORDERS / wallMs) * 1000)} orders/s, ` +
    `${((cpu.user + cpu.system) / 1000 / ORDERS).toFixed(2)} ms CPU per order; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await service.close();
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(url).pathname.slice(1))} WITH (FORCE)`);
  await admin.end();
}
