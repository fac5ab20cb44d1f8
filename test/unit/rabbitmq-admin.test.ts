import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rabbitmqctlCommand } from '../support/rabbitmq-admin.js';

// Which RabbitMQ the tests administer: the one scripts/servers.sh started for the URL's port, not rabbitmqctl's
// default node (the first test to create a vhost failed on a fresh machine).

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rabbitmq-admin-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function withStarted(lines: string[]): NodeJS.ProcessEnv {
  const dir = mkdtempSync(path.join(stateDir, 'state-'));
  writeFileSync(path.join(dir, 'started'), lines.map((line) => `${line}\n`).join(''));
  return { SERVERS_STATE_DIR: dir };
}

const NODE_LINE = 'rabbitmq 5672 node order-service-5672@localhost /srv/app/.servers/rabbitmq-5672';

describe('rabbitmqctlCommand', () => {
  it('when scripts/servers.sh started a node for the URL port, then rabbitmqctl -n that node with its own env file', () => {
    const command = rabbitmqctlCommand('amqp://guest:guest@127.0.0.1:5672', withStarted(['redis 6379 pid 12 redis-server', NODE_LINE]));
    expect(command.file).toBe('/usr/lib/rabbitmq/bin/rabbitmqctl');
    expect(command.args).toEqual(['-n', 'order-service-5672@localhost']);
    expect(command.env?.RABBITMQ_CONF_ENV_FILE).toBe('/srv/app/.servers/rabbitmq-5672/rabbitmq-env.conf');
  });

  it('when the URL has no port, then the AMQP default port finds the node, and localhost or [::1] count as this machine', () => {
    const env = withStarted([NODE_LINE]);
    expect(rabbitmqctlCommand('amqp://guest:guest@localhost', env).args).toEqual(['-n', 'order-service-5672@localhost']);
    expect(rabbitmqctlCommand('amqp://guest:guest@[::1]:5672', env).args).toEqual(['-n', 'order-service-5672@localhost']);
  });

  it('when it started a container, then rabbitmqctl runs inside it with docker exec', () => {
    const command = rabbitmqctlCommand('amqp://guest:guest@127.0.0.1:5672', withStarted(['rabbitmq 5672 container 0123456789abcdef']));
    expect(command).toEqual({ file: 'docker', args: ['exec', '-i', '0123456789abcdef', 'rabbitmqctl'] });
  });

  it('when TEST_RABBITMQ_NODE is set, then that node, whatever the script started', () => {
    const env = { ...withStarted([NODE_LINE]), TEST_RABBITMQ_NODE: 'rabbit@broker-1' };
    expect(rabbitmqctlCommand('amqp://guest:guest@127.0.0.1:5672', env)).toEqual({ file: 'rabbitmqctl', args: ['-n', 'rabbit@broker-1'] });
  });

  it('when the script started nothing for that port, or the URL names another host, then the default node', () => {
    const env = withStarted([NODE_LINE]);
    const plain = { file: 'rabbitmqctl', args: [] };
    expect(rabbitmqctlCommand('amqp://guest:guest@127.0.0.1:5673', env)).toEqual(plain);
    expect(rabbitmqctlCommand('amqp://guest:guest@rabbit.internal:5672', env)).toEqual(plain);
    expect(rabbitmqctlCommand('amqp://guest:guest@127.0.0.1:5672', { SERVERS_STATE_DIR: path.join(stateDir, 'none') })).toEqual(plain);
  });

  it('when the line for the port is not one the script writes, then it throws rather than pick a node', () => {
    for (const line of ['rabbitmq 5672 node -evil@localhost /x', 'rabbitmq 5672 container --privileged', 'rabbitmq 5672 vm x']) {
      expect(() => rabbitmqctlCommand('amqp://guest:guest@127.0.0.1:5672', withStarted([line]))).toThrow(/does not understand/);
    }
  });
});
