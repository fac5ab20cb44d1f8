// Prints the three server URLs the service would use, and their parts, as `server.part=value` lines for
// scripts/servers.sh. Run from the project's root, like the service.
//
// Why plain JavaScript and not src/config.ts itself: loading TypeScript through tsx costs about half a second,
// and `scripts/servers.sh ensure` must take well under a second when the servers already answer. The
// resolution is loadConfig's: the same dotenv call with the same options (the environment first, then .env,
// then .env.example, none overriding a variable already set), then FALLBACKS for unset or empty values.
// test/unit/server-urls.test.ts runs this file and loadConfig side by side, so the two cannot part silently.
import { config } from 'dotenv';

// The three URL entries of FALLBACKS in src/config.ts.
const FALLBACKS = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/order_service',
  REDIS_URL: 'redis://127.0.0.1:6379',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
};

const SERVERS = [
  { server: 'postgres', variable: 'DATABASE_URL', defaultPort: { postgres: 5432, postgresql: 5432 } },
  { server: 'redis', variable: 'REDIS_URL', defaultPort: { redis: 6379, rediss: 6379 } },
  { server: 'rabbitmq', variable: 'AMQP_URL', defaultPort: { amqp: 5672, amqps: 5671 } },
];

config({ path: ['.env', '.env.example'], quiet: true });

const setting = (name) => (process.env[name] === undefined || process.env[name] === '' ? FALLBACKS[name] : process.env[name]);

for (const { server, variable, defaultPort } of SERVERS) {
  // AMQP_URL may list a cluster's nodes (src/platform/messaging/amqp-url.ts): the first one stands for them here.
  const text = variable === 'AMQP_URL' ? setting(variable).trim().split(/,\s*(?=amqps?:\/\/)/i)[0] : setting(variable);
  let url;
  try {
    url = new URL(text);
  } catch {
    console.error(`${variable} is not a URL: ${text}`);
    process.exit(1);
  }
  const scheme = url.protocol.replace(/:$/, '');
  const parts = {
    variable,
    url: text,
    scheme,
    // URL keeps the brackets of an IPv6 address ([::1]); the probes and the servers want it bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: url.port || String(defaultPort[scheme] ?? ''),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    // The database for a PostgreSQL URL, the vhost for an AMQP URL (empty: the default "/").
    path: decodeURIComponent(url.pathname.replace(/^\//, '')),
  };
  for (const [part, value] of Object.entries(parts)) console.log(`${server}.${part}=${value}`);
}
