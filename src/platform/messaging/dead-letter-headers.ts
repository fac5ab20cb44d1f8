import { z } from 'zod';
import { DEAD_LETTER_HEADERS, ORIGINAL_PROPERTY_HEADERS } from './dead-letter-copy.js';

const shortString = z.string().max(255);

/**
 * The headers of a dead-letter copy (deadLetterCopyOptions builds them to this type), for /asyncapi.json. The
 * original headers come along (within bounds), so others may be present.
 */
export const deadLetterCopyHeaders = z
  .looseObject({
    [DEAD_LETTER_HEADERS.reason]: z.string().meta({ description: 'why it could never be handled: one of the reasons of README "Poison messages" (malformed_json, invalid_event, untrusted_publisher, too_large, ...)' }),
    [DEAD_LETTER_HEADERS.error]: z.string().max(500).meta({ description: 'what was wrong, for a person' }),
    [DEAD_LETTER_HEADERS.id]: z.uuid().meta({ description: 'the id `npm run dead-letters` names this copy by' }),
    [DEAD_LETTER_HEADERS.at]: z.iso.datetime(),
    [DEAD_LETTER_HEADERS.queue]: z.string().meta({ description: 'the queue it came from, where a replay sends it' }),
    [DEAD_LETTER_HEADERS.exchange]: shortString.meta({ description: "the exchange it was published to ('' for the default exchange)" }),
    [DEAD_LETTER_HEADERS.routingKey]: shortString,
    [DEAD_LETTER_HEADERS.dropped]: z.string().max(500).optional().meta({ description: 'comma-separated names of original headers left off because they were too large' }),
    ...Object.fromEntries(
      Object.entries(ORIGINAL_PROPERTY_HEADERS).map(([property, header]) => [header, shortString.optional().meta({ description: `the original ${property} property, moved into a header` })]),
    ),
  })
  .meta({ id: 'DeadLetterCopyHeaders' });
export type DeadLetterCopyHeaders = z.input<typeof deadLetterCopyHeaders>;

/** A message RabbitMQ dead-lettered itself (rejected, when no copy could be made): its own x-death header. */
export const brokerDeadLetterHeaders = z
  .looseObject({
    'x-death': z.array(z.looseObject({ queue: z.string(), reason: z.string(), count: z.number().int() })).min(1),
  })
  .meta({ id: 'BrokerDeadLetterHeaders' });

/** The headers of any message in a dead-letter queue: the service's copy, or the broker's own dead-lettering. */
export const deadLetterHeaders = z.union([deadLetterCopyHeaders, brokerDeadLetterHeaders]).meta({ id: 'DeadLetterHeaders' });
