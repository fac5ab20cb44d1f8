import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections in all (MAX_CONNECTIONS). */
  max: number;
  /** Open connections from one client address (MAX_CONNECTIONS_PER_ADDRESS); 0: no such cap. */
  perAddress: number;
}

/** Why a connection was closed on arrival. */
export type RefusalReason = 'per_address' | 'max_connections';

/** What the limits report: each refusal as it happens. */
export interface ConnectionObserver {
  refused(reason: RefusalReason): void;
}

/**
 * Decides on each new connection of `server`: one from an address already at `perAddress` is closed on arrival;
 * one that finds `max` open closes one idle keep-alive connection to make room (from the address holding the most,
 * the one idle longest), and is closed itself only when none is idle. So neither one address nor a crowd of idle
 * keep-alive sockets can keep everyone else out, and a newcomer costs at most one other client its idle connection.
 * Returns the count of open connections, for a gauge.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, observer?: ConnectionObserver): { open(): number } {
  /** Every connection let in and not yet closed, with its client's address. */
  const open = new Map<Socket, string>();
  /** Connections per address; an address leaves at zero, so the map holds at most one entry per open connection. */
  const perAddress = new Map<string, number>();
  /** Requests in progress per connection (pipelined ones count apart); absent: none yet, or none since. */
  const inProgress = new Map<Socket, number>();
  /** Connections between requests (their last response sent, no request since): since when. */
  const idleSince = new Map<Socket, number>();

  // Node closes a connection over maxConnections before any 'connection' event (it only emits 'drop'), so at
  // exactly `max` nothing could be done for the newcomer. One slot over lets it arrive, and the decision is made here.
  server.maxConnections = limits.max + 1;

  server.on('connection', (socket: Socket) => {
    const address = clientAddress(socket);
    // The address's cap first: a client over it must not close anyone's idle connections.
    const overAddressCap = limits.perAddress > 0 && (perAddress.get(address) ?? 0) >= limits.perAddress;
    if (overAddressCap || (open.size >= limits.max && !makeRoom())) {
      socket.destroy();
      observer?.refused(overAddressCap ? 'per_address' : 'max_connections');
      return;
    }
    open.set(socket, address);
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => release(socket));
  });

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    idleSince.delete(socket);
    inProgress.set(socket, (inProgress.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (inProgress.get(socket) ?? 1) - 1;
      if (left > 0) return void inProgress.set(socket, left);
      inProgress.delete(socket);
      if (open.has(socket) && !socket.destroyed) idleSince.set(socket, Date.now());
    });
  });
  return { open: () => open.size };

  /** True when a slot is free: after counting out closes not yet reported, or by closing one idle connection. */
  function makeRoom(): boolean {
    // A destroyed socket has left Node's count at once, but its 'close' comes a tick later: count it out now.
    for (const socket of open.keys()) if (socket.destroyed) release(socket);
    if (open.size < limits.max) return true;
    const victim = idleToClose();
    if (!victim) return false;
    victim.destroy();
    release(victim);
    return true;
  }

  /** The idle connection of the address holding the most connections, the one idle longest among them. */
  function idleToClose(): Socket | undefined {
    let chosen: { socket: Socket; held: number; since: number } | undefined;
    for (const [socket, since] of idleSince) {
      const held = perAddress.get(open.get(socket) ?? '') ?? 0;
      if (!chosen || held > chosen.held || (held === chosen.held && since < chosen.since)) chosen = { socket, held, since };
    }
    return chosen?.socket;
  }

  function release(socket: Socket): void {
    idleSince.delete(socket);
    inProgress.delete(socket);
    const address = open.get(socket);
    if (address === undefined) return;
    open.delete(socket);
    const left = perAddress.get(address)! - 1;
    if (left === 0) perAddress.delete(address);
    else perAddress.set(address, left);
  }
}

/**
 * The client a connection is counted under: its IPv4 address (also when it reaches a dual-stack listener as
 * ::ffff:1.2.3.4), or its IPv6 /64, since one IPv6 client is routinely given a whole /64 to pick addresses from.
 */
export function clientAddress(socket: Socket): string {
  const address = (socket.remoteAddress ?? 'unknown').toLowerCase();
  if (address.startsWith('::ffff:') && isIPv4(address.slice('::ffff:'.length))) return address.slice('::ffff:'.length);
  return isIPv6(address) ? `${ipv6Prefix64(address)}::/64` : address;
}

/** The first four groups of an IPv6 address, each as hex without leading zeros ("2001:db8:0:0"). */
function ipv6Prefix64(address: string): string {
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A dotted IPv4 ending ("::1.2.3.4") fills the last two groups.
  const width = (groups: string[]) => groups.length + (groups.at(-1)?.includes('.') ? 1 : 0);
  const groups = [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right];
  return groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':');
}
