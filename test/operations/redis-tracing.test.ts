import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('Redis commands in traces', () => {
  it('when two traces send Redis commands in the same turn of the event loop, then each command is a span of its own trace', async () => {
    // With auto-pipelining the batch goes out from a callback its first command scheduled, so both commands' spans
    // would land in the first trace (a projector's script in a reader's trace): it is off while tracing.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/operations/fixtures/redis-trace-attribution.ts'], {
      env: { ...process.env, REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { span: string; commands: string[] }[];
    expect(result).toHaveLength(2);
    for (const { span, commands } of result) expect(commands).toEqual([span]);
  });
});
