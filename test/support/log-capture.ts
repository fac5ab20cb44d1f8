import { Writable } from 'node:stream';
import winston from 'winston';

export interface CapturedLogs {
  logger: winston.Logger;
  /** Every entry logged so far, as the JSON object the service would print. */
  entries: Record<string, unknown>[];
}

/** A logger that keeps its entries in memory (from `level` up), for tests that assert what the service logged. */
export function captureLogs(level = 'warn'): CapturedLogs {
  const entries: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      entries.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const logger = winston.createLogger({ level, format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, entries };
}
