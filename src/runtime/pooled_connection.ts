/**
 * One pooled connection: a `Provider` that fails fast while its store is out of service, goes
 * through its circuit breaker, honours `maxConcurrency`, routes reads to an optional SQLite read
 * pool, and reconnects in the background with backoff.
 *
 * @module
 */

import { ODataActiveRecordError, throwIfAborted } from "../errors/errors.ts";
import type {
  ExecutionOptions,
  IntrospectionResult,
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
import type { CircuitBreaker } from "../resilience/breaker.ts";
import { deadline, delay } from "../resilience/deadline.ts";
import { backoffDelay, retry } from "../resilience/retry.ts";
import { describeError, isTransientError } from "../resilience/transient.ts";
import { libraryLogger, literal } from "./log.ts";
import {
  type ConnectionConfig,
  type ConnectionState,
  type ConnectionStats,
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

/** Internal: the pool's resolved options. */
export interface Settings {
  readonly maxRetries: number;
  readonly retryDelay: number;
  readonly maxRetryDelay: number;
  readonly jitter: number;
  readonly random: () => number;
  readonly healthCheckInterval: number;
  readonly healthCheckTimeout: number;
  readonly connectTimeout: number;
}

/** Internal: what a connection needs from its pool. */
export interface PoolInternals {
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
  readonly #limit: number;
  readonly #readPoolSize: number;
  #readers: Provider[] = [];
  #nextReader = 0;
  #active = 0;
  readonly #waiters: (() => void)[] = [];
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
    this.timeout = config.timeout ?? (config.type === "http-odata" ? 10000 : 5000);
    // http-odata passes its limit to the provider (see toProviderConfig); others are limited here.
    const limit = config.type === "http-odata"
      ? Infinity
      : (config as { maxConcurrency?: number }).maxConcurrency ?? Infinity;
    if (!(limit >= 1)) {
      throw new ODataActiveRecordError(
        "INVALID_CONFIGURATION",
        `Connection ${name}: maxConcurrency must be a number >= 1`,
        { context: { connection: name, maxConcurrency: limit } },
      );
    }
    this.#limit = limit;
    const readPoolSize = config.type === "sqlite"
      ? (config as { readPoolSize?: number }).readPoolSize ?? 0
      : 0;
    const filePath = (this.providerConfig as { filePath?: string }).filePath ?? "";
    if (
      !Number.isSafeInteger(readPoolSize) || readPoolSize < 0 ||
      (readPoolSize > 0 && (filePath === ":memory:" || filePath === ""))
    ) {
      throw new ODataActiveRecordError(
        "INVALID_CONFIGURATION",
        `Connection ${name}: readPoolSize must be a whole number >= 0, and needs a database file`,
        { context: { connection: name, readPoolSize, filePath } },
      );
    }
    this.#readPoolSize = readPoolSize;
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

  /** Creates, connects and pings one provider within the connect deadline. */
  async #open(config: ProviderConfig): Promise<Provider> {
    const provider = await createProvider(config);
    try {
      const ms = this.#pool.settings.connectTimeout;
      await deadline((signal) => provider.connect({ signal }), ms, { signal: this.#pool.signal });
      await deadline((signal) => provider.ping({ signal }), ms, { signal: this.#pool.signal });
      return provider;
    } catch (error) {
      await provider.close().catch(() => {});
      throw error;
    }
  }

  /** One attempt: the writer, then the read pool (SQLite in WAL mode). */
  async #attempt(): Promise<void> {
    const provider = await this.#open(this.providerConfig);
    const readers: Provider[] = [];
    try {
      for (let i = 0; i < this.#readPoolSize; i++) {
        readers.push(
          await this.#open({ ...this.providerConfig, readOnly: true } as ProviderConfig),
        );
      }
    } catch (error) {
      await Promise.allSettled([provider, ...readers].map((p) => p.close()));
      throw error;
    }
    if (this.#state === "closed") {
      await Promise.allSettled([provider, ...readers].map((p) => p.close()));
      throw this.#closedError();
    }
    this.#readers = readers;
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
    const readers = this.#readers;
    try {
      await deadline(
        (signal) => Promise.all([provider, ...readers].map((p) => p.ping({ signal }))),
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
      this.#readers = [];
      await Promise.allSettled([provider, ...readers].map((p) => p.close()));
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

  /**
   * The live provider for an operation, admitted by the breaker (throws the coded reason).
   * `operation` and `entity` name it in the verbose log (plain strings: a hot-path call
   * allocates nothing for a log line that is off).
   */
  #admit(operation: string, entity?: EntityMetadata): Provider {
    const provider = this.#live();
    this.breaker.admit();
    if (this.#verbose) {
      sqlLogger.debug(
        literal(
          `${this.name}: ${entity === undefined ? operation : `${operation} ${entity.name}`}`,
        ),
        { connection: this.name },
      );
    }
    return provider;
  }

  #guard<T>(
    operation: string,
    entity: EntityMetadata | undefined,
    work: (provider: Provider) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (this.#limit !== Infinity) {
      return this.#limited(signal, () => this.#run(operation, entity, work));
    }
    return this.#run(operation, entity, work);
  }

  #run<T>(
    operation: string,
    entity: EntityMetadata | undefined,
    work: (provider: Provider) => Promise<T>,
  ): Promise<T> {
    try {
      return this.breaker.observe(work(this.#admit(operation, entity)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `run` within `maxConcurrency`; a freed turn passes straight to the next waiter. */
  async #limited<T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    if (this.#active < this.#limit) this.#active++;
    else await this.#turn(signal);
    try {
      return await run();
    } finally {
      const next = this.#waiters.shift();
      if (next !== undefined) next();
      else this.#active--;
    }
  }

  #turn(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(wake);
        if (index >= 0) this.#waiters.splice(index, 1);
        try {
          throwIfAborted(signal);
        } catch (error) {
          reject(error);
        }
      };
      this.#waiters.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** A read-pool connection in turn, or the writer when there is no read pool. */
  #reader(writer: Provider): Provider {
    const readers = this.#readers;
    if (readers.length === 0) return writer;
    this.#nextReader = (this.#nextReader + 1) % readers.length;
    return readers[this.#nextReader]!;
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
    const readers = this.#readers;
    this.#provider = undefined;
    this.#readers = [];
    await Promise.all(readers.map((reader) => reader.close()));
    await provider?.close();
  }

  /** Pings the live store (no retry, no breaker). */
  async ping(options?: ExecutionOptions): Promise<void> {
    await this.#live().ping(options);
  }

  /** See `ProviderOperations.read`. */
  read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    if (this.#limit !== Infinity) {
      return this.#guard(
        "read",
        request.entity,
        (p) => this.#reader(p).read(request, options),
        options?.signal,
      );
    }
    // The hot path, without closures: admit, start, observe.
    try {
      const provider = this.#reader(this.#admit("read", request.entity));
      return this.breaker.observe(provider.read(request, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** See `ProviderOperations.stream` (checked for availability when iteration starts). */
  async *stream(request: ReadRequest, options?: ExecutionOptions): AsyncGenerator<Row> {
    yield* this.#reader(this.#live()).stream(request, options);
  }

  /** See `ProviderOperations.count`. */
  count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    return this.#guard(
      "count",
      request.entity,
      (p) => this.#reader(p).count(request, options),
      options?.signal,
    );
  }

  /** See `ProviderOperations.insert`. */
  insert(entity: EntityMetadata, rows: readonly Row[], options?: ExecutionOptions): Promise<Row[]> {
    return this.#guard(
      "insert",
      entity,
      (p) => p.insert(entity, rows, options),
      options?.signal,
    );
  }

  /** See `ProviderOperations.update`. */
  update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    return this.#guard(
      "update",
      target.entity,
      (p) => p.update(target, changes, options),
      options?.signal,
    );
  }

  /** See `ProviderOperations.delete`. */
  delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    return this.#guard(
      "delete",
      target.entity,
      (p) => p.delete(target, options),
      options?.signal,
    );
  }

  /**
   * See `ProviderOperations.increment`: present unless the connected provider lacks it, so that
   * version-checked saves and counters through the pool keep their atomic form (a provider
   * that is not connected yet answers with the usual unavailable error).
   */
  get increment(): ProviderOperations["increment"] {
    if (this.#provider !== undefined && this.#provider.increment === undefined) return undefined;
    return this.#increment;
  }

  readonly #increment = (
    target: WriteTarget,
    increments: Readonly<Record<string, number>>,
    changes?: Row,
    options?: ExecutionOptions,
  ): Promise<number> =>
    this.#guard(
      "increment",
      target.entity,
      (p) => p.increment!(target, increments, changes, options),
      options?.signal,
    );

  /** See `Provider.introspect` (remote metadata, e.g. `registerFromMetadata()` over http-odata). */
  get introspect(): Provider["introspect"] {
    if (this.#provider !== undefined && this.#provider.introspect === undefined) return undefined;
    return this.#introspect;
  }

  readonly #introspect = (options?: ExecutionOptions): Promise<IntrospectionResult> =>
    this.#guard("introspect", undefined, (p) => {
      if (p.introspect === undefined) {
        return Promise.reject(
          new ODataActiveRecordError("NOT_SUPPORTED", `${p.type} has no metadata to introspect`),
        );
      }
      return p.introspect(options);
    }, options?.signal);

  /** See `Provider.transaction`. */
  transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    return this.#guard(
      "transaction",
      undefined,
      (p) => p.transaction(work, options),
      options?.signal,
    );
  }

  /** See `Provider.sync`. */
  sync(entities: readonly EntityMetadata[], options?: ExecutionOptions): Promise<SyncReport> {
    return this.#guard("sync", undefined, (p) => p.sync(entities, options), options?.signal);
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
      readers: this.#readers.length,
      active: this.#active,
      queued: this.#waiters.length,
      circuit: this.breaker.stats(),
    };
  }
}
