import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { buildAsyncApiDocument } from '../orders/messaging/asyncapi-document.js';

/**
 * Writes docs/asyncapi.json from the code (npm run api-docs). test/api-docs/asyncapi-document.test.ts fails
 * while the committed file differs from what the code builds, so run this after changing an event, a routing
 * key, a queue or a header. (/openapi.json names the deployment's server, so it is served, not committed.)
 */
export const ASYNCAPI_FILE = 'docs/asyncapi.json';

export function asyncApiFileText(): string {
  return `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`;
}

// Run as a script (not imported by the test): write the file.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(ASYNCAPI_FILE, asyncApiFileText());
  console.log(`wrote ${ASYNCAPI_FILE}`);
}
