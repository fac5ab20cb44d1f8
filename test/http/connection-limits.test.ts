import { once } from 'node:events';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { captureLogs } from '../support/log-capture.js';
import { ROLE_STARTERS, type RunningRole } from '../../src/composition/roles.js';
import { clientAddress } from '../../src/composition/connection-limits.js';
import { parseConfig } from '../../src/config.js';
import { counter } from '../support/polling.js';

// The http role's listener against clients that hold connections open: one address at its cap of idle
// keep-alive sockets, and a server whose every slot is held. Other clients (other loopback addresses, which
// Linux routes to 127.0.0.1 like any 127/8 address) must still be served.

const logs = captureLogs('info');
let t: TestService;
let role: RunningRole;
let port: number;
/** Every raw connection a test opened, closed after it (closing the server waits for busy ones). */
const clients: net.Socket[] = [];
beforeAll(async () => {
  t = await startTestService({ PORT: '0', MAX_CONNECTIONS: '4', MAX_CONNECTIONS_PER_ADDRESS: '2' }, { logger: logs.logger });
});
// A listener per test, so that no test starts with another's connections still counted.
beforeEach(async () => {
  role = await ROLE_STARTERS.http(t.service);
  port = logs.entries.filter((entry) => entry.message === 'http listening').at(-1)!.port as number;
});
afterEach(async () => {
  for (const socket of clients.splice(0)) socket.destroy();
  await role?.stop();
});
afterAll(async () => {
  await t?.close();
});

interface RawClient {
  socket: net.Socket;
  /** Everything received so far. */
  text(): string;
  /** Everything received, once the server has closed the connection. */
  closed: Promise<string>;
}

/** A raw connection from `localAddress` (any 127/8 address on Linux loopback). */
async function connect(localAddress: string): Promise<RawClient> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  clients.push(socket);
  let text = '';
  socket.on('data', (chunk) => (text += String(chunk)));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close').then(() => text);
  await once(socket, 'connect');
  return { socket, text: () => text, closed };
}

/** A connection that has had one answer and stays open, idle, as a keep-alive client leaves it. */
async function idleKeepAlive(localAddress: string): Promise<RawClient> {
  const client = await connect(localAddress);
  client.socket.write('GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n');
  while (!isWholeAnswer(client.text())) await once(client.socket, 'data');
  return client;
}

/** Whether `raw` holds an answer's headers and its whole Content-Length body. */
function isWholeAnswer(raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n');
  const length = /^content-length: *(\d+)/im.exec(raw)?.[1];
  return end !== -1 && length !== undefined && Buffer.byteLength(raw.slice(end + 4)) >= Number(length);
}

/** GET /healthcheck on a new connection from `localAddress`, closed after the answer: all it received. */
async function healthcheckFrom(localAddress: string): Promise<string> {
  const client = await connect(localAddress);
  client.socket.write('GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  return client.closed;
}

describe('connections per client address', () => {
  it('when one address holds MAX_CONNECTIONS_PER_ADDRESS idle keep-alive connections, then its next one is closed on arrival and another address is still served', async () => {
    const held = [await idleKeepAlive('127.0.0.1'), await idleKeepAlive('127.0.0.1')];
    const refusedBefore = await counter(t, 'http_connections_refused_total', { reason: 'per_address' });

    const refused = await connect('127.0.0.1');
    refused.socket.end('GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await refused.closed).toBe('');
    expect(await counter(t, 'http_connections_refused_total', { reason: 'per_address' })).toBe(refusedBefore + 1);
    expect(await counter(t, 'http_connections_open')).toBe(2);

    const other = await healthcheckFrom('127.0.0.2');
    expect(other).toMatch(/^HTTP\/1\.1 200 /);
    // Only the newcomer was refused: the address keeps the connections it holds.
    expect(held.map(({ socket }) => socket.readyState)).toEqual(['open', 'open']);
  });
});

describe('the connection cap of the process', () => {
  it('when MAX_CONNECTIONS idle keep-alive connections are open, then a new client is served by closing one of them: of the address holding the most, the one idle longest', async () => {
    const [alone, older, newer, other] = [await idleKeepAlive('127.0.0.3'), await idleKeepAlive('127.0.0.4'), await idleKeepAlive('127.0.0.4'), await idleKeepAlive('127.0.0.10')];

    expect(await healthcheckFrom('127.0.0.5')).toMatch(/^HTTP\/1\.1 200 /);
    // Its client sees a close after a whole answer, as at a keep-alive timeout, and reconnects when it next sends.
    expect(await older!.closed).toMatch(/^HTTP\/1\.1 200 /);
    expect([alone, newer, other].map((client) => client!.socket.readyState)).toEqual(['open', 'open', 'open']);
  });

  it('when MAX_CONNECTIONS connections are open, then a newcomer is closed while all are busy, and gets in by closing the one idle as soon as there is one', async () => {
    // Mid-request (headers not finished): busy, so nothing can be closed to make room.
    const busy = [];
    for (const address of ['127.0.0.6', '127.0.0.6', '127.0.0.7', '127.0.0.7']) {
      const client = await connect(address);
      client.socket.write('GET /healthcheck HTTP/1.1\r\n');
      busy.push(client);
    }
    const refusedBefore = await counter(t, 'http_connections_refused_total', { reason: 'max_connections' });
    expect(await healthcheckFrom('127.0.0.8')).toBe('');
    expect(await counter(t, 'http_connections_refused_total', { reason: 'max_connections' })).toBe(refusedBefore + 1);

    const [finished, ...stillBusy] = busy;
    finished!.socket.write('Host: x\r\n\r\n');
    while (!isWholeAnswer(finished!.text())) await once(finished!.socket, 'data');

    expect(await healthcheckFrom('127.0.0.9')).toMatch(/^HTTP\/1\.1 200 /);
    expect(await finished!.closed).toMatch(/^HTTP\/1\.1 200 /);
    expect(stillBusy.map(({ socket }) => socket.readyState)).toEqual(['open', 'open', 'open']);
  });
});

describe('configuration of the connection limits', () => {
  it('when MAX_CONNECTIONS_PER_ADDRESS is not set, then it is a quarter of MAX_CONNECTIONS, at least 8 and at most MAX_CONNECTIONS; 0 and MAX_CONNECTIONS itself are taken', () => {
    expect(parseConfig({}).MAX_CONNECTIONS_PER_ADDRESS).toBe(250);
    expect(parseConfig({ MAX_CONNECTIONS: '101' }).MAX_CONNECTIONS_PER_ADDRESS).toBe(26);
    expect(parseConfig({ MAX_CONNECTIONS: '10' }).MAX_CONNECTIONS_PER_ADDRESS).toBe(8);
    expect(parseConfig({ MAX_CONNECTIONS: '2' }).MAX_CONNECTIONS_PER_ADDRESS).toBe(2);
    expect(parseConfig({ MAX_CONNECTIONS_PER_ADDRESS: '0' }).MAX_CONNECTIONS_PER_ADDRESS).toBe(0);
    expect(parseConfig({ MAX_CONNECTIONS: '10', MAX_CONNECTIONS_PER_ADDRESS: '10' }).MAX_CONNECTIONS_PER_ADDRESS).toBe(10);
  });

  it('when MAX_CONNECTIONS_PER_ADDRESS is above MAX_CONNECTIONS or not a whole number, then starting fails naming it', () => {
    const messageOf = (env: Record<string, string>) => {
      try {
        parseConfig(env);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(messageOf({ MAX_CONNECTIONS: '10', MAX_CONNECTIONS_PER_ADDRESS: '11' })).toMatch(
      /^ {2}MAX_CONNECTIONS_PER_ADDRESS must not be more than MAX_CONNECTIONS \(10\): set at most that, or 0 for no cap per address\.$/m,
    );
    expect(messageOf({ MAX_CONNECTIONS_PER_ADDRESS: 'many' })).toMatch(/^ {2}MAX_CONNECTIONS_PER_ADDRESS must be a whole number from 0 to 1000000\.$/m);
  });
});

describe('the address a connection is counted under', () => {
  it('when an IPv4 client reaches a dual-stack listener (::ffff:1.2.3.4), then it counts as 1.2.3.4; an IPv6 client counts as its /64, however it is written', () => {
    const from = (remoteAddress: string) => clientAddress({ remoteAddress } as net.Socket);
    expect(from('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(from('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(from('1.2.3.4')).toBe('1.2.3.4');
    for (const address of ['2001:db8::1', '2001:DB8:0:0:ffff::2', '2001:0db8:0000:0000:0001::']) expect(from(address), address).toBe('2001:db8:0:0::/64');
    expect(from('1:2:3:4:5:6:1.2.3.4')).toBe('1:2:3:4::/64');
    expect(from('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(from('::ffff:abcd')).toBe('0:0:0:0::/64');
  });
});
