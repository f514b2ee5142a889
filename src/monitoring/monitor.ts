/**
 * Query metrics per `namespace.entity` and overall: counts, error rate, average and P50/P95/P99,
 * logged periodically in the original design's "📊 Performance Metrics" block and exposed in the
 * Prometheus text format for `/metrics`.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import { libraryLogger, literal } from "../runtime/log.ts";
import { unrefTimer } from "../runtime/platform.ts";
import type { PoolStats } from "../runtime/pool_types.ts";
import { PercentileTracker } from "./percentile.ts";

/** The metrics of one `namespace.entity` (or of everything). */
export interface EntityMetrics {
  /** Queries run. */
  readonly queries: number;
  /** Queries that failed. */
  readonly errors: number;
  /** errors / queries (0 when none ran). */
  readonly errorRate: number;
  /** Average time in milliseconds (NaN when none ran). */
  readonly avgMs: number;
  /** Median time in milliseconds. */
  readonly p50: number;
  /** 95th percentile in milliseconds. */
  readonly p95: number;
  /** 99th percentile in milliseconds. */
  readonly p99: number;
  /** Slowest in milliseconds. */
  readonly maxMs: number;
}

/** Everything the monitor knows, at one instant. */
export interface MetricsSnapshot {
  /** Keyed by `namespace.entity`. */
  readonly entities: Readonly<Record<string, EntityMetrics>>;
  /** Every query together. */
  readonly overall: EntityMetrics;
}

/** Options of {@linkcode PerformanceMonitor}. */
export interface PerformanceMonitorOptions {
  /** Prefix of the Prometheus metric names. @default {"odata_active_record"} */
  readonly metricPrefix?: string;
}

/**
 * The metrics series of one `namespace.entity`, from {@linkcode PerformanceMonitor.recorder}:
 * a hot path keeps it and records without looking the names up on every query.
 *
 * @example
 * ```ts
 * import { PerformanceMonitor } from "@oar/odata-active-record";
 * const monitor = new PerformanceMonitor();
 * const logs = monitor.recorder("sqlite_prod", "logs");
 * logs.record(12.5, true);
 * console.log(monitor.snapshot().entities["sqlite_prod.logs"]?.queries); // 1
 * ```
 */
export interface QueryRecorder {
  /** Records one query taking `durationMs`; `ok` false for a failure. */
  record(durationMs: number, ok: boolean): void;
}

class Series implements QueryRecorder {
  readonly namespace: string;
  readonly entity: string;
  errors = 0;
  readonly tracker: PercentileTracker = new PercentileTracker();

  constructor(namespace: string, entity: string) {
    this.namespace = namespace;
    this.entity = entity;
  }

  record(durationMs: number, ok: boolean): void {
    this.tracker.record(durationMs);
    if (!ok) this.errors++;
  }
}

const logger = libraryLogger("metrics");

function metricsOf(series: { errors: number; tracker: PercentileTracker }): EntityMetrics {
  const { tracker } = series;
  return {
    queries: tracker.count,
    errors: series.errors,
    errorRate: tracker.count === 0 ? 0 : series.errors / tracker.count,
    avgMs: tracker.mean,
    p50: tracker.percentile(50),
    p95: tracker.percentile(95),
    p99: tracker.percentile(99),
    maxMs: tracker.max,
  };
}

function ms(value: number): string {
  return Number.isNaN(value) ? "n/a" : `${value.toFixed(2)}ms`;
}

function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Collects query timings and errors.
 *
 * @example
 * ```ts
 * import { PerformanceMonitor } from "@oar/odata-active-record";
 * const monitor = new PerformanceMonitor();
 * monitor.record("sqlite_prod", "logs", 12.5, true);
 * monitor.record("sqlite_prod", "logs", 30, false);
 * console.log(monitor.snapshot().entities["sqlite_prod.logs"]?.errorRate); // 0.5
 * console.log(monitor.formatReport());
 * ```
 */
export class PerformanceMonitor {
  readonly #series = new Map<string, Map<string, Series>>();

  readonly #prefix: string;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Creates an empty monitor. */
  constructor(options: PerformanceMonitorOptions = {}) {
    this.#prefix = options.metricPrefix ?? "odata_active_record";
  }

  /** Records one query of `namespace.entity` taking `durationMs`; `ok` false for a failure. */
  record(namespace: string, entity: string, durationMs: number, ok: boolean): void {
    this.recorder(namespace, entity).record(durationMs, ok);
  }

  /** The series of `namespace.entity` (created on first use), to record into directly. */
  recorder(namespace: string, entity: string): QueryRecorder {
    let entities = this.#series.get(namespace);
    if (entities === undefined) {
      entities = new Map();
      this.#series.set(namespace, entities);
    }
    let series = entities.get(entity);
    if (series === undefined) {
      series = new Series(namespace, entity);
      entities.set(entity, series);
    }
    return series;
  }

  #all(): Series[] {
    return [...this.#series.values()].flatMap((entities) => [...entities.values()]);
  }

  /** The metrics now. */
  snapshot(): MetricsSnapshot {
    const entities: Record<string, EntityMetrics> = {};
    // Overall is merged from the series when asked, so recording touches one tracker only.
    const overall = { errors: 0, tracker: new PercentileTracker() };
    for (const series of this.#all()) {
      entities[`${series.namespace}.${series.entity}`] = metricsOf(series);
      overall.errors += series.errors;
      overall.tracker.merge(series.tracker);
    }
    return { entities, overall: metricsOf(overall) };
  }

  /** The original design's "📊 Performance Metrics" block, with P50/P95/P99 per entity. */
  formatReport(): string {
    const { entities, overall } = this.snapshot();
    const lines = ["📊 Performance Metrics:", "========================"];
    for (const [name, m] of Object.entries(entities)) {
      lines.push(
        `${name}:`,
        `  Queries: ${m.queries}`,
        `  Avg Time: ${ms(m.avgMs)}`,
        `  Error Rate: ${(m.errorRate * 100).toFixed(2)}%`,
        `  P50: ${ms(m.p50)}  P95: ${ms(m.p95)}  P99: ${ms(m.p99)}`,
        "",
      );
    }
    lines.push(
      "Overall Response Times:",
      `  Average: ${ms(overall.avgMs)}`,
      `  P50: ${ms(overall.p50)}`,
      `  P95: ${ms(overall.p95)}`,
      `  P99: ${ms(overall.p99)}`,
      "========================",
    );
    return lines.join("\n");
  }

  /** Logs {@linkcode formatReport} (and the pool block when `pool` is given) at info level. */
  logReport(pool?: () => PoolStats): void {
    const report = this.formatReport();
    logger.info(literal(report), { metrics: this.snapshot() });
    if (pool !== undefined) {
      const stats = pool();
      logger.info(literal(formatPoolStats(stats)), { pool: stats });
    }
  }

  /** Logs the report every `intervalMs` (0 = never) on a timer that never keeps the process alive. */
  startLogging(intervalMs: number, pool?: () => PoolStats): void {
    this.stopLogging();
    if (!Number.isFinite(intervalMs) || intervalMs < 0) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        "startLogging() takes an interval >= 0 ms",
        { context: { intervalMs } },
      );
    }
    if (intervalMs === 0) return;
    this.#timer = setInterval(() => this.logReport(pool), intervalMs);
    unrefTimer(this.#timer);
  }

  /** Stops the periodic report. */
  stopLogging(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The Prometheus text exposition (format 0.0.4): query counters, error counters, a summary of
   * durations in seconds with 0.5/0.95/0.99 quantiles, and pool and circuit gauges.
   */
  toPrometheus(options: { readonly pool?: PoolStats } = {}): string {
    const p = this.#prefix;
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${p}_${name} ${help}`, `# TYPE ${p}_${name} ${type}`);
    const all = this.#all();
    const labels = (s: Series) => `namespace="${label(s.namespace)}",entity="${label(s.entity)}"`;
    head("queries_total", "counter", "Queries run per namespace and entity.");
    for (const s of all) out.push(`${p}_queries_total{${labels(s)}} ${s.tracker.count}`);
    head("query_errors_total", "counter", "Queries that failed per namespace and entity.");
    for (const s of all) out.push(`${p}_query_errors_total{${labels(s)}} ${s.errors}`);
    head("query_duration_seconds", "summary", "Query durations per namespace and entity.");
    for (const s of all) {
      for (const q of [0.5, 0.95, 0.99]) {
        const value = s.tracker.percentile(q * 100) / 1000;
        out.push(`${p}_query_duration_seconds{${labels(s)},quantile="${q}"} ${number(value)}`);
      }
      out.push(`${p}_query_duration_seconds_sum{${labels(s)}} ${number(s.tracker.sum / 1000)}`);
      out.push(`${p}_query_duration_seconds_count{${labels(s)}} ${s.tracker.count}`);
    }
    const pool = options.pool;
    if (pool !== undefined) {
      head("pool_connections", "gauge", "Connections in the pool.");
      out.push(`${p}_pool_connections ${pool.totalConnections}`);
      head("pool_connections_healthy", "gauge", "Healthy connections in the pool.");
      out.push(`${p}_pool_connections_healthy ${pool.healthyConnections}`);
      head("pool_retries_total", "counter", "Connection attempts retried.");
      out.push(`${p}_pool_retries_total ${pool.totalRetries}`);
      const connections = Object.values(pool.connections);
      head("connection_up", "gauge", "1 when the connection is healthy.");
      for (const c of connections) {
        out.push(
          `${p}_connection_up{connection="${label(c.name)}",type="${label(c.type)}"} ${
            c.state === "healthy" ? 1 : 0
          }`,
        );
      }
      head("circuit_state", "gauge", "1 for the circuit's current state.");
      for (const c of connections) {
        for (const state of ["closed", "open", "half-open"]) {
          out.push(
            `${p}_circuit_state{connection="${label(c.name)}",state="${state}"} ${
              c.circuit.state === state ? 1 : 0
            }`,
          );
        }
      }
      head("circuit_rejected_total", "counter", "Calls refused while the circuit was open.");
      for (const c of connections) {
        out.push(
          `${p}_circuit_rejected_total{connection="${label(c.name)}"} ${c.circuit.rejected}`,
        );
      }
    }
    return out.join("\n") + "\n";
  }
}

/**
 * The original design's "🔌 Connection Pool Statistics" block.
 *
 * @example
 * ```ts
 * import { ConnectionPool, formatPoolStats } from "@oar/odata-active-record";
 * const pool = new ConnectionPool({ healthCheckInterval: 0 });
 * console.log(formatPoolStats(pool.getConnectionStats()));
 * await pool.closeAll();
 * ```
 */
export function formatPoolStats(stats: PoolStats): string {
  const lines = [
    "🔌 Connection Pool Statistics:",
    "==============================",
    `Total Connections: ${stats.totalConnections}`,
    `Healthy Connections: ${stats.healthyConnections}`,
    `Total Retries: ${stats.totalRetries}`,
    `Max Retries: ${stats.maxRetries}`,
    `Retry Delay: ${stats.retryDelay}ms`,
    `Health Check Interval: ${stats.healthCheckInterval}ms`,
  ];
  for (const c of Object.values(stats.connections)) {
    lines.push(
      `  ${c.name} (${c.type}): ${c.state}, circuit ${c.circuit.state}${
        c.lastError === undefined ? "" : `, last error: ${c.lastError.message}`
      }`,
    );
  }
  lines.push("==============================");
  return lines.join("\n");
}
