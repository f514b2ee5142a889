/**
 * A query level: one SELECT under construction (source, conditions, order, paging) plus the
 * properties it exposes. Reads and `$apply` sequences grow a level clause by clause; a clause
 * that cannot follow what is there (a filter after a `top`, a `groupby`) first wraps the level
 * into a subquery, carrying its order along as hidden `$o` columns.
 *
 * Order: ascending keys sort nulls first and descending keys nulls last (OData), as the
 * dialect's `orderKey` writes them (SQLite's own order needs no `NULLS FIRST`). Every level ends its ORDER BY
 * with tie-breakers (the entity key, or the grouping columns) so results and paging are
 * deterministic; a tie-breaker already among the sort keys is left out.
 *
 * Paging: the counts are validated here and written by the dialect's `paging` (on SQLite
 * `LIMIT` as an integer literal and `OFFSET` as a parameter, see the SQLite dialect).
 *
 * @module
 */

import type { EntityMetadata } from "../model/schema.ts";
import {
  entityScope,
  type ExprContext,
  invalidArgument,
  type Scope,
  type Typed,
} from "./context.ts";
import { type AliasGenerator, type Fragment, ident, join, raw, sql } from "./fragment.ts";
import type { SqlDialect } from "./dialect.ts";

/**
 * One ORDER BY key.
 *
 * @example
 * ```ts
 * import { raw } from "./fragment.ts";
 * import type { OrderKey } from "./level.ts";
 * const key: OrderKey = { sql: raw('"t0"."Price"'), direction: "desc" };
 * ```
 */
export interface OrderKey {
  readonly sql: Fragment;
  readonly direction: "asc" | "desc";
  /** Whether the key can be null (where nulls go then matters). @default {true} */
  readonly nullable?: boolean;
}

/**
 * A SELECT under construction.
 *
 * @example
 * ```ts
 * import { baseLevel, type Level } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const level: Level = baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), new AliasGenerator());
 * ```
 */
export interface Level {
  /** The database's SQL. */
  readonly dialect: SqlDialect;
  /** The FROM item (`"Products" AS "t0"` or `(SELECT ...) AS "t3"`). */
  readonly from: Fragment;
  readonly scope: Scope;
  readonly where: readonly Fragment[];
  readonly orderBy: readonly OrderKey[];
  /** Property names appended (ascending) to ORDER BY for a deterministic order. */
  readonly tiebreak: readonly string[];
  readonly limit?: number;
  readonly offset: number;
  /** The properties a default `$select` returns, in order. */
  readonly outputs: readonly string[];
}

/**
 * One projected column.
 *
 * @example
 * ```ts
 * import { raw } from "./fragment.ts";
 * import type { Projection } from "./level.ts";
 * const column: Projection = { sql: raw('"t0"."Id"'), alias: "Id" };
 * ```
 */
export interface Projection {
  readonly sql: Fragment;
  readonly alias: string;
}

/**
 * The level reading an entity's table.
 *
 * @example
 * ```ts
 * import { baseLevel } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), new AliasGenerator()).from.sql; // '"T" AS "t0"'
 * ```
 */
export function baseLevel(
  dialect: SqlDialect,
  entity: EntityMetadata,
  aliases: AliasGenerator,
): Level {
  const alias = aliases.next();
  return {
    dialect,
    from: sql`${ident(entity.table)} AS ${ident(alias)}`,
    scope: entityScope(entity, alias),
    where: [],
    orderBy: [],
    tiebreak: entity.key,
    offset: 0,
    outputs: entity.fieldList.map((f) => f.name),
  };
}

/**
 * An expression context whose root is the level's scope.
 *
 * @example
 * ```ts
 * import { baseLevel, levelContext } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * const aliases = new AliasGenerator();
 * levelContext(baseLevel(dialect, entity, aliases), { getEntityMetadata: () => entity }, aliases);
 * ```
 */
export function levelContext(
  level: Level,
  schema: ExprContext["schema"],
  aliases: AliasGenerator,
): ExprContext {
  return { dialect: level.dialect, schema, aliases, root: level.scope, variables: new Map() };
}

function paged(level: Level): boolean {
  return level.limit !== undefined || level.offset > 0;
}

/**
 * Renders the ORDER BY keys of a level, tie-breakers included.
 *
 * @example
 * ```ts
 * import { baseLevel, orderKeys } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * orderKeys(baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), new AliasGenerator()));
 * // [{ sql: '"t0"."Id" ASC', params: [] }]
 * ```
 */
export function orderKeys(level: Level): Fragment[] {
  const dialect = level.dialect;
  const keys = level.orderBy.map((k) => dialect.orderKey(k.sql, k.direction, k.nullable ?? true));
  for (const name of level.tiebreak) {
    const property = level.scope.properties.get(name)!;
    const column = property.sql;
    // A column already sorted on decides every tie it could break (whatever its direction).
    const sorted = column.params.length === 0 &&
      level.orderBy.some((k) => k.sql.params.length === 0 && k.sql.sql === column.sql);
    if (!sorted) keys.push(dialect.orderKey(column, "asc", property.nullable));
  }
  return keys;
}

/** The LIMIT count, checked again so that no other text can reach SQL. */
function checkedLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw invalidArgument(`A LIMIT must be a safe integer, got ${limit}`, { limit });
  }
  return limit;
}

/**
 * Renders a level as one SELECT.
 *
 * @example
 * ```ts
 * import { baseLevel, render } from "./level.ts";
 * import { AliasGenerator, ident } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const level = baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), new AliasGenerator());
 * render(level, [{ sql: ident("t0", "Id"), alias: "Id" }], { ordered: true }).sql;
 * // 'SELECT "t0"."Id" AS "Id" FROM "T" AS "t0" ORDER BY "t0"."Id" ASC'
 * ```
 */
export function render(
  level: Level,
  columns: readonly Projection[],
  options: { readonly ordered: boolean; readonly groupBy?: number },
): Fragment {
  const parts: Fragment[] = [
    sql`SELECT ${
      join(columns.map((c) => sql`${c.sql} AS ${ident(c.alias)}`), ", ")
    } FROM ${level.from}`,
  ];
  if (level.where.length > 0) parts.push(sql`WHERE ${join(level.where, " AND ")}`);
  if (options.groupBy !== undefined && options.groupBy > 0) {
    // Grouping by ordinal avoids repeating the grouped expressions (and their parameters).
    parts.push(
      raw(`GROUP BY ${Array.from({ length: options.groupBy }, (_, i) => i + 1).join(", ")}`),
    );
  }
  const keys = orderKeys(level);
  if ((options.ordered || paged(level)) && keys.length > 0) {
    parts.push(sql`ORDER BY ${join(keys, ", ")}`);
  }
  if (paged(level)) parts.push(level.dialect.paging(checkedLimit(level.limit), level.offset));
  return join(parts, " ");
}

/**
 * Rebinds the properties of a level as columns of a subquery alias.
 *
 * @example
 * ```ts
 * import { rebind } from "./level.ts";
 * import { raw } from "./fragment.ts";
 * rebind(new Map([["Total", { sql: raw("SUM(x)"), type: "integer", nullable: true }]]), "t4");
 * // Map { "Total" => { sql: '"t4"."Total"', ... } }
 * ```
 */
export function rebind(properties: ReadonlyMap<string, Typed>, alias: string): Map<string, Typed> {
  const result = new Map<string, Typed>();
  for (const [name, typed] of properties) {
    result.set(name, {
      type: typed.type,
      nullable: typed.nullable,
      scale: typed.scale,
      exactScale: typed.exactScale,
      exactDecimal: typed.exactDecimal,
      sql: ident(alias, name),
    });
  }
  return result;
}

/**
 * Wraps a level into a subquery and returns the level selecting from it: same properties (as
 * columns), same order (through hidden `$o` columns), no conditions or paging left.
 *
 * @example
 * ```ts
 * import { baseLevel, wrap } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const aliases = new AliasGenerator();
 * const level = baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), aliases);
 * wrap({ ...level, limit: 5 }, aliases).from.sql; // '(SELECT ... LIMIT 5) AS "t1"'
 * ```
 */
export function wrap(level: Level, aliases: AliasGenerator): Level {
  const columns: Projection[] = [...level.scope.properties].map(([name, typed]) => ({
    sql: typed.sql,
    alias: name,
  }));
  level.orderBy.forEach((key, i) => columns.push({ sql: key.sql, alias: `$o${i}` }));
  const inner = render(level, columns, { ordered: false });
  const alias = aliases.next();
  return {
    dialect: level.dialect,
    from: sql`(${inner}) AS ${ident(alias)}`,
    scope: { ...level.scope, alias, properties: rebind(level.scope.properties, alias) },
    where: [],
    orderBy: level.orderBy.map((key, i) => ({
      sql: ident(alias, `$o${i}`),
      direction: key.direction,
      nullable: key.nullable,
    })),
    tiebreak: level.tiebreak,
    offset: 0,
    outputs: level.outputs,
  };
}

/**
 * Adds a WHERE condition (wrapping first when the level is paged: a filter after `top` filters
 * the top rows).
 *
 * @example
 * ```ts
 * import { addWhere, baseLevel } from "./level.ts";
 * import { AliasGenerator, raw } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const aliases = new AliasGenerator();
 * addWhere(baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), aliases), raw("1"), aliases);
 * ```
 */
export function addWhere(level: Level, condition: Fragment, aliases: AliasGenerator): Level {
  const open = paged(level) ? wrap(level, aliases) : level;
  return { ...open, where: [...open.where, condition] };
}

/**
 * Wraps a paged level so that later clauses see the paged rows; returns an unpaged level as is.
 *
 * @example
 * ```ts
 * import { baseLevel, unpaged } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const aliases = new AliasGenerator();
 * unpaged(baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), aliases), aliases);
 * ```
 */
export function unpaged(level: Level, aliases: AliasGenerator): Level {
  return paged(level) ? wrap(level, aliases) : level;
}

/**
 * Sorts by new keys; earlier keys stay as tie-breakers (a stable re-sort).
 *
 * @example
 * ```ts
 * import { addOrder, baseLevel } from "./level.ts";
 * import { AliasGenerator, raw } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const aliases = new AliasGenerator();
 * addOrder(baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), aliases), [{ sql: raw("1"), direction: "desc" }], aliases);
 * ```
 */
export function addOrder(level: Level, keys: readonly OrderKey[], aliases: AliasGenerator): Level {
  const open = unpaged(level, aliases);
  return { ...open, orderBy: [...keys, ...open.orderBy] };
}

function count(kind: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(`${kind} must be a non-negative integer, got ${n}`, { [kind]: n });
  }
  return n;
}

/**
 * Applies `$top`/`top(n)`: at most n of the current rows.
 *
 * @example
 * ```ts
 * import { addTop, baseLevel } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * addTop(baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), new AliasGenerator()), 10).limit; // 10
 * ```
 */
export function addTop(level: Level, n: number): Level {
  const top = count("top", n);
  return { ...level, limit: level.limit === undefined ? top : Math.min(level.limit, top) };
}

/**
 * Applies `$skip`/`skip(n)`: drops the first n of the current rows.
 *
 * @example
 * ```ts
 * import { addSkip, baseLevel } from "./level.ts";
 * import { AliasGenerator } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * addSkip(baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), new AliasGenerator()), 10).offset; // 10
 * ```
 */
export function addSkip(level: Level, n: number): Level {
  const skip = count("skip", n);
  return {
    ...level,
    offset: level.offset + skip,
    limit: level.limit === undefined ? undefined : Math.max(level.limit - skip, 0),
  };
}

/**
 * Adds computed properties (inlined where used; names must be new).
 *
 * @example
 * ```ts
 * import { addComputed, baseLevel } from "./level.ts";
 * import { AliasGenerator, raw } from "./fragment.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const level = baseLevel(dialect, resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), new AliasGenerator());
 * addComputed(level, "Two", { sql: raw("2"), type: "integer", nullable: false }).outputs; // ["Id", "Two"]
 * ```
 */
export function addComputed(level: Level, name: string, typed: Typed): Level {
  if (level.scope.properties.has(name) || level.scope.entity?.relations.has(name)) {
    throw invalidArgument(`The computed property '${name}' clashes with an existing property`, {
      alias: name,
    });
  }
  const properties = new Map(level.scope.properties).set(name, typed);
  return { ...level, scope: { ...level.scope, properties }, outputs: [...level.outputs, name] };
}
