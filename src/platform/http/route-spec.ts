import type { z } from 'zod';
import type { Actor, Scope } from '../../kernel/actor.js';

export interface RequestInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  /** The JSON body with its keys in the schema's spelling (see canonicalizeKeys), or {} when there is none. */
  body: Record<string, unknown>;
  correlationId: string;
  /** The authenticated caller; undefined when the API runs without authentication. Routes pass it to the mediator. */
  actor: Actor | undefined;
}

/**
 * One HTTP route: what Express mounts and what /openapi.json documents, from the same zod schemas the
 * mediator validates with. Handlers are thin: build the message payload, send it, return the result.
 */
export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express path under the API prefix, e.g. /products/:productID/productName. */
  path: string;
  /** Older spellings that answer the same (e.g. /address for /addresses). */
  aliases?: string[];
  summary: string;
  tag: string;
  /**
   * The scopes of which an access token must hold one; [] lets in any valid token. Express enforces it (when
   * authentication is on) and /openapi.json documents it, both from here. Ownership is the handlers' business.
   */
  requires: readonly Scope[];
  request: { params?: z.ZodObject; query?: z.ZodObject; body?: z.ZodType };
  /** 204 writes answer no body; 200 reads answer the response schema. */
  success: { status: 200 | 204; description: string; schema?: z.ZodType };
  /** The error statuses this route can answer, besides 400 for malformed JSON and 503. */
  errors: number[];
  handle(input: RequestInput): Promise<unknown>;
}
