/**
 * Reads: `$apply`, `$compute`, `$search`, `$filter`, `$orderby`, `$skip`, `$top` and `$select`
 * of one entity set to one SELECT, and `$count` to a `COUNT(*)` over the same rows. Options are
 * evaluated in the OData order: `$apply` first, then `$compute`, `$search`/`$filter`, `$orderby`,
 * `$skip`, `$top`, and `$select`.
 *
 * Result columns are aliased by property name, so rows come back keyed by field names whatever
 * the column names. `$select` default: every field plus `$compute`d properties (and after
 * `$apply`, its output properties); navigation names in `$select` add no columns. Key fields
 * an expansion needs but `$select` omitted are fetched under hidden `$key:` aliases.
 *
 * @module
 */

import type { ODataQuery, SelectItem } from "../odata/ast.ts";
import { selectSteps } from "../odata/select_path.ts";
import type { FieldType } from "../model/schema.ts";
import type { ReadRequest } from "../provider/provider.ts";
import { applyCompute, applyTransformations, compileOrderBy } from "./apply.ts";
import { invalidArgument, notSupported, type Typed, unknownField } from "./context.ts";
import { compileCondition } from "./expression.ts";
import { AliasGenerator, type CompiledQuery, type Fragment, ident, raw, sql } from "./fragment.ts";
import {
  addOrder,
  addSkip,
  addTop,
  addWhere,
  baseLevel,
  type Level,
  levelContext,
  render,
  wrap,
} from "./level.ts";
import { compileSearch } from "./search.ts";
import { compiling } from "./context.ts";
import type { SqlDialect } from "./dialect.ts";

/**
 * One column of a compiled read and how to decode it.
 *
 * @example
 * ```ts
 * import type { ResultColumn } from "./select.ts";
 * const column: ResultColumn = { alias: "UnitPrice", path: ["UnitPrice"], type: "decimal", scale: 2, hidden: false };
 * ```
 */
export interface ResultColumn {
  /** The column alias in the SQL result. */
  readonly alias: string;
  /** Where the value goes in the output row (more than one step for grouped navigation paths). */
  readonly path: readonly string[];
  /** The type to decode with. */
  readonly type: FieldType;
  /** Decimal digits to show, when declared. */
  readonly scale?: number;
  /** Fetched only to stitch expansions; not part of the output row. */
  readonly hidden: boolean;
}

/**
 * A compiled read: the statement plus its result columns.
 *
 * @example
 * ```ts
 * import type { CompiledRead } from "./select.ts";
 * const read: CompiledRead = { sql: 'SELECT "t0"."Id" AS "Id" FROM "T" AS "t0"', params: [], columns: [] };
 * ```
 */
export interface CompiledRead extends CompiledQuery {
  /** The result columns in SELECT order. */
  readonly columns: readonly ResultColumn[];
}

/**
 * Options of {@linkcode compileRead}.
 *
 * @example
 * ```ts
 * import type { CompileReadOptions } from "./select.ts";
 * const options: CompileReadOptions = { keyFields: ["OrderID"] };
 * ```
 */
export interface CompileReadOptions {
  /** Fields to fetch (hidden unless selected) for stitching expansions. @default {[]} */
  readonly keyFields?: readonly string[];
  /** The statement's alias generator, when the read is part of a larger statement. */
  readonly aliases?: AliasGenerator;
}

/**
 * The prefix of hidden key column aliases (`$key:OrderID`); `$` cannot start a property name.
 *
 * @example
 * ```ts
 * import { HIDDEN_KEY_PREFIX } from "./select.ts";
 * `${HIDDEN_KEY_PREFIX}OrderID`; // "$key:OrderID"
 * ```
 */
export const HIDDEN_KEY_PREFIX = "$key:";

/** Options no SELECT can honour. `count`/`expand` belong to the read executor, `format`,
 * `index`, `schemaversion` and custom options to the service. */
function checkOptions(query: ODataQuery, where: string): void {
  if (query.skiptoken !== undefined) {
    throw notSupported(`$skiptoken ${where}`, "Page with $skip/$top.");
  }
  if (query.deltatoken !== undefined) throw notSupported(`$deltatoken ${where}`);
  if (query.levels !== undefined) throw notSupported(`$levels ${where}`);
}

/**
 * Builds the level of a read up to (and without) ordering and paging.
 *
 * @example
 * ```ts
 * import { filteredLevel } from "./select.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import type { ReadRequest } from "../provider/provider.ts";
 * declare const dialect: SqlDialect, request: ReadRequest;
 * filteredLevel(dialect, request, new AliasGenerator());
 * ```
 */
export function filteredLevel(
  dialect: SqlDialect,
  request: ReadRequest,
  aliases: AliasGenerator,
): Level {
  const { entity, schema, query } = request;
  const ctx = { dialect, schema, aliases };
  let level = baseLevel(dialect, entity, aliases);
  if (query.apply !== undefined) level = applyTransformations(level, query.apply, ctx);
  if (query.compute !== undefined) level = applyCompute(level, query.compute, ctx);
  if (query.search !== undefined) {
    level = addWhere(level, compileSearch(query.search, level.scope, dialect), aliases);
  }
  if (query.filter !== undefined) {
    const condition = compileCondition(query.filter, levelContext(level, schema, aliases));
    level = addWhere(level, condition, aliases);
  }
  return level;
}

/**
 * Adds `$orderby` to a level.
 *
 * @example
 * ```ts
 * import { orderedLevel } from "./select.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import type { ReadRequest } from "../provider/provider.ts";
 * import type { Level } from "./level.ts";
 * declare const request: ReadRequest, level: Level;
 * orderedLevel(level, request, new AliasGenerator());
 * ```
 */
export function orderedLevel(level: Level, request: ReadRequest, aliases: AliasGenerator): Level {
  const items = request.query.orderby;
  if (items === undefined || items.length === 0) return level;
  return addOrder(
    level,
    compileOrderBy(items, levelContext(level, request.schema, aliases)),
    aliases,
  );
}

function fieldType(typed: Typed): FieldType {
  return typed.type === "null" ? "string" : typed.type; // a null constant decodes to null anyway
}

function selectedNames(level: Level, select: readonly SelectItem[] | undefined): string[] {
  if (select === undefined || select.length === 0) return [...level.outputs];
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  for (const item of select) {
    if (item.options !== undefined) throw notSupported("nested options in $select");
    const path = selectSteps(item);
    const [first, ...rest] = path;
    if (first === undefined) continue;
    if (first === "*" && rest.length === 0) {
      level.outputs.forEach(add);
      continue;
    }
    if (rest.length === 0 && first.endsWith(".*")) continue; // operations of a schema: none here
    if (path.some((step) => step.includes("."))) {
      throw notSupported(`type casts in $select (${path.join("/")})`);
    }
    const joined = path.join("/");
    if (level.scope.properties.has(joined)) {
      add(joined);
      continue;
    }
    const nested = level.outputs.filter((name) => name.startsWith(`${joined}/`));
    if (nested.length > 0) {
      nested.forEach(add);
      continue;
    }
    if (level.scope.entity?.relations.has(first)) {
      if (rest.length === 0) continue; // a navigation link: no column
      throw notSupported(
        `$select of the navigation path ${joined}`,
        `Use $expand=${first}($select=...).`,
      );
    }
    if (level.scope.properties.has(first)) {
      throw invalidArgument(`'${first}' has no member '${rest.join("/")}'`);
    }
    throw unknownField(level.scope, first);
  }
  return names;
}

/**
 * The projected columns of a level for a `$select`, plus hidden key columns.
 *
 * @example
 * ```ts
 * import { projection } from "./select.ts";
 * import type { Level } from "./level.ts";
 * declare const level: Level;
 * projection(level, undefined, ["OrderID"]);
 * ```
 */
export function projection(
  level: Level,
  select: readonly SelectItem[] | undefined,
  keyFields: readonly string[],
): { columns: ResultColumn[]; sql: { sql: Fragment; alias: string }[] } {
  const columns: ResultColumn[] = [];
  const projected: { sql: Fragment; alias: string }[] = [];
  const push = (name: string, alias: string, hidden: boolean) => {
    const typed = level.scope.properties.get(name);
    if (typed === undefined) throw unknownField(level.scope, name);
    columns.push({
      alias,
      path: name.split("/"),
      type: fieldType(typed),
      scale: typed.scale,
      hidden,
    });
    projected.push({ sql: level.dialect.output(typed.sql, typed.type), alias });
  };
  const names = selectedNames(level, select);
  for (const name of names) push(name, name, false);
  for (const key of keyFields) {
    if (!names.includes(key)) push(key, `${HIDDEN_KEY_PREFIX}${key}`, true);
  }
  return { columns, sql: projected };
}

/**
 * Compiles a read (without `$expand`, which the read executor runs as batched follow-up
 * queries, and without `$count`, see {@linkcode compileCount}).
 *
 * @example
 * ```ts
 * import { compileRead } from "./select.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import type { ReadRequest } from "../provider/provider.ts";
 * declare const dialect: SqlDialect, request: ReadRequest;
 * const { sql, params, columns } = compileRead(dialect, request);
 * ```
 */
export function compileRead(
  dialect: SqlDialect,
  request: ReadRequest,
  options: CompileReadOptions = {},
): CompiledRead {
  return compiling(dialect, () => readStatement(dialect, request, options));
}

function readStatement(
  dialect: SqlDialect,
  request: ReadRequest,
  options: CompileReadOptions,
): CompiledRead {
  const { query } = request;
  checkOptions(query, "in a read");
  const aliases = options.aliases ?? new AliasGenerator();
  let level = orderedLevel(filteredLevel(dialect, request, aliases), request, aliases);
  if (query.skip !== undefined) level = addSkip(level, query.skip);
  if (query.top !== undefined) level = addTop(level, query.top);
  const keyFields = options.keyFields ?? [];
  if (keyFields.length > 0 && level.scope.entity === undefined) {
    throw notSupported("$expand after groupby or aggregate");
  }
  const { columns, sql: projected } = projection(level, query.select, keyFields);
  if (projected.length === 0) throw invalidArgument("$select selects no property");
  const statement = render(level, projected, { ordered: true });
  return { sql: dialect.finish(statement.sql), params: statement.params, columns };
}

/**
 * Compiles the `$count` of a read: the rows `$apply`, `$compute`, `$search` and `$filter` give,
 * ignoring `$orderby`, `$skip` and `$top`. The result has one row with the column `count`.
 *
 * @example
 * ```ts
 * import { compileCount } from "./select.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import type { ReadRequest } from "../provider/provider.ts";
 * declare const dialect: SqlDialect, request: ReadRequest;
 * compileCount(dialect, request).sql; // 'SELECT COUNT(*) AS "count" FROM "Products" AS "t0" WHERE ...'
 * ```
 */
export function compileCount(dialect: SqlDialect, request: ReadRequest): CompiledQuery {
  return compiling(dialect, () => countStatement(dialect, request));
}

function countStatement(dialect: SqlDialect, request: ReadRequest): CompiledQuery {
  checkOptions(request.query, "in a count");
  const aliases = new AliasGenerator();
  let level = filteredLevel(dialect, request, aliases);
  if (level.limit !== undefined || level.offset > 0) level = wrap(level, aliases);
  const statement = render({ ...level, orderBy: [], tiebreak: [] }, [{
    sql: raw("COUNT(*)"),
    alias: "count",
  }], {
    ordered: false,
  });
  return { sql: dialect.finish(statement.sql), params: statement.params };
}

/**
 * Quotes a result column alias (for callers that select from a compiled read as a subquery).
 *
 * @example
 * ```ts
 * import { columnOf } from "./select.ts";
 * columnOf("w", "Id").sql; // '"w"."Id"'
 * ```
 */
export function columnOf(alias: string, column: string): Fragment {
  return sql`${ident(alias, column)}`;
}
