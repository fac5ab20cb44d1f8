import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How the tests run rabbitmqctl against the RabbitMQ their AMQP URL points at. Plain `rabbitmqctl` talks to
 * the machine's default node (rabbit@<hostname>), which is not that broker when scripts/servers.sh started one
 * for the suite (`make test` on a fresh machine): a node of its own, or a Docker container.
 *
 * In order: TEST_RABBITMQ_NODE when set; else what scripts/servers.sh recorded as started for the URL's port,
 * when the URL names this machine; else the default node.
 */
export interface RabbitmqctlCommand {
  file: string;
  /** Arguments before rabbitmqctl's own. */
  args: string[];
  env?: NodeJS.ProcessEnv;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The package's scripts, as scripts/servers/rabbitmq.sh runs them: /usr/sbin's wrapper switches to the rabbitmq
// user, whose Erlang cookie is not that of a node the script started as the caller.
const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';
const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '::1']; // scripts/servers.sh's is_local
const DEFAULT_PORTS: Record<string, string> = { 'amqp:': '5672', 'amqps:': '5671' };

export function rabbitmqctlCommand(brokerUrl: string, env: NodeJS.ProcessEnv = process.env): RabbitmqctlCommand {
  if (env.TEST_RABBITMQ_NODE) return { file: 'rabbitmqctl', args: ['-n', env.TEST_RABBITMQ_NODE] };
  const url = new URL(brokerUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const started = LOCAL_HOSTS.includes(host) ? startedRabbitmq(url.port || DEFAULT_PORTS[url.protocol] || '', env) : undefined;
  return started ?? { file: 'rabbitmqctl', args: [] };
}

/**
 * The line scripts/servers.sh's record() wrote for RabbitMQ on this port, "rabbitmq <port> <kind> <details...>",
 * in $SERVERS_STATE_DIR/started (relative to the project, as the script resolves it; default .servers/).
 */
function startedRabbitmq(port: string, env: NodeJS.ProcessEnv): RabbitmqctlCommand | undefined {
  const file = path.resolve(ROOT, env.SERVERS_STATE_DIR || '.servers', 'started');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const line = text.split('\n').find((entry) => entry.startsWith(`rabbitmq ${port} `));
  if (line === undefined) return undefined;
  const [, , kind, name, ...dir] = line.split(' ');
  // execFile runs no shell, but a name starting with "-" would still be read as an option.
  if (kind === 'node' && /^\w[\w.-]*@[\w.-]+$/.test(name ?? '') && dir.length > 0) {
    // The node's own rabbitmq-env.conf, as the script's stop uses it.
    return { file: RABBITMQCTL, args: ['-n', name!], env: { ...env, RABBITMQ_CONF_ENV_FILE: path.join(dir.join(' '), 'rabbitmq-env.conf') } };
  }
  // rabbitmqctl on this machine cannot reach the node inside a container; the image's own can, as root.
  if (kind === 'container' && /^[0-9a-f]{12,64}$/.test(name ?? '')) return { file: 'docker', args: ['exec', '-i', name!, 'rabbitmqctl'] };
  throw new Error(`${file} has a RabbitMQ line this test support does not understand: ${line}`);
}
