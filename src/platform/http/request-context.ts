import type { RequestHandler } from 'express';
import { acceptCorrelationId } from '../observability/correlation.js';
import { actorOf } from './authenticate.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * Gives every request a correlation id (the client's X-Request-Id or a new one, echoed back), records its
 * duration by route pattern, and logs one line when it finishes (with the caller's `sub` when authenticated).
 */
export function requestContext(metrics: Metrics, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const correlationId = acceptCorrelationId(req.get('x-request-id') ?? req.get('x-correlation-id'));
    res.locals.correlationId = correlationId;
    res.setHeader('X-Request-Id', correlationId);
    const started = performance.now();
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      // The route pattern is set by the matched route; anything unmatched shares one label value.
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      metrics.httpRequestDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      const level = res.statusCode >= 500 ? 'warn' : 'http';
      // Asked first: even an entry winston then drops goes through its stream machinery, on every request.
      if (!logger.isLevelEnabled(level)) return;
      logger.log(level, 'request', {
        correlationId,
        ...(actorOf(res) ? { sub: actorOf(res)!.sub } : {}),
        method: req.method,
        route,
        status: res.statusCode,
        duration_ms: +(seconds * 1000).toFixed(2),
      });
    });
    next();
  };
}
