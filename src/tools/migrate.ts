// First: the decorators of the service's classes (tsyringe) need it before any of them is loaded.
import 'reflect-metadata';
import { loadConfig } from '../config.js';
import { ensureDatabase, migrate } from '../platform/database/migrate.js';

/**
 * `npm run migrate`: creates the database if missing and applies pending migrations. Creating a database is the
 * server's business, so that goes through the direct connection (DATABASE_LISTEN_URL, which is DATABASE_URL unless
 * a pooler sits in between); the migrations go through DATABASE_URL like everything else.
 */
const config = loadConfig();
const created = await ensureDatabase(config.DATABASE_LISTEN_URL);
const result = await migrate(config.DATABASE_URL);
const where = new URL(config.DATABASE_URL);
console.log(
  `database ${where.pathname.slice(1)} on ${where.host}: ${created ? 'created, ' : ''}` +
    `${result.applied.length} migration(s) applied, ${result.alreadyApplied.length} already applied`,
);
