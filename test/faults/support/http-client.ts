import http from 'node:http';
import { checkAnswer } from './answer-checks.js';

/** Keep-alive connections per service process, like a load balancer's pool. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
/** The Authorization header every request carries, once a step has set a token (the services run with authentication on). */
let authorization: string | undefined;

export function useBearerToken(token: string | undefined): void {
  authorization = token === undefined ? undefined : `Bearer ${token}`;
}

export type Answer = { ok: true; status: number; text: string; ms: number } | { ok: false; error: string; ms: number };

/**
 * One request to a service process on 127.0.0.1. Network failures (refused, reset by a killed process) and
 * requests that outlast timeoutMs come back as { ok: false } rather than throwing: the load counts them. Every
 * answer is held to the process's /openapi.json (answer-checks.ts), and the step fails on what that finds.
 */
export function request(port: number, method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<Answer> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...(authorization ? { authorization } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const answer = { ok: true as const, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: elapsed() };
          checkAnswer(port, { method, url: path, status: answer.status, headers: res.headers, text: answer.text });
          resolve(answer);
        });
        res.on('error', (error) => resolve({ ok: false, error: error.message, ms: elapsed() }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, error: error.code ?? error.message, ms: elapsed() }));
    req.end(payload);
  });
}

export function isTimeout(answer: Answer): boolean {
  return !answer.ok && answer.error.startsWith('no answer within');
}
