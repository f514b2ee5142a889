/**
 * `$apply` and `$compute` for PostgreSQL: each transformation turns the rows of the previous
 * step into a new step, a subquery whose columns are named by the properties they hold
 * (`groupby` through `GROUP BY`, `compute` through expressions). Supported: `filter`, `search`,
 * `orderby`, `top`, `skip`, `compute`, `identity`, `aggregate(...)` and
 * `groupby((paths)[, aggregate(...)])` with `sum min max average countdistinct` and `$count`;
 * the same set as the SQLite provider, with the same answers.
 *
 * Decimals stay `NUMERIC`: sums and arithmetic are exact and keep PostgreSQL's result scale
 * (the larger one for `add`/`sub`/`mod`, their sum for `mul`), as SQLite's exact decimals do;
 * a decimal average is the exact quotient rounded half away from zero to 15 significant digits,
 * or to the column's scale when that keeps more.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import type {
  AggregateItem,
  ComputeItem,
  Expression,
  ODataQuery,
  OrderByItem,
  PathExpression,
  SearchExpression,
  Transformation,
} from "../../src/odata/ast.ts";
import type {
  EntityMetadata,
  FieldDefinition,
  FieldMetadata,
  FieldType,
  SchemaResolver,
} from "../../src/model/schema.ts";
import { ExpressionCompiler, Parameters, quoteIdentifier, unsupported } from "./expression.ts";

const q = quoteIdentifier;

/** A compiled value: SQL and its type (`unknown` when the compiler cannot tell). */
interface Value {
  readonly sql: string;
  readonly kind: FieldType | "null" | "unknown";
}

/** One step of the pipeline: rows of `source` (aliased `alias`) that pass `where`, ordered, paged. */
interface Level {
  readonly source: string;
  readonly alias: string;
  /** The properties of the step's rows, with the columns (of `alias`) that hold them. */
  readonly entity: EntityMetadata;
  readonly where: readonly string[];
  readonly order: readonly string[];
  /** Properties that make the order total (the key; the grouping properties after a groupby). */
  readonly tiebreak: readonly string[];
  readonly limit?: number;
  readonly offset: number;
}

/** The shared state of one statement. */
interface Context {
  readonly params: Parameters;
  readonly schema: SchemaResolver | undefined;
  /** Subquery aliases: unique in the statement (ExpressionCompiler uses `rN`, steps `sN`). */
  readonly aliases: { n: number };
}

function invalid(message: string, context: Record<string, unknown> = {}): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_ARGUMENT", message, {
    context: { provider: "postgres", ...context },
  });
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

function fieldType(kind: Value["kind"]): FieldType {
  return kind === "null" || kind === "unknown" ? "string" : kind;
}

/** A property as a column of its step (dates as their canonical text). */
function columnOf(level: Level, field: FieldMetadata): string {
  const column = `${level.alias}.${q(field.column)}`;
  return field.type === "date" ? `${column}::text` : column;
}

/**
 * Paths that name a grouped navigation property (`Category/CategoryName`) address the one
 * property of that name; every other node is kept.
 */
function resolveGroupedPaths<T>(node: T, entity: EntityMetadata): T {
  if (Array.isArray(node)) return node.map((item) => resolveGroupedPaths(item, entity)) as T;
  if (node === null || typeof node !== "object") return node;
  const record = node as Record<string, unknown>;
  if (record.kind === "Path") {
    const path = node as unknown as PathExpression;
    if (
      path.root === "implicit" && path.segments.length > 1 &&
      path.segments.every((s) => s.kind === "Property")
    ) {
      const name = path.segments.map((s) => (s as { name: string }).name).join("/");
      if (entity.fields.has(name)) {
        return { ...path, segments: [{ kind: "Property", name }] } as unknown as T;
      }
    }
    return node;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = resolveGroupedPaths(value, entity);
  return out as T;
}

function expressions(level: Level, ctx: Context): ExpressionCompiler {
  return new ExpressionCompiler(level.entity, ctx.params, level.alias, ctx.schema, undefined, {
    get n() {
      return ctx.aliases.n;
    },
    set n(value: number) {
      ctx.aliases.n = value;
    },
  });
}

function compileValue(expression: Expression, level: Level, ctx: Context): Value {
  return expressions(level, ctx).compile(resolveGroupedPaths(expression, level.entity));
}

function compileCondition(expression: Expression, level: Level, ctx: Context): string {
  return expressions(level, ctx).condition(resolveGroupedPaths(expression, level.entity));
}

/** The ORDER BY items of a level: its order, then its tiebreak when it pages or orders. */
function orderItems(level: Level): string[] {
  if (level.order.length === 0 && level.limit === undefined && level.offset === 0) return [];
  const tiebreak = level.tiebreak.map((name) =>
    `${level.alias}.${q(level.entity.fields.get(name)!.column)} ASC`
  );
  return [...level.order, ...tiebreak];
}

/** The SELECT of a level with the given column list. */
function render(level: Level, columns: readonly string[], ordered = true): string {
  let text = `SELECT ${columns.length === 0 ? "1" : columns.join(", ")} FROM ${level.source}`;
  if (level.where.length > 0) text += ` WHERE ${level.where.join(" AND ")}`;
  const order = ordered ? orderItems(level) : [];
  if (order.length > 0) text += ` ORDER BY ${order.join(", ")}`;
  if (level.limit !== undefined) text += ` LIMIT ${level.limit}`;
  if (level.offset > 0) text += ` OFFSET ${level.offset}`;
  return text;
}

/**
 * A new step over the rows of `level`, with `extra` computed properties: its order survives as
 * hidden `$oN` columns (names of properties cannot start with `$`).
 */
function wrap(level: Level, ctx: Context, extra: readonly [string, Value][] = []): Level {
  const alias = `s${++ctx.aliases.n}`;
  const fields: FieldMetadata[] = [];
  const columns: string[] = [];
  for (const field of level.entity.fieldList) {
    if (extra.some(([name]) => name === field.name)) continue;
    columns.push(`${level.alias}.${q(field.column)} AS ${q(field.name)}`);
    fields.push({ ...field, column: field.name });
  }
  for (const [name, value] of extra) {
    columns.push(`${value.sql} AS ${q(name)}`);
    fields.push(computedField(name, fieldType(value.kind)));
  }
  const order = orderItems(level);
  const hidden = order.map((item, i) => {
    const descending = / DESC( NULLS LAST)?$/.test(item);
    const expression = item.replace(/ (ASC|DESC)( NULLS (FIRST|LAST))?$/, "");
    columns.push(`${expression} AS "$o${i}"`);
    return `${alias}."$o${i}" ${descending ? "DESC NULLS LAST" : "ASC NULLS FIRST"}`;
  });
  const entity: EntityMetadata = {
    ...level.entity,
    fields: new Map(fields.map((field) => [field.name, field])),
    fieldList: fields,
  };
  return {
    source: `(${render(level, columns)}) AS ${alias}`,
    alias,
    entity,
    where: [],
    order: hidden,
    tiebreak: level.tiebreak.filter((name) => entity.fields.has(name)),
    offset: 0,
  };
}

/** A level that can take a new condition or order: paged levels are wrapped first. */
function unpaged(level: Level, ctx: Context): Level {
  return level.limit !== undefined || level.offset > 0 ? wrap(level, ctx) : level;
}

/** `$search` over the searchable text properties of a step (as compiler.ts does on a table). */
function searchCondition(level: Level, node: SearchExpression, params: Parameters): string {
  switch (node.kind) {
    case "SearchTerm": {
      const fields = level.entity.fieldList.filter((f) =>
        f.searchable && (f.type === "string" || f.type === "guid")
      );
      if (fields.length === 0) return "FALSE";
      const needle = params.addText(node.text.toLowerCase());
      const tests = fields.map((f) =>
        `strpos(lower(coalesce(${level.alias}.${
          q(f.column)
        }::text, '') COLLATE "default"), ${needle}) > 0`
      );
      return `(${tests.join(" OR ")})`;
    }
    case "SearchNot":
      return `(NOT ${searchCondition(level, node.operand, params)})`;
    case "SearchBinary":
      return `(${searchCondition(level, node.left, params)} ${
        node.operator === "AND" ? "AND" : "OR"
      } ${searchCondition(level, node.right, params)})`;
  }
}

function filter(level: Level, expression: Expression, ctx: Context): Level {
  const open = unpaged(level, ctx);
  return { ...open, where: [...open.where, compileCondition(expression, open, ctx)] };
}

function search(level: Level, node: SearchExpression, ctx: Context): Level {
  const open = unpaged(level, ctx);
  return { ...open, where: [...open.where, searchCondition(open, node, ctx.params)] };
}

function orderBy(level: Level, items: readonly OrderByItem[], ctx: Context): Level {
  const open = unpaged(level, ctx);
  const order: string[] = [];
  for (const item of items) {
    const value = compileValue(item.expression, open, ctx);
    if (value.kind === "json" || value.kind === "binary") {
      throw new ODataActiveRecordError(
        "INVALID_OPERATOR",
        `orderby needs an orderable value, not ${value.kind}`,
        { context: { provider: "postgres" } },
      );
    }
    // OData sorts nulls first ascending (as SQLite does).
    order.push(
      item.direction === "desc" ? `${value.sql} DESC NULLS LAST` : `${value.sql} ASC NULLS FIRST`,
    );
  }
  return { ...open, order };
}

function top(level: Level, count: number): Level {
  const n = Math.trunc(count);
  return { ...level, limit: level.limit === undefined ? n : Math.min(level.limit, n) };
}

function skip(level: Level, count: number, ctx: Context): Level {
  const open = level.limit !== undefined ? wrap(level, ctx) : level;
  return { ...open, offset: open.offset + Math.trunc(count) };
}

function compute(level: Level, items: readonly ComputeItem[], ctx: Context): Level {
  let result = level;
  // Each item sees the earlier ones (compute(a as x, x mul 2 as y)).
  for (const item of items) {
    const open = unpaged(result, ctx);
    result = wrap(open, ctx, [[item.alias, compileValue(item.expression, open, ctx)]]);
  }
  return result;
}

const NUMERIC = new Set<Value["kind"]>(["integer", "number", "decimal", "null", "unknown"]);
const ORDERED = new Set<Value["kind"]>([
  "integer",
  "number",
  "decimal",
  "string",
  "date",
  "datetime",
  "time",
  "null",
  "unknown",
]);

function wrongType(method: string, kind: string, wanted: string): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "INVALID_OPERATOR",
    `The ${method} aggregation needs ${wanted}, not a ${kind} value`,
    { context: { provider: "postgres", method } },
  );
}

function aggregate(method: string, x: Value, scale: number): Value {
  switch (method) {
    case "sum":
      if (!NUMERIC.has(x.kind)) throw wrongType(method, x.kind, "a number");
      // sum(bigint) is numeric on the server: back to an integer.
      return x.kind === "integer"
        ? { sql: `CAST(sum(${x.sql}) AS bigint)`, kind: "integer" }
        : { sql: `sum(${x.sql})`, kind: x.kind };
    case "average": {
      if (!NUMERIC.has(x.kind)) throw wrongType(method, x.kind, "a number");
      if (x.kind !== "decimal") {
        return { sql: `CAST(avg(${x.sql}) AS double precision)`, kind: "number" };
      }
      // The exact quotient (40 fraction digits), rounded to 15 significant digits or the scale.
      const quotient = `(round(sum(${x.sql}), 40) / nullif(count(${x.sql}), 0))`;
      const digits = `(floor(log(abs(nullif(${quotient}, 0)))) + 1)`;
      return {
        sql: `trim_scale(round(${quotient}, greatest(${scale}, CAST(15 - ${digits} AS integer))))`,
        kind: "decimal",
      };
    }
    case "min":
    case "max":
      if (!ORDERED.has(x.kind)) throw wrongType(method, x.kind, "an orderable value");
      return { sql: `${method}(${x.sql})`, kind: x.kind };
    case "countdistinct":
      if (x.kind === "json") throw wrongType(method, x.kind, "a primitive value");
      return { sql: `count(DISTINCT ${x.sql})`, kind: "integer" };
    default:
      throw unsupported(`The aggregation method ${method}`);
  }
}

/** The scale of a decimal expression when it is one property (for the average's rounding). */
function scaleOf(expression: Expression, level: Level): number {
  if (expression.kind !== "Path" || expression.segments.length !== 1) return 0;
  const [segment] = expression.segments;
  if (segment?.kind !== "Property") return 0;
  const definition = level.entity.fields.get(segment.name)?.definition as { scale?: number };
  return definition?.scale ?? 0;
}

function pathName(path: PathExpression): string {
  if (path.root !== "implicit" || !path.segments.every((s) => s.kind === "Property")) {
    throw unsupported("Grouping by anything but a property path");
  }
  return path.segments.map((s) => (s as { name: string }).name).join("/");
}

/** Groups (or, without groupings, aggregates) the rows of a level into a new step. */
function group(
  input: Level,
  groupings: readonly PathExpression[],
  items: readonly AggregateItem[],
  ctx: Context,
): Level {
  const level = unpaged(input, ctx);
  const outputs: [string, Value][] = [];
  const add = (name: string, value: Value) => {
    if (outputs.some(([taken]) => taken === name)) {
      throw invalid(`The name '${name}' is used twice in groupby/aggregate`, { name });
    }
    outputs.push([name, value]);
  };
  for (const path of groupings) add(pathName(path), compileValue(path, level, ctx));
  for (const item of items) {
    if (item.kind === "AggregateCount") {
      add(item.alias, { sql: "count(*)", kind: "integer" });
    } else if (item.kind === "AggregateCustom") {
      throw unsupported("A custom aggregate");
    } else {
      if (item.from !== undefined && item.from.length > 0) {
        throw unsupported("aggregate ... from (nested grouping)");
      }
      const value = compileValue(item.expression, level, ctx);
      add(item.alias, aggregate(item.method, value, scaleOf(item.expression, level)));
    }
  }
  const columns = outputs.map(([name, value]) => `${value.sql} AS ${q(name)}`);
  let inner = render({ ...level, order: [], tiebreak: [] }, columns, false);
  if (groupings.length > 0) {
    inner += ` GROUP BY ${groupings.map((_, i) => String(i + 1)).join(", ")}`;
  }
  const alias = `s${++ctx.aliases.n}`;
  const fields = outputs.map(([name, value]) => computedField(name, fieldType(value.kind)));
  return {
    source: `(${inner}) AS ${alias}`,
    alias,
    entity: {
      ...level.entity,
      name: `${level.entity.name} (aggregated)`,
      fields: new Map(fields.map((field) => [field.name, field])),
      fieldList: fields,
      key: [],
      relations: new Map(),
    },
    where: [],
    order: [],
    tiebreak: outputs.slice(0, groupings.length).map(([name]) => name),
    offset: 0,
  };
}

function transform(level: Level, t: Transformation, ctx: Context): Level {
  switch (t.kind) {
    case "Filter":
      return filter(level, t.expression, ctx);
    case "Search":
      return search(level, t.search, ctx);
    case "OrderBy":
      return orderBy(level, t.items, ctx);
    case "Top":
      return top(level, t.count);
    case "Skip":
      return skip(level, t.count, ctx);
    case "Compute":
      return compute(level, t.items, ctx);
    case "Identity":
      return level;
    case "Aggregate":
      return group(level, [], t.items, ctx);
    case "GroupBy": {
      const nested = t.transformations;
      if (nested.length > 1 || (nested.length === 1 && nested[0]!.kind !== "Aggregate")) {
        throw unsupported("groupby with transformations other than one aggregate(...)");
      }
      const paths = t.groupings.map((grouping) => {
        if (grouping.kind !== "GroupProperty") throw unsupported("rollup in groupby");
        return grouping.path;
      });
      const items = nested[0]?.kind === "Aggregate" ? nested[0].items : [];
      return group(level, paths, items, ctx);
    }
    case "Concat":
      throw unsupported("The concat transformation");
    case "Generic":
      throw unsupported(`The ${t.name} transformation`);
  }
}

/** A compiled `$apply`/`$compute` read: the statement and the properties of its rows. */
export interface CompiledApplyRead {
  /** The SQL text with `$1`, `$2`, ... placeholders. */
  readonly text: string;
  /** The parameters, already in the driver's form. */
  readonly params: unknown[];
  /** The properties of the result rows (names with `/` are grouped navigation properties). */
  readonly fields: readonly FieldMetadata[];
}

/** The pipeline of a query up to (not including) paging and selection of the answer. */
function pipeline(entity: EntityMetadata, query: ODataQuery, ctx: Context): Level {
  let level: Level = {
    source: `${q(entity.table)} AS t`,
    alias: "t",
    entity,
    where: [],
    order: [],
    tiebreak: entity.key,
    offset: 0,
  };
  for (const t of query.apply ?? []) level = transform(level, t, ctx);
  if (query.compute !== undefined && query.compute.length > 0) {
    level = compute(level, query.compute, ctx);
  }
  if (query.filter !== undefined) level = filter(level, query.filter, ctx);
  if (query.search !== undefined) level = search(level, query.search, ctx);
  return level;
}

function selected(level: Level, query: ODataQuery): FieldMetadata[] {
  const all = level.entity.fieldList;
  if (query.select === undefined) return [...all];
  if (query.select.some((item) => item.segments.some((s) => s.kind === "Star"))) return [...all];
  // Only what is selected (as on SQLite: a computed answer need not carry the key).
  const names = new Set<string>();
  for (const item of query.select) {
    if (!item.segments.every((s) => s.kind === "Property")) {
      throw unsupported("A type-cast, annotation or operation $select path");
    }
    const name = item.segments.map((s) => (s as { name: string }).name).join("/");
    if (!level.entity.fields.has(name)) {
      throw new ODataActiveRecordError("UNKNOWN_FIELD", `Unknown property '${name}' in $select`, {
        context: { entity: level.entity.name, field: name },
      });
    }
    names.add(name);
  }
  return all.filter((field) => names.has(field.name));
}

/**
 * Compiles a read with `$apply` and/or `$compute` (then `$filter`, `$search`, `$orderby`,
 * `$skip`, `$top` and `$select` over the transformed rows).
 *
 * @example
 * ```ts
 * import { compileApplyRead } from "./apply.ts";
 * import { parseQuery } from "../../mod.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", {
 *   fields: { id: { type: "integer", primaryKey: true }, n: { type: "integer" } },
 * });
 * compileApplyRead(entity, parseQuery("$apply=aggregate(n with sum as Total)")).fields[0]?.name; // "Total"
 * ```
 */
export function compileApplyRead(
  entity: EntityMetadata,
  query: ODataQuery,
  schema?: SchemaResolver,
): CompiledApplyRead {
  if ((query.expand ?? []).length > 0) throw unsupported("$expand with $apply or $compute");
  const ctx: Context = { params: new Parameters(), schema, aliases: { n: 2000 } };
  let level = pipeline(entity, query, ctx);
  if (query.orderby !== undefined && query.orderby.length > 0) {
    level = orderBy(level, query.orderby, ctx);
  }
  if (query.skip !== undefined && query.skip > 0) level = skip(level, query.skip, ctx);
  if (query.top !== undefined) level = top(level, query.top);
  const fields = selected(level, query);
  const columns = fields.map((field) => `${columnOf(level, field)} AS ${q(field.name)}`);
  return { text: render(level, columns), params: ctx.params.values, fields };
}

/**
 * Compiles the `$count` of a read with `$apply` and/or `$compute`: the rows after the
 * transformations, `$filter` and `$search`, before paging.
 *
 * @example
 * ```ts
 * import { compileApplyCount } from "./apply.ts";
 * import { parseQuery } from "../../mod.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
 * compileApplyCount(entity, parseQuery("$apply=groupby((id))")).text.startsWith("SELECT count(*)"); // true
 * ```
 */
export function compileApplyCount(
  entity: EntityMetadata,
  query: ODataQuery,
  schema?: SchemaResolver,
): { readonly text: string; readonly params: unknown[] } {
  const ctx: Context = { params: new Parameters(), schema, aliases: { n: 2000 } };
  const level = pipeline(entity, query, ctx);
  const inner = render({ ...level, order: [], tiebreak: [] }, ["1"], false);
  return { text: `SELECT count(*) AS n FROM (${inner}) AS c`, params: ctx.params.values };
}

/** Whether a query needs the `$apply`/`$compute` compiler. */
export function transforms(query: ODataQuery): boolean {
  return (query.apply !== undefined && query.apply.length > 0) ||
    (query.compute !== undefined && query.compute.length > 0);
}
