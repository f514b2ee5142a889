/**
 * The original design's object form of a query (`{ where, limit, orderBy, select }`) or an
 * OData query string, turned into an Active Record query.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import { closestName } from "../errors/suggest.ts";
import {
  assertBuilderLimits,
  type ConditionScope,
  fieldLiteral,
  resolveFieldPath,
} from "../model/conditions.ts";
import type { EntityModel } from "../model/model.ts";
import type { Query } from "../model/query.ts";
import type { Expression, ODataQuery, PathExpression } from "../odata/ast.ts";
import { and } from "../odata/builders.ts";
import type { FieldMetadata } from "../model/schema.ts";
import type { Row } from "../provider/provider.ts";

/**
 * A query in the original design's object form.
 *
 * @example
 * ```ts
 * import type { ProductionQuery } from "@oar/odata-active-record";
 * const query: ProductionQuery = { where: { isActive: true }, limit: 10, orderBy: { name: "asc" } };
 * ```
 */
export interface ProductionQuery {
  /** Field equalities joined with `and`: `{ isActive: true, role: "admin" }`. */
  readonly where?: Readonly<Record<string, unknown>>;
  /** An OData `$filter` text, joined with `and` to `where`. */
  readonly filter?: string;
  /** At most this many rows. */
  readonly limit?: number;
  /** Skip this many rows. */
  readonly offset?: number;
  /** `"name"`, `"name desc"`, a list of those, or `{ name: "desc" }`. */
  readonly orderBy?: string | readonly string[] | Readonly<Record<string, "asc" | "desc">>;
  /** The fields to return. */
  readonly select?: string | readonly string[];
  /** Also count every matching row. */
  readonly count?: boolean;
}

const KEYS = ["where", "filter", "limit", "offset", "orderBy", "select", "count"];

function invalid(message: string, context: Record<string, unknown>): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_ARGUMENT", message, { context });
}

function orderKeys(
  orderBy: NonNullable<ProductionQuery["orderBy"]>,
): [string, "asc" | "desc"][] {
  const fromText = (text: string): [string, "asc" | "desc"] => {
    if (!text.includes(" ")) return [text, "asc"]; // the common case: a bare field name
    const [field = "", direction = "asc", ...rest] = text.trim().split(/\s+/);
    if ((direction !== "asc" && direction !== "desc") || rest.length > 0) {
      throw invalid(`orderBy "${text}" must be "field" or "field asc|desc"`, { orderBy: text });
    }
    return [field, direction];
  };
  if (typeof orderBy === "string") {
    return orderBy.includes(",") ? orderBy.split(",").map(fromText) : [fromText(orderBy)];
  }
  if (Array.isArray(orderBy)) return orderBy.map((item) => fromText(String(item)));
  if (orderBy !== null && typeof orderBy === "object") {
    return Object.entries(orderBy).map(([field, direction]) => {
      if (direction !== "asc" && direction !== "desc") {
        throw invalid(`orderBy ${field} must be "asc" or "desc"`, { orderBy });
      }
      return [field, direction];
    });
  }
  throw invalid("orderBy takes a field, a list of fields, or { field: 'asc' | 'desc' }", {
    orderBy,
  });
}

/**
 * Builds the Active Record query for `query` on `model`. Bad input (an unknown option or field)
 * throws a coded error before anything runs.
 *
 * @example
 * ```ts ignore
 * const q = buildProductionQuery(User, { where: { isActive: true }, limit: 10 });
 * const q2 = buildProductionQuery(Product, "$filter=UnitPrice gt 20&$top=5");
 * ```
 */
export function buildProductionQuery<T extends Row>(
  model: EntityModel<T>,
  query: ProductionQuery | string | undefined,
): Query<T> {
  if (query === undefined) return model;
  if (typeof query === "string") {
    const text = query.startsWith("?") ? query.slice(1) : query;
    return text === "" ? model : model.query(text);
  }
  if (query === null || typeof query !== "object" || Array.isArray(query)) {
    throw invalid(
      "A query is an object { where, limit, orderBy, select } or an OData query string",
      {
        query,
      },
    );
  }
  for (const key in query) {
    if (isOption(key) || !Object.hasOwn(query, key)) continue;
    const closest = closestName(key, KEYS);
    throw invalid(
      `Unknown query option '${key}'.${closest ? ` Did you mean '${closest}'?` : ""}`,
      { option: key, closest },
    );
  }
  // Field names come from the caller at run time: build on the untyped query, checked at run time.
  let result: Query = model as unknown as Query;
  if (query.where !== undefined) {
    if (query.where === null || typeof query.where !== "object") {
      throw invalid("where takes an object of field values, e.g. { isActive: true }", {
        where: query.where,
      });
    }
    if (hasKeys(query.where)) result = result.where(query.where as Row);
  }
  if (query.filter !== undefined) result = result.filter(query.filter);
  if (query.orderBy !== undefined) {
    for (const [field, direction] of orderKeys(query.orderBy)) {
      result = result.orderBy(field, direction);
    }
  }
  if (query.select !== undefined) {
    const select = query.select;
    result = typeof select === "string" ? result.select(select) : result.select(select);
  }
  if (query.offset !== undefined) result = result.offset(query.offset);
  if (query.limit !== undefined) result = result.limit(query.limit);
  if (query.count === true) result = result.withCount();
  return result as unknown as Query<T>;
}

/** True for the names of {@linkcode ProductionQuery}'s options (a switch: no list search per key). */
function isOption(key: string): boolean {
  switch (key) {
    case "where":
    case "filter":
    case "limit":
    case "offset":
    case "orderBy":
    case "select":
    case "count":
      return true;
    default:
      return false;
  }
}

function hasKeys(object: object): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/** One `where` field of a cached shape: its path node and metadata, resolved once. */
interface ShapeField {
  readonly name: string;
  readonly node: PathExpression;
  readonly field: FieldMetadata;
}

/**
 * What repeated object-form queries of one shape (the same options in the same order, the same
 * `where` fields, `orderBy`, `select` and `count`) have in common: the AST without the values.
 */
interface QueryShape {
  /** The option names given (value not `undefined`), in order. */
  readonly options: readonly string[];
  readonly fields: readonly ShapeField[];
  readonly orderBy: string | undefined;
  readonly select: string | readonly string[] | undefined;
  readonly count: boolean | undefined;
  /** The AST of every option but `where`, `limit` and `offset`. */
  readonly base: ODataQuery;
}

/** Shapes per model: a few, since each costs a comparison and field names come from callers. */
const SHAPES = new WeakMap<object, QueryShape[]>();
const MAX_SHAPES = 16;

/**
 * The AST of `query` on `model`: what {@linkcode buildProductionQuery} builds, for the service's
 * hot path. A repeated object form skips the query building (option checks, field lookups and
 * query copies): its shape is built and checked once, and only the values are filled in.
 * Anything else (filter text, `in` lists, undefined values, bad limits) takes the full path,
 * which also reports the errors.
 *
 * @example
 * ```ts ignore
 * const ast = productionQueryAst(Product, { where: { ProductID: 7 } });
 * ```
 */
export function productionQueryAst<T extends Row>(
  model: EntityModel<T>,
  query: ProductionQuery | string | undefined,
): ODataQuery {
  if (query === null || typeof query !== "object" || Array.isArray(query)) {
    return buildProductionQuery(model, query).ast;
  }
  const shapes = SHAPES.get(model);
  if (shapes !== undefined) {
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i]!;
      if (!matches(shape, query)) continue;
      return fill(model.scope, shape, query) ?? buildProductionQuery(model, query).ast;
    }
  }
  // First of its shape: the full path checks everything (and throws for bad input).
  const full = buildProductionQuery(model, query).ast;
  const shape = shapeOf(model, query, full);
  if (shape !== undefined) {
    if (shapes === undefined) SHAPES.set(model, [shape]);
    else if (shapes.length < MAX_SHAPES) shapes.push(shape);
  }
  return full;
}

/** The shape of a (checked) query, or `undefined` for a form not worth caching. */
function shapeOf(
  model: EntityModel<Row>,
  query: ProductionQuery,
  full: ODataQuery,
): QueryShape | undefined {
  const options: string[] = [];
  const fields: ShapeField[] = [];
  for (const option in query) {
    if (!Object.hasOwn(query, option)) continue;
    const value = (query as Record<string, unknown>)[option];
    if (value === undefined) continue;
    options.push(option);
    switch (option) {
      case "where":
        for (const name in value as object) {
          if (!Object.hasOwn(value as object, name)) continue;
          const { node, field } = resolveFieldPath(model.scope, name);
          fields.push({ name, node, field });
        }
        break;
      case "orderBy":
        if (typeof value !== "string") return undefined;
        break;
      case "select":
        if (
          typeof value !== "string" && !(value as unknown[]).every((v) => typeof v === "string")
        ) {
          return undefined;
        }
        break;
      case "count":
        if (typeof value !== "boolean") return undefined;
        break;
      case "limit":
      case "offset":
        break;
      default:
        return undefined; // filter text: parsed each time
    }
  }
  const { filter: _f, top: _t, skip: _s, ...base } = full;
  const select = query.select;
  return {
    options,
    fields,
    orderBy: query.orderBy as string | undefined,
    select: typeof select === "string" || select === undefined ? select : [...select],
    count: query.count,
    base,
  };
}

/** True when `query` has `shape`: the same options in order with the same static values. */
function matches(shape: QueryShape, query: ProductionQuery): boolean {
  const options = shape.options;
  let i = 0;
  for (const option in query) {
    if (!Object.hasOwn(query, option)) continue;
    const value = (query as Record<string, unknown>)[option];
    if (value === undefined) continue;
    if (options[i++] !== option) return false;
    switch (option) {
      case "where": {
        if (value === null || typeof value !== "object") return false;
        const fields = shape.fields;
        let j = 0;
        for (const name in value) {
          if (!Object.hasOwn(value, name)) continue;
          if (fields[j++]?.name !== name) return false;
        }
        if (j !== fields.length) return false;
        break;
      }
      case "orderBy":
      case "count":
        if (value !== shape[option]) return false;
        break;
      case "select": {
        const select = shape.select;
        if (typeof value === "string" || typeof select === "string") {
          if (value !== select) return false;
          break;
        }
        if (!Array.isArray(value) || value.length !== select!.length) return false;
        for (let k = 0; k < value.length; k++) if (value[k] !== select![k]) return false;
        break;
      }
    }
  }
  return i === options.length;
}

/** The AST of a query of `shape` with its values, or `undefined` where the full path must run. */
function fill(
  scope: ConditionScope,
  shape: QueryShape,
  query: ProductionQuery,
): ODataQuery | undefined {
  const fields = shape.fields;
  let filter: Expression | undefined;
  if (fields.length > 0) {
    const where = query.where!;
    const parts: Expression[] = [];
    for (let i = 0; i < fields.length; i++) {
      const { name, node, field } = fields[i]!;
      const value = where[name];
      // `in` lists, undefined values and uncomparable types: the full path (and its errors).
      if (value === undefined || Array.isArray(value)) return undefined;
      if (field.type === "json" || field.type === "binary") return undefined;
      parts.push({
        kind: "Binary",
        operator: "eq",
        left: node,
        right: fieldLiteral(scope, field, value),
      });
    }
    filter = parts.length === 1 ? parts[0]! : assertBuilderLimits(and(...parts));
  }
  const { limit, offset } = query;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) return undefined;
  if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 0)) return undefined;
  const base = shape.base;
  if (filter === undefined && limit === undefined && offset === undefined) return base;
  return {
    ...base,
    ...(filter === undefined ? {} : { filter }),
    ...(offset === undefined ? {} : { skip: offset }),
    ...(limit === undefined ? {} : { top: limit }),
  };
}
