/**
 * The SQLite provider on the built-in `node:sqlite`: the embedded default. Loaded only through
 * the provider registry's dynamic import.
 *
 * @module
 */

import { ForwardingIncrements } from "../../src/provider/forwarding.ts";
import { ODataActiveRecordError, throwIfAborted } from "../../src/errors/errors.ts";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  Provider,
  ProviderCapabilities,
  ProviderOperations,
  SyncReport,
} from "../../src/provider/provider.ts";
import type { SqliteProviderConfig } from "../../src/provider/registry.ts";
import { mapSqliteError, SqliteConnection } from "./connection.ts";
import { sqlitePlanCache } from "./compiler.ts";
import { type OperationsContext, safeRollback, SqliteOperations } from "./operations.ts";
import { keyIsRowid, syncSchema } from "./schema.ts";
import { releaseWriteQueue, WriteQueue, writeQueueFor } from "./lock.ts";
import { SharedCursors, snapshotCursor, type StreamHost } from "./stream.ts";

const CAPABILITIES: ProviderCapabilities = Object.freeze({
  apply: true,
  search: true,
  transactions: true,
  expand: true,
  compute: true,
  schema: true,
});

/**
 * The state of one open transaction or savepoint. Its operations check it right before every
 * statement, so none runs once it has ended (a write that was still waiting when a sibling
 * failed, or one started later by code that kept the transaction's models).
 */
interface TransactionState {
  open: boolean;
  readonly parent: TransactionState | undefined;
  /** Nested transactions (savepoints, a stack in SQLite) run one at a time. */
  readonly nested: WriteQueue;
}

function transactionClosed(): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "TRANSACTION_CLOSED",
    "This transaction has ended: its models and records cannot run any more",
    { context: { provider: "sqlite" } },
  );
}

/** Waits for `wait` at most `timeoutMs`, then rejects with `TIMEOUT`. */
function bounded(wait: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() =>
      reject(
        new ODataActiveRecordError(
          "TIMEOUT",
          `Waited ${timeoutMs} ms for a transaction of this SQLite database to finish`,
          {
            suggestion: "Keep transactions short, or raise busyTimeoutMs. Code that runs " +
              "outside namespace.transaction() waits for it to end.",
            context: { provider: "sqlite", timeoutMs },
          },
        ),
      ), timeoutMs);
  });
  return Promise.race([wait, timeout]).finally(() => clearTimeout(timer));
}

const checkSignal = throwIfAborted;

const noRelease = (): void => {};

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
export class SqliteProvider extends ForwardingIncrements<SqliteOperations> implements Provider {
  /** Always `"sqlite"`. */
  readonly type = "sqlite";
  /** Everything is supported. */
  readonly capabilities: ProviderCapabilities = CAPABILITIES;
  readonly #config: SqliteProviderConfig;
  #connection: SqliteConnection | undefined;
  #closed = false;
  /** The write queue of the database file, shared by this process's connections to it. */
  #queue: WriteQueue | undefined;
  #queueFile = "";
  /** The open transaction of this connection: other work on the connection waits for it. */
  #active: Promise<void> | undefined;
  /** Savepoint names are unique per provider. */
  #savepoints = 0;
  readonly #timeoutMs: number;
  /** Compiled statements by request shape, shared by the provider and its transactions. */
  readonly #plans = sqlitePlanCache(PLAN_CACHE_SIZE);
  /** Streams reading through the connection that writes (`:memory:`, transactions). */
  readonly #shared = new SharedCursors();
  /** The read-only connections of open streams on a database file. */
  readonly #readers = new Set<SqliteConnection>();
  /** Whether SQLite generates a key column (a rowid alias), by table and column; sync clears it. */
  readonly #rowidKeys = new Map<string, boolean>();

  /** Validates the config; no I/O until `connect()`. */
  constructor(config: SqliteProviderConfig) {
    super();
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
    this.#timeoutMs = config.busyTimeoutMs ?? 5000;
    this.forwardTo(new SqliteOperations(this.#context(undefined)));
  }

  /** What the provider's operations (`tx` undefined) or a transaction's need. */
  #context(tx: TransactionState | undefined): OperationsContext {
    const inTransaction = tx !== undefined;
    return {
      connection: tx === undefined ? () => this.#open() : () => this.#transactionConnection(tx),
      // A transaction holds the lock: nothing to wait for.
      guard: inTransaction ? () => undefined : () => this.#whenIdle(),
      writeLock: inTransaction ? () => noRelease : () => this.#writeLock(),
      transaction: tx === undefined
        ? (work, options) => this.transaction(work, options)
        : (work, options) => this.#savepoint(tx, work, options),
      inTransaction,
      plans: this.#plans,
      streams: this.#streamHost(tx),
      beforeWrite: () => this.#shared.drain(),
      generatesKey: (entity, field) => this.#generatesKey(entity, field),
    };
  }

  /** The connection for a statement of transaction `tx`; refuses once `tx` has ended. */
  #transactionConnection(tx: TransactionState): SqliteConnection {
    for (let state: TransactionState | undefined = tx; state; state = state.parent) {
      if (!state.open) throw transactionClosed();
    }
    const connection = this.#open();
    if (!connection.inTransaction) {
      // SQLite rolled the transaction back itself (after some errors): later statements would
      // run outside any transaction and be kept.
      for (let state: TransactionState | undefined = tx; state; state = state.parent) {
        state.open = false;
      }
      throw new ODataActiveRecordError(
        "TRANSACTION_FAILED",
        "SQLite rolled this transaction back after an error; nothing of it was written",
        { context: { provider: "sqlite" } },
      );
    }
    return connection;
  }

  /** `undefined` when no transaction is open on the connection, else a bounded wait for it. */
  #whenIdle(): Promise<void> | undefined {
    return this.#active === undefined ? undefined : this.#idle();
  }

  /** Waits until no transaction is open on the connection. */
  async #idle(): Promise<void> {
    while (this.#active !== undefined) await bounded(this.#active, this.#timeoutMs);
  }

  /** The file's write queue (opening the connection first). */
  #writeQueue(): WriteQueue {
    this.#open();
    return this.#queue!;
  }

  /** Takes the file's write lock: at once when free, else after the writers ahead. */
  #writeLock(): (() => void) | Promise<() => void> {
    const queue = this.#writeQueue();
    return queue.tryAcquire() ?? queue.acquire(this.#timeoutMs);
  }

  /**
   * Streams of a database file outside transactions read a snapshot through their own read-only
   * connection; the others read through the connection that writes (see `stream.ts`).
   */
  #streamHost(tx: TransactionState | undefined): StreamHost {
    const inTransaction = tx !== undefined;
    const assertOpen = () => {
      if (this.#closed) throw closedError();
    };
    return {
      assertOpen,
      // A transaction holds the lock; others wait for it, as reads do.
      wait: inTransaction ? () => undefined : () => this.#whenIdle(),
      cursor: (compiled) => {
        // Creates the file, in WAL mode, before a reader opens it.
        const connection = tx === undefined ? this.#open() : this.#transactionConnection(tx);
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
      try {
        this.#queueFile = this.#connection.file();
      } catch (error) {
        this.#connection.close();
        this.#connection = undefined;
        throw mapSqliteError(error, {});
      }
      this.#queue = writeQueueFor(this.#queueFile);
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
    if (this.#connection !== undefined) releaseWriteQueue(this.#queueFile);
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

  /**
   * Runs `work` between BEGIN IMMEDIATE and COMMIT; rolls back when it throws. The file's write
   * lock is held throughout: other writers of this process wait for it asynchronously.
   */
  async transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    checkSignal(options?.signal);
    const lock = this.#writeLock();
    const release = typeof lock === "function" ? lock : await lock;
    let ended!: () => void;
    this.#active = new Promise<void>((resolve) => (ended = resolve));
    const state: TransactionState = { open: true, parent: undefined, nested: new WriteQueue() };
    try {
      const connection = this.#open();
      try {
        // Streams reading through this connection must not see the transaction's writes.
        this.#shared.drain();
        connection.exec("BEGIN IMMEDIATE");
      } catch (error) {
        throw mapSqliteError(error, {});
      }
      const operations = new SqliteOperations(this.#context(state));
      let result: T;
      try {
        result = await work(operations);
        checkSignal(options?.signal);
      } catch (error) {
        // The caller's own error comes back unchanged; provider errors are already mapped.
        state.open = false;
        this.#shared.drain(); // streams of the transaction keep what they would have read
        safeRollback(connection);
        throw error;
      }
      state.open = false;
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
      state.open = false;
      this.#active = undefined;
      ended();
      release();
    }
  }

  /** A nested transaction of `parent`: a savepoint, rolled back alone when `work` throws. */
  async #savepoint<T>(
    parent: TransactionState,
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    checkSignal(options?.signal);
    const release = await parent.nested.acquire(this.#timeoutMs);
    const state: TransactionState = { open: true, parent, nested: new WriteQueue() };
    try {
      const connection = this.#transactionConnection(parent);
      const name = `oar_savepoint_${++this.#savepoints}`;
      try {
        this.#shared.drain();
        connection.exec(`SAVEPOINT ${name}`);
      } catch (error) {
        throw mapSqliteError(error, {});
      }
      let result: T;
      try {
        result = await work(new SqliteOperations(this.#context(state)));
        checkSignal(options?.signal);
      } catch (error) {
        state.open = false;
        try {
          this.#transactionConnection(parent); // nothing to undo when the whole one has ended
          this.#shared.drain();
          connection.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
        } catch {
          // The enclosing transaction is gone: it undid everything already.
        }
        throw error;
      }
      state.open = false;
      this.#transactionConnection(parent);
      try {
        this.#shared.drain();
        connection.exec(`RELEASE ${name}`);
      } catch (error) {
        throw mapSqliteError(error, {});
      }
      return result;
    } finally {
      state.open = false;
      release();
    }
  }

  /** Creates missing tables, columns and indexes in one transaction; reports drift. */
  async sync(entities: readonly EntityMetadata[], options?: ExecutionOptions): Promise<SyncReport> {
    checkSignal(options?.signal);
    const lock = this.#writeLock();
    const release = typeof lock === "function" ? lock : await lock;
    try {
      // Holding the write lock, no transaction of this connection is open.
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
    } finally {
      release();
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
