// First of all: amqplib's modules keep the header decoder they find when they load (amqp-header-guard.ts).
import './platform/messaging/amqp-header-guard.js';
import 'reflect-metadata';
import { ConfigError, loadConfig } from './config.js';
import { startTracing } from './platform/observability/tracing.js';

/**
 * The process entry: reads the configuration (environment, .env, .env.example), starts tracing when an OTLP
 * endpoint is configured, and only then imports the service (serve.ts): the instrumentations patch pg, amqplib,
 * ioredis, express and http as those modules load, so nothing may import them before tracing started.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const tracing = await startTracing(process.env);
  const { serve } = await import('./serve.js');
  await serve(config, tracing);
}

main().catch((error) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
