/** The largest JWKS document accepted: a handful of keys is a few KB; anything far larger is not a key set. */
export const MAX_JWKS_BYTES = 256 * 1024;

/**
 * fetch() for the identity service's key set with a bound on the body, so that a misbehaving endpoint cannot
 * make the service buffer an unbounded answer. The caller's AbortSignal (jose's timeout) covers the body too.
 */
export async function boundedFetch(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (Number(response.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) {
    await response.body?.cancel();
    throw new Error(`key set larger than ${MAX_JWKS_BYTES} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_JWKS_BYTES) throw new Error(`key set larger than ${MAX_JWKS_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new Response(Buffer.concat(chunks), { status: response.status, headers: response.headers });
}
