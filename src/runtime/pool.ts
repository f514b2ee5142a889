/**
 * The connection pool: one named connection per external store, connected with retries, pinged
 * every `healthCheckInterval`, taken out of service and reconnected in the background with
 * backoff when it stops answering, and guarded by a circuit breaker. A pooled connection is a
 * `Provider`, so namespaces take it as their provider.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import type {
  ExecutionOptions,
  Provider,
  ProviderCapabilities,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  SyncReport,
  WriteTarget,
} from "../provider/provider.ts";
import { createProvider, type ProviderConfig } from "../provider/registry.ts";
import type { EntityMetadata } from "../model/schema.ts";
import { CircuitBreaker } from "../resilience/breaker.ts";
import { deadline, delay } from "../resilience/deadline.ts";
import { backoffDelay, retry } from "../resilience/retry.ts";
import { describeError, isTransientError } from "../resilience/transient.ts";
import { libraryLogger, literal } from "./log.ts";
import { unrefTimer } from "./platform.ts";
import {
  type ConnectionConfig,
  type ConnectionPoolOptions,
  type ConnectionState,
  type ConnectionStats,
  type PoolStats,
  toProviderConfig,
} from "./pool_types.ts";

const logger = libraryLogger("pool");
const sqlLogger = libraryLogger("sql");

const NO_CAPABILITIES: ProviderCapabilities = {
  apply: false,
  search: false,
  transactions: false,
  expand: false,
  compute: false,
  schema: false,
};

interface Settings {
  readonly maxRetries: number;
  readonly retryDelay: number;
  readonly maxRetryDelay: number;
  readonly jitter: number;
  readonly random: () => number;
  readonly healthCheckInterval: number;
  readonly healthCheckTimeout: number;
  readonly connectTimeout: number;
}

interface PoolInternals {
  readonly settings: Settings;
  readonly signal: AbortSignal;
  countRetry(): void;
  background(work: Promise<unknown>): void;
  release(connection: PooledConnection): Promise<void>;
}

/**
 * One pooled connection: a `Provider` whose operations fail fast with `PROVIDER_UNAVAILABLE`
 * while the store is out of service and go through the connection's circuit breaker otherwise.
 * Made by `ConnectionPool.getConnection()`; its `close()` releases it (the pool closes the store
 * when the last user released it, or at `closeAll()`).
 *
 * @example
 * ```ts
 * import { ConnectionPool, EntityNamespaceManager } from "@oar/odata-active-record";
 * const pool = new ConnectionPool({ healthCheckInterval: 0 });
 * const connection = await pool.getConnection("mem", { type: "sqlite", filePath: ":memory:" });
 * const manager = new EntityNamespaceManager();
 * const ns = manager.createNamespace("mem", { provider: connection });
 * await manager.close();
 * await pool.closeAll();
 * ```
 */
export class PooledConnection implements Provider {
  /** The connection's name. */
  readonly name: string;
  /** Its configuration. */
  readonly config: ConnectionConfig;
  /** The provider config it connects with. */
  readonly providerConfig: ProviderConfig;
  /** Its circuit breaker. */
  readonly breaker: CircuitBreaker;
  /** Deadline of queries on it, in milliseconds. */
  readonly timeout: number;
  readonly #pool: PoolInternals;
  readonly #verbose: boolean;
  #provider: Provider | undefined;
  #capabilities: ProviderCapabilities | undefined;
  #state: ConnectionState = "connecting";
  #connecting: Promise<void> | undefined;
  #reconnecting = false;
  #retries = 0;
  #references = 0;
  #lastError: { code?: string; message: string; at: string } | undefined;
  #lastHealthCheck: string | undefined;
  #connectedAt: string | undefined;

  /** Internal: made by the pool. */
  constructor(
    name: string,
    config: ConnectionConfig,
    pool: PoolInternals,
    breaker: CircuitBreaker,
  ) {
    this.name = name;
    this.config = config;
    this.providerConfig = toProviderConfig(config);
    this.breaker = breaker;
    this.timeout = config.timeout ?? 5000;
    this.#pool = pool;
    this.#verbose = (config as { verbose?: boolean }).verbose === true;
  }

  /** The provider type. */
  get type(): string {
    return this.config.type;
  }

  /** The provider's capabilities (all false before the first connect). */
  get capabilities(): ProviderCapabilities {
    return this.#provider?.capabilities ?? this.#capabilities ?? NO_CAPABILITIES;
  }

  /** The state now. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Internal: one more user. */
  acquire(): void {
    this.#references++;
  }

  #fail(error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    this.#lastError = {
      ...(typeof code === "string" ? { code } : {}),
      message: describeError(error),
      at: new Date().toISOString(),
    };
  }

  /** One attempt: create, connect and ping within the connect deadline. */
  async #attempt(): Promise<void> {
    const provider = await createProvider(this.providerConfig);
    try {
      const ms = this.#pool.settings.connectTimeout;
      await deadline((signal) => provider.connect({ signal }), ms, { signal: this.#pool.signal });
      await deadline((signal) => provider.ping({ signal }), ms, { signal: this.#pool.signal });
    } catch (error) {
      await provider.close().catch(() => {});
      throw error;
    }
    if (this.#state === "closed") {
      await provider.close();
      throw this.#closedError();
    }
    this.#provider = provider;
    this.#capabilities = provider.capabilities;
    this.#state = "healthy";
    this.#connectedAt = new Date().toISOString();
    this.breaker.reset();
  }

  /** Internal: the first connect, with retries; on failure it keeps trying in the background. */
  start(): Promise<void> {
    this.#connecting ??= (async () => {
      const s = this.#pool.settings;
      try {
        await retry(async (attempt) => {
          await this.#attempt();
          logger.info(
            literal(`✅ Connection ${this.name} established successfully (attempt ${attempt})`),
            { connection: this.name, attempt },
          );
        }, {
          maxRetries: s.maxRetries,
          minTimeout: s.retryDelay,
          maxTimeout: s.maxRetryDelay,
          jitter: s.jitter,
          random: s.random,
          signal: this.#pool.signal,
          // A caller awaits this connect: its waits must keep the process alive.
          label: `connection ${this.name}`,
          onRetry: ({ error }) => {
            this.#fail(error);
            this.#retries++;
            this.#pool.countRetry();
          },
        });
      } catch (error) {
        this.#fail(error);
        if (this.#state === "closed") throw this.#closedError();
        this.#state = "unhealthy";
        // A wrong config (unknown provider, missing dependency) will not heal by waiting.
        if (!isTransientError(error)) throw error;
        logger.error(
          literal(
            `🚨 Connection ${this.name} unavailable after ${s.maxRetries + 1} attempts: ${
              describeError(error)
            }; retrying in the background`,
          ),
          { connection: this.name, error: describeError(error) },
        );
        this.#reconnectInBackground();
        throw error;
      }
    })();
    return this.#connecting;
  }

  #reconnectInBackground(): void {
    if (this.#reconnecting || this.#state === "closed") return;
    this.#reconnecting = true;
    const s = this.#pool.settings;
    this.#pool.background((async () => {
      try {
        for (let retryIndex = 0; this.#state === "unhealthy"; retryIndex++) {
          const delayMs = backoffDelay(Math.min(retryIndex, 30), {
            minTimeout: s.retryDelay,
            maxTimeout: s.maxRetryDelay,
            jitter: s.jitter,
            random: s.random,
          });
          logger.info(literal(`🔄 Retrying connection ${this.name} in ${delayMs}ms...`), {
            connection: this.name,
            delayMs,
          });
          await delay(delayMs, { signal: this.#pool.signal, persistent: false });
          this.#retries++;
          this.#pool.countRetry();
          try {
            await this.#attempt();
            logger.info(literal(`✅ Connection ${this.name} re-established`), {
              connection: this.name,
            });
          } catch (error) {
            this.#fail(error);
            logger.warn(
              literal(`⚠️ Connection ${this.name} reconnect failed: ${describeError(error)}`),
              { connection: this.name, error: describeError(error) },
            );
          }
        }
      } catch {
        // The pool closed while waiting.
      } finally {
        this.#reconnecting = false;
      }
    })());
  }

  /** Internal: pings the store; on failure takes the connection out of service. */
  async checkHealth(): Promise<boolean> {
    const provider = this.#provider;
    if (this.#state !== "healthy" || provider === undefined) return this.#state === "healthy";
    try {
      await deadline(
        (signal) => provider.ping({ signal }),
        this.#pool.settings.healthCheckTimeout,
        { signal: this.#pool.signal },
      );
      this.#lastHealthCheck = new Date().toISOString();
      return true;
    } catch (error) {
      this.#lastHealthCheck = new Date().toISOString();
      if (this.#state !== "healthy" || this.#provider !== provider) return false;
      this.#fail(error);
      logger.error(
        literal(`🚨 Connection ${this.name} failed health check: ${describeError(error)}`),
        { connection: this.name, error: describeError(error) },
      );
      logger.error(literal(`🚨 Connection ${this.name} is unhealthy, removing from pool`), {
        connection: this.name,
      });
      this.#state = "unhealthy";
      this.#provider = undefined;
      await provider.close().catch(() => {});
      this.#reconnectInBackground();
      return false;
    }
  }

  #closedError(): ODataActiveRecordError {
    return new ODataActiveRecordError("CLOSED", `Connection ${this.name} is closed`, {
      context: { connection: this.name },
    });
  }

  #unavailable(): ODataActiveRecordError {
    if (this.#state === "closed") return this.#closedError();
    const last = this.#lastError;
    return new ODataActiveRecordError(
      "PROVIDER_UNAVAILABLE",
      `Connection ${this.name} is ${
        this.#state === "connecting" ? "still connecting" : "unavailable"
      }${
        last === undefined ? "" : ` (${last.message})`
      }; it is being reconnected in the background`,
      { context: { connection: this.name, state: this.#state, lastError: last?.message } },
    );
  }

  /** The live provider, or the coded reason why there is none. */
  #live(): Provider {
    const provider = this.#provider;
    if (this.#state !== "healthy" || provider === undefined) throw this.#unavailable();
    return provider;
  }

  /** The live provider for an operation, admitted by the breaker (throws the coded reason). */
  #admit(what: () => string): Provider {
    const provider = this.#live();
    this.breaker.admit();
    if (this.#verbose) {
      sqlLogger.debug(literal(`${this.name}: ${what()}`), { connection: this.name });
    }
    return provider;
  }

  #guard<T>(what: () => string, work: (provider: Provider) => Promise<T>): Promise<T> {
    try {
      return this.breaker.observe(work(this.#admit(what)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Connects (waiting for the first connect); fails fast while the store is unavailable. */
  async connect(_options?: ExecutionOptions): Promise<void> {
    if (this.#state === "connecting" && this.#connecting !== undefined) await this.#connecting;
    this.#live();
  }

  /** Releases this user's hold; the last release closes the store. */
  async close(): Promise<void> {
    this.#references = Math.max(0, this.#references - 1);
    if (this.#references === 0) await this.#pool.release(this);
  }

  /** Internal: closes the store for good. */
  async shutdown(): Promise<void> {
    this.#state = "closed";
    const provider = this.#provider;
    this.#provider = undefined;
    await provider?.close();
  }

  /** Pings the live store (no retry, no breaker). */
  async ping(options?: ExecutionOptions): Promise<void> {
    await this.#live().ping(options);
  }

  /** See `ProviderOperations.read`. */
  read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    // The hot path, without closures: admit, start, observe.
    try {
      const provider = this.#admit(() => `read ${request.entity.name}`);
      return this.breaker.observe(provider.read(request, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** See `ProviderOperations.stream` (checked for availability when iteration starts). */
  async *stream(request: ReadRequest, options?: ExecutionOptions): AsyncGenerator<Row> {
    yield* this.#live().stream(request, options);
  }

  /** See `ProviderOperations.count`. */
  count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    return this.#guard(() => `count ${request.entity.name}`, (p) => p.count(request, options));
  }

  /** See `ProviderOperations.insert`. */
  insert(entity: EntityMetadata, rows: readonly Row[], options?: ExecutionOptions): Promise<Row[]> {
    return this.#guard(() => `insert ${entity.name}`, (p) => p.insert(entity, rows, options));
  }

  /** See `ProviderOperations.update`. */
  update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    return this.#guard(
      () => `update ${target.entity.name}`,
      (p) => p.update(target, changes, options),
    );
  }

  /** See `ProviderOperations.delete`. */
  delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    return this.#guard(() => `delete ${target.entity.name}`, (p) => p.delete(target, options));
  }

  /** See `Provider.transaction`. */
  transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    return this.#guard(() => "transaction", (p) => p.transaction(work, options));
  }

  /** See `Provider.sync`. */
  sync(entities: readonly EntityMetadata[], options?: ExecutionOptions): Promise<SyncReport> {
    return this.#guard(() => "sync", (p) => p.sync(entities, options));
  }

  /** The connection's statistics. */
  stats(): ConnectionStats {
    return {
      name: this.name,
      type: this.type,
      state: this.#state,
      retries: this.#retries,
      ...(this.#lastError === undefined ? {} : { lastError: { ...this.#lastError } }),
      ...(this.#lastHealthCheck === undefined ? {} : { lastHealthCheck: this.#lastHealthCheck }),
      ...(this.#connectedAt === undefined ? {} : { connectedAt: this.#connectedAt }),
      circuit: this.breaker.stats(),
    };
  }
}

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
