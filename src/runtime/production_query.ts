/**
 * The original design's object form of a query (`{ where, limit, orderBy, select }`) or an
 * OData query string, turned into an Active Record query.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import { closestName } from "../errors/suggest.ts";
import type { EntityModel } from "../model/model.ts";
import type { Query } from "../model/query.ts";
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
