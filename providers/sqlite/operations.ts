/**
 * The operations of the SQLite provider on its connection, shared by the provider itself and by
 * its transactions: reads, streams, counts and writes.
 *
 * Writes refuse, before anything is written, decimals a float cannot hold exactly
 * (`ValidationError`) and inserts that leave a key to SQLite which SQLite does not generate (the
 * key column is not a rowid alias, e.g. a table declared with `id INT PRIMARY KEY`: it would
 * store NULL). Inserted rows come back as they read back, the key as stored (`RETURNING`).
 *
 * @module
 */

import { throwIfAborted, ValidationError } from "../../src/errors/errors.ts";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  InsertOptions,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  WriteTarget,
} from "../../src/provider/provider.ts";
import type { PlanCache } from "../../src/sql/mod.ts";
import {
  assertStorableDecimals,
  compileDelete,
  compileIncrement,
  compileUpdate,
} from "./compiler.ts";
import { INSERT_CHUNK, insertRows } from "./insert.ts";
import { mapSqliteError, type SqliteConnection } from "./connection.ts";
import { executeCount, executeRead } from "./read.ts";
import { type StreamHost, streamRead } from "./stream.ts";

/**
 * What the operations need from the provider.
 *
 * @example
 * ```ts
 * import type { OperationsContext } from "./operations.ts";
 * declare const context: OperationsContext;
 * context.beforeWrite();
 * ```
 */
export interface OperationsContext {
  /** The open connection (throws `CLOSED` once the provider is closed). */
  readonly connection: () => SqliteConnection;
  /**
   * Runs before each operation; returns a promise only when there is something to wait for
   * (another transaction), so reads outside transactions do not await.
   */
  readonly guard: () => Promise<void> | undefined;
  /**
   * Takes the database file's write lock for one write (a release function at once when it is
   * free or already held by the enclosing transaction; else a promise of one).
   */
  readonly writeLock: () => (() => void) | Promise<() => void>;
  /** A transaction: the provider's own, or a savepoint inside a transaction. */
  readonly transaction: <T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ) => Promise<T>;
  /** True inside a transaction (its writes are atomic already). */
  readonly inTransaction: boolean;
  /** Compiled statements by request shape. */
  readonly plans: PlanCache;
  /** Where streams read (see `stream.ts`). */
  readonly streams: StreamHost;
  /** Called right before every write on the connection: drains streams reading through it. */
  readonly beforeWrite: () => void;
  /** Whether SQLite generates the key column (a rowid alias); `undefined`: no such table. */
  readonly generatesKey: (entity: EntityMetadata, field: FieldMetadata) => boolean | undefined;
}

/**
 * Operations on the provider's connection.
 *
 * @example
 * ```ts
 * import { SqliteOperations, type OperationsContext } from "./operations.ts";
 * declare const context: OperationsContext;
 * const operations = new SqliteOperations(context);
 * ```
 */
export class SqliteOperations implements ProviderOperations {
  readonly #ctx: OperationsContext;

  /** Operations in `context`. */
  constructor(context: OperationsContext) {
    this.#ctx = context;
  }

  /** See {@linkcode ProviderOperations.read}. */
  async read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    throwIfAborted(options?.signal);
    const wait = this.#ctx.guard();
    if (wait !== undefined) await wait;
    try {
      return executeRead(this.#ctx.connection(), request, options?.signal, this.#ctx.plans);
    } catch (error) {
      throw mapSqliteError(error, { entity: request.entity.name });
    }
  }

  /** See {@linkcode ProviderOperations.stream}. */
  stream(request: ReadRequest, options?: ExecutionOptions): AsyncGenerator<Row> {
    // The generator itself, not one delegating to it: a second layer costs a promise per row.
    return streamRead(this.#ctx.streams, request, this.#ctx.plans, options?.signal);
  }

  /** See {@linkcode ProviderOperations.count}. */
  async count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    throwIfAborted(options?.signal);
    const wait = this.#ctx.guard();
    if (wait !== undefined) await wait;
    try {
      return executeCount(this.#ctx.connection(), request, options?.signal);
    } catch (error) {
      throw mapSqliteError(error, { entity: request.entity.name });
    }
  }

  /** See {@linkcode ProviderOperations.insert}. */
  async insert(
    entity: EntityMetadata,
    rows: readonly Row[],
    options?: InsertOptions,
  ): Promise<Row[]> {
    throwIfAborted(options?.signal);
    if (rows.length > INSERT_CHUNK && !this.#ctx.inTransaction) {
      // A chunked insert yields to the event loop in the middle of its transaction: as a
      // transaction of the provider, others wait for it (and cannot see its rows) meanwhile.
      return await this.#ctx.transaction((tx) => tx.insert(entity, rows, options), options);
    }
    await this.#ctx.guard();
    const lock = this.#ctx.writeLock();
    const release = typeof lock === "function" ? lock : await lock;
    try {
      return await this.#insert(entity, rows, options);
    } finally {
      release();
    }
  }

  async #insert(
    entity: EntityMetadata,
    rows: readonly Row[],
    options: InsertOptions | undefined,
  ): Promise<Row[]> {
    const connection = this.#ctx.connection();
    const key = generatedKey(entity);
    if (
      key !== undefined && rows.some((row) => row[key.name] === undefined || row[key.name] === null)
    ) {
      this.#assertGenerated(entity, key);
    }
    if (rows.length === 0) return [];
    const write = () =>
      insertRows(connection, entity, rows, {
        returning: options?.returning !== false,
        key,
        yielding: rows.length > INSERT_CHUNK,
        signal: options?.signal,
        // After each turn of the event loop: the transaction must still be open.
        resumed: () => void this.#ctx.connection(),
      });
    const inTransaction = this.#ctx.inTransaction;
    if (rows.length === 1) {
      try {
        this.#ctx.beforeWrite();
        return await write();
      } catch (error) {
        throw mapSqliteError(error, { entity: entity.name });
      }
    }
    // Several rows: all or none, in a transaction of their own or a savepoint of the caller's.
    try {
      this.#ctx.beforeWrite();
      connection.exec(inTransaction ? "SAVEPOINT oar_insert" : "BEGIN IMMEDIATE");
    } catch (error) {
      throw mapSqliteError(error, { entity: entity.name });
    }
    try {
      const stored = await write();
      connection.exec(inTransaction ? "RELEASE oar_insert" : "COMMIT");
      return stored;
    } catch (error) {
      if (inTransaction) rollbackSavepoint(connection, "oar_insert");
      else safeRollback(connection);
      throw mapSqliteError(error, { entity: entity.name });
    }
  }

  /** Refuses an insert without the key when SQLite would not generate it (it would store NULL). */
  #assertGenerated(entity: EntityMetadata, key: FieldMetadata): void {
    let generates: boolean | undefined;
    try {
      generates = this.#ctx.generatesKey(entity, key);
    } catch (error) {
      throw mapSqliteError(error, { entity: entity.name });
    }
    if (generates !== false) return; // no such table: the insert reports it
    throw new ValidationError(entity.name, [{
      field: key.name,
      reason: `is required: ${entity.table}.${key.column} is not an INTEGER PRIMARY KEY column ` +
        "(a rowid alias), so SQLite does not generate its values",
      suggestion: `Pass a value for ${key.name}, or rebuild the table with ` +
        `"${key.column}" INTEGER PRIMARY KEY so that SQLite generates it`,
    }]);
  }

  /** See {@linkcode ProviderOperations.update}. */
  async update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    throwIfAborted(options?.signal);
    await this.#ctx.guard();
    assertStorableDecimals(target.entity, [changes]);
    const release = await this.#ctx.writeLock();
    try {
      const { sql, params } = compileUpdate(target, changes);
      const connection = this.#ctx.connection();
      this.#ctx.beforeWrite();
      return connection.run(sql, params).changes;
    } catch (error) {
      throw mapSqliteError(error, { entity: target.entity.name });
    } finally {
      release();
    }
  }

  /** See {@linkcode ProviderOperations.increment}. */
  async increment(
    target: WriteTarget,
    increments: Readonly<Record<string, number>>,
    changes: Row = {},
    options?: ExecutionOptions,
  ): Promise<number> {
    throwIfAborted(options?.signal);
    await this.#ctx.guard();
    assertStorableDecimals(target.entity, [changes]);
    const release = await this.#ctx.writeLock();
    try {
      const { sql, params } = compileIncrement(target, increments, changes);
      const connection = this.#ctx.connection();
      this.#ctx.beforeWrite();
      return connection.run(sql, params).changes;
    } catch (error) {
      throw mapSqliteError(error, { entity: target.entity.name });
    } finally {
      release();
    }
  }

  /** See {@linkcode ProviderOperations.transaction}: inside a transaction, a savepoint. */
  transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    return this.#ctx.transaction(work, options);
  }

  /** See {@linkcode ProviderOperations.delete}. */
  async delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    throwIfAborted(options?.signal);
    await this.#ctx.guard();
    const release = await this.#ctx.writeLock();
    try {
      const { sql, params } = compileDelete(target);
      const connection = this.#ctx.connection();
      this.#ctx.beforeWrite();
      return connection.run(sql, params).changes;
    } catch (error) {
      throw mapSqliteError(error, { entity: target.entity.name });
    } finally {
      release();
    }
  }
}

/** The single key field SQLite is expected to generate, if any. */
function generatedKey(entity: EntityMetadata): FieldMetadata | undefined {
  if (entity.key.length !== 1) return undefined;
  const field = entity.fields.get(entity.key[0]!)!;
  return field.autoIncrement ? field : undefined;
}

/** Undoes and ends a savepoint, ignoring the error of one that is gone already. */
function rollbackSavepoint(connection: SqliteConnection, name: string): void {
  try {
    connection.exec(`ROLLBACK TO ${name}`);
    connection.exec(`RELEASE ${name}`);
  } catch {
    // Nothing to undo.
  }
}

/**
 * Rolls back, ignoring the error of a transaction that is gone already (SQLite rolls back on
 * some errors itself).
 *
 * @example
 * ```ts
 * import { safeRollback } from "./operations.ts";
 * import type { SqliteConnection } from "./connection.ts";
 * declare const connection: SqliteConnection;
 * safeRollback(connection);
 * ```
 */
export function safeRollback(connection: SqliteConnection): void {
  try {
    connection.exec("ROLLBACK");
  } catch {
    // Nothing to roll back.
  }
}
