/**
 * The connection pool: one named connection per external store, connected with retries, pinged
 * every `healthCheckInterval`, taken out of service and reconnected in the background with
 * backoff when it stops answering, and guarded by a circuit breaker. A pooled connection is a
 * `Provider`, so namespaces take it as their provider.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import { CircuitBreaker } from "../resilience/breaker.ts";
import { unrefTimer } from "./platform.ts";
import { PooledConnection, type PoolInternals, type Settings } from "./pooled_connection.ts";
import type {
  ConnectionConfig,
  ConnectionPoolOptions,
  ConnectionStats,
  PoolStats,
} from "./pool_types.ts";

export { PooledConnection } from "./pooled_connection.ts";

function whole(value: number | undefined, fallback: number, name: string, min = 0): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result < min) {
    throw new ODataActiveRecordError(
      "INVALID_CONFIGURATION",
      `ConnectionPool option ${name} must be a number >= ${min}`,
      { context: { [name]: value } },
    );
  }
  return result;
}

/**
 * Named connections to external stores with retries, health checks and circuit breakers.
 *
 * @example
 * ```ts
 * import { ConnectionPool } from "@oar/odata-active-record";
 * const pool = new ConnectionPool({ maxRetries: 3, retryDelay: 1000, healthCheckInterval: 30000 });
 * const sqlite = await pool.getConnection("sqlite_prod", { type: "sqlite", filePath: ":memory:" });
 * console.log(pool.getConnectionStats().healthyConnections); // 1
 * await pool.closeAll();
 * ```
 */
export class ConnectionPool {
  readonly #settings: Settings;
  readonly #options: ConnectionPoolOptions;
  readonly #connections = new Map<string, PooledConnection>();
  readonly #abort = new AbortController();
  readonly #background = new Set<Promise<unknown>>();
  readonly #internals: PoolInternals;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<void> | undefined;
  #totalRetries = 0;
  #closed = false;

  /** Creates an empty pool; health checks start with the first connection. */
  constructor(options: ConnectionPoolOptions = {}) {
    this.#options = options;
    this.#settings = {
      maxRetries: whole(options.maxRetries, 3, "maxRetries"),
      retryDelay: whole(options.retryDelay, 1000, "retryDelay"),
      maxRetryDelay: whole(options.maxRetryDelay, 30000, "maxRetryDelay"),
      jitter: whole(options.jitter, 0.2, "jitter"),
      random: options.random ?? Math.random,
      healthCheckInterval: whole(options.healthCheckInterval, 30000, "healthCheckInterval"),
      healthCheckTimeout: whole(options.healthCheckTimeout, 5000, "healthCheckTimeout", 1),
      connectTimeout: whole(options.connectTimeout, 5000, "connectTimeout", 1),
    };
    this.#internals = {
      settings: this.#settings,
      signal: this.#abort.signal,
      countRetry: () => this.#totalRetries++,
      background: (work) => {
        this.#background.add(work);
        work.finally(() => this.#background.delete(work));
      },
      release: (connection) => this.#release(connection),
    };
  }

  /**
   * The connection named `name`, connected (with retries and the design's log lines). The same
   * name returns the same connection. When every attempt fails, it rejects but stays registered
   * and keeps reconnecting in the background (see {@linkcode connection}).
   */
  async getConnection(name: string, config: ConnectionConfig): Promise<PooledConnection> {
    const connection = this.register(name, config);
    connection.acquire();
    await connection.start();
    await connection.connect();
    return connection;
  }

  /** Internal: registers the connection and starts connecting without waiting. */
  register(name: string, config: ConnectionConfig): PooledConnection {
    if (this.#closed) {
      throw new ODataActiveRecordError("CLOSED", "The connection pool is closed", {
        context: { connection: name },
      });
    }
    const existing = this.#connections.get(name);
    if (existing !== undefined) {
      if (existing.type !== config?.type) {
        throw new ODataActiveRecordError(
          "INVALID_CONFIGURATION",
          `Connection ${name} exists already with type ${existing.type}`,
          { context: { connection: name, type: config?.type } },
        );
      }
      return existing;
    }
    const connection = new PooledConnection(
      name,
      config,
      this.#internals,
      new CircuitBreaker({ ...this.#options.breaker, name }),
    );
    this.#connections.set(name, connection);
    connection.start().catch(() => {}); // the caller sees the failure through getConnection()
    this.#startHealthChecks();
    return connection;
  }

  /** The registered connection named `name`, whatever its state. */
  connection(name: string): PooledConnection | undefined {
    return this.#connections.get(name);
  }

  #startHealthChecks(): void {
    const interval = this.#settings.healthCheckInterval;
    if (this.#timer !== undefined || interval === 0) return;
    this.#timer = setInterval(() => {
      this.checkHealth().catch(() => {});
    }, interval);
    unrefTimer(this.#timer);
  }

  /** Pings every healthy connection now (a round already running is shared). */
  checkHealth(): Promise<void> {
    this.#checking ??= (async () => {
      try {
        await Promise.all([...this.#connections.values()].map((c) => c.checkHealth()));
      } finally {
        this.#checking = undefined;
      }
    })();
    return this.#checking;
  }

  async #release(connection: PooledConnection): Promise<void> {
    if (this.#connections.get(connection.name) === connection) {
      this.#connections.delete(connection.name);
    }
    await connection.shutdown();
  }

  /** Statistics of the pool and of every connection. */
  getConnectionStats(): PoolStats {
    const connections: Record<string, ConnectionStats> = {};
    let healthy = 0;
    for (const connection of this.#connections.values()) {
      const stats = connection.stats();
      connections[connection.name] = stats;
      if (stats.state === "healthy") healthy++;
    }
    return {
      totalConnections: this.#connections.size,
      healthyConnections: healthy,
      totalRetries: this.#totalRetries,
      maxRetries: this.#settings.maxRetries,
      retryDelay: this.#settings.retryDelay,
      healthCheckInterval: this.#settings.healthCheckInterval,
      connections,
    };
  }

  /** Stops health checks and reconnects, and closes every connection (idempotent). */
  async closeAll(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort(new DOMException("The connection pool closed", "AbortError"));
    const all = [...this.#connections.values()];
    this.#connections.clear();
    const results = await Promise.allSettled(all.map((c) => c.shutdown()));
    await Promise.allSettled([...this.#background]);
    await this.#checking?.catch(() => {});
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }
}
