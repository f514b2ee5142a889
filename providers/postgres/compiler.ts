/**
 * PostgreSQL statements with `$n` parameters: reads, counts, updates and deletes come from the
 * shared SQL compiler (`src/sql/`) with {@linkcode POSTGRES_DIALECT} — selection, filters,
 * `$search`, ordering, paging, `$apply`/`$compute` and the key restriction of a batched
 * `$expand` level — and are adapted here to the provider's shape (result columns as fields).
 * Bulk INSERTs are PostgreSQL's own (statement texts shared by equal chunks).
 *
 * @module
 */

import type { Expression, ODataQuery } from "../../src/odata/ast.ts";
import {
  type EntityMetadata,
  type FieldDefinition,
  type FieldMetadata,
  type FieldType,
  resolveRelation,
  type SchemaResolver,
} from "../../src/model/schema.ts";
import type { ReadRequest, Row } from "../../src/provider/provider.ts";
import {
  compileCount as coreCount,
  compileDelete as coreDelete,
  type CompiledQuery,
  type CompiledRead as CoreRead,
  compileExpansionCount as coreExpansionCount,
  compileIncrement,
  type ExpansionRequest,
  PlanCache,
  quoteIdentifier,
  type ResultColumn,
} from "../../src/sql/mod.ts";
import { NotSupportedError } from "../../src/errors/errors.ts";
import { encodeValue, placeholder, TEXT_TRAVEL } from "./values.ts";
import { POSTGRES_DIALECT } from "./dialect.ts";

export { quoteIdentifier };

const q = quoteIdentifier;

/**
 * A statement and its parameters.
 *
 * @example
 * ```ts
 * import type { CompiledStatement } from "./compiler.ts";
 * const statement: CompiledStatement = { text: "SELECT $1::bigint", params: ["1"] };
 * ```
 */
export interface CompiledStatement {
  /** The SQL text with `$1`, `$2`, ... placeholders. */
  readonly text: string;
  /** The parameters, already in the driver's form. */
  readonly params: unknown[];
}

/**
 * A compiled read: the statement and the fields its columns decode as.
 *
 * @example
 * ```ts
 * import type { CompiledRead } from "./compiler.ts";
 * declare const read: CompiledRead;
 * read.fields.map((field) => field.name);
 * ```
 */
export interface CompiledRead extends CompiledStatement {
  /** The fields of the result columns, in order (column aliases are the field names; names with
   * `/` are grouped navigation properties; hidden link columns are named by their alias). */
  readonly fields: readonly FieldMetadata[];
  /** The result columns in order: which are hidden (read only to join `$expand` levels). */
  readonly columns: readonly ResultColumn[];
}

/** Without a schema, navigation finds no target (an UNKNOWN_FIELD error, not a crash). */
const NO_SCHEMA: SchemaResolver = { getEntityMetadata: () => undefined };

/**
 * Whether a query runs `$apply`: its rows are no longer the entity's, so nothing expands them
 * (`$compute` only adds properties to the entity's rows: those expand as usual).
 *
 * @example
 * ```ts
 * import { transforms } from "./compiler.ts";
 * transforms({ apply: [] }); // false
 * ```
 */
export function transforms(query: ODataQuery): boolean {
  return query.apply !== undefined && query.apply.length > 0;
}

function computedField(name: string, type: FieldType): FieldMetadata {
  return {
    name,
    column: name,
    type,
    edmType: "",
    nullable: true,
    required: false,
    primaryKey: false,
    autoIncrement: false,
    searchable: false,
    definition: { type } as FieldDefinition,
  };
}

/** Fields by the result columns they were made for (cached statements share their columns). */
const FIELDS = new WeakMap<object, readonly FieldMetadata[]>();

/** The fields of a compiled read's columns: the entity's own where they are its fields. */
function adapt(entity: EntityMetadata, compiled: CoreRead): CompiledRead {
  let fields = FIELDS.get(compiled.columns);
  if (fields === undefined) {
    fields = compiled.columns.map((column) => {
      const field = entity.fields.get(column.alias);
      return field !== undefined && field.type === column.type
        ? field
        : computedField(column.alias, column.type);
    });
    FIELDS.set(compiled.columns, fields);
  }
  return {
    text: compiled.sql,
    params: compiled.params as unknown[],
    fields,
    columns: compiled.columns,
  };
}

/**
 * Compiled reads by request shape: compiling through the shared core costs microseconds that a
 * key lookup should not pay every time (see `src/sql/plans.ts`; bounded, least recently used
 * first out, keyed by entity and schema identity).
 */
const PLANS = new PlanCache(256, POSTGRES_DIALECT);

/**
 * The SELECT of a read: the selected fields (every field without `$select`), filter, order (the
 * key last, so pages are stable), paging; `linkFields` are read too, as hidden columns unless
 * selected, for joining `$expand` levels.
 *
 * @example
 * ```ts
 * import { compileRead } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileRead(entity, { top: 2 }).text; // 'SELECT "t0"."id" AS "id" FROM "P" AS "t0" ORDER BY ...'
 * ```
 */
export function compileRead(
  entity: EntityMetadata,
  query: ODataQuery,
  linkFields: readonly string[] = [],
  schema: SchemaResolver = NO_SCHEMA,
): CompiledRead {
  if (transforms(query) && (linkFields.length > 0 || (query.expand ?? []).length > 0)) {
    throw new NotSupportedError("$expand with $apply", POSTGRES_DIALECT.name);
  }
  const request: ReadRequest = { entity, schema, query: { ...query, expand: undefined } };
  return adapt(entity, PLANS.read(request, linkFields));
}

/**
 * The related rows of a batch of parents for one `$expand` level (nested `$top`/`$skip` per
 * parent), their own link fields read as hidden columns unless selected. `target` (the related
 * entity) is resolved from the request unless the caller has it already.
 *
 * @example
 * ```ts
 * import { compileExpansion } from "./compiler.ts";
 * import type { EntityMetadata, SchemaResolver } from "../../src/model/schema.ts";
 * declare const schema: SchemaResolver, orders: EntityMetadata;
 * compileExpansion({ schema, parent: orders, navigation: "Order_Details", query: {}, keys: [[10248]] });
 * ```
 */
export function compileExpansion(
  request: ExpansionRequest,
  target: EntityMetadata = resolveRelation(request.schema, request.parent, request.navigation)
    .target,
): CompiledRead {
  return adapt(target, PLANS.expansion(request));
}

/**
 * The per-parent count of an expansion (`$expand=Nav($count=true)`, `Nav/$count`): one row per
 * parent link with related rows, the relation's target fields and the count in `$count`.
 *
 * @example
 * ```ts
 * import { compileExpansionCount } from "./compiler.ts";
 * import type { EntityMetadata, SchemaResolver } from "../../src/model/schema.ts";
 * declare const schema: SchemaResolver, orders: EntityMetadata;
 * compileExpansionCount({ schema, parent: orders, navigation: "Order_Details", query: {}, keys: [[10248]] });
 * ```
 */
export function compileExpansionCount(request: ExpansionRequest): CompiledStatement {
  return statement(coreExpansionCount(POSTGRES_DIALECT, request));
}

/**
 * `SELECT COUNT(*)` of the rows a read matches (after `$apply`, `$compute`, `$search` and
 * `$filter`; without paging). The count is the column `count`.
 *
 * @example
 * ```ts
 * import { compileCount } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileCount(entity, {}).text; // 'SELECT COUNT(*) AS "count" FROM "P" AS "t0"'
 * ```
 */
export function compileCount(
  entity: EntityMetadata,
  query: ODataQuery,
  schema: SchemaResolver = NO_SCHEMA,
): CompiledStatement {
  const compiled = coreCount(POSTGRES_DIALECT, { entity, schema, query });
  return { text: compiled.sql, params: compiled.params as unknown[] };
}

function statement(compiled: CompiledQuery): CompiledStatement {
  return { text: compiled.sql, params: compiled.params as unknown[] };
}

function returning(entity: EntityMetadata): string {
  return entity.fieldList.map((field) => `${output(q(field.column), field)} AS ${q(field.name)}`)
    .join(", ");
}

/**
 * A column as the statement returns it: dates as their `YYYY-MM-DD` text (the canonical value;
 * cheaper than a custom type parser on the driver, which slows every query down).
 */
function output(column: string, field: FieldMetadata): string {
  return field.type === "date" ? `${column}::text` : column;
}

/**
 * A multi-row INSERT ... RETURNING of rows holding the same fields (absent fields take their
 * column default, e.g. a generated key).
 *
 * @example
 * ```ts
 * import { compileInsert } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileInsert(entity, [{ id: 1 }], ["id"]).params; // [1]
 * ```
 */
export function compileInsert(
  entity: EntityMetadata,
  rows: readonly Row[],
  names: readonly string[],
  returnRows = true,
): CompiledStatement {
  const fields = names.map((name) => entity.fields.get(name)!);
  const table = q(entity.table);
  if (fields.length === 0) {
    const values = rows.map(() => "DEFAULT VALUES");
    if (values.length !== 1) {
      throw new NotSupportedError(
        "A multi-row insert of rows without values",
        POSTGRES_DIALECT.name,
      );
    }
    return {
      text: `INSERT INTO ${table} DEFAULT VALUES RETURNING ${returning(entity)}`,
      params: [],
    };
  }
  const text = insertText(entity, fields, rows.length, returnRows);
  const values: unknown[] = new Array(rows.length * fields.length);
  const encoded = fields.map((field) => NEEDS_ENCODING.has(field.type));
  let at = 0;
  for (const row of rows) {
    for (let i = 0; i < fields.length; i++) {
      const value = row[fields[i]!.name] ?? null;
      values[at++] = encoded[i] ? encodeValue(value, fields[i]!.type) : value;
    }
  }
  return { text, params: values };
}

/** Types whose canonical value is not the driver's parameter as is (see `encodeValue`). */
const NEEDS_ENCODING = new Set<FieldType>(["json", "decimal", "integer"]);

/** INSERT texts by table, columns and row count: full chunks of a bulk insert share one. */
const INSERT_TEXTS = new Map<string, string>();

function insertText(
  entity: EntityMetadata,
  fields: readonly FieldMetadata[],
  count: number,
  returnRows: boolean,
): string {
  const shape = fields.map((f) => `${f.column}:${f.type}`).join();
  const key = `${entity.table}\u0000${shape}\u0000${count}\u0000${returnRows}`;
  let text = INSERT_TEXTS.get(key);
  if (text !== undefined) return text;
  const tuples: string[] = new Array(count);
  let index = 0;
  for (let row = 0; row < count; row++) {
    const slots: string[] = new Array(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const type = fields[i]!.type;
      index++;
      slots[i] = TEXT_TRAVEL.has(type) ? placeholder(index, type) : `$${index}`;
    }
    tuples[row] = `(${slots.join(", ")})`;
  }
  const columns = fields.map((field) => q(field.column)).join(", ");
  text = `INSERT INTO ${q(entity.table)} (${columns}) VALUES ${tuples.join(", ")}${
    returnRows ? ` RETURNING ${returning(entity)}` : ""
  }`;
  if (INSERT_TEXTS.size >= 64) INSERT_TEXTS.clear();
  INSERT_TEXTS.set(key, text);
  return text;
}

/**
 * `UPDATE ... SET` of the changes (and increments) on the rows matching the filter.
 *
 * @example
 * ```ts
 * import { compileUpdate } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", {
 *   fields: { id: { type: "integer", primaryKey: true }, n: { type: "integer" } },
 * });
 * compileUpdate(entity, undefined, { n: 2 }).text; // 'UPDATE "P" AS "t0" SET "n" = $1::bigint'
 * ```
 */
export function compileUpdate(
  entity: EntityMetadata,
  filter: Expression | undefined,
  changes: Row,
  increments: Readonly<Record<string, number>> = {},
  schema: SchemaResolver = NO_SCHEMA,
): CompiledStatement {
  const target = { entity, schema, filter };
  return statement(compileIncrement(POSTGRES_DIALECT, target, increments, changes));
}

/**
 * `DELETE` of the rows matching the filter.
 *
 * @example
 * ```ts
 * import { compileDelete } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileDelete(entity, undefined).text; // 'DELETE FROM "P" AS "t0"'
 * ```
 */
export function compileDelete(
  entity: EntityMetadata,
  filter: Expression | undefined,
  schema: SchemaResolver = NO_SCHEMA,
): CompiledStatement {
  return statement(coreDelete(POSTGRES_DIALECT, { entity, schema, filter }));
}
