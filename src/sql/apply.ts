/**
 * `$apply` transformation sequences. Supported: `filter`, `search`, `orderby`, `top`, `skip`,
 * `compute`, `identity`, `aggregate(...)` and `groupby((paths)[, aggregate(...)])` with the
 * methods `sum min max average countdistinct` and `$count as Alias`. Each transformation works
 * on the output of the previous one; grouping wraps what came before into a subquery.
 *
 * Grouping by a to-one navigation path (`groupby((Category/CategoryName))`) yields a property
 * named `Category/CategoryName` that rows return nested (`{ Category: { CategoryName } }`) and
 * later transformations address by the same path.
 *
 * Aggregates follow the aggregation extension: `sum`/`average`/`min`/`max` ignore nulls and
 * are null over no values; `countdistinct` counts distinct non-null values.
 *
 * Not supported: `rollup`, `concat`, custom aggregation methods, `from`, custom aggregates,
 * transformations other than `aggregate` inside `groupby`, and every other (generic)
 * transformation such as `topcount`, `expand`, `join`, `ancestors`.
 *
 * @module
 */

import type {
  AggregateItem,
  ComputeItem,
  GroupingItem,
  OrderByItem,
  PathExpression,
  Transformation,
} from "../odata/ast.ts";
import type { SchemaResolver } from "../model/schema.ts";
import {
  dispatch,
  type ExprContext,
  invalidArgument,
  invalidOperator,
  isExactText,
  isNumeric,
  notSupported,
  type Typed,
  type ValueType,
} from "./context.ts";
import { compileCondition, compileValue } from "./expression.ts";
import { type AliasGenerator, ident, raw, sql } from "./fragment.ts";
import {
  addComputed,
  addOrder,
  addSkip,
  addTop,
  addWhere,
  type Level,
  levelContext,
  type OrderKey,
  type Projection,
  rebind,
  render,
  unpaged,
} from "./level.ts";
import { compileSearch } from "./search.ts";
import type { SqlDialect } from "./dialect.ts";

/**
 * What transformations need besides the level.
 *
 * @example
 * ```ts
 * import { AliasGenerator } from "./fragment.ts";
 * import type { ApplyContext } from "./apply.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * const ctx: ApplyContext = { dialect, schema: { getEntityMetadata: () => undefined }, aliases: new AliasGenerator() };
 * ```
 */
export interface ApplyContext {
  readonly dialect: SqlDialect;
  readonly schema: SchemaResolver;
  readonly aliases: AliasGenerator;
}

function exprContext(level: Level, ctx: ApplyContext): ExprContext {
  return levelContext(level, ctx.schema, ctx.aliases);
}

/**
 * Compiles `$orderby` items against a level.
 *
 * @example
 * ```ts
 * import { compileOrderBy } from "./apply.ts";
 * import type { ExprContext } from "./context.ts";
 * declare const ctx: ExprContext;
 * compileOrderBy([{ expression: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "Id" }] }, direction: "desc" }], ctx);
 * ```
 */
export function compileOrderBy(items: readonly OrderByItem[], ctx: ExprContext): OrderKey[] {
  const keys: OrderKey[] = [];
  for (const item of items) {
    const typed = compileValue(item.expression, ctx);
    if (typed.type === "json" || typed.type === "binary") {
      throw invalidOperator("orderby", typed.type, "an orderable value");
    }
    // A constant orders nothing; left in, an integer one would read as a column number.
    if (isConstant(typed)) continue;
    // Exact decimals may be REAL or TEXT, which SQLite would order apart: order by their key.
    const key = isExactText(typed) ? ctx.dialect.decimals.orderKey(typed.sql) : typed.sql;
    keys.push({ sql: key, direction: item.direction, nullable: typed.nullable });
  }
  return keys;
}

/** Literals and what folds to one (`null eq null` compiles to `1`); bare integers in any case. */
function isConstant(typed: Typed): boolean {
  return typed.constant !== undefined || /^[\s(]*[-+]?\s*\d+[\s)]*$/.test(typed.sql.sql);
}

/**
 * Adds `$compute` items to a level.
 *
 * @example
 * ```ts
 * import { applyCompute } from "./apply.ts";
 * import type { ApplyContext } from "./apply.ts";
 * import type { Level } from "./level.ts";
 * declare const level: Level, ctx: ApplyContext;
 * applyCompute(level, [{ alias: "Twice", expression: { kind: "Literal", type: "int", value: 2 } }], ctx);
 * ```
 */
export function applyCompute(
  level: Level,
  items: readonly ComputeItem[],
  ctx: ApplyContext,
): Level {
  let result = level;
  for (const item of items) {
    // Each item sees the earlier ones (compute(a as x, x mul 2 as y) is allowed by 4.01).
    result = addComputed(
      result,
      item.alias,
      compileValue(item.expression, exprContext(result, ctx)),
    );
  }
  return result;
}

type Method = (x: Typed, method: string, dialect: SqlDialect) => Typed;

const METHODS: Readonly<Record<string, Method>> = {
  sum: (x, method, dialect) => {
    if (!isNumeric(x.type) && x.type !== "null") throw invalidOperator(method, x.type, "a number");
    if (x.type !== "decimal") {
      const sum = dialect.aggregate("sum", x.sql, x.type === "number" ? "number" : "integer");
      return { sql: sum, type: x.type, nullable: true, scale: x.scale };
    }
    // Exact: a float SUM of 9999999999999.99 + 9999999999999.99 + 0.03 is off.
    return {
      sql: dialect.decimals.aggregate("sum", x.sql, 0),
      type: x.type,
      nullable: true,
      scale: x.scale,
      exactScale: x.exactScale ?? x.scale,
      exactDecimal: dialect.decimals.exactValues || undefined,
    };
  },
  average: (x, method, dialect) => {
    if (!isNumeric(x.type) && x.type !== "null") throw invalidOperator(method, x.type, "a number");
    if (x.type !== "decimal") {
      const type = x.type === "number" ? "number" : "integer";
      return { sql: dialect.aggregate("avg", x.sql, type), type: "number", nullable: true };
    }
    // The exact sum over the count, rounded like a quotient.
    return {
      sql: dialect.decimals.aggregate("avg", x.sql, x.exactScale ?? x.scale ?? 0),
      type: "decimal",
      nullable: true,
      exactDecimal: dialect.decimals.exactValues || undefined,
    };
  },
  min: (x, method, dialect) => extreme("MIN", x, method, dialect),
  max: (x, method, dialect) => extreme("MAX", x, method, dialect),
  countdistinct: (x, method) => {
    if (x.type === "json") throw invalidOperator(method, x.type, "a primitive value");
    return { sql: sql`COUNT(DISTINCT ${x.sql})`, type: "integer", nullable: false };
  },
};

const ORDERED: ReadonlySet<ValueType> = new Set<ValueType>([
  "integer",
  "number",
  "decimal",
  "string",
  "date",
  "datetime",
  "time",
  "null",
]);

function extreme(fn: "MIN" | "MAX", x: Typed, method: string, dialect: SqlDialect): Typed {
  if (!ORDERED.has(x.type)) throw invalidOperator(method, x.type, "an orderable value");
  if (isExactText(x)) {
    const exact = dialect.decimals.aggregate(fn === "MIN" ? "min" : "max", x.sql, 0);
    return { ...x, sql: exact, nullable: true, constant: undefined };
  }
  return { sql: sql`${raw(fn)}(${x.sql})`, type: x.type, nullable: true, scale: x.scale };
}

const AGGREGATES: {
  readonly [K in AggregateItem["kind"]]: (
    item: Extract<AggregateItem, { kind: K }>,
    ctx: ExprContext,
  ) => [string, Typed];
} = {
  AggregateExpression: (item, ctx) => {
    if (item.from !== undefined && item.from.length > 0) {
      throw notSupported("aggregate ... from (nested grouping)");
    }
    const method = Object.hasOwn(METHODS, item.method) ? METHODS[item.method] : undefined;
    if (method === undefined) throw notSupported(`the aggregation method ${item.method}`);
    return [item.alias, method(compileValue(item.expression, ctx), item.method, ctx.dialect)];
  },
  AggregateCount: (
    item,
  ) => [item.alias, { sql: raw("COUNT(*)"), type: "integer", nullable: false }],
  AggregateCustom: (item) => {
    throw notSupported(
      `the custom aggregate ${
        item.path.segments.map((s) => s.kind === "Property" ? s.name : s.kind).join("/")
      }`,
    );
  },
};

function groupName(path: PathExpression): string {
  if (path.root !== "implicit" || !path.segments.every((s) => s.kind === "Property")) {
    throw notSupported("grouping by anything but a property path");
  }
  return path.segments.map((s) => (s as { name: string }).name).join("/");
}

const GROUPINGS: {
  readonly [K in GroupingItem["kind"]]: (
    item: Extract<GroupingItem, { kind: K }>,
  ) => PathExpression;
} = {
  GroupProperty: (item) => item.path,
  Rollup: () => {
    throw notSupported("rollup in groupby");
  },
};

/** Groups (or, with no groupings, aggregates) the level's rows into a new subquery level. */
function group(
  input: Level,
  groupings: readonly GroupingItem[],
  aggregates: readonly AggregateItem[],
  ctx: ApplyContext,
): Level {
  const level = unpaged(input, ctx.aliases);
  const exprCtx = exprContext(level, ctx);
  const outputs = new Map<string, Typed>();
  const add = (name: string, typed: Typed) => {
    if (outputs.has(name)) {
      throw invalidArgument(`The name '${name}' is used twice in groupby/aggregate`, { name });
    }
    outputs.set(name, typed);
  };
  for (const item of groupings) {
    const path =
      (dispatch(GROUPINGS, item.kind, "grouping") as (i: GroupingItem) => PathExpression)(item);
    add(groupName(path), compileValue(path, exprCtx));
  }
  const groupCount = outputs.size;
  for (const item of aggregates) {
    const [name, typed] = (dispatch(AGGREGATES, item.kind, "aggregate") as (
      i: AggregateItem,
      c: ExprContext,
    ) => [string, Typed])(
      item,
      exprCtx,
    );
    add(name, typed);
  }
  const columns: Projection[] = [...outputs].map(([name, typed]) => ({
    sql: typed.sql,
    alias: name,
  }));
  const grouped = { ...level, orderBy: [], tiebreak: [] };
  const inner = render(grouped, columns, { ordered: false, groupBy: groupCount });
  const alias = ctx.aliases.next();
  const names = [...outputs.keys()];
  return {
    dialect: level.dialect,
    from: sql`(${inner}) AS ${ident(alias)}`,
    scope: {
      alias,
      label: `${level.scope.label} (aggregated)`,
      properties: rebind(outputs, alias),
    },
    where: [],
    orderBy: [],
    tiebreak: names.slice(0, groupCount),
    offset: 0,
    outputs: names,
  };
}

type TransformHandler<T> = (transformation: T, level: Level, ctx: ApplyContext) => Level;

/** The transformation of a kind (`Top` and `Skip` share one node type, so not `Extract`). */
type TransformationOf<K> = Transformation extends infer T
  ? T extends { kind: infer KK } ? K extends KK ? T : never
  : never
  : never;

const TRANSFORMATIONS: {
  readonly [K in Transformation["kind"]]: TransformHandler<TransformationOf<K>>;
} = {
  Filter: (t, level, ctx) => {
    const open = unpaged(level, ctx.aliases);
    return addWhere(open, compileCondition(t.expression, exprContext(open, ctx)), ctx.aliases);
  },
  Search: (t, level, ctx) => {
    const open = unpaged(level, ctx.aliases);
    return addWhere(open, compileSearch(t.search, open.scope, ctx.dialect), ctx.aliases);
  },
  OrderBy: (t, level, ctx) => {
    const open = unpaged(level, ctx.aliases);
    return addOrder(open, compileOrderBy(t.items, exprContext(open, ctx)), ctx.aliases);
  },
  Top: (t, level) => addTop(level, t.count),
  Skip: (t, level) => addSkip(level, t.count),
  Compute: (t, level, ctx) => applyCompute(level, t.items, ctx),
  Identity: (_t, level) => level,
  Aggregate: (t, level, ctx) => group(level, [], t.items, ctx),
  GroupBy: (t, level, ctx) => {
    const nested = t.transformations;
    if (nested.length > 1 || (nested.length === 1 && nested[0]!.kind !== "Aggregate")) {
      throw notSupported("groupby with transformations other than one aggregate(...)");
    }
    const aggregate = nested[0]?.kind === "Aggregate" ? nested[0].items : [];
    return group(level, t.groupings, aggregate, ctx);
  },
  Concat: () => {
    throw notSupported("the concat transformation");
  },
  Generic: (t) => {
    throw notSupported(`the ${t.name} transformation`);
  },
};

/**
 * Applies a `$apply` transformation sequence to a level.
 *
 * @example
 * ```ts
 * import { applyTransformations } from "./apply.ts";
 * import type { ApplyContext } from "./apply.ts";
 * import type { Level } from "./level.ts";
 * declare const level: Level, ctx: ApplyContext;
 * applyTransformations(level, [{ kind: "Top", count: 5 }], ctx).limit; // 5
 * ```
 */
export function applyTransformations(
  level: Level,
  transformations: readonly Transformation[],
  ctx: ApplyContext,
): Level {
  let result = level;
  for (const t of transformations) {
    const handler = dispatch(TRANSFORMATIONS, t.kind, "transformation") as TransformHandler<
      Transformation
    >;
    result = handler(t, result, ctx);
  }
  return result;
}
