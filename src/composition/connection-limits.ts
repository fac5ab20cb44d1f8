import type { Server } from 'node:http';
import type { Socket } from 'node:net';

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
 * one that finds `max` open closes the idle keep-alive connections to make room (their clients reconnect when
 * they next send), and is closed itself only when none was idle. So neither one address nor a crowd of idle
 * keep-alive sockets can keep everyone else out. Returns the count of open connections, for a gauge.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, observer?: ConnectionObserver): { open(): number } {
  /** Every connection let in and not yet closed, with its client's address. */
  const open = new Map<Socket, string>();
  /** Connections per address; an address leaves at zero, so the map holds at most one entry per open connection. */
  const perAddress = new Map<string, number>();

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
  return { open: () => open.size };

  /** Closes the idle keep-alive connections; true when that, or a close not yet reported, left a slot free. */
  function makeRoom(): boolean {
    server.closeIdleConnections();
    // A destroyed socket has left Node's count at once, but its 'close' comes a tick later: count it out now.
    for (const socket of open.keys()) if (socket.destroyed) release(socket);
    return open.size < limits.max;
  }

  function release(socket: Socket): void {
    const address = open.get(socket);
    if (address === undefined) return;
    open.delete(socket);
    const left = perAddress.get(address)! - 1;
    if (left === 0) perAddress.delete(address);
    else perAddress.set(address, left);
  }
}

/** The client's address, an IPv4 client of a dual-stack listener (::ffff:1.2.3.4) counted as the same 1.2.3.4. */
export function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.toLowerCase().startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
