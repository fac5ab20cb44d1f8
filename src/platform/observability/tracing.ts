import { register } from 'node:module';
import type { tracing as sdkTracing } from '@opentelemetry/sdk-node';
import { markTracingActive } from './trace-context.js';

/** What started tracing gives back: whether it is on, and how to flush and stop it at shutdown. */
export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is buffered and stops; bounded by the exporter's own timeouts (OTEL_BSP_EXPORT_TIMEOUT). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Tests: spans go here (through a simple processor) instead of over OTLP, whatever the environment says. */
  exporter?: sdkTracing.SpanExporter;
}

const OFF: Tracing = Object.freeze({ enabled: false, shutdown: async () => undefined });

/** Incoming requests that are never traced: Prometheus's scrapes and the orchestrator's probes, several a minute. */
const UNTRACED_PATHS = new Set(['/metrics', '/healthcheck', '/readyz']);

/**
 * Tracing is on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or its traces-only form) and
 * OTEL_SDK_DISABLED is not true; everything else is read by the SDK from the standard OTEL_* variables (service
 * name, resource attributes, sampler, protocol, headers, timeouts, batch sizes). Metrics and logs are not
 * exported over OTLP: the service's metrics are Prometheus's and its logs go to stdout (and on to Loki).
 */
export function tracingRequested(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/**
 * Starts the Node SDK with the official instrumentations of http, express, pg, amqplib and ioredis. It must run
 * before those modules are first imported (main.ts imports the service only afterwards): instrumentations patch
 * a module as it loads. ESM imports are patched through import-in-the-middle's loader hook, registered here.
 * Nothing of the SDK is even loaded when tracing is off.
 */
export async function startTracing(env: Record<string, string | undefined>, options: TracingOptions = {}): Promise<Tracing> {
  if (!options.exporter && !tracingRequested(env)) return OFF;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { NodeSDK, tracing } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    // The resource's service.name: OTEL_SERVICE_NAME when set, else the service's own name.
    ...(env.OTEL_SERVICE_NAME?.trim() ? {} : { serviceName: 'order-service' }),
    ...(options.exporter && { spanProcessors: [new tracing.SimpleSpanProcessor(options.exporter)] }),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: await instrumentations(),
  });
  sdk.start();
  markTracingActive(true);
  return {
    enabled: true,
    async shutdown() {
      markTracingActive(false);
      await sdk.shutdown();
    },
  };
}

/**
 * Each instrumentation traces only what belongs to some traced work: database and Redis statements need a parent
 * span (the one-second sweeps and probes would otherwise make a trace each), Express reports its route handlers,
 * not every middleware, and outgoing HTTP needs a parent too (the OTLP exporter's own requests are never traced).
 */
async function instrumentations() {
  const [{ HttpInstrumentation }, { ExpressInstrumentation, ExpressLayerType }, { PgInstrumentation }, { AmqplibInstrumentation }, { IORedisInstrumentation }] =
    await Promise.all([
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-express'),
      import('@opentelemetry/instrumentation-pg'),
      import('@opentelemetry/instrumentation-amqplib'),
      import('@opentelemetry/instrumentation-ioredis'),
    ]);
  return [
    new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]!), requireParentforOutgoingSpans: true }),
    new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
    new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    new AmqplibInstrumentation(),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];
}
