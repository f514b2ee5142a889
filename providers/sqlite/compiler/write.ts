/**
 * Writes: INSERT of canonical rows, UPDATE and DELETE of the rows a filter targets (the filter
 * compiles as in reads, navigation and lambdas included). Values are encoded with
 * `encodeValue` and bound as parameters.
 *
 * @module
 */

import type { EntityMetadata, FieldMetadata } from "../../../src/model/schema.ts";
import type { Row, WriteTarget } from "../../../src/provider/provider.ts";
import { encodeValue } from "../values.ts";
import { createContext, entityScope, invalidArgument, unknownField } from "./context.ts";
import { compileFilter } from "./expression.ts";
import { type CompiledQuery, type Fragment, ident, join, param, sql } from "./fragment.ts";

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
 * VALUES has no DEFAULT keyword; a row without fields inserts DEFAULT VALUES (alone).
 *
 * @example
 * ```ts
 * import { compileInsert } from "./write.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileInsert(entity, [{ Name: "a" }, { Name: "b" }]);
 * // { sql: 'INSERT INTO "T" ("Name") VALUES (?), (?)', params: ["a", "b"] }
 * ```
 */
export function compileInsert(entity: EntityMetadata, rows: readonly Row[]): CompiledQuery {
  if (rows.length === 0) throw invalidArgument("An insert needs at least one row");
  const encoded = rows.map((row) => fieldsOf(entity, row));
  const names = encoded[0]!.map(([field]) => field.name);
  for (const fields of encoded) {
    if (fields.length !== names.length || fields.some(([field], i) => field.name !== names[i])) {
      throw invalidArgument(`Rows inserted together into ${entity.name} must give the same fields`);
    }
  }
  const table = ident(entity.table);
  if (names.length === 0) {
    if (rows.length > 1) throw invalidArgument("Insert rows without fields one at a time");
    return sql`INSERT INTO ${table} DEFAULT VALUES`;
  }
  const columns = join(encoded[0]!.map(([field]) => ident(field.column)), ", ");
  const tuples = encoded.map((fields) =>
    sql`(${join(fields.map(([f, v]) => param(encodeValue(f, v))), ", ")})`
  );
  return sql`INSERT INTO ${table} (${columns}) VALUES ${join(tuples, ", ")}`;
}

function where(target: WriteTarget): { alias: string; condition: Fragment | undefined } {
  const ctx = createContext(target.schema, target.entity);
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
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileUpdate({ entity, schema: { getEntityMetadata: () => entity }, filter: undefined }, { Name: "x" });
 * // { sql: 'UPDATE "T" AS "t0" SET "Name" = ?', params: ["x"] }
 * ```
 */
export function compileUpdate(target: WriteTarget, changes: Row): CompiledQuery {
  const fields = fieldsOf(target.entity, changes);
  if (fields.length === 0) throw invalidArgument("An update needs at least one field to change");
  const { alias, condition } = where(target);
  const assignments = join(
    fields.map(([f, v]) => sql`${ident(f.column)} = ${param(encodeValue(f, v))}`),
    ", ",
  );
  const statement = sql`UPDATE ${ident(target.entity.table)} AS ${ident(alias)} SET ${assignments}`;
  return condition === undefined ? statement : sql`${statement} WHERE ${condition}`;
}

/**
 * Compiles a DELETE of the targeted rows (no filter: every row).
 *
 * @example
 * ```ts
 * import { compileDelete } from "./write.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * compileDelete({ entity, schema: { getEntityMetadata: () => entity }, filter: undefined });
 * // { sql: 'DELETE FROM "T" AS "t0"', params: [] }
 * ```
 */
export function compileDelete(target: WriteTarget): CompiledQuery {
  const { alias, condition } = where(target);
  const statement = sql`DELETE FROM ${ident(target.entity.table)} AS ${ident(alias)}`;
  return condition === undefined ? statement : sql`${statement} WHERE ${condition}`;
}
