/**
 * Writes: INSERT of canonical rows, UPDATE and DELETE of the rows a filter targets (the filter
 * compiles as in reads, navigation and lambdas included). Values are encoded with
 * `encodeValue` and bound as parameters. Decimals a float cannot hold exactly are refused before
 * anything is written ({@linkcode assertStorableDecimals}).
 *
 * @module
 */

import type { EntityMetadata, FieldMetadata } from "../../../src/model/schema.ts";
import type { Row, WriteTarget } from "../../../src/provider/provider.ts";
import { type FieldIssue, ValidationError } from "../../../src/errors/errors.ts";
import { decimalIssue } from "../decimals.ts";
import { decodeValue, encodeValue } from "../values.ts";
import { createContext, entityScope, invalidArgument, unknownField } from "./context.ts";
import { compileFilter } from "./expression.ts";
import { type CompiledQuery, type Fragment, ident, join, param, raw, sql } from "./fragment.ts";

/**
 * Throws a `ValidationError` naming every decimal value of `rows` that SQLite's 64-bit floats
 * cannot hold exactly (more than 15 significant digits, or out of range); call it before
 * writing any of the rows, so that nothing is written.
 *
 * @example
 * ```ts
 * import { assertStorableDecimals } from "./write.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Price: { type: "decimal" } } });
 * assertStorableDecimals(entity, [{ Price: "18.50" }]); // fine
 * ```
 */
export function assertStorableDecimals(
  entity: EntityMetadata,
  rows: readonly Row[],
  offset = 0,
): void {
  const decimals = entity.fieldList.filter((field) => field.type === "decimal");
  if (decimals.length === 0) return;
  const issues: FieldIssue[] = [];
  const positions: number[] = [];
  rows.forEach((row, i) => {
    for (const field of decimals) {
      const value = Object.hasOwn(row, field.name) ? row[field.name] : undefined;
      const issue = value === undefined || value === null
        ? undefined
        : decimalIssue(field.name, value);
      if (issue === undefined) continue;
      issues.push(issue);
      positions.push(i + offset);
    }
  });
  if (issues.length === 0) return;
  throw new ValidationError(
    entity.name,
    issues,
    rows.length > 1 || offset > 0 ? { context: { rows: positions } } : {},
  );
}

/**
 * A row as it reads back: every given value through `encodeValue` and `decodeValue`, so a
 * created record shows what `findById` returns (`"1.50"` of an unscaled decimal as `"1.5"`).
 *
 * @example
 * ```ts
 * import { storedRow } from "./write.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Price: { type: "decimal" } } });
 * storedRow(entity, { Id: 1, Price: "1.50" }); // { Id: 1, Price: "1.5" }
 * ```
 */
export function storedRow(entity: EntityMetadata, row: Row): Row {
  const stored: Row = {};
  for (const name of Object.keys(row)) {
    const field = entity.fields.get(name);
    const value = row[name];
    stored[name] = field === undefined || value === undefined
      ? value
      : decodeValue(field, encodeValue(field, value));
  }
  return stored;
}

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
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileInsert(entity, [{ Name: "a" }, { Name: "b" }]);
 * // { sql: 'INSERT INTO "T" ("Name") VALUES (?), (?)', params: ["a", "b"] }
 * ```
 */
export function compileInsert(
  entity: EntityMetadata,
  rows: readonly Row[],
  returning: readonly FieldMetadata[] = [],
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
    sql`(${join(fields.map(([f, v]) => param(encodeValue(f, v))), ", ")})`
  );
  return sql`INSERT INTO ${table} (${columns}) VALUES ${join(tuples, ", ")}${tail}`;
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
 * Compiles an UPDATE that adds `increments[field]` to each named (integer or number) field of
 * the targeted rows in one statement (a null counts as 0), and sets `changes` besides.
 *
 * @example
 * ```ts
 * import { compileIncrement } from "./write.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, N: { type: "integer" } } });
 * compileIncrement({ entity, schema: { getEntityMetadata: () => entity }, filter: undefined }, { N: 2 });
 * // { sql: 'UPDATE "T" AS "t0" SET "N" = coalesce("N", 0) + ?', params: [2] }
 * ```
 */
export function compileIncrement(
  target: WriteTarget,
  increments: Readonly<Record<string, number>>,
  changes: Row = {},
): CompiledQuery {
  const added = fieldsOf(target.entity, increments).map(([field, by]) => {
    if ((field.type !== "integer" && field.type !== "number") || typeof by !== "number") {
      throw invalidArgument(`Only integer and number fields can be incremented by a number`);
    }
    return sql`${ident(field.column)} = coalesce(${ident(field.column)}, 0) + ${param(by)}`;
  });
  const set = fieldsOf(target.entity, changes).map(([f, v]) =>
    sql`${ident(f.column)} = ${param(encodeValue(f, v))}`
  );
  if (added.length + set.length === 0) {
    throw invalidArgument("An update needs at least one field to change");
  }
  const { alias, condition } = where(target);
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
