import type { z } from 'zod';
import type { Actor, Scope } from '../../kernel/actor.js';
import type { ErrorStatus } from './route-answers.js';

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
  /** The operation's name in /openapi.json, and so of its method in generated clients (createOrder, getOrder). */
  operationId: string;
  /** One line; `description` says the rest. */
  summary: string;
  description?: string;
  tag: string;
  /**
   * The scopes of which an access token must hold one; [] lets in any valid token. Express enforces it (when
   * authentication is on) and /openapi.json documents it, both from here. Ownership is the handlers' business.
   */
  requires: readonly Scope[];
  /**
   * The schemas of what the route takes, for /openapi.json (and the body's for its keys' spelling): the message
   * schemas the mediator validates with, or parts of them.
   */
  request: { params?: z.ZodObject; query?: z.ZodObject; body?: z.ZodType };
  /** 204 writes answer no body; 200 reads answer the response schema. */
  success: { status: 200 | 204; description: string; schema?: z.ZodType };
  /**
   * The error statuses the route's handler answers itself (404, 409); those of the layers in front of it (400,
   * 401, 403, 413, 429, 503) are added from route-answers.ts.
   */
  errors: ErrorStatus[];
  handle(input: RequestInput): Promise<unknown>;
}

/** A public route outside the API prefix (liveness, readiness, metrics, the API documents), as /openapi.json documents it. */
export interface OperationalRoute {
  path: string;
  operationId: string;
  summary: string;
  /** What the route answers itself, by status: JSON of `schema`, or text of another media type. */
  answers: Record<number, { description: string; schema: z.ZodType; mediaType?: string }>;
}
