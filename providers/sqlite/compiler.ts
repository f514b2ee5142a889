/**
 * The SQL compiler for SQLite: the shared compiler of `src/sql/` bound to
 * {@linkcode SQLITE_DIALECT}, plus the checks of what SQLite can store (decimals a float cannot
 * hold exactly are refused before anything is written).
 *
 * @example
 * ```ts
 * import { compileRead } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("Products", {
 *   fields: { ProductID: { type: "integer", primaryKey: true }, ProductName: { type: "string" } },
 * });
 * compileRead({ entity, schema: { getEntityMetadata: () => entity }, query: { top: 5 } }).sql;
 * ```
 *
 * @module
 */

import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type { ReadRequest, Row, WriteTarget } from "../../src/provider/provider.ts";
import { type FieldIssue, ValidationError } from "../../src/errors/errors.ts";
import * as core from "../../src/sql/mod.ts";
import type {
  CompiledQuery,
  CompiledRead,
  CompileReadOptions,
  ExpansionRequest,
} from "../../src/sql/mod.ts";
import { SQLITE_DIALECT } from "./dialect.ts";
import { decimalIssue } from "./decimals.ts";
import { decodeValue, encodeValue } from "./values.ts";

export { SQLITE_DIALECT };
export { quoteIdentifier } from "../../src/sql/mod.ts";
export type {
  CompiledQuery,
  CompiledRead,
  CompileReadOptions,
  ExpansionRequest,
  ResultColumn,
} from "../../src/sql/mod.ts";

/**
 * Compiles a read for SQLite (see `src/sql/select.ts`).
 *
 * @example
 * ```ts
 * import { compileRead } from "./compiler.ts";
 * import type { ReadRequest } from "../../src/provider/provider.ts";
 * declare const request: ReadRequest;
 * const { sql, params, columns } = compileRead(request);
 * ```
 */
export function compileRead(request: ReadRequest, options?: CompileReadOptions): CompiledRead {
  return core.compileRead(SQLITE_DIALECT, request, options);
}

/**
 * Compiles the `$count` of a read for SQLite.
 *
 * @example
 * ```ts
 * import { compileCount } from "./compiler.ts";
 * import type { ReadRequest } from "../../src/provider/provider.ts";
 * declare const request: ReadRequest;
 * compileCount(request).sql; // 'SELECT COUNT(*) AS "count" FROM ...'
 * ```
 */
export function compileCount(request: ReadRequest): CompiledQuery {
  return core.compileCount(SQLITE_DIALECT, request);
}

/**
 * Compiles the batched query of one `$expand` level for SQLite.
 *
 * @example
 * ```ts
 * import { compileExpansion } from "./compiler.ts";
 * import type { EntityMetadata, SchemaResolver } from "../../src/model/schema.ts";
 * declare const schema: SchemaResolver, orders: EntityMetadata;
 * compileExpansion({ schema, parent: orders, navigation: "Order_Details", query: {}, keys: [[10248]] });
 * ```
 */
export function compileExpansion(request: ExpansionRequest): CompiledRead {
  return core.compileExpansion(SQLITE_DIALECT, request);
}

/**
 * Compiles the per-parent count of an expansion for SQLite (see `compileExpansionCount` in
 * `src/sql/expand.ts`).
 *
 * @example
 * ```ts
 * import { compileExpansionCount } from "./compiler.ts";
 * import type { EntityMetadata, SchemaResolver } from "../../src/model/schema.ts";
 * declare const schema: SchemaResolver, orders: EntityMetadata;
 * compileExpansionCount({ schema, parent: orders, navigation: "Order_Details", query: {}, keys: [[10248]] });
 * ```
 */
export function compileExpansionCount(request: ExpansionRequest): CompiledRead {
  return core.compileExpansionCount(SQLITE_DIALECT, request);
}

/**
 * Compiles a multi-row INSERT for SQLite.
 *
 * @example
 * ```ts
 * import { compileInsert } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileInsert(entity, [{ Name: "a" }]); // { sql: 'INSERT INTO "T" ("Name") VALUES (?)', params: ["a"] }
 * ```
 */
export function compileInsert(
  entity: EntityMetadata,
  rows: readonly Row[],
  returning?: readonly FieldMetadata[],
): CompiledQuery {
  return core.compileInsert(SQLITE_DIALECT, entity, rows, returning);
}

/**
 * Compiles an UPDATE of the targeted rows for SQLite.
 *
 * @example
 * ```ts
 * import { compileUpdate } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileUpdate({ entity, schema: { getEntityMetadata: () => entity }, filter: undefined }, { Name: "x" });
 * ```
 */
export function compileUpdate(target: WriteTarget, changes: Row): CompiledQuery {
  return core.compileUpdate(SQLITE_DIALECT, target, changes);
}

/**
 * Compiles an UPDATE adding to counters (and setting `changes`) for SQLite.
 *
 * @example
 * ```ts
 * import { compileIncrement } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, N: { type: "integer" } } });
 * compileIncrement({ entity, schema: { getEntityMetadata: () => entity }, filter: undefined }, { N: 2 });
 * ```
 */
export function compileIncrement(
  target: WriteTarget,
  increments: Readonly<Record<string, number>>,
  changes?: Row,
): CompiledQuery {
  return core.compileIncrement(SQLITE_DIALECT, target, increments, changes);
}

/**
 * Compiles a DELETE of the targeted rows for SQLite.
 *
 * @example
 * ```ts
 * import { compileDelete } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * compileDelete({ entity, schema: { getEntityMetadata: () => entity }, filter: undefined });
 * ```
 */
export function compileDelete(target: WriteTarget): CompiledQuery {
  return core.compileDelete(SQLITE_DIALECT, target);
}

/**
 * A plan cache of SQLite statements (see `src/sql/plans.ts`).
 *
 * @example
 * ```ts
 * import { sqlitePlanCache } from "./compiler.ts";
 * sqlitePlanCache(256).size; // 0
 * ```
 */
export function sqlitePlanCache(capacity: number): core.PlanCache {
  return new core.PlanCache(capacity, SQLITE_DIALECT);
}

/**
 * Throws a `ValidationError` naming every decimal value of `rows` that SQLite's 64-bit floats
 * cannot hold exactly (more than 15 significant digits, or out of range); call it before
 * writing any of the rows, so that nothing is written.
 *
 * @example
 * ```ts
 * import { assertStorableDecimals } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
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
 * import { storedRow } from "./compiler.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
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
