/**
 * The SQLite provider on the built-in `node:sqlite`: the embedded default. Loaded only through
 * the provider registry's dynamic import.
 *
 * @module
 */

import { ODataActiveRecordError, throwIfAborted } from "../../src/errors/errors.ts";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  InsertOptions,
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
import { mapSqliteError, SqliteConnection } from "./connection.ts";
import { PlanCache } from "./compiler/plans.ts";
import { type OperationsContext, safeRollback, SqliteOperations } from "./operations.ts";
import { keyIsRowid, syncSchema } from "./schema.ts";
import { SharedCursors, snapshotCursor, type StreamHost } from "./stream.ts";

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

function closedError(): ODataActiveRecordError {
  return new ODataActiveRecordError("CLOSED", "The sqlite provider is closed", {
    context: { provider: "sqlite" },
  });
}

/** How many compiled statement templates a provider keeps (each a few kilobytes at most). */
const PLAN_CACHE_SIZE = 256;

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
  /** Streams reading through the connection that writes (`:memory:`, transactions). */
  readonly #shared = new SharedCursors();
  /** The read-only connections of open streams on a database file. */
  readonly #readers = new Set<SqliteConnection>();
  /** Whether SQLite generates a key column (a rowid alias), by table and column; sync clears it. */
  readonly #rowidKeys = new Map<string, boolean>();

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
    this.#operations = new SqliteOperations(this.#context(false));
  }

  /** What the provider's operations (`inTransaction` false) or a transaction's need. */
  #context(inTransaction: boolean): OperationsContext {
    return {
      connection: () => this.#open(),
      // A transaction holds the lock: nothing to wait for.
      guard: inTransaction ? () => undefined : () => this.#lock.whenIdle(),
      inTransaction,
      plans: this.#plans,
      streams: this.#streamHost(inTransaction),
      beforeWrite: () => this.#shared.drain(),
      exclusive: inTransaction ? (work) => work() : async (work) => {
        const release = await this.#lock.acquire();
        try {
          return await work();
        } finally {
          release();
        }
      },
      generatesKey: (entity, field) => this.#generatesKey(entity, field),
    };
  }

  /**
   * Streams of a database file outside transactions read a snapshot through their own read-only
   * connection; the others read through the connection that writes (see `stream.ts`).
   */
  #streamHost(inTransaction: boolean): StreamHost {
    const assertOpen = () => {
      if (this.#closed) throw closedError();
    };
    return {
      assertOpen,
      // A transaction holds the lock; others wait for it, as reads do.
      wait: inTransaction ? () => undefined : () => this.#lock.whenIdle(),
      cursor: (compiled) => {
        const connection = this.#open(); // creates the file, in WAL mode, before a reader opens it
        if (inTransaction || this.#config.filePath === ":memory:") {
          return this.#shared.open(connection, compiled);
        }
        const reader = SqliteConnection.open({
          filePath: this.#config.filePath,
          busyTimeoutMs: this.#config.busyTimeoutMs ?? 5000,
          statementCacheSize: 1, // a stream prepares its one statement itself
          readOnly: true,
        });
        this.#readers.add(reader);
        return snapshotCursor(reader, compiled, () => this.#readers.delete(reader));
      },
    };
  }

  #generatesKey(entity: EntityMetadata, field: FieldMetadata): boolean | undefined {
    const id = `${entity.table}\u0000${field.column}`;
    const known = this.#rowidKeys.get(id);
    if (known !== undefined) return known;
    const generated = keyIsRowid(this.#open(), entity.table, field.column);
    if (generated !== undefined) this.#rowidKeys.set(id, generated);
    return generated;
  }

  #open(): SqliteConnection {
    if (this.#closed) throw closedError();
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

  /** Opens the database file (rejects with `PROVIDER_UNAVAILABLE` when it is no database). */
  connect(options?: ExecutionOptions): Promise<void> {
    try {
      checkSignal(options?.signal);
      this.#open();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error); // a promise-returning method never throws synchronously
    }
  }

  /** Closes the database; open streams throw `CLOSED` at their next row. */
  close(): Promise<void> {
    this.#closed = true;
    this.#plans.clear();
    this.#rowidKeys.clear();
    this.#shared.closeAll();
    for (const reader of this.#readers) reader.close();
    this.#readers.clear();
    this.#connection?.close();
    this.#connection = undefined;
    return Promise.resolve();
  }

  /** Runs `SELECT 1`. */
  ping(options?: ExecutionOptions): Promise<void> {
    checkSignal(options?.signal);
    try {
      // Reads the file header: a file that is not (or no longer) a database fails here.
      this.#open().get("PRAGMA schema_version", []);
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
  insert(entity: EntityMetadata, rows: readonly Row[], options?: InsertOptions): Promise<Row[]> {
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
        // Streams reading through this connection must not see the transaction's writes.
        this.#shared.drain();
        connection.exec("BEGIN IMMEDIATE");
      } catch (error) {
        throw mapSqliteError(error, {});
      }
      const operations = new SqliteOperations(this.#context(true));
      let result: T;
      try {
        result = await work(operations);
        checkSignal(options?.signal);
      } catch (error) {
        // The caller's own error comes back unchanged; provider errors are already mapped.
        this.#shared.drain(); // streams of the transaction keep what they would have read
        safeRollback(connection);
        throw error;
      }
      try {
        this.#shared.drain();
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
    this.#rowidKeys.clear(); // tables may be created or changed
    try {
      this.#shared.drain();
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
