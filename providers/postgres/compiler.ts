/**
 * Compiles reads and writes to PostgreSQL statements with `$n` parameters: values never enter
 * the SQL text, names are quoted. Selection, filters (expression.ts), `$search`, ordering,
 * paging, counts, the key restriction of a batched `$expand` level, and writes. What it does not
 * cover (`$apply`, `$compute`) fails with `NOT_SUPPORTED`, never a wrong answer.
 *
 * @module
 */

import type { Expression, ODataQuery, SearchExpression, SelectItem } from "../../src/odata/ast.ts";
import type {
  EntityMetadata,
  FieldMetadata,
  FieldType,
  SchemaResolver,
} from "../../src/model/schema.ts";
import type { Row } from "../../src/provider/provider.ts";
import { encodeValue, placeholder } from "./values.ts";
import {
  arrayType,
  ExpressionCompiler,
  Parameters,
  quoteIdentifier,
  TEXT_TRAVEL,
  unsupported,
} from "./expression.ts";

export { quoteIdentifier };

const q = quoteIdentifier;

/** A statement and its parameters. */
export interface CompiledStatement {
  /** The SQL text with `$1`, `$2`, ... placeholders. */
  readonly text: string;
  /** The parameters, already in the driver's form. */
  readonly params: unknown[];
}

/** A compiled read: the statement and the fields its columns decode as. */
export interface CompiledRead extends CompiledStatement {
  /** The fields of the result columns, in order (column aliases are the field names). */
  readonly fields: readonly FieldMetadata[];
}

/** The FROM of an entity, with the alias `t`. */
function from(entity: EntityMetadata): string {
  return `${q(entity.table)} AS t`;
}

function selectedFields(entity: EntityMetadata, query: ODataQuery): FieldMetadata[] {
  const star = (item: SelectItem) => item.segments.some((segment) => segment.kind === "Star");
  if (query.select === undefined || query.select.some(star)) {
    return [...entity.fieldList];
  }
  const names = new Set<string>(entity.key);
  for (const item of query.select) {
    const [segment] = item.segments;
    if (item.segments.length !== 1 || segment?.kind !== "Property") {
      throw unsupported("A nested, type-cast, annotation or operation $select path");
    }
    names.add(segment.name);
  }
  return entity.fieldList.filter((field) => names.has(field.name));
}

function rejectUnsupported(query: ODataQuery): void {
  if (query.apply !== undefined && query.apply.length > 0) throw unsupported("$apply");
  if (query.compute !== undefined && query.compute.length > 0) throw unsupported("$compute");
}

function whereClause(
  entity: EntityMetadata,
  filter: Expression | undefined,
  params: Parameters,
  search?: SearchExpression,
  within?: KeyRestriction,
  schema?: SchemaResolver,
): string {
  const conditions: string[] = [];
  if (filter !== undefined) {
    conditions.push(new ExpressionCompiler(entity, params, "t", schema).condition(filter));
  }
  if (search !== undefined) conditions.push(compileSearch(entity, search, params));
  if (within !== undefined) {
    params.values.push(within.values.map((value) => encodeValue(value, within.field.type)));
    const array = `$${params.values.length}::${arrayType(within.field.type)}`;
    conditions.push(`t.${q(within.field.column)} = ANY(${array})`);
  }
  return conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
}

/** Rows whose `field` is one of `values` (the parents' keys of one `$expand` level). */
export interface KeyRestriction {
  /** The field of the expanded entity that references the parents. */
  readonly field: FieldMetadata;
  /** The parents' values, without duplicates or nulls. */
  readonly values: readonly unknown[];
}

/**
 * `$search`: a term matches a row when one of its searchable text fields contains it, ignoring
 * case (the term is lower-cased here, the column by the server); a phrase is one substring. As
 * literal as `contains`: `%`, `_` and `\` in a term are plain characters. `NOT` is two-valued.
 */
function compileSearch(entity: EntityMetadata, node: SearchExpression, params: Parameters): string {
  switch (node.kind) {
    case "SearchTerm": {
      const fields = entity.fieldList.filter((f) =>
        f.searchable && (f.type === "string" || f.type === "guid")
      );
      if (fields.length === 0) return "FALSE";
      const needle = params.addText(node.text.toLowerCase());
      const tests = fields.map((f) =>
        `strpos(lower(coalesce(t.${q(f.column)}::text, '') COLLATE "default"), ${needle}) > 0`
      );
      return `(${tests.join(" OR ")})`;
    }
    case "SearchNot":
      return `(NOT ${compileSearch(entity, node.operand, params)})`;
    case "SearchBinary":
      return `(${compileSearch(entity, node.left, params)} ${
        node.operator === "AND" ? "AND" : "OR"
      } ${compileSearch(entity, node.right, params)})`;
  }
}

/**
 * The SELECT of a read: selected fields (the key always), filter, order (the key last, so pages
 * are stable), LIMIT/OFFSET.
 *
 * @example
 * ```ts
 * import { compileRead } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileRead(entity, { top: 2 }).text; // 'SELECT t."id" AS "id" FROM "P" AS t ORDER BY ...'
 * ```
 */
export function compileRead(
  entity: EntityMetadata,
  query: ODataQuery,
  extraFields: readonly string[] = [],
  within?: KeyRestriction,
  schema?: SchemaResolver,
): CompiledRead {
  rejectUnsupported(query);
  const params = new Parameters();
  const fields = selectedFields(entity, query);
  for (const name of extraFields) {
    const field = entity.fields.get(name)!;
    if (!fields.includes(field)) fields.push(field);
  }
  const columns = fields.map((field) =>
    `${output(`t.${q(field.column)}`, field)} AS ${q(field.name)}`
  )
    .join(", ");
  let text = `SELECT ${columns} FROM ${from(entity)}`;
  text += whereClause(entity, query.filter, params, query.search, within, schema);
  const order: string[] = [];
  const expressions = new ExpressionCompiler(entity, params, "t", schema, undefined, {
    n: 1000, // subqueries of the order do not reuse the filter's aliases
  });
  for (const item of query.orderby ?? []) {
    const compiled = expressions.compile(item.expression).sql;
    // OData sorts nulls first ascending (as SQLite does).
    order.push(
      item.direction === "desc" ? `${compiled} DESC NULLS LAST` : `${compiled} ASC NULLS FIRST`,
    );
  }
  for (const name of entity.key) order.push(`t.${q(entity.fields.get(name)!.column)} ASC`);
  text += ` ORDER BY ${order.join(", ")}`;
  if (query.top !== undefined) text += ` LIMIT ${Math.trunc(query.top)}`;
  if (query.skip !== undefined && query.skip > 0) text += ` OFFSET ${Math.trunc(query.skip)}`;
  return { text, params: params.values, fields };
}

/**
 * `SELECT count(*)` of the rows matching the filter.
 *
 * @example
 * ```ts
 * import { compileCount } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileCount(entity, undefined).text; // 'SELECT count(*) AS n FROM "P" AS t'
 * ```
 */
export function compileCount(
  entity: EntityMetadata,
  filter: Expression | undefined,
  search?: SearchExpression,
  schema?: SchemaResolver,
): CompiledStatement {
  const params = new Parameters();
  const where = whereClause(entity, filter, params, search, undefined, schema);
  const text = `SELECT count(*) AS n FROM ${from(entity)}${where}`;
  return { text, params: params.values };
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
    if (values.length !== 1) throw unsupported("A multi-row insert of rows without values");
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
 * compileUpdate(entity, undefined, { n: 2 }).text; // 'UPDATE "P" AS t SET "n" = $1::bigint'
 * ```
 */
export function compileUpdate(
  entity: EntityMetadata,
  filter: Expression | undefined,
  changes: Row,
  increments: Readonly<Record<string, number>> = {},
  schema?: SchemaResolver,
): CompiledStatement {
  const params = new Parameters();
  const sets: string[] = [];
  for (const [name, amount] of Object.entries(increments)) {
    const field = entity.fields.get(name)!;
    const column = q(field.column);
    sets.push(`${column} = coalesce(t.${column}, 0) + ${params.add(amount, field.type)}`);
  }
  for (const [name, value] of Object.entries(changes)) {
    const field = entity.fields.get(name);
    if (field === undefined) continue;
    sets.push(`${q(field.column)} = ${params.add(value, field.type)}`);
  }
  const where = whereClause(entity, filter, params, undefined, undefined, schema);
  return { text: `UPDATE ${from(entity)} SET ${sets.join(", ")}${where}`, params: params.values };
}

/**
 * `DELETE` of the rows matching the filter.
 *
 * @example
 * ```ts
 * import { compileDelete } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileDelete(entity, undefined).text; // 'DELETE FROM "P" AS t'
 * ```
 */
export function compileDelete(
  entity: EntityMetadata,
  filter: Expression | undefined,
  schema?: SchemaResolver,
): CompiledStatement {
  const params = new Parameters();
  const where = whereClause(entity, filter, params, undefined, undefined, schema);
  return { text: `DELETE FROM ${from(entity)}${where}`, params: params.values };
}
