import { createHash } from 'node:crypto';

/**
 * The inbox's digest of an approval, as the service keys it (src/inbox/inbox-key.ts: sha256 of `<orderID>:<decision>`),
 * so the floors' approvals write the same inbox row the service's do.
 */
export function approvalDigest(orderId: string): string {
  return createHash('sha256').update(`${orderId}:Approved`, 'utf8').digest('hex');
}
