/**
 * The SQLite provider on the built-in `node:sqlite`: the embedded default. Loaded only through
 * the provider registry's dynamic import.
 *
 * @module
 */

import { ODataActiveRecordError, throwIfAborted } from "../../src/errors/errors.ts";
import type { EntityMetadata } from "../../src/model/schema.ts";
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
} from "../../src/provider/provider.ts";
import type { SqliteProviderConfig } from "../../src/provider/registry.ts";
import { compileDelete, compileInsert, compileUpdate } from "./compiler/write.ts";
import { mapSqliteError, SqliteConnection } from "./connection.ts";
import { PlanCache } from "./compiler/plans.ts";
import { executeCount, executeRead, streamRows } from "./read.ts";
import { syncSchema } from "./schema.ts";

const CAPABILITIES: ProviderCapabilities = Object.freeze({
  apply: true,
  search: true,
  transactions: true,
  expand: true,
  compute: true,
  schema: true,
});

/** Serialises transactions: node:sqlite is synchronous, but a transaction spans awaits. */
class TransactionLock {
  #tail: Promise<void> = Promise.resolve();
  #held = false;
  readonly #timeoutMs: number;

  /** Waits for another transaction at most `timeoutMs` (the busy timeout) before TIMEOUT. */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get held(): boolean {
    return this.#held;
  }

  async acquire(): Promise<() => void> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await this.#bounded(previous);
    } catch (error) {
      // Keep the queue moving for later transactions even though this one gave up.
      void previous.then(release);
      throw error;
    }
    this.#held = true;
    return () => {
      this.#held = false;
      release();
    };
  }

  /** Waits until no transaction is open. */
  async idle(): Promise<void> {
    while (this.#held) await this.#bounded(this.#tail);
  }

  /** `idle()`, or undefined when no transaction is open (no promise, no microtask). */
  whenIdle(): Promise<void> | undefined {
    return this.#held ? this.idle() : undefined;
  }

  /**
   * A wait that cannot hang: the usual cause of a long wait is code inside a transaction that
   * uses the namespace's own models (which wait for that very transaction) instead of `tx`'s.
   */
  #bounded(wait: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() =>
        reject(
          new ODataActiveRecordError(
            "TIMEOUT",
            `Waited ${this.#timeoutMs} ms for another transaction of this SQLite database to finish`,
            {
              suggestion:
                "Inside namespace.transaction(), use tx.getEntity(...): the namespace's own " +
                "models wait for the transaction to end. Otherwise raise busyTimeoutMs.",
              context: { provider: "sqlite", timeoutMs: this.#timeoutMs },
            },
          ),
        ), this.#timeoutMs);
    });
    return Promise.race([wait, timeout]).finally(() => clearTimeout(timer));
  }
}

const checkSignal = throwIfAborted;

/** How many compiled statement templates a provider keeps (each a few kilobytes at most). */
const PLAN_CACHE_SIZE = 256;

/**
 * Operations on one connection; `guard` runs before each and returns a promise only when there
 * is something to wait for (another transaction), so reads outside transactions do not await.
 */
class SqliteOperations implements ProviderOperations {
  readonly #connection: () => SqliteConnection;
  readonly #guard: () => Promise<void> | undefined;
  readonly #inTransaction: boolean;
  readonly #plans: PlanCache;

  constructor(
    connection: () => SqliteConnection,
    guard: () => Promise<void> | undefined,
    inTransaction: boolean,
    plans: PlanCache,
  ) {
    this.#connection = connection;
    this.#guard = guard;
    this.#inTransaction = inTransaction;
    this.#plans = plans;
  }

  async read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    checkSignal(options?.signal);
    const wait = this.#guard();
    if (wait !== undefined) await wait;
    try {
      return executeRead(this.#connection(), request, options?.signal, this.#plans);
    } catch (error) {
      throw mapSqliteError(error, { entity: request.entity.name });
    }
  }

  async *stream(request: ReadRequest, options?: ExecutionOptions): AsyncGenerator<Row> {
    checkSignal(options?.signal);
    await this.#guard();
    let count = 0;
    try {
      for (const row of streamRows(this.#connection(), request, undefined, this.#plans)) {
        // Check cancellation in batches; yield to the event loop so others progress.
        if (++count % 256 === 0) checkSignal(options?.signal);
        yield row;
      }
    } catch (error) {
      throw mapSqliteError(error, { entity: request.entity.name });
    }
  }

  async count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    checkSignal(options?.signal);
    const wait = this.#guard();
    if (wait !== undefined) await wait;
    try {
      return executeCount(this.#connection(), request, options?.signal);
    } catch (error) {
      throw mapSqliteError(error, { entity: request.entity.name });
    }
  }

  async insert(
    entity: EntityMetadata,
    rows: readonly Row[],
    options?: ExecutionOptions,
  ): Promise<Row[]> {
    checkSignal(options?.signal);
    await this.#guard();
    const connection = this.#connection();
    const atomic = rows.length > 1 && !this.#inTransaction;
    try {
      if (atomic) connection.exec("BEGIN IMMEDIATE");
      const stored: Row[] = [];
      const generated = entity.key.length === 1 && entity.fields.get(entity.key[0]!)!.autoIncrement
        ? entity.key[0]!
        : undefined;
      for (const row of rows) {
        const { sql, params } = compileInsert(entity, [row]);
        const result = connection.run(sql, params);
        stored.push(
          generated !== undefined && (row[generated] === undefined || row[generated] === null)
            ? { ...row, [generated]: result.lastInsertRowid }
            : { ...row },
        );
      }
      if (atomic) connection.exec("COMMIT");
      return stored;
    } catch (error) {
      if (atomic) safeRollback(connection);
      throw mapSqliteError(error, { entity: entity.name });
    }
  }

  async update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    checkSignal(options?.signal);
    await this.#guard();
    try {
      const { sql, params } = compileUpdate(target, changes);
      return this.#connection().run(sql, params).changes;
    } catch (error) {
      throw mapSqliteError(error, { entity: target.entity.name });
    }
  }

  async delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    checkSignal(options?.signal);
    await this.#guard();
    try {
      const { sql, params } = compileDelete(target);
      return this.#connection().run(sql, params).changes;
    } catch (error) {
      throw mapSqliteError(error, { entity: target.entity.name });
    }
  }
}

function safeRollback(connection: SqliteConnection): void {
  try {
    connection.exec("ROLLBACK");
  } catch {
    // The transaction may already be gone (SQLite rolls back on some errors itself).
  }
}

/**
 * The SQLite provider. Create it through `createProvider({ type: "sqlite", filePath })` or a
 * namespace config; this constructor is exported for direct use and tests.
 *
 * @example
 * ```ts
 * import { createProvider } from "@oar/odata-active-record";
 * const provider = await createProvider({ type: "sqlite", filePath: ":memory:" });
 * await provider.connect();
 * await provider.ping();
 * await provider.close();
 * ```
 */
export class SqliteProvider implements Provider {
  /** Always `"sqlite"`. */
  readonly type = "sqlite";
  /** Everything is supported. */
  readonly capabilities: ProviderCapabilities = CAPABILITIES;
  readonly #config: SqliteProviderConfig;
  #connection: SqliteConnection | undefined;
  #closed = false;
  readonly #lock: TransactionLock;
  readonly #operations: SqliteOperations;
  /** Compiled statements by request shape, shared by the provider and its transactions. */
  readonly #plans = new PlanCache(PLAN_CACHE_SIZE);

  /** Validates the config; no I/O until `connect()`. */
  constructor(config: SqliteProviderConfig) {
    if (typeof config?.filePath !== "string" || config.filePath.length === 0) {
      throw new ODataActiveRecordError(
        "INVALID_CONFIGURATION",
        "The sqlite provider needs a filePath",
        {
          suggestion: `Pass { type: "sqlite", filePath: "./app.db" } or filePath ":memory:"`,
          context: { provider: "sqlite" },
        },
      );
    }
    for (const name of ["busyTimeoutMs", "statementCacheSize"] as const) {
      const value = config[name];
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new ODataActiveRecordError(
          "INVALID_CONFIGURATION",
          `sqlite ${name} must be a non-negative integer`,
          {
            context: { provider: "sqlite", [name]: value },
          },
        );
      }
    }
    this.#config = config;
    this.#lock = new TransactionLock(config.busyTimeoutMs ?? 5000);
    this.#operations = new SqliteOperations(
      () => this.#open(),
      () => this.#lock.whenIdle(),
      false,
      this.#plans,
    );
  }

  #open(): SqliteConnection {
    if (this.#closed) {
      throw new ODataActiveRecordError("CLOSED", "The sqlite provider is closed", {
        context: { provider: "sqlite" },
      });
    }
    if (this.#connection === undefined) {
      this.#connection = SqliteConnection.open({
        filePath: this.#config.filePath,
        busyTimeoutMs: this.#config.busyTimeoutMs ?? 5000,
        statementCacheSize: this.#config.statementCacheSize ?? 200,
        readOnly: this.#config.readOnly ?? false,
      });
    }
    return this.#connection;
  }

  /** Opens the database file. */
  connect(options?: ExecutionOptions): Promise<void> {
    checkSignal(options?.signal);
    this.#open();
    return Promise.resolve();
  }

  /** Closes the database. */
  close(): Promise<void> {
    this.#closed = true;
    this.#plans.clear();
    this.#connection?.close();
    this.#connection = undefined;
    return Promise.resolve();
  }

  /** Runs `SELECT 1`. */
  ping(options?: ExecutionOptions): Promise<void> {
    checkSignal(options?.signal);
    try {
      this.#open().get("SELECT 1 AS ok", []);
      return Promise.resolve();
    } catch (error) {
      const mapped = mapSqliteError(error, {});
      return Promise.reject(
        mapped.code === "CLOSED"
          ? mapped
          : new ODataActiveRecordError("PROVIDER_UNAVAILABLE", mapped.message, {
            cause: error,
            context: { provider: "sqlite" },
          }),
      );
    }
  }

  /** See {@linkcode ProviderOperations.read}. */
  read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    return this.#operations.read(request, options);
  }

  /** See {@linkcode ProviderOperations.stream}. */
  stream(request: ReadRequest, options?: ExecutionOptions): AsyncIterable<Row> {
    return this.#operations.stream(request, options);
  }

  /** See {@linkcode ProviderOperations.count}. */
  count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    return this.#operations.count(request, options);
  }

  /** See {@linkcode ProviderOperations.insert}. */
  insert(entity: EntityMetadata, rows: readonly Row[], options?: ExecutionOptions): Promise<Row[]> {
    return this.#operations.insert(entity, rows, options);
  }

  /** See {@linkcode ProviderOperations.update}. */
  update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    return this.#operations.update(target, changes, options);
  }

  /** See {@linkcode ProviderOperations.delete}. */
  delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    return this.#operations.delete(target, options);
  }

  /** Runs `work` between BEGIN IMMEDIATE and COMMIT; rolls back when it throws. */
  async transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    checkSignal(options?.signal);
    const release = await this.#lock.acquire();
    try {
      const connection = this.#open();
      try {
        connection.exec("BEGIN IMMEDIATE");
      } catch (error) {
        throw mapSqliteError(error, {});
      }
      const operations = new SqliteOperations(
        () => this.#open(),
        () => undefined, // this transaction holds the lock: nothing to wait for
        true,
        this.#plans,
      );
      let result: T;
      try {
        result = await work(operations);
        checkSignal(options?.signal);
      } catch (error) {
        // The caller's own error comes back unchanged; provider errors are already mapped.
        safeRollback(connection);
        throw error;
      }
      try {
        connection.exec("COMMIT");
      } catch (error) {
        safeRollback(connection);
        throw new ODataActiveRecordError(
          "TRANSACTION_FAILED",
          "The transaction could not be committed",
          {
            cause: mapSqliteError(error, {}),
            context: { provider: "sqlite" },
          },
        );
      }
      return result;
    } finally {
      release();
    }
  }

  /** Creates missing tables, columns and indexes in one transaction; reports drift. */
  async sync(entities: readonly EntityMetadata[], options?: ExecutionOptions): Promise<SyncReport> {
    checkSignal(options?.signal);
    await this.#lock.idle();
    const connection = this.#open();
    try {
      connection.exec("BEGIN IMMEDIATE");
      const report = syncSchema(connection, entities);
      connection.exec("COMMIT");
      return report;
    } catch (error) {
      safeRollback(connection);
      throw mapSqliteError(error, {});
    }
  }
}

/**
 * Creates an unconnected SQLite provider (the registry's entry point).
 *
 * @example
 * ```ts
 * import { createSqliteProvider } from "./mod.ts";
 * const provider = createSqliteProvider({ type: "sqlite", filePath: ":memory:" });
 * ```
 */
export function createSqliteProvider(config: SqliteProviderConfig): Provider {
  return new SqliteProvider(config);
}
