/**
 * The production service: namespaces on pooled connections, every query with a deadline, retries
 * (reads only), the connection's circuit breaker and metrics; a health report; a graceful
 * shutdown that drains in-flight work.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import type { FindResult } from "../model/query.ts";
import type { ODataQuery } from "../odata/ast.ts";
import type { EntityModel } from "../model/model.ts";
import { type EntityNamespace, EntityNamespaceManager } from "../model/namespace.ts";
import type { EntityDefinition } from "../model/schema.ts";
import type { NamespaceOptions } from "../model/context.ts";
import type { ExecutionOptions, Row } from "../provider/provider.ts";
import { PerformanceMonitor, type QueryRecorder } from "../monitoring/monitor.ts";
import type { CircuitState } from "../resilience/breaker.ts";
import {
  type DeadlineEntry,
  DeadlineScheduler,
  type DeadlineTicket,
} from "../resilience/deadline.ts";
import { retry, type RetryOptions } from "../resilience/retry.ts";
import { describeError } from "../resilience/transient.ts";
import type { ProductionConfig } from "./config.ts";
import { poolOptionsFromConfig } from "./config.ts";
import { libraryLogger, literal } from "./log.ts";
import { ConnectionPool, type PooledConnection } from "./pool.ts";
import type { ConnectionConfig, ConnectionPoolOptions } from "./pool_types.ts";
import { type ProductionQuery, productionQueryAst } from "./production_query.ts";

/**
 * One namespace of the service.
 *
 * @example
 * ```ts
 * import type { NamespaceSpec } from "@oar/odata-active-record";
 * const logs: NamespaceSpec = {
 *   connection: { type: "sqlite", filePath: "./production.db", timeout: 5000 },
 *   entities: { logs: { fields: { id: { type: "integer", primaryKey: true }, level: { type: "string" } } } },
 * };
 * ```
 */
export interface NamespaceSpec {
  /** Its store. */
  readonly connection: ConnectionConfig;
  /** Entities registered on it. */
  readonly entities?: Readonly<Record<string, EntityDefinition>>;
  /** Options of the namespace. */
  readonly options?: NamespaceOptions;
  /** Create missing tables once connected. @default {true when the provider manages schemas} */
  readonly sync?: boolean;
  /** Runs once after the first successful connect (and sync), e.g. to load sample data. */
  readonly setup?: (namespace: EntityNamespace) => Promise<void>;
}

/**
 * Options of {@linkcode ProductionODataService}.
 *
 * @example
 * ```ts
 * import type { ProductionServiceOptions } from "@oar/odata-active-record";
 * const options: ProductionServiceOptions = {
 *   namespaces: { sqlite_prod: { connection: { type: "sqlite", filePath: "./production.db" } } },
 *   pool: { healthCheckInterval: 30000 },
 *   queryTimeout: 5000,
 *   metricsLogInterval: 300000,
 * };
 * ```
 */
export interface ProductionServiceOptions {
  /** The namespaces, by name. */
  readonly namespaces: Readonly<Record<string, NamespaceSpec>>;
  /** A pool to use, or options for a new one. */
  readonly pool?: ConnectionPool | ConnectionPoolOptions;
  /** The default query deadline, in milliseconds (a connection's `timeout` wins). @default {5000} */
  readonly queryTimeout?: number;
  /** Retry options of reads (label, signal and idempotency are set per query). */
  readonly retry?: Omit<RetryOptions, "signal" | "label" | "idempotent" | "idempotencyKey">;
  /** Metrics report period in the log, ms (0 = off). @default {300000} */
  readonly metricsLogInterval?: number;
  /** How long shutdown() waits for in-flight work, ms. @default {10000} */
  readonly shutdownTimeout?: number;
  /** A monitor to record into. */
  readonly monitor?: PerformanceMonitor;
}

/** Options of one query. */
export interface ProductionQueryOptions {
  /** This query's deadline in milliseconds. */
  readonly timeout?: number;
  /** The caller's cancellation (e.g. the HTTP request's signal). */
  readonly signal?: AbortSignal;
}

/** A namespace's state in the health report. */
export interface NamespaceHealth {
  /** `healthy` once connected and set up. */
  readonly status: "healthy" | "unhealthy" | "connecting";
  /** Its provider type. */
  readonly type: string;
  /** Why it is not healthy. */
  readonly error?: string;
}

/**
 * The answer of `healthCheck()`.
 *
 * @example
 * ```ts
 * import type { HealthReport } from "@oar/odata-active-record";
 * const report: HealthReport = {
 *   status: "degraded",
 *   timestamp: new Date().toISOString(),
 *   connections: { total: 2, healthy: 1 },
 *   namespaces: { a: { status: "healthy", type: "sqlite" }, b: { status: "unhealthy", type: "mongodb", error: "ECONNREFUSED" } },
 *   uptime: 42,
 *   circuits: { a: "closed", b: "open" },
 * };
 * ```
 */
export interface HealthReport {
  /** `healthy`: everything up; `degraded`: some namespaces down; `unhealthy`: none up or shut down. */
  readonly status: "healthy" | "degraded" | "unhealthy";
  /** When the report was made (ISO 8601). */
  readonly timestamp: string;
  /** Pooled connections. */
  readonly connections: { readonly total: number; readonly healthy: number };
  /** Per namespace. */
  readonly namespaces: Readonly<Record<string, NamespaceHealth>>;
  /** Seconds since the service was created. */
  readonly uptime: number;
  /** Circuit state per connection. */
  readonly circuits: Readonly<Record<string, CircuitState>>;
}

/** What `shutdown()` did. */
export interface ShutdownReport {
  /** True when every in-flight request finished before the deadline. */
  readonly drained: boolean;
  /** Requests still running at the deadline. */
  readonly abandoned: number;
  /** How long the shutdown took, in milliseconds. */
  readonly durationMs: number;
}

const logger = libraryLogger("service");

/** What a query of one `namespace.entity` needs, looked up once instead of on every query. */
interface Route {
  /** The namespace it was made for (a namespace removed and made again gets new routes). */
  readonly scope: EntityNamespace;
  readonly model: EntityModel<Row>;
  readonly recorder: QueryRecorder;
  /** The retry label, `query namespace.entity`. */
  readonly label: string;
  /** The connection's deadline (or the service's default), in milliseconds. */
  readonly timeout: number;
}

function icon(type: string): string {
  return type === "mongodb" ? "📊" : type === "sqlite" ? "💾" : type === "http-odata" ? "🌐" : "🔌";
}

/**
 * The production runtime around a set of namespaces.
 *
 * @example
 * ```ts
 * import { ProductionODataService } from "@oar/odata-active-record";
 * const service = new ProductionODataService({
 *   namespaces: {
 *     sqlite_prod: {
 *       connection: { type: "sqlite", filePath: ":memory:" },
 *       entities: {
 *         logs: { fields: { id: { type: "integer", primaryKey: true }, level: { type: "string" } } },
 *       },
 *     },
 *   },
 *   pool: { healthCheckInterval: 0 },
 *   metricsLogInterval: 0,
 * });
 * await service.initialize();
 * const { data } = await service.executeProductionQuery("sqlite_prod", "logs", { limit: 10 });
 * console.log(data.length, (await service.healthCheck()).status); // 0 "healthy"
 * await service.shutdown();
 * ```
 */
export class ProductionODataService {
  /** The namespaces. */
  readonly manager: EntityNamespaceManager = new EntityNamespaceManager();
  /** The connections. */
  readonly pool: ConnectionPool;
  /** The metrics. */
  readonly monitor: PerformanceMonitor;
  readonly #options: ProductionServiceOptions;
  readonly #ownsPool: boolean;
  readonly #started = Date.now();
  readonly #prepared = new Set<string>();
  readonly #preparing = new Map<string, Promise<void>>();
  readonly #connections = new Map<string, PooledConnection>();
  readonly #drainWaiters = new Set<() => void>();
  readonly #deadlines = new DeadlineScheduler();
  /** The find options of the last deadline ticket (queries in one deadline slot share them). */
  #findOptions: { ticket: DeadlineTicket | undefined; options: ExecutionOptions } = {
    ticket: undefined,
    options: {},
  };
  /** Per namespace and entity, what a query needs (filled once the namespace is prepared). */
  readonly #routes = new Map<string, Map<string, Route>>();
  #initializing: Promise<void> | undefined;
  #ready = false;
  #draining = false;
  #inFlight = 0;
  #shutdown: Promise<ShutdownReport> | undefined;

  /** Creates the service (no I/O until `initialize()`). */
  constructor(options: ProductionServiceOptions) {
    if (options === null || typeof options !== "object" || typeof options.namespaces !== "object") {
      throw new ODataActiveRecordError(
        "INVALID_CONFIGURATION",
        "ProductionODataService needs { namespaces: { name: { connection, entities } } }",
      );
    }
    this.#options = options;
    this.#ownsPool = !(options.pool instanceof ConnectionPool);
    this.pool = options.pool instanceof ConnectionPool
      ? options.pool
      : new ConnectionPool(options.pool);
    this.monitor = options.monitor ?? new PerformanceMonitor();
  }

  /** True after `initialize()` and until shutdown starts. */
  get ready(): boolean {
    return this.#ready && !this.#draining;
  }

  /** True once shutdown started (new work is refused). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Queries and tracked requests running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Connects every namespace with retries. A store that stays down does not stop start-up: the
   * service starts degraded (see `healthCheck()`) and keeps reconnecting in the background.
   * Throws only for configuration errors (unknown provider, invalid schema).
   */
  initialize(): Promise<void> {
    this.#initializing ??= this.#initialize();
    return this.#initializing;
  }

  async #initialize(): Promise<void> {
    logger.info(literal("🚀 Initializing Production OData Service..."));
    const names = Object.keys(this.#options.namespaces);
    for (const name of names) {
      const spec = this.#options.namespaces[name]!;
      const connection = this.pool.register(name, spec.connection);
      this.#connections.set(name, connection);
      const namespace = this.manager.createNamespace(name, {
        ...spec.options,
        provider: connection,
      });
      for (const [entity, definition] of Object.entries(spec.entities ?? {})) {
        namespace.registerEntity(entity, definition);
      }
    }
    const failures = await Promise.all(names.map(async (name) => {
      const connection = this.#connections.get(name)!;
      logger.info(
        literal(`${icon(connection.type)} Initializing ${connection.type} connection ${name}...`),
      );
      try {
        await connection.start();
        await this.#prepare(name);
        return undefined;
      } catch (error) {
        if (
          connection.state === "unhealthy" && connection.stats().lastError?.code !== undefined &&
          ["UNKNOWN_PROVIDER", "PROVIDER_DEPENDENCY_MISSING", "INVALID_CONFIGURATION"].includes(
            connection.stats().lastError!.code!,
          )
        ) {
          return error;
        }
        if (error instanceof ODataActiveRecordError && error.code === "INVALID_SCHEMA") {
          return error;
        }
        logger.warn(literal(`⚠️ Namespace ${name} starts degraded: ${describeError(error)}`), {
          namespace: name,
          error: describeError(error),
        });
        return undefined;
      }
    }));
    const fatal = failures.find((f) => f !== undefined);
    if (fatal !== undefined) throw fatal;
    this.monitor.startLogging(
      this.#options.metricsLogInterval ?? 300000,
      () => this.pool.getConnectionStats(),
    );
    this.#ready = true;
    const health = await this.healthCheck();
    logger.info(literal(`✅ Production OData Service ${health.status}`), { health });
  }

  /** Syncs and sets up a namespace once its connection is healthy (shared; retried after failure). */
  #prepare(name: string): Promise<void> {
    if (this.#prepared.has(name)) return Promise.resolve();
    let pending = this.#preparing.get(name);
    if (pending === undefined) {
      pending = (async () => {
        const spec = this.#options.namespaces[name]!;
        const namespace = this.manager.getNamespace(name);
        await namespace.connect();
        if (spec.sync ?? namespace.capabilities()?.schema === true) await namespace.sync();
        await spec.setup?.(namespace);
        this.#prepared.add(name);
      })().finally(() => this.#preparing.delete(name));
      this.#preparing.set(name, pending);
    }
    return pending;
  }

  #begin(): void {
    if (this.#draining) {
      throw new ODataActiveRecordError("CLOSED", "The service is shutting down", {
        suggestion: "Send the request to another instance, or retry after the restart.",
      });
    }
    this.#inFlight++;
  }

  #end(): void {
    this.#inFlight--;
    // The size test first: iterating even an empty Set allocates an iterator, on every query.
    if (this.#inFlight === 0 && this.#drainWaiters.size > 0) {
      for (const wake of this.#drainWaiters) wake();
    }
  }

  /** Counts `work` (e.g. an HTTP request) as in flight so shutdown waits for it; refused while draining. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#begin();
    try {
      return await work();
    } finally {
      this.#end();
    }
  }

  /**
   * Runs a read on `namespace.entity` with a deadline, retries of transient failures, the
   * connection's circuit breaker and metrics. `query` is the design's object form or an OData
   * query string (`"$filter=UnitPrice gt 20&$top=5"`).
   */
  executeProductionQuery<T extends Row = Row>(
    namespace: string,
    entity: string,
    query?: ProductionQuery | string,
    options?: ProductionQueryOptions,
  ): Promise<FindResult<T>> {
    // Not an async function: the common case (a prepared namespace, a first attempt that
    // succeeds) settles one promise of its own, with no await hops in between.
    try {
      this.#begin();
    } catch (error) {
      return Promise.reject(error);
    }
    // The one clock read of the hot path: it starts the deadline, and the find times the query
    // from it (metadata.executionTime), so a success reads no clock of its own.
    const startedAt = performance.now();
    let route = this.#routes.get(namespace)?.get(entity);
    try {
      const scope = this.manager.getNamespace(namespace);
      if (route === undefined || route.scope !== scope) {
        // Only known names get a series, so metrics stay bounded.
        const model = scope.getEntity(entity) as EntityModel<Row>;
        if (!this.#prepared.has(namespace)) {
          return this.#prepareAndRun(
            scope,
            model,
            namespace,
            entity,
            query,
            options,
            startedAt,
          ) as Promise<FindResult<Row>> as Promise<FindResult<T>>;
        }
        route = this.#route(scope, model, namespace, entity);
      }
    } catch (error) {
      this.#end();
      return Promise.reject(error);
    }
    return this.#run(route, query, options, startedAt) as Promise<FindResult<Row>> as Promise<
      FindResult<T>
    >;
  }

  /** The cached route of a prepared namespace's entity. */
  #route(
    scope: EntityNamespace,
    model: EntityModel<Row>,
    namespace: string,
    entity: string,
  ): Route {
    let entities = this.#routes.get(namespace);
    if (entities === undefined) {
      entities = new Map();
      this.#routes.set(namespace, entities);
    }
    const route: Route = {
      scope,
      model,
      recorder: this.monitor.recorder(namespace, entity),
      label: `query ${namespace}.${entity}`,
      timeout: this.#connections.get(namespace)?.timeout ?? this.#options.queryTimeout ?? 5000,
    };
    entities.set(entity, route);
    return route;
  }

  /** Prepares the namespace first (a failure counts as a failed query), then runs the query. */
  async #prepareAndRun(
    scope: EntityNamespace,
    model: EntityModel<Row>,
    namespace: string,
    entity: string,
    query: ProductionQuery | string | undefined,
    options: ProductionQueryOptions | undefined,
    startedAt: number,
  ): Promise<FindResult<Row>> {
    try {
      await this.#prepare(namespace);
    } catch (error) {
      this.monitor.record(namespace, entity, performance.now() - startedAt, false);
      this.#end();
      throw error;
    }
    return this.#run(this.#route(scope, model, namespace, entity), query, options, startedAt);
  }

  /**
   * The query on a prepared namespace: the first attempt inline, racing its deadline; only a
   * failure goes on to the retry machinery. Ends the query (metrics, in-flight count).
   */
  #run(
    route: Route,
    query: ProductionQuery | string | undefined,
    options: ProductionQueryOptions | undefined,
    startedAt: number,
  ): Promise<FindResult<Row>> {
    let ast: ODataQuery;
    let ticket: DeadlineTicket;
    let timeout: number;
    const signal = options?.signal;
    try {
      ast = productionQueryAst(route.model, query);
      timeout = options?.timeout ?? route.timeout;
      ticket = this.#deadlines.start(timeout, signal, startedAt);
    } catch (error) {
      route.recorder.record(performance.now() - startedAt, false);
      this.#end();
      return Promise.reject(error);
    }
    const deadlines = this.#deadlines;
    return new Promise<FindResult<Row>>((resolve, reject) => {
      // Read by the callbacks below, which enter() may call before it returns.
      // deno-lint-ignore prefer-const
      let entry: DeadlineEntry | undefined;
      let settled = false;
      const succeeded = (result: FindResult<Row>) => {
        if (settled) return;
        settled = true;
        deadlines.leave(entry);
        route.recorder.record(result.metadata.executionTime, true);
        this.#end();
        resolve(result);
      };
      const failed = (error: unknown) => {
        if (settled) return;
        settled = true;
        deadlines.leave(entry);
        this.#retry(deadlines.explain(ticket, error), ast, route, timeout, signal, startedAt)
          .then(resolve, reject);
      };
      entry = deadlines.enter(ticket, failed);
      if (entry === undefined) return;
      let work: Promise<FindResult<Row>>;
      try {
        // The model's read, timed from the service's own clock read.
        work = route.model.runFind(ast, this.#optionsFor(ticket), startedAt);
      } catch (error) {
        failed(error);
        return;
      }
      work.then(succeeded, failed);
    });
  }

  /** `{ signal: ticket.signal }`, made once per deadline slot rather than once per query. */
  #optionsFor(ticket: DeadlineTicket): ExecutionOptions {
    const last = this.#findOptions;
    if (last.ticket === ticket) return last.options;
    const options: ExecutionOptions = { signal: ticket.signal };
    this.#findOptions = { ticket, options };
    return options;
  }

  /**
   * After a failed first attempt: retries with backoff (attempt 1 "fails again" at once with
   * the same error, so logs, counts and backoff are exactly those of retry() from the start),
   * each attempt with its own deadline. Ends the query (metrics, in-flight count).
   */
  async #retry(
    failure: unknown,
    ast: ODataQuery,
    route: Route,
    timeout: number,
    signal: AbortSignal | undefined,
    startedAt: number,
  ): Promise<FindResult<Row>> {
    let ok = false;
    let durationMs = 0;
    try {
      const attempt = async () => {
        const ticket = this.#deadlines.start(timeout, signal);
        try {
          return await this.#deadlines.race(
            ticket,
            route.model.runFind(ast, { signal: ticket.signal }),
          );
        } catch (error) {
          throw this.#deadlines.explain(ticket, error);
        } finally {
          this.#deadlines.finish(ticket);
        }
      };
      const retried = await retry<FindResult<Row>>(
        (n) => n === 1 ? Promise.reject(failure) : attempt(),
        { ...this.#options.retry, signal, label: route.label },
      );
      durationMs = Math.max(retried.metadata.executionTime, performance.now() - startedAt);
      ok = true;
      return retried;
    } finally {
      route.recorder.record(ok ? durationMs : performance.now() - startedAt, ok);
      this.#end();
    }
  }

  /** The health of the service, its connections, namespaces and circuits. */
  async healthCheck(): Promise<HealthReport> {
    const stats = this.pool.getConnectionStats();
    const namespaces: Record<string, NamespaceHealth> = {};
    const circuits: Record<string, CircuitState> = {};
    let up = 0;
    for (const [name, connection] of this.#connections) {
      if (connection.state === "healthy" && !this.#prepared.has(name) && !this.#draining) {
        await this.#prepare(name).catch(() => {});
      }
      const prepared = this.#prepared.has(name);
      const status = connection.state === "healthy" && prepared
        ? "healthy"
        : connection.state === "connecting" ||
            (connection.state === "healthy" && this.#preparing.has(name))
        ? "connecting"
        : "unhealthy";
      if (status === "healthy") up++;
      const error = connection.stats().lastError?.message;
      namespaces[name] = {
        status,
        type: connection.type,
        ...(status !== "healthy" && error !== undefined ? { error } : {}),
      };
      circuits[name] = connection.breaker.state;
    }
    const total = this.#connections.size;
    return {
      status: this.#shutdown !== undefined || (total > 0 && up === 0)
        ? "unhealthy"
        : up === total
        ? "healthy"
        : "degraded",
      timestamp: new Date().toISOString(),
      connections: { total: stats.totalConnections, healthy: stats.healthyConnections },
      namespaces,
      uptime: Math.round((Date.now() - this.#started) / 1000),
      circuits,
    };
  }

  /**
   * Stops accepting work, waits up to `timeout` ms for in-flight work, logs the final metrics and
   * closes every namespace and connection. Idempotent.
   */
  shutdown(options: { readonly timeout?: number } = {}): Promise<ShutdownReport> {
    this.#shutdown ??= this.#doShutdown(options.timeout ?? this.#options.shutdownTimeout ?? 10000);
    return this.#shutdown;
  }

  async #doShutdown(timeout: number): Promise<ShutdownReport> {
    const started = performance.now();
    this.#draining = true;
    this.monitor.stopLogging();
    logger.info(
      literal(
        `🛑 Shutting down: waiting for ${this.#inFlight} in-flight request(s) (up to ${timeout}ms)`,
      ),
      { inFlight: this.#inFlight, timeoutMs: timeout },
    );
    if (this.#inFlight > 0) {
      let wake!: () => void;
      const drained = new Promise<void>((resolve) => (wake = resolve));
      this.#drainWaiters.add(wake);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        drained,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout))),
      ]);
      clearTimeout(timer);
      this.#drainWaiters.delete(wake);
    }
    const abandoned = this.#inFlight;
    this.#deadlines.close();
    this.monitor.logReport(() => this.pool.getConnectionStats());
    let failure: unknown;
    await this.manager.close().catch((error) => (failure ??= error));
    if (this.#ownsPool) await this.pool.closeAll().catch((error) => (failure ??= error));
    const durationMs = performance.now() - started;
    if (failure !== undefined) {
      logger.error(literal(`❌ Shutdown cleanup failed: ${describeError(failure)}`));
      throw failure;
    }
    logger.info(literal(`✅ Shutdown complete in ${Math.round(durationMs)}ms`), { abandoned });
    return { drained: abandoned === 0, abandoned, durationMs };
  }
}

/**
 * Service options from a validated configuration: the pool, retries, deadlines and intervals of
 * `config`, with `namespaces` as given.
 *
 * @example
 * ```ts
 * import { loadConfigFromEnv, ProductionODataService, serviceOptionsFromConfig } from "@oar/odata-active-record";
 * const config = loadConfigFromEnv({});
 * const service = new ProductionODataService(serviceOptionsFromConfig(config, {}));
 * await service.shutdown();
 * ```
 */
export function serviceOptionsFromConfig(
  config: ProductionConfig,
  namespaces: Readonly<Record<string, NamespaceSpec>>,
): ProductionServiceOptions {
  return {
    namespaces,
    pool: poolOptionsFromConfig(config),
    queryTimeout: config.connectionTimeout,
    retry: { maxRetries: config.maxRetries, minTimeout: config.retryDelay },
    metricsLogInterval: config.metricsLogInterval,
    shutdownTimeout: config.shutdownTimeout,
  };
}
