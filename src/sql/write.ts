/**
 * Writes: INSERT of canonical rows, UPDATE and DELETE of the rows a filter targets (the filter
 * compiles as in reads, navigation and lambdas included). Values are encoded with the dialect's
 * `encodeValue` and bound as parameters; what a database cannot store is the provider's check.
 *
 * @module
 */

import type { EntityMetadata, FieldMetadata } from "../model/schema.ts";
import type { Row, WriteTarget } from "../provider/provider.ts";
import { compiling, createContext, entityScope, invalidArgument, unknownField } from "./context.ts";
import type { SqlDialect } from "./dialect.ts";
import { compileFilter } from "./expression.ts";
import { type CompiledQuery, type Fragment, ident, join, raw, sql } from "./fragment.ts";

/** The given fields of a row in the entity's field order; `undefined` means omitted. */
function fieldsOf(entity: EntityMetadata, row: Row): [FieldMetadata, unknown][] {
  for (const name of Object.keys(row)) {
    if (!entity.fields.has(name)) throw unknownField(entityScope(entity, "t"), name);
  }
  return entity.fieldList.filter((f) => Object.hasOwn(row, f.name) && row[f.name] !== undefined)
    .map((f) => [f, row[f.name]]);
}

/**
 * Compiles one INSERT of the rows (canonical values; `undefined` = omitted, so the column
 * default or an auto-increment key applies). All rows must give the same set of fields, as SQLite's
 * VALUES has no DEFAULT keyword; a row without fields inserts DEFAULT VALUES (alone). `returning`
 * fields come back as the statement's result row (their stored values, generated keys included).
 *
 * @example
 * ```ts
 * import { compileInsert } from "./write.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileInsert(dialect, entity, [{ Name: "a" }, { Name: "b" }]);
 * // { sql: 'INSERT INTO "T" ("Name") VALUES (?), (?)', params: ["a", "b"] }
 * ```
 */
export function compileInsert(
  dialect: SqlDialect,
  entity: EntityMetadata,
  rows: readonly Row[],
  returning: readonly FieldMetadata[] = [],
): CompiledQuery {
  return finish(dialect, () => insertStatement(dialect, entity, rows, returning));
}

/** Compiles for `dialect` and numbers the placeholders of the result. */
function finish(dialect: SqlDialect, compile: () => CompiledQuery): CompiledQuery {
  const statement = compiling(dialect, compile);
  return { sql: dialect.finish(statement.sql), params: statement.params };
}

function insertStatement(
  dialect: SqlDialect,
  entity: EntityMetadata,
  rows: readonly Row[],
  returning: readonly FieldMetadata[],
): CompiledQuery {
  if (rows.length === 0) throw invalidArgument("An insert needs at least one row");
  const encoded = rows.map((row) => fieldsOf(entity, row));
  const names = encoded[0]!.map(([field]) => field.name);
  for (const fields of encoded) {
    if (fields.length !== names.length || fields.some(([field], i) => field.name !== names[i])) {
      throw invalidArgument(`Rows inserted together into ${entity.name} must give the same fields`);
    }
  }
  const table = ident(entity.table);
  const tail = returning.length === 0
    ? raw("")
    : sql` RETURNING ${
      join(returning.map((f) => sql`${ident(f.column)} AS ${ident(f.name)}`), ", ")
    }`;
  if (names.length === 0) {
    if (rows.length > 1) throw invalidArgument("Insert rows without fields one at a time");
    return sql`INSERT INTO ${table} DEFAULT VALUES${tail}`;
  }
  const columns = join(encoded[0]!.map(([field]) => ident(field.column)), ", ");
  const tuples = encoded.map((fields) =>
    sql`(${
      join(fields.map(([f, v]) => dialect.parameter(dialect.encodeValue(f, v), f.type)), ", ")
    })`
  );
  return sql`INSERT INTO ${table} (${columns}) VALUES ${join(tuples, ", ")}${tail}`;
}

function where(
  dialect: SqlDialect,
  target: WriteTarget,
): { alias: string; condition: Fragment | undefined } {
  const ctx = createContext(dialect, target.schema, target.entity);
  return {
    alias: ctx.root.alias,
    condition: target.filter === undefined ? undefined : compileFilter(target.filter, ctx),
  };
}

/**
 * Compiles an UPDATE of the targeted rows (no filter: every row).
 *
 * @example
 * ```ts
 * import { compileUpdate } from "./write.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileUpdate(dialect, { entity, schema: { getEntityMetadata: () => entity }, filter: undefined }, { Name: "x" });
 * // { sql: 'UPDATE "T" AS "t0" SET "Name" = ?', params: ["x"] }
 * ```
 */
export function compileUpdate(
  dialect: SqlDialect,
  target: WriteTarget,
  changes: Row,
): CompiledQuery {
  return compileIncrement(dialect, target, {}, changes);
}

/** `column = value` of each given field. */
function assignments(dialect: SqlDialect, entity: EntityMetadata, changes: Row): Fragment[] {
  return fieldsOf(entity, changes).map(([f, v]) =>
    sql`${ident(f.column)} = ${dialect.parameter(dialect.encodeValue(f, v), f.type)}`
  );
}

/**
 * Compiles an UPDATE that adds `increments[field]` to each named (integer or number) field of
 * the targeted rows in one statement (a null counts as 0), and sets `changes` besides.
 *
 * @example
 * ```ts
 * import { compileIncrement } from "./write.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, N: { type: "integer" } } });
 * compileIncrement(dialect, { entity, schema: { getEntityMetadata: () => entity }, filter: undefined }, { N: 2 });
 * // { sql: 'UPDATE "T" AS "t0" SET "N" = coalesce("N", 0) + ?', params: [2] }
 * ```
 */
export function compileIncrement(
  dialect: SqlDialect,
  target: WriteTarget,
  increments: Readonly<Record<string, number>>,
  changes: Row = {},
): CompiledQuery {
  return finish(dialect, () => updateStatement(dialect, target, increments, changes));
}

function updateStatement(
  dialect: SqlDialect,
  target: WriteTarget,
  increments: Readonly<Record<string, number>>,
  changes: Row,
): CompiledQuery {
  const added = fieldsOf(target.entity, increments).map(([field, by]) => {
    if ((field.type !== "integer" && field.type !== "number") || typeof by !== "number") {
      throw invalidArgument(`Only integer and number fields can be incremented by a number`);
    }
    const amount = dialect.parameter(by, field.type);
    return sql`${ident(field.column)} = coalesce(${ident(field.column)}, 0) + ${amount}`;
  });
  const set = assignments(dialect, target.entity, changes);
  if (added.length + set.length === 0) {
    throw invalidArgument("An update needs at least one field to change");
  }
  const { alias, condition } = where(dialect, target);
  const statement = sql`UPDATE ${ident(target.entity.table)} AS ${ident(alias)} SET ${
    join([...set, ...added], ", ")
  }`;
  return condition === undefined ? statement : sql`${statement} WHERE ${condition}`;
}

/**
 * Compiles a DELETE of the targeted rows (no filter: every row).
 *
 * @example
 * ```ts
 * import { compileDelete } from "./write.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * compileDelete(dialect, { entity, schema: { getEntityMetadata: () => entity }, filter: undefined });
 * // { sql: 'DELETE FROM "T" AS "t0"', params: [] }
 * ```
 */
export function compileDelete(dialect: SqlDialect, target: WriteTarget): CompiledQuery {
  return finish(dialect, () => {
    const { alias, condition } = where(dialect, target);
    const statement = sql`DELETE FROM ${ident(target.entity.table)} AS ${ident(alias)}`;
    return condition === undefined ? statement : sql`${statement} WHERE ${condition}`;
  });
}
