/**
 * Compiles a read (filter, search, compute, orderby, skip, top, select, apply) to a MongoDB plan:
 * a plain `find` when the query needs nothing but a filter document, a sort on stored fields and
 * a projection (the fast path, served by indexes), else an aggregation pipeline. `$expand` is
 * not part of the plan: the executor runs one batched `$in` query per navigation and level.
 *
 * @module
 */

import type {
  ExpandItem,
  Expression,
  ODataQuery,
  OrderByItem,
  SearchExpression,
  SelectItem,
} from "../../../src/odata/ast.ts";
import type { GroupByTransformation, Transformation } from "../../../src/odata/ast_apply.ts";
import { ODataActiveRecordError } from "../../../src/errors/errors.ts";
import type { EntityMetadata, SchemaResolver } from "../../../src/model/schema.ts";
import { unknownField } from "../../../src/model/conditions.ts";
import type { Document, StorageOptions } from "../values.ts";
import {
  type Compiled,
  compileValue,
  createContext,
  type Lookup,
  type MongoContext,
  notSupported,
  type ValueType,
} from "./expression.ts";
import { compileCondition } from "./filter.ts";
import { compileSearch, textSearch } from "./search.ts";

/** One column of the result: where it is in the document and how to decode it. */
export interface OutputColumn {
  /** The property name in the row. */
  readonly name: string;
  /** The key in the result document. */
  readonly key: string;
  /** Its type. */
  readonly type: ValueType;
  /** Decimal scale for decoding. */
  readonly scale?: number;
}

/** A compiled read. */
export interface ReadPlan {
  /** `find` (fast path) or `aggregate`. */
  readonly kind: "find" | "aggregate";
  /** The filter document (find) — also the first `$match` of the pipeline. */
  readonly filter: Document;
  /** The sort (find). */
  readonly sort?: Document;
  /** Skip (find). */
  readonly skip?: number;
  /** Limit (find). */
  readonly limit?: number;
  /** Projection (find). */
  readonly projection?: Document;
  /** The pipeline (aggregate). */
  readonly pipeline: Document[];
  /** The pipeline without paging and projection, for `$count` (aggregate). */
  readonly countPipeline: Document[];
  /** The result columns. */
  readonly columns: readonly OutputColumn[];
  /** Link fields kept for `$expand` (by field name), present in every result document. */
  readonly expand: readonly ExpandItem[];
}

const COMPUTED_PREFIX = "__oar_c_";
const SORT_PREFIX = "__oar_s_";

/** The stored columns of `entity` named in `$select` (all when absent or `*`). */
function selectedNames(select: readonly SelectItem[] | undefined): string[] | undefined {
  if (select === undefined || select.length === 0) return undefined;
  const names: string[] = [];
  for (const item of select) {
    const segments = item.segments;
    if (segments.length !== 1) throw notSupported("$select paths with more than one segment");
    const step = segments[0]!;
    if (step.kind === "Star") return undefined;
    if (step.kind !== "Property") throw notSupported("$select steps other than property names");
    if (item.options !== undefined) throw notSupported("$select with nested options");
    names.push(step.name);
  }
  return names;
}

function lookupStages(lookups: Iterable<Lookup>): Document[] {
  const stages: Document[] = [];
  for (const lookup of lookups) {
    const { relation, target } = lookup;
    const local = relation.localFields.map((name) => columnOf(lookup.owner, name));
    const foreign = relation.targetFields.map((name) => target.fields.get(name)!.column);
    if (local.length === 1) {
      stages.push({
        $lookup: {
          from: target.table,
          localField: local[0],
          foreignField: foreign[0],
          as: lookup.as,
        },
      });
    } else {
      const vars = Object.fromEntries(local.map((column, i) => [`k${i}`, `$${column}`]));
      stages.push({
        $lookup: {
          from: target.table,
          let: vars,
          pipeline: [{
            $match: {
              $expr: { $and: foreign.map((column, i) => ({ $eq: [`$${column}`, `$$k${i}`] })) },
            },
          }],
          as: lookup.as,
        },
      });
    }
  }
  return stages;
}

function columnOf(entity: EntityMetadata, name: string): string {
  const field = entity.fields.get(name);
  if (field === undefined) throw unknownField(entity, name);
  return field.column;
}

/** Fields a parent must keep so that `$expand` can stitch its children. */
function expandLinkFields(
  entity: EntityMetadata,
  expand: readonly ExpandItem[] | undefined,
): string[] {
  if (expand === undefined) return [];
  const names: string[] = [];
  for (const item of expand) {
    if (item.path.length === 1 && item.path[0] === "*") {
      for (const relation of entity.relations.values()) names.push(...relation.localFields);
      continue;
    }
    const relation = entity.relations.get(String(item.path[0]));
    if (relation !== undefined) names.push(...relation.localFields);
  }
  return names;
}

interface Scope {
  readonly ctx: MongoContext;
  /** What the current documents hold, by property name. */
  readonly columns: Map<string, OutputColumn>;
  /** True while documents are whole entity documents (before a groupby). */
  readonly entityShaped: boolean;
}

function entityColumns(entity: EntityMetadata): Map<string, OutputColumn> {
  return new Map(entity.fieldList.map((f) => [f.name, {
    name: f.name,
    key: f.column,
    type: f.type,
    scale: f.definition.scale,
  }]));
}

function computedMap(
  columns: Map<string, OutputColumn>,
  entity: EntityMetadata,
  shaped: boolean,
): Map<string, Compiled> {
  const computed = new Map<string, Compiled>();
  for (const column of columns.values()) {
    if (shaped && entity.fields.has(column.name)) continue;
    computed.set(column.name, { expr: `$${column.key}`, type: column.type, scale: column.scale });
  }
  return computed;
}

const EMPTY_ENTITY = (name: string): EntityMetadata => ({
  name,
  table: name,
  fields: new Map(),
  fieldList: [],
  key: [],
  relations: new Map(),
  indexes: [],
});

function scopeFor(
  schema: SchemaResolver,
  entity: EntityMetadata,
  storage: StorageOptions,
  columns: Map<string, OutputColumn>,
  entityShaped: boolean,
): Scope {
  const base = entityShaped ? entity : EMPTY_ENTITY(entity.name);
  const ctx = createContext(schema, base, storage, computedMap(columns, entity, entityShaped));
  return { ctx: entityShaped ? ctx : { ...ctx, noNavigation: true }, columns, entityShaped };
}

/**
 * Compiles a read request to a plan.
 *
 * @example
 * ```ts
 * import { compileRead } from "./read.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * import { parseQuery } from "../../../src/odata/parser/query.ts";
 * const e = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true }, Price: { type: "number" } } });
 * const plan = compileRead({ getEntityMetadata: () => e }, e, parseQuery("$filter=Price gt 2&$top=5"), { decimal: "double" });
 * plan.kind; // "find"
 * ```
 */
export function compileRead(
  schema: SchemaResolver,
  entity: EntityMetadata,
  query: ODataQuery,
  storage: StorageOptions,
  textIndex = false,
): ReadPlan {
  let scope = scopeFor(schema, entity, storage, entityColumns(entity), true);
  const pre: Document[] = []; // stages before the outer filter
  const lookups = new Map<string, Lookup>();
  if (query.apply !== undefined && query.apply.length > 0) {
    if (query.expand !== undefined && query.expand.length > 0) {
      throw notSupported("$expand with $apply");
    }
    scope = compileTransformations(query.apply, scope, schema, entity, storage, pre, lookups);
  }
  // $compute
  const addFields: Document = {};
  if (query.compute !== undefined) {
    for (const item of query.compute) {
      const value = compileValue(item.expression, scope.ctx);
      const key = `${COMPUTED_PREFIX}${item.alias}`;
      addFields[key] = value.expr;
      const column: OutputColumn = { name: item.alias, key, type: value.type, scale: value.scale };
      scope.columns.set(item.alias, column);
      (scope.ctx.computed as Map<string, Compiled>).set(item.alias, {
        expr: `$${key}`,
        type: value.type,
        scale: value.scale,
      });
    }
  }
  // $filter and $search
  const conditions: Document[] = [];
  if (query.filter !== undefined) conditions.push(compileCondition(query.filter, scope.ctx));
  if (query.search !== undefined) {
    if (!scope.entityShaped) throw notSupported("$search after $apply");
    // A text index serves $search only in a plain filter ($text must lead the pipeline).
    const plain = pre.length === 0 && scope.ctx.lookups.size === 0 &&
      Object.keys(addFields).length === 0;
    const text = textIndex && plain ? textSearch(query.search) : undefined;
    conditions.push(text ?? compileSearch(query.search, entity));
  }
  const filter: Document = conditions.length === 0
    ? {}
    : conditions.length === 1
    ? conditions[0]!
    : { $and: conditions };
  // $orderby
  const sort: Document = {};
  const sortFields: Document = {};
  for (const [i, item] of (query.orderby ?? []).entries()) {
    const key = sortKey(item, scope, i, sortFields);
    if (key !== undefined) sort[key] = item.direction === "desc" ? -1 : 1;
  }
  for (const lookup of scope.ctx.lookups.values()) lookups.set(lookup.as, lookup);
  // $select
  const names = selectedNames(query.select);
  let columns = [...scope.columns.values()];
  if (names !== undefined) {
    columns = names.map((name) => {
      const column = scope.columns.get(name);
      if (column === undefined) throw unknownField(entity, name);
      return column;
    });
  }
  const keep = new Set(columns.map((c) => c.key));
  if (scope.entityShaped) {
    for (const name of expandLinkFields(entity, query.expand)) keep.add(columnOf(entity, name));
  }
  const projection: Document = { _id: 0 };
  for (const key of keep) projection[key] = 1;
  if (keep.has("_id")) delete projection._id;

  const needsPipeline = pre.length > 0 || lookups.size > 0 || Object.keys(addFields).length > 0 ||
    Object.keys(sortFields).length > 0 || !scope.entityShaped;
  const pipeline: Document[] = [...pre, ...lookupStages(lookups.values())];
  if (Object.keys(addFields).length > 0) pipeline.push({ $addFields: addFields });
  if (conditions.length > 0) pipeline.push({ $match: filter });
  const countPipeline = [...pipeline];
  if (Object.keys(sortFields).length > 0) pipeline.push({ $addFields: sortFields });
  if (Object.keys(sort).length > 0) pipeline.push({ $sort: sort });
  if (query.skip !== undefined && query.skip > 0) pipeline.push({ $skip: query.skip });
  if (query.top !== undefined) pipeline.push({ $limit: query.top });
  pipeline.push({ $project: projection });
  return {
    kind: needsPipeline || query.top === 0 ? "aggregate" : "find",
    filter,
    sort: Object.keys(sort).length > 0 ? sort : undefined,
    skip: query.skip,
    limit: query.top,
    projection,
    pipeline: query.top === 0
      ? [...pipeline.slice(0, -1), { $limit: 1 }, { $match: { $expr: false } }]
      : pipeline,
    countPipeline,
    columns,
    expand: query.expand ?? [],
  };
}

function sortKey(
  item: OrderByItem,
  scope: Scope,
  index: number,
  sortFields: Document,
): string | undefined {
  const e = item.expression;
  if (
    e.kind === "Path" && e.root === "implicit" && e.segments.length === 1 &&
    e.segments[0]!.kind === "Property"
  ) {
    const column = scope.columns.get(e.segments[0]!.name);
    if (column !== undefined) return column.key;
  }
  const value = compileValue(e, scope.ctx);
  if (value.literal !== undefined) return undefined; // a constant does not order anything
  const key = `${SORT_PREFIX}${index}`;
  sortFields[key] = value.expr;
  return key;
}

const AGGREGATE_OPERATORS: Readonly<Record<string, string>> = {
  sum: "$sum",
  min: "$min",
  max: "$max",
  average: "$avg",
  countdistinct: "$addToSet",
};

function aggregateType(method: string, input: ValueType): ValueType {
  if (method === "countdistinct") return "integer";
  if (method === "average") return input === "decimal" ? "decimal" : "number";
  return input;
}

interface AggregateOutput {
  readonly group: Document;
  readonly project: Document;
  readonly columns: OutputColumn[];
}

function compileAggregates(
  items: readonly import("../../../src/odata/ast_apply.ts").AggregateItem[],
  scope: Scope,
  counter: { value: number },
): AggregateOutput {
  const group: Document = {};
  const project: Document = {};
  const columns: OutputColumn[] = [];
  for (const item of items) {
    const key = `a${counter.value++}`;
    if (item.kind === "AggregateCount") {
      group[key] = { $sum: 1 };
      project[item.alias] = `$${key}`;
      columns.push({ name: item.alias, key: item.alias, type: "integer" });
      continue;
    }
    if (item.kind !== "AggregateExpression" || item.from !== undefined) {
      throw notSupported("custom aggregates and aggregate from");
    }
    const operator = AGGREGATE_OPERATORS[item.method];
    if (operator === undefined) throw notSupported(`the ${item.method} aggregation method`);
    const value = compileValue(item.expression, scope.ctx);
    if (item.method !== "countdistinct" && item.method !== "min" && item.method !== "max") {
      if (!["integer", "number", "decimal", "null"].includes(value.type)) {
        throw new ODataActiveRecordError(
          "TYPE_MISMATCH",
          `${item.method} needs a number; got ${value.type}`,
        );
      }
    }
    group[key] = { [operator]: value.expr };
    project[item.alias] = item.method === "countdistinct" ? { $size: `$${key}` } : `$${key}`;
    columns.push({
      name: item.alias,
      key: item.alias,
      type: aggregateType(item.method, value.type),
      scale: item.method === "average" ? undefined : value.scale,
    });
  }
  return { group, project, columns };
}

function compileTransformations(
  transformations: readonly Transformation[],
  start: Scope,
  schema: SchemaResolver,
  entity: EntityMetadata,
  storage: StorageOptions,
  stages: Document[],
  lookups: Map<string, Lookup>,
): Scope {
  let scope = start;
  const counter = { value: 0 };
  const flushLookups = () => {
    const fresh = [...scope.ctx.lookups.values()].filter((l) => !lookups.has(l.as));
    for (const lookup of fresh) lookups.set(lookup.as, lookup);
    return lookupStages(fresh);
  };
  for (const t of transformations) {
    switch (t.kind) {
      case "Identity":
        break;
      case "Filter": {
        const condition = compileCondition(t.expression, scope.ctx);
        stages.push(...flushLookups(), { $match: condition });
        break;
      }
      case "Search":
        if (!scope.entityShaped) throw notSupported("search after groupby");
        stages.push({ $match: compileSearch(t.search, entity) });
        break;
      case "OrderBy": {
        const sort: Document = {};
        const fields: Document = {};
        t.items.forEach((item, i) => {
          const key = sortKey(item, scope, 100 + i, fields);
          if (key !== undefined) sort[key] = item.direction === "desc" ? -1 : 1;
        });
        stages.push(...flushLookups());
        if (Object.keys(fields).length > 0) stages.push({ $addFields: fields });
        if (Object.keys(sort).length > 0) stages.push({ $sort: sort });
        break;
      }
      case "Top":
        stages.push({ $limit: t.count });
        break;
      case "Skip":
        stages.push({ $skip: t.count });
        break;
      case "Compute": {
        const add: Document = {};
        for (const item of t.items) {
          const value = compileValue(item.expression, scope.ctx);
          const key = `${COMPUTED_PREFIX}${item.alias}`;
          add[key] = value.expr;
          scope.columns.set(item.alias, {
            name: item.alias,
            key,
            type: value.type,
            scale: value.scale,
          });
          (scope.ctx.computed as Map<string, Compiled>).set(item.alias, {
            expr: `$${key}`,
            type: value.type,
            scale: value.scale,
          });
        }
        stages.push(...flushLookups(), { $addFields: add });
        break;
      }
      case "Aggregate": {
        const out = compileAggregates(t.items, scope, counter);
        stages.push(...flushLookups(), { $group: { _id: null, ...out.group } }, {
          $project: { _id: 0, ...out.project },
        });
        scope = scopeFor(
          schema,
          entity,
          storage,
          new Map(out.columns.map((c) => [c.name, c])),
          false,
        );
        break;
      }
      case "GroupBy":
        scope = compileGroupBy(t, scope, schema, entity, storage, stages, counter, flushLookups);
        break;
      default:
        throw notSupported(
          `the ${t.kind === "Generic" ? t.name : t.kind.toLowerCase()} transformation`,
        );
    }
  }
  return scope;
}

function compileGroupBy(
  t: GroupByTransformation,
  scope: Scope,
  schema: SchemaResolver,
  entity: EntityMetadata,
  storage: StorageOptions,
  stages: Document[],
  counter: { value: number },
  flushLookups: () => Document[],
): Scope {
  const id: Document = {};
  const project: Document = { _id: 0 };
  const columns: OutputColumn[] = [];
  for (const [i, grouping] of t.groupings.entries()) {
    if (grouping.kind !== "GroupProperty") throw notSupported("rollup");
    const path = grouping.path;
    if (
      path.root !== "implicit" || path.segments.length !== 1 ||
      path.segments[0]!.kind !== "Property"
    ) {
      throw notSupported("grouping by navigation paths");
    }
    const name = path.segments[0]!.name;
    const column = scope.columns.get(name);
    if (column === undefined) throw unknownField(entity, name);
    id[`g${i}`] = `$${column.key}`;
    project[name] = `$_id.g${i}`;
    columns.push({ ...column, key: name });
  }
  const inner = t.transformations;
  let group: Document = {};
  if (inner.length > 1) throw notSupported("groupby with more than one nested transformation");
  const only = inner[0];
  if (only !== undefined) {
    if (only.kind !== "Aggregate") throw notSupported(`groupby with ${only.kind.toLowerCase()}`);
    const out = compileAggregates(only.items, scope, counter);
    group = out.group;
    Object.assign(project, out.project);
    columns.push(...out.columns);
  }
  stages.push(...flushLookups(), { $group: { _id: id, ...group } }, { $project: project });
  return scopeFor(schema, entity, storage, new Map(columns.map((c) => [c.name, c])), false);
}

/**
 * The filter of a write target or count as a plan that selects whole documents: a filter
 * document alone when no navigation is involved, else a pipeline ending in a `$match`.
 *
 * @example
 * ```ts
 * import { compileWhere } from "./read.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const e = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true } } });
 * compileWhere({ getEntityMetadata: () => e }, e, undefined, undefined, { decimal: "double" }); // { filter: {}, pipeline: undefined }
 * ```
 */
export function compileWhere(
  schema: SchemaResolver,
  entity: EntityMetadata,
  filter: Expression | undefined,
  search: SearchExpression | undefined,
  storage: StorageOptions,
  textIndex = false,
): { filter: Document; pipeline: Document[] | undefined } {
  const ctx = createContext(schema, entity, storage);
  const conditions: Document[] = [];
  if (filter !== undefined) conditions.push(compileCondition(filter, ctx));
  if (search !== undefined) {
    // Compiled after the filter: its navigations decide whether $text may be used.
    const text = textIndex && ctx.lookups.size === 0 ? textSearch(search) : undefined;
    conditions.push(text ?? compileSearch(search, entity));
  }
  const document = conditions.length === 0
    ? {}
    : conditions.length === 1
    ? conditions[0]!
    : { $and: conditions };
  if (ctx.lookups.size === 0) return { filter: document, pipeline: undefined };
  return {
    filter: document,
    pipeline: [...lookupStages(ctx.lookups.values()), { $match: document }],
  };
}
