import type { RequestHandler } from 'express';
import { ValidationError } from '../../kernel/errors.js';

/** Deeper than any body of the contract (at most 2) by far; shallow enough for every recursive walk after it. */
export const MAX_JSON_DEPTH = 32;

/**
 * Refuses a parsed body nested deeper than MAX_JSON_DEPTH with a 400. JSON.parse takes any depth, but later
 * recursive code (JSON.stringify of a value for an error, schema walks) overflows the stack on 10,000 levels.
 * Walks iteratively, so the check itself cannot overflow.
 */
export function limitJsonDepth(maxDepth = MAX_JSON_DEPTH): RequestHandler {
  return (req, _res, next) => {
    if (isDeeperThan(req.body, maxDepth)) throw new ValidationError(`JSON body is nested deeper than ${maxDepth} levels`, '');
    next();
  };
}

export function isDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Object.values(current)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}
