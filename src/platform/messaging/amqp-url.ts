/**
 * The RabbitMQ user an AMQP URL logs in as (amqplib's default, guest, when the URL names none). The relay sets it
 * as every message's user_id, which RabbitMQ checks against the login: consumers trust it for that reason.
 */
export function amqpUser(url: string): string {
  return decodeURIComponent(new URL(url).username) || 'guest';
}

/** The URL with its password replaced by ***, for logs and command-line output. */
export function redactAmqpUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
