/**
 * What a benchmark started outside itself (databases, vhosts, child processes, Redis keys) is removed even when it
 * is interrupted: on SIGINT, SIGTERM, or its stdout closing (`| head`: the next write fails with EPIPE), the
 * registered cleanups run, newest first, each bounded, and the process exits with 130. A finished benchmark
 * unregisters each cleanup as it runs it itself.
 *
 * The signal handlers are installed with the first cleanup, not on import: a benchmark's own child (a server it
 * forks from the same file, which imports this too) registers none and is stopped with SIGTERM as its normal end,
 * which its own handler turns into a graceful close; here it would be cut short, exit 130 and print "interrupted".
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

type Cleanup = () => Promise<void>;

const CLEANUP_BOUND_MS = 30_000;
const cleanups = new Set<Cleanup>();
let interrupted = false;
let signalsHandled = false;

// From the first import on: an EPIPE on a line printed before anything was started must not crash either.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') void interrupt('stdout closed');
});

/** Runs `cleanup` if the benchmark is interrupted before the returned function is called. */
export function cleanUpOnInterrupt(cleanup: Cleanup): () => void {
  if (!signalsHandled) {
    signalsHandled = true;
    // Kept for the signals after the first, which the cleanup outlives: tsx's CLI, when the process has not told
    // it within 30 ms that it caught a signal (a busy event loop), sends it again, and a process that no longer
    // listens is ended there, its databases and vhosts left behind (seen with `npx tsx`, not with `node --import tsx`).
    process.on('SIGINT', () => void interrupt('SIGINT'));
    process.on('SIGTERM', () => void interrupt('SIGTERM'));
  }
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}

/** A child of the benchmark: SIGTERM on interrupt, SIGKILL if it is still there 5 s later. */
export function stopOnInterrupt(child: ChildProcess): void {
  const forget = cleanUpOnInterrupt(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  child.once('exit', forget);
}

async function interrupt(why: string): Promise<void> {
  if (interrupted) return;
  interrupted = true;
  console.error(`interrupted (${why}): removing what the benchmark started`);
  // Connections the benchmark still holds fail as their database or vhost goes (PostgreSQL terminates them): what
  // is left to remove matters more now than those errors.
  process.on('uncaughtException', (error) => console.error('ignored while cleaning up:', String(error).slice(0, 200)));
  for (const cleanup of [...cleanups].reverse()) {
    await Promise.race([cleanup().catch((error) => console.error('a cleanup failed:', String(error))), sleep(CLEANUP_BOUND_MS)]);
  }
  process.exit(130);
}
