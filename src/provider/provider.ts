/**
 * The provider contract: what every storage backend (SQLite, MongoDB, remote OData) implements.
 * Providers receive the query AST and resolved entity metadata, never OData or SQL text, and
 * return rows in the canonical JavaScript representation of each field type.
 *
 * Canonical values: `string` → string; `integer` → number; `number` → number; `decimal` →
 * string (exact digits, `scale` decimals when declared); `boolean` → boolean; `date` →
 * `"YYYY-MM-DD"`; `datetime` → `Date`; `time` → `"HH:MM:SS[.fff]"`; `guid` → lowercase string;
 * `json` → parsed value; `binary` → `Uint8Array`. Nulls are `null`.
 *
 * @module
 */

import type { Expression, ODataQuery } from "../odata/ast.ts";
import type {
  EntityDefinition,
  EntityMetadata,
  FieldType,
  SchemaResolver,
} from "../model/schema.ts";

/** A row keyed by field name. */
export type Row = Record<string, unknown>;

/** Options every I/O method accepts. */
export interface ExecutionOptions {
  /** Cancels the operation; providers check it before and during work. */
  readonly signal?: AbortSignal;
}

/** Options of `insert` and `createMany`. */
export interface InsertOptions extends ExecutionOptions {
  /**
   * `false`: the rows are written but not returned (`insert` resolves to `[]`, `createMany` to
   * the number of rows), which saves building them.
   * @default {true}
   */
  readonly returning?: boolean;
}

/** What a provider can do; the service answers 501 for the rest. */
export interface ProviderCapabilities {
  /** `$apply` (groupby/aggregate/filter/...). */
  readonly apply: boolean;
  /** `$search`. */
  readonly search: boolean;
  /** `namespace.transaction()`. */
  readonly transactions: boolean;
  /** `$expand`. */
  readonly expand: boolean;
  /** `$compute`. */
  readonly compute: boolean;
  /** Schema creation and drift detection (`namespace.sync()`). */
  readonly schema: boolean;
}

/** A read: the entity, the namespace's schema (for navigation), and the query AST. */
export interface ReadRequest {
  /** The entity. */
  readonly entity: EntityMetadata;
  /** Resolves the entities of the namespace. */
  readonly schema: SchemaResolver;
  /** Filter, select, expand, orderby, top, skip, count, search, compute, apply. */
  readonly query: ODataQuery;
  /**
   * Optional: the objects rows of an entity are decoded into (the Active Record layer passes its
   * records, so a provider that supports it builds each row once). `undefined` for an entity, or
   * a provider that ignores it: plain rows.
   */
  readonly rowBuilder?: (entity: EntityMetadata) => RowBuilder | undefined;
}

/**
 * Builds the objects a provider decodes rows of one entity into. The provider calls `create()`
 * for a row whose properties are all fields of the entity, then assigns each decoded field value
 * to it (own properties, in column order); `snapshot(stored)` gives the same values as a new
 * plain row whenever the object asks for them later (it keeps `stored`, the row's column values).
 *
 * @example
 * ```ts
 * import type { RowBuilder } from "./provider.ts";
 * const builder: RowBuilder = {
 *   create: () => ({}),
 *   attach: (row, name, value) => {
 *     row[name] = value;
 *   },
 * };
 * ```
 */
export interface RowBuilder {
  /** A new, empty row object; `snapshot(stored)` decodes the stored column values again. */
  create(stored: readonly unknown[], snapshot: (stored: readonly unknown[]) => Row): Row;
  /** Sets an expanded navigation property of a row made by `create()`. */
  attach(row: Row, name: string, value: Row | Row[] | null): void;
}

/**
 * The answer to a read. Rows hold canonical values; expanded navigations are nested; counts of
 * expanded collections (`$expand=Nav($count=true)`, `Nav/$count`) sit on the parent rows under
 * `EXPANDED_COUNTS` (see `expanded_counts.ts`).
 */
export interface ReadResult {
  /** The rows, with canonical values. */
  readonly rows: Row[];
  /** Total matching rows ignoring top/skip, when `query.count` was true. */
  readonly count?: number;
}

/** A write that targets the rows matching a filter (`undefined` = every row). */
export interface WriteTarget {
  /** The entity. */
  readonly entity: EntityMetadata;
  /** Resolves the entities of the namespace. */
  readonly schema: SchemaResolver;
  /** The `$filter` expression. */
  readonly filter: Expression | undefined;
}

/** One column as found in the store, for drift reports. */
export interface ColumnInfo {
  /** The name. */
  readonly name: string;
  /** The store's declared type (e.g. `INTEGER`, `TEXT`). */
  readonly storeType: string;
  /** May hold null. */
  readonly nullable: boolean;
  /** Part of the primary key. */
  readonly primaryKey: boolean;
}

/** A difference between the registered schema and the store. */
export interface DriftWarning {
  /** The entity. */
  readonly entity: string;
  /** What kind of drift. */
  readonly kind:
    | "missing-column"
    | "extra-column"
    | "type-mismatch"
    | "nullability-mismatch"
    | "constraint-mismatch";
  /** The column name in the store. */
  readonly column: string;
  /** A human-readable description. */
  readonly message: string;
}

/** What `sync()` did and found. */
export interface SyncReport {
  /** Tables created. */
  readonly createdTables: readonly string[];
  /** Columns added (`table.column`). */
  readonly addedColumns: readonly string[];
  /** Indexes created. */
  readonly createdIndexes: readonly string[];
  /** Drift found between the schema and the store. */
  readonly warnings: readonly DriftWarning[];
}

/** The store type a field maps to, for drift comparison (provider-specific). */
export type StoreTypeOf = (type: FieldType) => string;

/** Operations available inside and outside a transaction. */
export interface ProviderOperations {
  /** Reads rows (with nested expansions). */
  read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult>;
  /** Streams rows one by one with flat memory; expansions are not supported here. */
  stream(request: ReadRequest, options?: ExecutionOptions): AsyncIterable<Row>;
  /** Counts the rows matching `query.filter`/`query.search`. */
  count(request: ReadRequest, options?: ExecutionOptions): Promise<number>;
  /**
   * Inserts rows (canonical values) and returns them as stored, with generated keys (nothing
   * with `returning: false`). All rows are written or none; a long insert yields to the event
   * loop between chunks.
   */
  insert(entity: EntityMetadata, rows: readonly Row[], options?: InsertOptions): Promise<Row[]>;
  /** Updates the targeted rows; returns the number of affected rows. */
  update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number>;
  /** Deletes the targeted rows; returns the number of affected rows. */
  delete(target: WriteTarget, options?: ExecutionOptions): Promise<number>;
  /**
   * Adds `increments[field]` to each named numeric field of the targeted rows (a null counts as
   * 0) and sets `changes`, in one atomic statement; returns the number of affected rows.
   * Providers without it cannot run `increment()` or versioned blind updates.
   */
  increment?(
    target: WriteTarget,
    increments: Readonly<Record<string, number>>,
    changes?: Row,
    options?: ExecutionOptions,
  ): Promise<number>;
  /**
   * Runs `work` in a transaction: on a provider its own, inside a transaction a nested one
   * (a savepoint: rolled back alone when `work` throws).
   */
  transaction?<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T>;
}

/**
 * A storage backend.
 *
 * @example A provider is created by the registry from a config object
 * ```ts
 * import { createProvider } from "@oar/odata-active-record";
 * const provider = await createProvider({ type: "sqlite", filePath: ":memory:" });
 * await provider.connect();
 * await provider.ping();
 * await provider.close();
 * ```
 */
export interface Provider extends ProviderOperations {
  /** The provider type, e.g. `"sqlite"`. */
  readonly type: string;
  /** What it supports. */
  readonly capabilities: ProviderCapabilities;
  /** Opens the connection (idempotent). */
  connect(options?: ExecutionOptions): Promise<void>;
  /** Closes it (idempotent); later calls fail with a `CLOSED` error. */
  close(): Promise<void>;
  /** Throws a `PROVIDER_UNAVAILABLE` error when the store does not answer. */
  ping(options?: ExecutionOptions): Promise<void>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T>;
  /** Creates missing tables, columns and indexes; reports drift; never drops or rewrites data. */
  sync(entities: readonly EntityMetadata[], options?: ExecutionOptions): Promise<SyncReport>;
  /**
   * Optional: reads the store's own schema (a remote service's `$metadata`) as entity
   * definitions, for `namespace.registerFromMetadata()`.
   */
  introspect?(options?: ExecutionOptions): Promise<IntrospectionResult>;
}

/**
 * What a provider's `introspect()` found.
 *
 * @example
 * ```ts
 * import type { IntrospectionResult } from "@oar/odata-active-record";
 * const found: IntrospectionResult = {
 *   entities: { Notes: { fields: { id: { type: "integer", primaryKey: true } } } },
 *   warnings: [],
 * };
 * ```
 */
export interface IntrospectionResult {
  /** Entity definitions by entity (set) name. */
  readonly entities: Readonly<Record<string, EntityDefinition>>;
  /** What was left out, and why. */
  readonly warnings: readonly string[];
}
