/**
 * AMQP_URL: one node's URL, or several separated by commas, each a whole URL
 * (`amqp://orders:secret@rabbit-1:5672/orders,amqp://orders:secret@rabbit-2:5672/orders`). A list is split only
 * before `amqp://` or `amqps://`, so a comma inside a password needs no escaping. Every node must log in as the
 * same user to the same vhost: the user is what consumers trust (user_id), and a cluster has one vhost of that name.
 */
export interface AmqpNode {
  url: string;
  /** host:port, for logs (never the password). */
  label: string;
}

export type AmqpNodesResult = { ok: true; nodes: AmqpNode[] } | { ok: false; problem: string };

/** At most this many nodes: a cluster is 3, 5 or 7; more is a mistake in the setting. */
const MAX_NODES = 16;

export function parseAmqpNodes(text: string): AmqpNodesResult {
  const parts = text.trim().split(/,\s*(?=amqps?:\/\/)/i);
  if (parts.length > MAX_NODES) return { ok: false, problem: `names ${parts.length} nodes; at most ${MAX_NODES}` };
  const nodes: AmqpNode[] = [];
  const logins = new Set<string>();
  for (const [index, part] of parts.entries()) {
    const parsed = parseOne(part);
    if (!parsed) return { ok: false, problem: `node ${index + 1} is not an amqp:// or amqps:// URL with a host` };
    // Said here, without the text (it holds the password): else decoding the login threw a bare URIError at start.
    if (!decodable(parsed.username) || !decodable(parsed.password)) {
      return { ok: false, problem: `node ${index + 1} has a user or password with a malformed %-escape (write a % as %25)` };
    }
    logins.add(`${loginUser(parsed)}\0${parsed.pathname}`);
    nodes.push({ url: part, label: `${parsed.protocol}//${parsed.host}${parsed.pathname.length > 1 ? parsed.pathname : ''}` });
  }
  if (logins.size > 1) return { ok: false, problem: 'names nodes with different users or vhosts: every node of one deployment logs in as the same user to the same vhost' };
  return { ok: true, nodes };
}

/** The nodes of a setting already checked by the configuration; throws on one that was not. */
export function amqpNodes(text: string): AmqpNode[] {
  const result = parseAmqpNodes(text);
  if (!result.ok) throw new Error(`AMQP_URL ${result.problem}`);
  return result.nodes;
}

/**
 * The RabbitMQ user an AMQP URL (or list) logs in as (amqplib's default, guest, when it names none). The relay sets
 * it as every message's user_id, which RabbitMQ checks against the login: consumers trust it for that reason.
 */
export function amqpUser(text: string): string {
  return loginUser(new URL(amqpNodes(text)[0]!.url));
}

/** The URL (or list) with every password replaced by ***, for logs and command-line output. */
export function redactAmqpUrl(text: string): string {
  return amqpNodes(text)
    .map(({ url }) => {
      const parsed = new URL(url);
      if (parsed.password) parsed.password = '***';
      return parsed.toString();
    })
    .join(',');
}

function parseOne(text: string): URL | undefined {
  try {
    const url = new URL(text);
    // A host name or an IP address; anything else (`h1,http:` from a list with another scheme in it) is no node.
    const host = /^([\w-]+\.)*[\w-]+$|^\[[\da-f:.]+\]$/i.test(url.hostname);
    return (url.protocol === 'amqp:' || url.protocol === 'amqps:') && host ? url : undefined;
  } catch {
    return undefined;
  }
}

function decodable(component: string): boolean {
  try {
    decodeURIComponent(component);
    return true;
  } catch {
    return false;
  }
}

function loginUser(url: URL): string {
  return decodeURIComponent(url.username) || 'guest';
}
