/**
 * One `node:sqlite` connection with a bounded prepared-statement cache and the mapping of
 * SQLite errors to the module's error hierarchy.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import type { ErrorCode } from "../../src/errors/codes.ts";
import { registerSqliteFunctions } from "./udf.ts";

/**
 * `StatementSync.setReturnArrays()` (Deno 2, Node 22.16+): rows as arrays of column values,
 * which node:sqlite builds far faster than objects. Older runtimes and typings lack it.
 */
type ArrayStatement = StatementSync & { setReturnArrays?(enabled: boolean): void };

/** A value SQLite accepts as a parameter. */
export type SqlParameter = null | number | bigint | string | Uint8Array;

/** Connection settings. */
export interface ConnectionOptions {
  readonly filePath: string;
  readonly busyTimeoutMs: number;
  readonly statementCacheSize: number;
  readonly readOnly: boolean;
}

/**
 * An open database with cached statements. All methods are synchronous (node:sqlite is).
 *
 * @example
 * ```ts ignore
 * const connection = SqliteConnection.open({ filePath: ":memory:", busyTimeoutMs: 5000, statementCacheSize: 200, readOnly: false });
 * connection.all("SELECT 1 AS one", []);
 * connection.close();
 * ```
 */
export class SqliteConnection {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, StatementSync>();
  /** Statements returning rows as arrays (node:sqlite builds those much faster than objects). */
  readonly #arrayCache = new Map<string, StatementSync>();
  readonly #cacheSize: number;

  private constructor(db: DatabaseSync, cacheSize: number) {
    this.#db = db;
    this.#cacheSize = cacheSize;
  }

  /** Opens the file and applies WAL, busy timeout and foreign keys. */
  static open(options: ConnectionOptions): SqliteConnection {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(options.filePath, {
        readOnly: options.readOnly,
        timeout: options.busyTimeoutMs,
        enableForeignKeyConstraints: true,
      });
    } catch (cause) {
      throw new ODataActiveRecordError(
        "PROVIDER_UNAVAILABLE",
        `Cannot open SQLite database ${JSON.stringify(options.filePath)}: ${
          (cause as Error).message
        }`,
        {
          suggestion: 'Check that the directory exists and is writable, or use ":memory:"',
          cause,
          context: { provider: "sqlite", filePath: options.filePath },
        },
      );
    }
    const connection = new SqliteConnection(db, options.statementCacheSize);
    try {
      if (options.filePath !== ":memory:" && !options.readOnly) {
        db.exec("PRAGMA journal_mode = WAL");
      }
      registerSqliteFunctions(db);
      // Reads the file header: a file that is not a database fails here, not at first use.
      db.prepare("PRAGMA schema_version").get();
      db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
      db.exec("PRAGMA foreign_keys = ON");
      if (!options.readOnly) db.exec("PRAGMA synchronous = NORMAL");
    } catch (cause) {
      db.close();
      throw mapSqliteError(cause, { filePath: options.filePath });
    }
    return connection;
  }

  #statement(sql: string, arrays = false): StatementSync {
    const cache = arrays ? this.#arrayCache : this.#cache;
    let statement = cache.get(sql);
    if (statement !== undefined) return statement;
    statement = this.#db.prepare(sql);
    if (arrays) (statement as ArrayStatement).setReturnArrays?.(true);
    if (cache.size >= this.#cacheSize) {
      // Evict the oldest entry: Map keeps insertion order.
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(sql, statement);
    return statement;
  }

  /** The cached prepared statement of `sql` (for callers that run it many times). */
  prepare(sql: string): StatementSync {
    return this.#statement(sql);
  }

  /** All rows, as objects keyed by result column name. */
  all(sql: string, params: readonly unknown[]): Record<string, unknown>[] {
    return this.#statement(sql).all(...(params as SqlParameter[])) as Record<string, unknown>[];
  }

  /** All rows, each as the array of its column values in SELECT order. */
  values(sql: string, params: readonly unknown[]): unknown[][] {
    const statement = this.#statement(sql, true);
    const rows = statement.all(...(params as SqlParameter[]));
    return (statement as ArrayStatement).setReturnArrays === undefined
      ? rows.map(columnValues(statement))
      : rows as unknown as unknown[][];
  }

  /** Rows one at a time as arrays of column values (flat memory). */
  iterateValues(sql: string, params: readonly unknown[]): IterableIterator<unknown[]> {
    // A fresh statement: an iterating statement must not be reused by a nested query meanwhile.
    const statement = this.#db.prepare(sql) as ArrayStatement;
    if (statement.setReturnArrays === undefined) {
      const values = columnValues(statement);
      return Iterator.from(statement.iterate(...(params as SqlParameter[]))).map(values);
    }
    statement.setReturnArrays(true);
    return statement.iterate(...(params as SqlParameter[])) as unknown as IterableIterator<
      unknown[]
    >;
  }

  /** The first row, or undefined. */
  get(sql: string, params: readonly unknown[]): Record<string, unknown> | undefined {
    return this.#statement(sql).get(...(params as SqlParameter[])) as
      | Record<string, unknown>
      | undefined;
  }

  /** Rows one at a time (flat memory). */
  iterate(sql: string, params: readonly unknown[]): IterableIterator<Record<string, unknown>> {
    // A fresh statement: an iterating statement must not be reused by a nested query meanwhile.
    return this.#db.prepare(sql).iterate(...(params as SqlParameter[])) as IterableIterator<
      Record<string, unknown>
    >;
  }

  /** Runs a write; returns the affected row count and the last inserted rowid. */
  run(sql: string, params: readonly unknown[]): { changes: number; lastInsertRowid: number } {
    const result = this.#statement(sql).run(...(params as SqlParameter[]));
    return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }

  /** Runs SQL without parameters (DDL, transaction control). */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /** Closes the database and drops cached statements. */
  close(): void {
    this.#cache.clear();
    this.#arrayCache.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  /** True while open. */
  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  /**
   * True while a transaction is open on the connection (SQLite may end one by itself, after
   * some errors). Runtimes whose node:sqlite cannot tell answer true.
   */
  get inTransaction(): boolean {
    return (this.#db as { isTransaction?: boolean }).isTransaction ?? true;
  }

  /** The absolute path of the database file; `""` for in-memory and temporary databases. */
  file(): string {
    const main = this.#db.prepare("PRAGMA database_list").all()
      .find((row) => (row as { name?: unknown }).name === "main") as { file?: unknown } | undefined;
    return typeof main?.file === "string" ? main.file : "";
  }
}

/** Reads a row object's values in column order (runtimes without `setReturnArrays`). */
function columnValues(statement: StatementSync): (row: Record<string, unknown>) => unknown[] {
  const names = statement.columns().map((column) => column.name);
  return (row) => names.map((name) => row[name]);
}

const CONSTRAINT_CODES: Readonly<Record<number, ErrorCode>> = {
  2067: "CONSTRAINT_UNIQUE", // SQLITE_CONSTRAINT_UNIQUE
  1555: "CONSTRAINT_UNIQUE", // SQLITE_CONSTRAINT_PRIMARYKEY
  1299: "CONSTRAINT_NOT_NULL", // SQLITE_CONSTRAINT_NOTNULL
  787: "CONSTRAINT_FOREIGN_KEY", // SQLITE_CONSTRAINT_FOREIGNKEY
  275: "CONSTRAINT_CHECK", // SQLITE_CONSTRAINT_CHECK
};

/**
 * Result codes for node:sqlite errors that carry no `errcode` (errors of `exec()`, of opening),
 * recognised by SQLite's own message text (`sqlite3_errstr`).
 */
const MESSAGE_CODES: readonly (readonly [RegExp, number])[] = [
  [/database is locked/i, 5], // SQLITE_BUSY
  [/database (table|schema) is locked/i, 6], // SQLITE_LOCKED
  [/file is not a database/i, 26], // SQLITE_NOTADB
  [/unable to open database file/i, 14], // SQLITE_CANTOPEN
  [/disk I\/O error/i, 10], // SQLITE_IOERR
  [/UNIQUE constraint failed/i, 2067],
  [/NOT NULL constraint failed/i, 1299],
  [/FOREIGN KEY constraint failed/i, 787],
  [/CHECK constraint failed/i, 275],
];

function resultCode(error: unknown, message: string): number | undefined {
  const errcode = (error as { errcode?: number } | null)?.errcode;
  if (typeof errcode === "number") return errcode;
  return MESSAGE_CODES.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * Wraps a node:sqlite error in the module's hierarchy (constraint codes, busy, cannot open),
 * by its `errcode` when it has one, else by SQLite's message. Errors of the module pass through
 * unchanged.
 *
 * @example
 * ```ts ignore
 * try { connection.run(sql, params); } catch (error) { throw mapSqliteError(error, { entity: "Products" }); }
 * ```
 */
export function mapSqliteError(
  error: unknown,
  context: Record<string, unknown>,
): ODataActiveRecordError {
  if (error instanceof ODataActiveRecordError) return error;
  const message = (error as Error | null)?.message ?? String(error);
  const errcode = resultCode(error, message);
  if (/database is not open/i.test(message)) {
    return new ODataActiveRecordError("CLOSED", "The sqlite database is closed", {
      cause: error,
      context: { provider: "sqlite", ...context },
    });
  }
  const missing = /no such (table|column): (\S+)/i.exec(message);
  if (missing !== null) {
    // The tables of registered entities exist once sync() ran; a missing one means it did not.
    return new ODataActiveRecordError(
      "SCHEMA_NOT_SYNCED",
      `The database has no ${missing[1]!.toLowerCase()} ${missing[2]}: run namespace.sync() ` +
        "after registering the entities",
      { cause: error, context: { provider: "sqlite", ...context } },
    );
  }
  if (typeof errcode === "number") {
    const constraint = CONSTRAINT_CODES[errcode];
    if (constraint !== undefined) {
      return new ODataActiveRecordError(
        constraint,
        `${describeConstraint(constraint)}: ${message}`,
        {
          cause: error,
          context: { provider: "sqlite", ...context },
        },
      );
    }
    const primary = errcode & 0xff;
    if (primary === 5 || primary === 6) { // SQLITE_BUSY, SQLITE_LOCKED: the busy timeout ran out
      return new ODataActiveRecordError("TIMEOUT", `SQLite lock wait timed out: ${message}`, {
        suggestion: "Another connection holds the write lock; retry, or raise busyTimeoutMs",
        cause: error,
        context: { provider: "sqlite", ...context },
      });
    }
    if (primary === 14 || primary === 10 || primary === 26) { // CANTOPEN, IOERR, NOTADB
      return new ODataActiveRecordError(
        "PROVIDER_UNAVAILABLE",
        `SQLite database unavailable: ${message}`,
        {
          cause: error,
          context: { provider: "sqlite", ...context },
        },
      );
    }
  }
  return new ODataActiveRecordError("PROVIDER_ERROR", `SQLite error: ${message}`, {
    cause: error,
    context: { provider: "sqlite", ...context },
  });
}

function describeConstraint(code: ErrorCode): string {
  switch (code) {
    case "CONSTRAINT_UNIQUE":
      return "Unique constraint violated";
    case "CONSTRAINT_NOT_NULL":
      return "Required value missing";
    case "CONSTRAINT_FOREIGN_KEY":
      return "Foreign key constraint violated";
    default:
      return "Check constraint violated";
  }
}
