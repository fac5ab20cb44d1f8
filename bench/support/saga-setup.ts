/** Setup of the saga round trip (bench/saga-round-trip.ts): seed data, the simulator processes, stopping children. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnvironment } from './bench-env.js';
import { serviceCommand } from './main-process.js';
import type { FloorProduct } from './raw-order.js';
import { stopOnInterrupt } from './interrupt.js';

export interface Fixture {
  addressId: string;
  products: FloorProduct[];
  users: string[];
}

/** An address, two products and `users` users, written with SQL (seed data, not what is measured); then ANALYZE. */
export async function seed(env: BenchEnvironment, users: number): Promise<Fixture> {
  const sql = await env.sql();
  const addressId = randomUUID();
  const products: FloorProduct[] = [0, 1].map((i) => ({ id: randomUUID(), name: `Bench product ${i} ${env.vhost}`, priceCents: 10_000 + i * 100, discount: 10 }));
  await sql.query(`INSERT INTO addresses (id, building_number, street_name, city, country) VALUES ($1, 44, 'Pushkina', 'Moscow', 'Russia')`, [addressId]);
  for (const p of products) {
    await sql.query(`INSERT INTO products (id, name, description, price_cents, discount) VALUES ($1, $2, 'd', $3, $4)`, [p.id, p.name, p.priceCents, p.discount]);
  }
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO users (id, username, address_id) SELECT gen_random_uuid(), 'bench user ' || n, $1 FROM generate_series(1, $2::int) AS n RETURNING id`,
    [addressId, users],
  );
  await sql.query('ANALYZE');
  await sql.end();
  return { addressId, products, users: rows.map((row) => row.id) };
}

export async function spawnSimulator(env: BenchEnvironment): Promise<ChildProcess> {
  const command = await serviceCommand('tools/customer-sim');
  const child = spawn(process.execPath, [...command.args, '--rule', 'approve-all'], {
    env: { ...process.env, ...command.env, AMQP_URL: env.amqpUrl, DATABASE_URL: env.databaseUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  stopOnInterrupt(child);
  await sleep(1_500); // connects and declares its topology; requests wait in OrderSaga until then anyway
  if (child.exitCode !== null) throw new Error(`customer-sim exited with ${child.exitCode}`);
  return child;
}

export function stopper(child: ChildProcess): { stop(): Promise<void> } {
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
