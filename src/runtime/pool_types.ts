/**
 * The shapes of the connection pool: design-level connection configs per provider type, pool
 * options and statistics.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import type { ProviderConfig } from "../provider/registry.ts";
import type { CircuitBreakerOptions, CircuitStats } from "../resilience/breaker.ts";

/** SQLite, as in the original design. */
export interface SqliteConnectionConfig {
  /** Selects SQLite. */
  readonly type: "sqlite";
  /** The database file. */
  readonly filePath: string;
  /** Query deadline and lock wait, in milliseconds. @default {5000} */
  readonly timeout?: number;
  /** Logs every operation at debug level (category `["odata-active-record", "sql"]`). */
  readonly verbose?: boolean;
  /**
   * Extra read-only connections (WAL mode) for reads, so they do not wait for a transaction on
   * the one writer; reads inside a transaction stay on it. @default {0}
   */
  readonly readPoolSize?: number;
}

/** A remote OData v4 service, as in the original design. */
export interface HttpODataConnectionConfig {
  /** Selects the HTTP OData provider. */
  readonly type: "http-odata";
  /** The service root URL. */
  readonly baseUrl: string;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Request deadline, in milliseconds. @default {10000} */
  readonly timeout?: number;
  /** Requests in flight at once; more wait their turn (within their deadline). @default {16} */
  readonly maxConcurrency?: number;
}

/** MongoDB, as in the original design (mapped onto the driver's own pool options). */
export interface MongoConnectionConfig {
  /** Selects MongoDB. */
  readonly type: "mongodb";
  /** `mongodb://` or `mongodb+srv://` URL. */
  readonly connectionString: string;
  /** The database. */
  readonly databaseName: string;
  /** The driver's maxPoolSize. @default {10} */
  readonly poolSize?: number;
  /** The driver's minPoolSize. @default {2} */
  readonly minPoolSize?: number;
  /** The driver's maxIdleTimeMS. @default {30000} */
  readonly maxIdleTime?: number;
  /** Connect and query deadline, in milliseconds. @default {5000} */
  readonly timeout?: number;
}

/** Any registered provider, configured with its own provider config. */
export interface CustomConnectionConfig {
  /** The provider type (must equal `provider.type`). */
  readonly type: string;
  /** The provider config passed to `createProvider()`. */
  readonly provider: ProviderConfig;
  /** Query deadline, in milliseconds. @default {5000} */
  readonly timeout?: number;
  /** Operations in flight at once; more wait their turn. @default {unlimited} */
  readonly maxConcurrency?: number;
}

/**
 * One connection's configuration: the original design's objects per provider type, or any
 * provider config wrapped as `{ type, provider }`.
 *
 * @example
 * ```ts
 * import type { ConnectionConfig } from "@oar/odata-active-record";
 * const config: ConnectionConfig = { type: "sqlite", filePath: "./production.db", timeout: 5000 };
 * ```
 */
export type ConnectionConfig =
  | SqliteConnectionConfig
  | HttpODataConnectionConfig
  | MongoConnectionConfig
  | CustomConnectionConfig;

/**
 * The provider config a connection config stands for (`createProvider()` input).
 *
 * @example
 * ```ts
 * import { toProviderConfig } from "@oar/odata-active-record";
 * toProviderConfig({ type: "sqlite", filePath: "./a.db", timeout: 2000 });
 * // { type: "sqlite", filePath: "./a.db", busyTimeoutMs: 2000 }
 * ```
 */
export function toProviderConfig(config: ConnectionConfig): ProviderConfig {
  if (config === null || typeof config !== "object" || typeof config.type !== "string") {
    throw new ODataActiveRecordError(
      "INVALID_CONFIGURATION",
      "A connection config needs a type (sqlite, http-odata, mongodb)",
      { context: { config } },
    );
  }
  if ("provider" in config && config.provider !== undefined) return config.provider;
  if (config.type === "sqlite") {
    const sqlite = config as SqliteConnectionConfig;
    if (typeof sqlite.filePath !== "string" || sqlite.filePath === "") {
      throw new ODataActiveRecordError(
        "INVALID_CONFIGURATION",
        "A sqlite connection needs filePath",
        { context: { config } },
      );
    }
    return {
      type: "sqlite",
      filePath: sqlite.filePath,
      ...(sqlite.timeout === undefined ? {} : { busyTimeoutMs: sqlite.timeout }),
    };
  }
  if (config.type === "http-odata") {
    const http = config as HttpODataConnectionConfig;
    // The provider limits concurrency and keeps connections alive itself.
    return {
      type: "http-odata",
      baseUrl: http.baseUrl,
      ...(http.headers === undefined ? {} : { headers: http.headers }),
      timeoutMs: http.timeout ?? 10000,
      concurrency: http.maxConcurrency ?? 16,
      keepAlive: true,
    } as unknown as ProviderConfig;
  }
  // The mongodb provider takes the design-level config as its own (mapped onto the driver's pool).
  return config as unknown as ProviderConfig;
}

/** A pooled connection's state. */
export type ConnectionState = "connecting" | "healthy" | "unhealthy" | "closed";

/** One connection's statistics. */
export interface ConnectionStats {
  /** The connection's name. */
  readonly name: string;
  /** Its provider type. */
  readonly type: string;
  /** Its state. */
  readonly state: ConnectionState;
  /** Connection attempts retried so far. */
  readonly retries: number;
  /** The last failure (connect, health check or query). */
  readonly lastError?: { readonly code?: string; readonly message: string; readonly at: string };
  /** When it was last pinged. */
  readonly lastHealthCheck?: string;
  /** When the current connection was established. */
  readonly connectedAt?: string;
  /** Read-pool connections open (SQLite `readPoolSize`). */
  readonly readers: number;
  /** Operations running through it now. */
  readonly active: number;
  /** Operations waiting for a turn (`maxConcurrency` reached). */
  readonly queued: number;
  /** Its circuit breaker. */
  readonly circuit: CircuitStats;
}

/** The pool's statistics. */
export interface PoolStats {
  /** Connections registered. */
  readonly totalConnections: number;
  /** Connections healthy now. */
  readonly healthyConnections: number;
  /** Connection attempts retried, all connections together. */
  readonly totalRetries: number;
  /** Retries per connect. */
  readonly maxRetries: number;
  /** The first retry delay, in milliseconds. */
  readonly retryDelay: number;
  /** Health check period, in milliseconds (0 = off). */
  readonly healthCheckInterval: number;
  /** Per connection, by name. */
  readonly connections: Readonly<Record<string, ConnectionStats>>;
}

/**
 * Options of `ConnectionPool`.
 *
 * @example
 * ```ts
 * import { ConnectionPool, type ConnectionPoolOptions } from "@oar/odata-active-record";
 * const options: ConnectionPoolOptions = { maxRetries: 3, retryDelay: 1000, healthCheckInterval: 30000, breaker: { failureThreshold: 5 } };
 * const pool = new ConnectionPool(options);
 * await pool.closeAll();
 * ```
 */
export interface ConnectionPoolOptions {
  /** Retries per connect before giving up (then reconnecting in the background). @default {3} */
  readonly maxRetries?: number;
  /** The first retry delay, in milliseconds (doubling each retry). @default {1000} */
  readonly retryDelay?: number;
  /** The cap on one retry delay, in milliseconds. @default {30000} */
  readonly maxRetryDelay?: number;
  /** The share of each delay randomised away. @default {0.2} */
  readonly jitter?: number;
  /** The random source of the jitter (tests inject a seeded one). */
  readonly random?: () => number;
  /** Health check period, in milliseconds (0 = off). @default {30000} */
  readonly healthCheckInterval?: number;
  /** Deadline of one ping, in milliseconds. @default {5000} */
  readonly healthCheckTimeout?: number;
  /** Deadline of one connect, in milliseconds. @default {5000} */
  readonly connectTimeout?: number;
  /** Options of each connection's circuit breaker (its name is the connection's). */
  readonly breaker?: Omit<CircuitBreakerOptions, "name">;
}
