const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2 };

/** Parses "256kb", "1mb", "512b" (or a bare number of bytes) into bytes; kb and mb are binary, as Express reads them. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+)\s*(b|kb|kib|mb|mib)?\s*$/i.exec(text);
  if (!match) return undefined;
  const bytes = Number(match[1]) * UNIT_BYTES[(match[2] ?? 'b').toLowerCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
