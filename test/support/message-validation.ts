import { readFileSync } from 'node:fs';
import { amqpUser } from '../../src/platform/messaging/amqp-url.js';
import { AsyncApiValidator, type ObservedMessage } from './asyncapi-validator.js';

// The one place where the messages tests observe meet /asyncapi.json: every helper through which a test sees what
// the service published (the event collectors, drainQueue) hands each message to `publishedProblems` or
// `assertPublishedAsDocumented`. The document is docs/asyncapi.json, which a test holds equal to what the code
// builds and serves.

let validator: AsyncApiValidator | undefined;

function documentValidator(): AsyncApiValidator {
  validator ??= new AsyncApiValidator(JSON.parse(readFileSync('docs/asyncapi.json', 'utf8')));
  return validator;
}

/**
 * What is wrong with a message the service published, seen on a connection to `amqpUrl` (whose user, in a test
 * vhost, is the service's): [] when it is what the document says, or nothing the service publishes. For consumer
 * callbacks, which record problems instead of throwing.
 */
export function publishedProblems(message: ObservedMessage, amqpUrl: string): string[] {
  return documentValidator().problems(message, amqpUser(amqpUrl));
}

export function assertPublishedAsDocumented(message: ObservedMessage, amqpUrl: string): void {
  failOn(publishedProblems(message, amqpUrl));
}

/** Throws with the problems, if there are any. */
export function failOn(problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(`messages the AsyncAPI document does not describe:\n  ${[...new Set(problems)].slice(0, 20).join('\n  ')}`);
}
