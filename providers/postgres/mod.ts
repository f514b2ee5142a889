/**
 * The PostgreSQL provider on postgres.js: one database shared by many processes (service
 * replicas). Loaded only through the provider registry's dynamic import.
 *
 * Every statement runs on the driver's pool, or on the connection a transaction reserved. Each
 * one honours `options.signal` (the statement is cancelled on the server) and the configured
 * `statementTimeout`; driver and server errors are mapped onto the error catalogue.
 *
 * @module
 */

import { ForwardingIncrements } from "../../src/provider/forwarding.ts";
import { ODataActiveRecordError, throwIfAborted } from "../../src/errors/errors.ts";
import type { EntityMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  Provider,
  ProviderCapabilities,
  ProviderOperations,
  SyncReport,
} from "../../src/provider/provider.ts";
import type { PostgresProviderConfig } from "../../src/provider/registry.ts";
import { openPool, type Pool, type PoolSettings, poolSettings } from "./connection.ts";
import { mapPostgresError } from "./errors.ts";
import { syncSchema } from "./schema.ts";
import { PostgresOperations, type Scope, type TransactionSql } from "./operations.ts";

const CAPABILITIES: ProviderCapabilities = Object.freeze({
  apply: true,
  search: true,
  transactions: true,
  expand: true,
  compute: true,
  schema: true,
});

/** An open transaction or savepoint. */
interface TransactionState {
  open: boolean;
  /** A statement of this level failed: PostgreSQL refuses everything until a rollback. */
  failed: boolean;
  readonly parent: TransactionState | undefined;
  /** Savepoints of one level run one after another (they form a stack). */
  queue: Promise<void>;
}

function transactionClosed(): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "TRANSACTION_CLOSED",
    "This transaction has ended: its models and records cannot run any more",
    { context: { provider: "postgres" } },
  );
}

function closedError(): ODataActiveRecordError {
  return new ODataActiveRecordError("CLOSED", "The postgres provider is closed", {
    context: { provider: "postgres" },
  });
}

/** Waits for the previous savepoint of a level, then runs `work` (a stack, one at a time). */
function serialize<T>(state: TransactionState, work: () => Promise<T>): Promise<T> {
  const result = state.queue.then(work);
  state.queue = result.then(() => undefined, () => undefined);
  return result;
}

/**
 * The PostgreSQL provider. Create it through `createProvider({ type: "postgres", url })` or a
 * namespace config; this constructor is exported for direct use and tests.
 *
 * @example
 * ```ts ignore
 * import { createProvider } from "@oar/odata-active-record";
 * const provider = await createProvider({ type: "postgres", url: "postgres://127.0.0.1/app" });
 * await provider.connect();
 * await provider.ping();
 * await provider.close();
 * ```
 */
export class PostgresProvider extends ForwardingIncrements<PostgresOperations> implements Provider {
  /** Always `"postgres"`. */
  readonly type = "postgres";
  /** Filters, paging, writes, transactions and schema sync. */
  readonly capabilities: ProviderCapabilities = CAPABILITIES;
  /** The validated config with its defaults. */
  readonly settings: PoolSettings;
  #pool: Pool | undefined;
  #closed = false;

  /** Validates the config; no I/O until `connect()`. */
  constructor(config: PostgresProviderConfig) {
    super();
    this.settings = poolSettings(config);
    this.forwardTo(
      new PostgresOperations({
        executor: () => this.#open(),
        failed: () => {},
        transaction: (work, options) => this.transaction(work, options),
        closed: () => this.#closed,
      }),
    );
  }

  #open(): Pool {
    if (this.#closed) throw closedError();
    this.#pool ??= openPool(this.settings);
    return this.#pool;
  }

  /**
   * Opens `minPoolSize` connections (at least one), checking that the server answers within
   * `connectTimeout`; rejects with `PROVIDER_UNAVAILABLE` otherwise.
   */
  async connect(options?: ExecutionOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const pool = this.#open();
    const warm = Math.max(1, this.settings.minPoolSize);
    await this.#bounded(
      Promise.all(Array.from({ length: warm }, () => pool.unsafe("SELECT 1"))),
      this.settings.connectTimeout,
      options?.signal,
    );
  }

  /** Ends the pool: running statements finish (at most 5 s), later calls fail with `CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end({ timeout: 5 });
  }

  /** Runs `SELECT 1` within `connectTimeout`; `PROVIDER_UNAVAILABLE` when it cannot. */
  async ping(options?: ExecutionOptions): Promise<void> {
    throwIfAborted(options?.signal);
    await this.#bounded(
      this.#open().unsafe("SELECT 1"),
      this.settings.connectTimeout,
      options?.signal,
    );
  }

  /** Waits for `work` at most `ms` (and until `signal`), mapping failures to the catalogue. */
  async #bounded(work: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() =>
        reject(
          new ODataActiveRecordError(
            "PROVIDER_UNAVAILABLE",
            `PostgreSQL did not answer within ${ms} ms`,
            { context: { provider: "postgres", timeoutMs: ms, retryable: true } },
          ),
        ), ms);
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    work.catch(() => {}); // settled later, after the deadline: nobody waits for it any more
    try {
      await Promise.race([work, deadline]);
    } catch (error) {
      if (signal?.aborted) throwIfAborted(signal);
      throw mapPostgresError(error, { closed: this.#closed });
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Runs `work` in a transaction on one reserved connection (BEGIN … COMMIT); rolls back when it
   * throws. A statement that failed inside makes the commit fail with `TRANSACTION_FAILED` even
   * when `work` caught the error (PostgreSQL kept nothing of it).
   */
  async transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    throwIfAborted(options?.signal);
    const pool = this.#open();
    const state: TransactionState = {
      open: true,
      failed: false,
      parent: undefined,
      queue: Promise.resolve(),
    };
    let thrown: { error: unknown } | undefined;
    try {
      return await pool.begin(async (transactionSql) => {
        const sql = transactionSql as unknown as TransactionSql;
        let result: T;
        try {
          result = await work(new PostgresOperations(this.#scope(sql, state)));
        } catch (error) {
          thrown = { error };
          throw error;
        }
        throwIfAborted(options?.signal);
        if (state.failed) {
          throw new ODataActiveRecordError(
            "TRANSACTION_FAILED",
            "A statement of this transaction failed; PostgreSQL rolled all of it back",
            { context: { provider: "postgres" } },
          );
        }
        state.open = false;
        return result;
      }) as T;
    } catch (error) {
      // The caller's own error comes back unchanged; driver errors are mapped.
      if (thrown !== undefined && thrown.error === error) throw error;
      throw mapPostgresError(error, { closed: this.#closed });
    } finally {
      state.open = false;
    }
  }

  /** The scope of transaction (or savepoint) `state` on its reserved connection `sql`. */
  #scope(sql: TransactionSql, state: TransactionState): Scope {
    return {
      executor: () => {
        if (this.#closed) throw closedError();
        for (let level: TransactionState | undefined = state; level; level = level.parent) {
          if (!level.open) throw transactionClosed();
        }
        return sql;
      },
      failed: () => {
        state.failed = true;
      },
      transaction: (work, options) => this.#savepoint(sql, state, work, options),
      closed: () => this.#closed,
    };
  }

  /**
   * A nested transaction: a savepoint (the driver's own scope, so a failure inside it does not
   * fail the enclosing transaction), rolled back alone when `work` throws.
   */
  #savepoint<T>(
    sql: TransactionSql,
    parent: TransactionState,
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    return serialize(parent, async () => {
      throwIfAborted(options?.signal);
      this.#scope(sql, parent).executor(); // refuses once the enclosing transaction has ended
      const state: TransactionState = {
        open: true,
        failed: false,
        parent,
        queue: Promise.resolve(),
      };
      let thrown: { error: unknown } | undefined;
      try {
        return await sql.savepoint(async (nested) => {
          let result: T;
          try {
            result = await work(new PostgresOperations(this.#scope(nested, state)));
            throwIfAborted(options?.signal);
          } catch (error) {
            thrown = { error };
            throw error;
          }
          if (state.failed) {
            throw new ODataActiveRecordError(
              "TRANSACTION_FAILED",
              "A statement of this nested transaction failed; it was rolled back",
              { context: { provider: "postgres" } },
            );
          }
          return result;
        }) as T;
      } catch (error) {
        if (thrown !== undefined && thrown.error === error) throw error;
        parent.failed ||= !(error instanceof ODataActiveRecordError);
        throw mapPostgresError(error, { closed: this.#closed });
      } finally {
        state.open = false;
      }
    });
  }

  /** Creates the schema, missing tables, columns, indexes and foreign keys; reports drift. */
  async sync(entities: readonly EntityMetadata[], options?: ExecutionOptions): Promise<SyncReport> {
    throwIfAborted(options?.signal);
    const pool = this.#open();
    try {
      return await pool.begin(async (transactionSql) => {
        const sql = transactionSql as unknown as Parameters<typeof syncSchema>[0];
        // One sync at a time per schema, across processes (replicas start together).
        await sql.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [
          `oar_sync:${this.settings.schema}`,
        ]);
        return await syncSchema(sql, this.settings.schema, entities);
      }) as SyncReport;
    } catch (error) {
      throw mapPostgresError(error, { closed: this.#closed });
    }
  }
}

/**
 * Creates an unconnected PostgreSQL provider (the registry's entry point).
 *
 * @example
 * ```ts
 * import { createPostgresProvider } from "./mod.ts";
 * const provider = createPostgresProvider({ type: "postgres", url: "postgres://127.0.0.1/app" });
 * await provider.close();
 * ```
 */
export function createPostgresProvider(config: PostgresProviderConfig): Provider {
  return new PostgresProvider(config);
}
