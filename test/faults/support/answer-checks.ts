import { setTimeout as sleep } from 'node:timers/promises';
import { answerChecker } from '../../support/http-validation.js';
import type { HttpExchange } from '../../support/openapi-validator.js';

// Every answer the fault client receives is held to the /openapi.json of the process that gave it, by the suite's
// one HTTP validator (test/support/http-validation.ts). The load must neither slow down nor die on a check: a
// check runs beside the request (the document fetched once per process port, compiled once per distinct
// document), and what it finds waits for the step's report, which fails on it.

/** Problems kept word for word; beyond that only counted, so that a route answering wrongly thousands of times stays readable. */
const KEPT = 20;
/** How long a check waits for the document of a process that is down (the crash step restarts one within seconds). */
const DOCUMENT_WAIT_MS = 60_000;

let checkers = new Map<number, (exchange: HttpExchange) => Promise<string[]>>();
const pending = new Set<Promise<void>>();
let checked = 0;
let problems: string[] = [];
let unlisted = 0;

/** Checks the answer in the background; takeAnswerChecks() reports what it found. */
export function checkAnswer(port: number, exchange: HttpExchange): void {
  const work = problemsOf(port, exchange)
    .then(
      (found) => record(found.map((problem) => `an answer /openapi.json does not declare: ${problem}`)),
      (error: unknown) => record([`${exchange.method} ${exchange.url} answered ${exchange.status}, unchecked: no /openapi.json from port ${port} within ${DOCUMENT_WAIT_MS} ms (${String(error)})`]),
    )
    .finally(() => pending.delete(work));
  pending.add(work);
}

/** Once every check so far is done: how many answers were checked and their problems; then starts afresh (a new step's ports). */
export async function takeAnswerChecks(): Promise<{ checked: number; problems: string[] }> {
  while (pending.size > 0) await Promise.all(pending);
  const taken = { checked, problems: unlisted > 0 ? [...problems, `and ${unlisted} more problems of answers`] : problems };
  checkers = new Map();
  checked = 0;
  problems = [];
  unlisted = 0;
  return taken;
}

async function problemsOf(port: number, exchange: HttpExchange): Promise<string[]> {
  let checker = checkers.get(port);
  if (!checker) {
    checker = answerChecker(`http://127.0.0.1:${port}`);
    checkers.set(port, checker);
  }
  const giveUpAt = Date.now() + DOCUMENT_WAIT_MS;
  for (;;) {
    try {
      return await checker(exchange);
    } catch (error) {
      if (Date.now() > giveUpAt) throw error;
      await sleep(500);
    }
  }
}

function record(found: string[]): void {
  checked++;
  for (const problem of found) {
    if (problems.length < KEPT) problems.push(problem);
    else unlisted++;
  }
}
