import client from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SLOW_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800];

/** A connection pool's state at one moment (Database.poolUse). */
export interface DatabasePoolUse {
  busy: number;
  idle: number;
  waiting: number;
  max: number;
}

/**
 * Every metric the service exports, in one registry owned by one app instance (tests build several apps in
 * one process). Names follow Prometheus conventions: base units (_seconds), counters end in _total, and labels
 * are low-cardinality (route patterns and kinds, never ids or raw URLs).
 */
export class Metrics {
  readonly registry = new client.Registry();

  readonly httpRequestDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly messageDuration = new client.Histogram({
    name: 'mediator_message_duration_seconds',
    help: 'Duration of commands and queries handled by the mediator, by kind, type and outcome',
    labelNames: ['kind', 'type', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly outboxPublished = new client.Counter({
    name: 'outbox_published_total',
    help: 'Outbox rows confirmed by RabbitMQ and marked published',
    registers: [this.registry],
  });

  readonly outboxPublishFailures = new client.Counter({
    name: 'outbox_publish_failures_total',
    help: 'Failed publish attempts of outbox rows, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly outboxPublishLatency = new client.Histogram({
    name: 'outbox_publish_latency_seconds',
    help: 'Time from an outbox row becoming ready (commit or saga release) to its broker confirm',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /**
   * Where a relay batch's time goes: the claim (with its BEGIN), publishing until the last confirm (the broker, and
   * each order's rows one confirm after another), the mark with its COMMIT. Failed and retried batches count too.
   */
  readonly outboxRelayBatchPhase = new client.Histogram({
    name: 'outbox_relay_batch_phase_seconds',
    help: 'Time relay batches spent per phase: claim (PostgreSQL), publish (until the last broker confirm), commit (mark and COMMIT)',
    labelNames: ['phase'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** With outbox_relay_batch_slots, the relay's utilisation: near 1, ready rows wait for a slot before their claim. */
  readonly outboxRelayBusy = new client.Counter({
    name: 'outbox_relay_busy_seconds_total',
    help: 'Seconds of relay batch slots spent in batches (claim to commit); rate / outbox_relay_batch_slots is the relay utilisation',
    registers: [this.registry],
  });

  readonly outboxRelaySlots = new client.Gauge({
    name: 'outbox_relay_batch_slots',
    help: 'Batches the relays of this process may have in flight at once (0 without the relay role)',
    registers: [this.registry],
  });

  /** Set by the relay role's outbox-gauges job from the outbox table (every 5 s); 0 in other processes. */
  readonly outboxReadyBacklog = new client.Gauge({
    name: 'outbox_ready_backlog',
    help: 'Outbox rows ready to publish (including rows backing off after a failure)',
    registers: [this.registry],
  });

  readonly outboxOldestReadyAge = new client.Gauge({
    name: 'outbox_oldest_ready_age_seconds',
    help: 'Age of the oldest ready outbox row; grows when publishing stalls',
    registers: [this.registry],
  });

  readonly outboxParkedRows = new client.Gauge({
    name: 'outbox_parked_rows',
    help: 'Outbox rows parked after the maximum publish attempts; need an operator (npm run outbox -- retry-parked)',
    registers: [this.registry],
  });

  readonly sagaOutcomes = new client.Counter({
    name: 'saga_outcomes_total',
    help: 'Customer sagas ended, by result (approved, rejected, timed_out)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly sagaTimeToOutcome = new client.Histogram({
    name: 'saga_time_to_outcome_seconds',
    help: 'Time from order creation to the end of its saga, by result',
    labelNames: ['result'] as const,
    buckets: SLOW_BUCKETS,
    registers: [this.registry],
  });

  readonly deadLettered = new client.Counter({
    name: 'messages_dead_lettered_total',
    help: 'Consumed messages sent to a dead-letter queue, by queue and reason',
    labelNames: ['queue', 'reason'] as const,
    registers: [this.registry],
  });

  readonly consumedMessages = new client.Counter({
    name: 'messages_consumed_total',
    help: 'Messages handled by the service consumers, by queue and outcome (applied, duplicate, ignored, retried, dead_lettered)',
    labelNames: ['queue', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Set by the scheduler role's saga-gauges job from the pending orders (every 5 s); 0 in other processes. */
  readonly sagaPendingOldestAge = new client.Gauge({
    name: 'saga_pending_oldest_age_seconds',
    help: 'Age of the oldest saga still waiting for the customer service (0 when none is pending)',
    registers: [this.registry],
  });

  readonly sagaPending = new client.Gauge({
    name: 'saga_pending',
    help: 'Sagas still waiting for the customer service whose order is at least older_than old (cumulative buckets)',
    labelNames: ['older_than'] as const,
    registers: [this.registry],
  });

  /** SAGA_TIMEOUT as configured, so alerts compare ages with it instead of a number written into the rules. */
  readonly sagaTimeout = new client.Gauge({
    name: 'saga_timeout_seconds',
    help: 'How long the customer service has to answer before a saga times out (SAGA_TIMEOUT)',
    registers: [this.registry],
  });

  /** 1 while a consumer of this process is subscribed to the queue, 0 while it is not (reconnecting, stopped). */
  readonly consumerAttached = new client.Gauge({
    name: 'consumer_attached',
    help: 'Whether a consumer of this process is subscribed to the queue (1) or not (0)',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly projectionLag = new client.Histogram({
    name: 'projection_lag_seconds',
    help: 'Time from an event being recorded to the Redis projection applying it',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly projectionReads = new client.Counter({
    name: 'projection_reads_total',
    help: 'Reads of the per-user order projection, by result (hit, miss, degraded)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly projectionRebuilds = new client.Counter({
    name: 'projection_rebuilds_total',
    help: 'Per-user projections rebuilt from PostgreSQL, by trigger (read, command)',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });

  /**
   * What a transaction waited for its PostgreSQL connection: the pool's queue, and opening a connection when the
   * pool had room for one. Single-statement reads are not timed (pg-pool takes their connection inside its query).
   */
  readonly databasePoolWait = new client.Histogram({
    name: 'db_pool_wait_seconds',
    help: 'Time transactions waited for a connection from the PostgreSQL pool (the queue, and opening one)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** The pool's connections, read at each scrape from what observeDatabasePool was given (none before it). */
  readonly databasePool = new client.Gauge({
    name: 'db_pool_connections',
    help: 'PostgreSQL pool connections by state: busy (checked out or opening), idle, waiting (callers queued for one), max (DATABASE_POOL_SIZE)',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      const use = this.databasePoolUse?.();
      if (use) for (const state of ['busy', 'idle', 'waiting', 'max'] as const) this.databasePool.set({ state }, use[state]);
    },
  });

  private databasePoolUse: (() => DatabasePoolUse) | undefined;

  readonly httpConnectionsRefused = new client.Counter({
    name: 'http_connections_refused_total',
    help: 'Connections the API listener closed on arrival, by reason: per_address (MAX_CONNECTIONS_PER_ADDRESS), max_connections (MAX_CONNECTIONS open and none idle)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** The API listener's open connections, read at each scrape from what observeConnections was given (0 before it). */
  readonly httpConnectionsOpen = new client.Gauge({
    name: 'http_connections_open',
    help: 'Connections open on the API listener (at most MAX_CONNECTIONS)',
    registers: [this.registry],
    collect: () => {
      this.httpConnectionsOpen.set(this.openConnections?.() ?? 0);
    },
  });

  private openConnections: (() => number) | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) client.collectDefaultMetrics({ register: this.registry });
    // Both reasons from the start, so that a rate over them is 0, not "no data", until the first refusal.
    for (const reason of ['per_address', 'max_connections'] as const) this.httpConnectionsRefused.inc({ reason }, 0);
  }

  /** db_pool_connections reads the pool through this at each scrape. */
  observeDatabasePool(use: () => DatabasePoolUse): void {
    this.databasePoolUse = use;
  }

  /** http_connections_open reads the API listener through this at each scrape. */
  observeConnections(open: () => number): void {
    this.openConnections = open;
  }
}
