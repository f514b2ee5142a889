/**
 * The provider-independent half of `$expand`: which navigation properties a read expands and
 * with which nested options ({@linkcode planExpansions}), which fields each level must read to
 * join the next ({@linkcode linkFieldsOf}), the parents' key tuples for one batched query
 * ({@linkcode parentLinks}) and how related rows attach to their parents
 * ({@linkcode attachRelated}). Providers keep only the executing: running one query per
 * navigation property and level (see `compileExpansion` in `expand.ts`) and decoding rows.
 *
 * Rules: `$expand=*` expands every navigation property one level (named items take precedence);
 * `$levels=n` on a navigation back to the same entity becomes n nested expansions; `$levels=max`
 * expands as deep as the data goes, up to `maxLevels` (and the `$expand` depth limit): one more
 * query proves the last level has no further rows, else the read fails with
 * `QUERY_LIMIT_EXCEEDED`. `$count=true` in the options of a collection also counts each parent's
 * related rows (one `GROUP BY` query per level), `Nav/$count` only counts them (the rows are not
 * read); the counts go on the parents (see `src/provider/expanded_counts.ts`). `Nav/$ref` reads
 * the related rows' keys only (entity references). Refused: `*($levels=...)`, multi-segment paths, a navigation named twice, and nesting deeper than the
 * query limits allow.
 *
 * @module
 */

import type { ExpandItem, ODataQuery } from "../odata/ast.ts";
import {
  type EntityMetadata,
  type RelationMetadata,
  resolveRelation,
  type SchemaResolver,
} from "../model/schema.ts";
import type { Row } from "../provider/provider.ts";
import { QueryLimitError } from "../errors/errors.ts";
import { DEFAULT_QUERY_LIMITS } from "../odata/limits.ts";
import { setExpandedCount } from "../provider/expanded_counts.ts";
import { selectProperty } from "../odata/select_path.ts";
import { entityScope, invalidArgument, notSupported, unknownField } from "./context.ts";

/**
 * How one navigation property of a level is expanded.
 *
 * @example
 * ```ts
 * import type { ExpansionPlan } from "./expansion_plan.ts";
 * declare const plan: ExpansionPlan;
 * plan.relation.localFields; // the parent's fields that find the related rows
 * ```
 */
export interface ExpansionPlan {
  /** The navigation property. */
  readonly name: string;
  /** The relation, `targetFields` resolved (the target's key when the schema left them out). */
  readonly relation: RelationMetadata;
  /** The related entity. */
  readonly target: EntityMetadata;
  /** The nested options without `$expand` and `$levels` (those are in `children`). */
  readonly query: ODataQuery;
  /** The expansions of the related rows, one level down. */
  readonly children: readonly ExpansionPlan[];
  /** The fields of the related rows the children join on ({@linkcode linkFieldsOf}). */
  readonly childLinkFields: readonly string[];
  /** Count each parent's related rows (`$count=true`, or `Nav/$count`). */
  readonly count: boolean;
  /** Read the related rows (false for `Nav/$count`: the count alone). */
  readonly rows: boolean;
  /**
   * Set on the query past the last level `$levels=max` may reach: any row it finds means the
   * data goes deeper than the limit (see {@linkcode checkOverflow}).
   */
  readonly overflow?: number;
}

const NONE: readonly ExpansionPlan[] = Object.freeze([]);
const NO_FIELDS: readonly string[] = Object.freeze([]);

/**
 * The fields a level reads (hidden unless selected) so its expansions can find their rows.
 *
 * @example
 * ```ts
 * import { linkFieldsOf, type ExpansionPlan } from "./expansion_plan.ts";
 * declare const plans: readonly ExpansionPlan[];
 * linkFieldsOf(plans); // e.g. ["CustomerID", "EmployeeID"]
 * ```
 */
export function linkFieldsOf(plans: readonly ExpansionPlan[]): readonly string[] {
  if (plans.length === 0) return NO_FIELDS;
  return [...new Set(plans.flatMap((plan) => plan.relation.localFields))];
}

/** `$levels=n` on `name` as n nested expansions of the same navigation property. */
function unrollLevels(
  item: ExpandItem,
  name: string,
  entity: EntityMetadata,
  target: EntityMetadata,
  depth: number,
): ODataQuery {
  const options = item.options ?? {};
  const { levels, ...rest } = options;
  if (levels === undefined) return options;
  if (target.name !== entity.name) {
    throw notSupported(`$levels on ${name}, which does not lead back to ${entity.name}`);
  }
  const n = levels === "max" ? maxLevelsAt(depth) : levels;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw invalidArgument(`$levels must be a positive integer, got ${levels}`);
  }
  if (n === 1) return rest;
  const again: ExpandItem = { path: [name], options: { ...rest, levels: n - 1 } };
  return { ...rest, expand: [...(rest.expand ?? []), again] };
}

/** How many levels `$levels=max` unrolls at `depth`: the levels limit, within the depth limit. */
function maxLevelsAt(depth: number): number {
  const { maxLevels, maxExpandDepth } = DEFAULT_QUERY_LIMITS;
  return Math.max(1, Math.min(maxLevels, maxExpandDepth - depth + 1));
}

/**
 * Appends, under the deepest `name` plan of a `$levels=max` chain, the query that must come back
 * empty (the overflow check), so the unrolled levels are known to be all there is.
 */
function withOverflowCheck(plan: ExpansionPlan, name: string, levels: number): ExpansionPlan {
  const deeper = plan.children.find((child) => child.name === name);
  let children: readonly ExpansionPlan[];
  if (deeper !== undefined) {
    const checked = withOverflowCheck(deeper, name, levels);
    children = plan.children.map((child) => child === deeper ? checked : child);
  } else {
    const check: ExpansionPlan = {
      ...plan,
      children: NONE,
      childLinkFields: NO_FIELDS,
      count: false,
      rows: true,
      overflow: levels,
    };
    children = [...plan.children, check];
  }
  return { ...plan, children, childLinkFields: linkFieldsOf(children) };
}

/**
 * Throws when the overflow check of a `$levels=max` expansion found rows: the data goes deeper
 * than the levels a read may expand.
 *
 * @example
 * ```ts
 * import { checkOverflow, type ExpansionPlan } from "./expansion_plan.ts";
 * declare const plan: ExpansionPlan;
 * checkOverflow(plan, 0); // no rows: fine
 * ```
 */
export function checkOverflow(plan: ExpansionPlan, rows: number): void {
  if (plan.overflow === undefined || rows === 0) return;
  throw new QueryLimitError("maxLevels", plan.overflow, {
    context: { navigation: plan.name },
    suggestion: `$levels=max on ${plan.name} reaches deeper than ${plan.overflow} levels: ` +
      "give a number of levels, or expand the deeper rows in a further request.",
  });
}

/**
 * `Nav/$ref`: the related rows' keys only (the endpoint writes their `@odata.id`), with the
 * options a reference list takes (`$filter`, `$search`, `$orderby`, `$skip`, `$top`, `$count`).
 */
function refQuery(item: ExpandItem, name: string, target: EntityMetadata): ODataQuery {
  const { filter, search, orderby, skip, top, count, ...other } = item.options ?? {};
  const extra = Object.entries(other).filter(([, value]) => value !== undefined);
  if (extra.length > 0) {
    throw invalidArgument(`${name}/$ref in $expand does not take $${extra[0]![0]}`);
  }
  return { filter, search, orderby, skip, top, count, select: target.key.map(selectProperty) };
}

/** The options `Nav/$count` takes: `$filter` and `$search` (OData 4.01). */
function countOnlyQuery(item: ExpandItem, name: string): ODataQuery {
  const { filter, search, ...other } = item.options ?? {};
  const extra = Object.entries(other).filter(([, value]) => value !== undefined);
  if (extra.length > 0) {
    throw invalidArgument(
      `${name}/$count in $expand takes only $filter and $search, not $${extra[0]![0]}`,
    );
  }
  return { filter, search };
}

/**
 * The expansion plans of `items` on `entity` (validated, `*` and `$levels` resolved), nested
 * plans included. `depth` is the level of `items` (1 for the request's own `$expand`).
 *
 * @example
 * ```ts
 * import { planExpansions } from "./expansion_plan.ts";
 * import type { EntityMetadata, SchemaResolver } from "../model/schema.ts";
 * declare const schema: SchemaResolver, employees: EntityMetadata;
 * const plans = planExpansions(schema, employees, [{ path: ["*"] }]);
 * plans.map((plan) => plan.name); // every navigation property of Employees
 * ```
 */
export function planExpansions(
  schema: SchemaResolver,
  entity: EntityMetadata,
  items: readonly ExpandItem[] | undefined,
  depth = 1,
): readonly ExpansionPlan[] {
  if (items === undefined || items.length === 0) return NONE;
  const maxDepth = DEFAULT_QUERY_LIMITS.maxExpandDepth;
  if (depth > maxDepth) throw new QueryLimitError("maxExpandDepth", maxDepth);
  const plans = new Map<string, ExpansionPlan>();
  const add = (name: string, item: ExpandItem) => {
    const { relation, target } = resolveRelation(schema, entity, name);
    const countOnly = item.count === true;
    const options = countOnly
      ? countOnlyQuery(item, name)
      : item.ref === true
      ? refQuery(item, name, target)
      : unrollLevels(item, name, entity, target, depth);
    const { expand, count, ...query } = options;
    if ((countOnly || count === true) && relation.kind === "one") {
      throw invalidArgument(`$count on ${name}, which is a single entity, not a collection`);
    }
    const children = planExpansions(schema, target, expand, depth + 1);
    let plan: ExpansionPlan = {
      name,
      relation,
      target,
      query,
      children,
      childLinkFields: linkFieldsOf(children),
      count: countOnly || count === true,
      rows: !countOnly,
    };
    if (item.options?.levels === "max") plan = withOverflowCheck(plan, name, maxLevelsAt(depth));
    plans.set(name, plan);
  };
  const stars: ExpandItem[] = [];
  for (const item of items) {
    if (item.path[0] === "*") {
      stars.push(item);
      continue;
    }
    if (item.path.length !== 1) {
      throw notSupported(`the expand path ${item.path.join("/")} (type casts or complex steps)`);
    }
    const name = item.path[0]!;
    if (!entity.relations.has(name)) {
      if (entity.fields.has(name)) {
        throw invalidArgument(`'${name}' is a field of ${entity.name}, not a navigation property`);
      }
      throw unknownField(entityScope(entity, "t"), name);
    }
    if (plans.has(name)) throw invalidArgument(`'${name}' appears in more than one $expand item`);
    add(name, item);
  }
  for (const star of stars) {
    if (star.path.length !== 1) throw notSupported(`the expand path ${star.path.join("/")}`);
    if (star.options?.levels !== undefined) throw notSupported("$expand=*($levels=...)");
    for (const name of entity.relations.keys()) {
      if (!plans.has(name)) add(name, { ...star, path: [name] });
    }
  }
  return [...plans.values()];
}

/**
 * A map key for one stored link value: 1 and 1.0 and "1" meet (as they do in SQL), bytes by
 * content, instants by time.
 */
function linkPart(value: unknown): string {
  if (value instanceof Uint8Array) return `b:${value.join(",")}`;
  if (value instanceof Date) return `d:${value.getTime()}`;
  return String(value);
}

/**
 * The link key of one row over `fields` (read with `read`), or `undefined` when a part is null.
 *
 * @example
 * ```ts
 * import { linkKey } from "./expansion_plan.ts";
 * const row: Record<string, unknown> = { OrderID: 10248, ProductID: 11 };
 * linkKey(row, ["OrderID", "ProductID"], (r, f) => r[f]); // "10248\u000011"
 * ```
 */
export function linkKey<S>(
  source: S,
  fields: readonly string[],
  read: (source: S, field: string) => unknown,
): string | undefined {
  if (fields.length === 1) {
    const value = read(source, fields[0]!);
    return value === null || value === undefined ? undefined : linkPart(value);
  }
  let key = "";
  for (let i = 0; i < fields.length; i++) {
    const value = read(source, fields[i]!);
    if (value === null || value === undefined) return undefined;
    key += i === 0 ? linkPart(value) : `\u0000${linkPart(value)}`;
  }
  return key;
}

/**
 * The parents' link keys (one per parent, `undefined` for a null part) and their distinct key
 * tuples as stored (the values one batched expansion query is restricted to).
 *
 * @example
 * ```ts
 * import { parentLinks } from "./expansion_plan.ts";
 * const parents: Record<string, unknown>[] = [
 *   { CustomerID: "ALFKI" },
 *   { CustomerID: null },
 *   { CustomerID: "ALFKI" },
 * ];
 * const { keys, tuples } = parentLinks(parents, ["CustomerID"], (r, f) => r[f]);
 * tuples; // [["ALFKI"]]
 * ```
 */
export function parentLinks<S>(
  parents: readonly S[],
  fields: readonly string[],
  read: (source: S, field: string) => unknown,
): { keys: (string | undefined)[]; tuples: unknown[][] } {
  const keys: (string | undefined)[] = new Array(parents.length);
  const tuples = new Map<string, unknown[]>();
  const single = fields.length === 1 ? fields[0]! : undefined;
  for (let i = 0; i < parents.length; i++) {
    const parent = parents[i]!;
    if (single !== undefined) {
      // The common case: one link field, read once.
      const value = read(parent, single);
      const key = value === null || value === undefined ? undefined : linkPart(value);
      keys[i] = key;
      if (key !== undefined && !tuples.has(key)) tuples.set(key, [value]);
      continue;
    }
    const key = linkKey(parent, fields, read);
    keys[i] = key;
    if (key !== undefined && !tuples.has(key)) {
      tuples.set(key, fields.map((field) => read(parent, field)));
    }
  }
  return { keys, tuples: [...tuples.values()] };
}

/** Sets an expanded navigation property on a row (records built by a row builder have theirs). */
type Attach = (row: Row, name: string, value: Row | Row[] | null) => void;

/**
 * Attaches related rows to their parents: the first match or null for a to-one relation, a new
 * array (possibly empty) per parent for a to-many one. `childKeys[i]` is the link key of
 * `children[i]` over the relation's target fields; `parentKeys` come from {@linkcode parentLinks}.
 *
 * @example
 * ```ts
 * import { attachRelated, type ExpansionPlan } from "./expansion_plan.ts";
 * declare const plan: ExpansionPlan;
 * const order: Record<string, unknown> = {};
 * attachRelated(plan, [order], ["10248"], [{ ProductID: 11 }], ["10248"], (row, name, value) => {
 *   row[name] = value;
 * });
 * ```
 */
export function attachRelated(
  plan: ExpansionPlan,
  parents: readonly Row[],
  parentKeys: readonly (string | undefined)[],
  children: readonly Row[],
  childKeys: readonly (string | undefined)[],
  attach: Attach,
): void {
  const byParent = new Map<string, Row[]>();
  for (let i = 0; i < children.length; i++) {
    const key = childKeys[i];
    if (key === undefined) continue;
    const list = byParent.get(key);
    if (list === undefined) byParent.set(key, [children[i]!]);
    else list.push(children[i]!);
  }
  const one = plan.relation.kind === "one";
  for (let i = 0; i < parents.length; i++) {
    const key = parentKeys[i];
    const related = key === undefined ? undefined : byParent.get(key);
    // Every parent gets its own array: rows are handed out as mutable records.
    attach(parents[i]!, plan.name, one ? related?.[0] ?? null : related?.slice() ?? []);
  }
}

/**
 * Puts on each parent the count of its related rows under `plan.name` (0 when it has none or a
 * null link). `counts` maps a link key (as {@linkcode linkKey} makes it) to the count of the rows
 * of one `GROUP BY` row.
 *
 * @example
 * ```ts
 * import { attachCounts, type ExpansionPlan } from "./expansion_plan.ts";
 * import { expandedCount } from "../provider/expanded_counts.ts";
 * declare const plan: ExpansionPlan;
 * const order: Record<string, unknown> = {};
 * attachCounts(plan, [order], ["10248"], new Map([["10248", 3]]));
 * expandedCount(order, plan.name); // 3
 * ```
 */
export function attachCounts(
  plan: ExpansionPlan,
  parents: readonly Row[],
  parentKeys: readonly (string | undefined)[],
  counts: ReadonlyMap<string, number>,
): void {
  for (let i = 0; i < parents.length; i++) {
    const key = parentKeys[i];
    setExpandedCount(parents[i]!, plan.name, key === undefined ? 0 : counts.get(key) ?? 0);
  }
}
