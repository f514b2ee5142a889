/**
 * The read executor: runs compiled reads through a minimal synchronous executor and decodes
 * rows to canonical values. `$expand` runs one batched query per navigation property and level
 * (parents' keys in chunks of {@linkcode EXPAND_CHUNK_SIZE}), never one query per row, then
 * stitches related rows to their parents: an object or null for to-one, an array for to-many.
 * Link columns fetched only for stitching never appear in the rows.
 *
 * `$expand=*` expands every navigation property one level (named items take precedence);
 * `$levels=n` on a navigation back to the same entity is rewritten to n nested expansions.
 * Not supported: `$ref`, `/$count` and `$count` inside `$expand`, `$levels=max`, multi-segment
 * expand paths, `$apply` inside `$expand`, and expansions in streamed reads.
 *
 * @module
 */

import type { ExpandItem, ODataQuery } from "../../src/odata/ast.ts";
import {
  type EntityMetadata,
  type RelationMetadata,
  resolveRelation,
  type SchemaResolver,
} from "../../src/model/schema.ts";
import type { ReadRequest, ReadResult, Row } from "../../src/provider/provider.ts";
import { ODataActiveRecordError, QueryLimitError } from "../../src/errors/errors.ts";
import { DEFAULT_QUERY_LIMITS } from "../../src/odata/limits.ts";
import { decodeValue, type SqlValue } from "./values.ts";
import { entityScope, invalidArgument, notSupported, unknownField } from "./compiler/context.ts";
import { compileExpansion } from "./compiler/expand.ts";
import { compileCount, compileRead, type ResultColumn } from "./compiler/select.ts";

/**
 * What the executor needs from a database connection (the driver implements it over
 * `node:sqlite`'s `DatabaseSync` with a statement cache). Rows are objects keyed by column alias.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import type { SqliteExecutor } from "./read.ts";
 * const db = new DatabaseSync(":memory:");
 * const executor: SqliteExecutor = {
 *   all: (sql, params) => db.prepare(sql).all(...params) as Record<string, unknown>[],
 *   iterate: (sql, params) => db.prepare(sql).iterate(...params) as IterableIterator<Record<string, unknown>>,
 * };
 * ```
 */
export interface SqliteExecutor {
  /** Every row of a query. */
  all(sql: string, params: readonly SqlValue[]): Record<string, unknown>[];
  /** The rows of a query one at a time. */
  iterate(sql: string, params: readonly SqlValue[]): IterableIterator<Record<string, unknown>>;
}

/**
 * How many parent keys one expansion query carries at most.
 *
 * @example
 * ```ts
 * import { EXPAND_CHUNK_SIZE } from "./read.ts";
 * EXPAND_CHUNK_SIZE; // 500
 * ```
 */
export const EXPAND_CHUNK_SIZE = 500;

/** A decoded row with the raw values of its single-step columns (for stitching). */
interface Node {
  readonly row: Row;
  readonly raw: ReadonlyMap<string, unknown>;
}

interface ExpansionPlan {
  readonly name: string;
  readonly relation: RelationMetadata;
  readonly target: EntityMetadata;
  readonly query: ODataQuery;
  readonly children: readonly ExpansionPlan[];
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted !== true) return;
  const reason: unknown = signal.reason;
  if (reason instanceof ODataActiveRecordError) throw reason;
  const timeout = reason instanceof DOMException && reason.name === "TimeoutError";
  throw new ODataActiveRecordError(
    timeout ? "TIMEOUT" : "ABORTED",
    timeout ? "The read timed out" : "The read was aborted",
    {
      cause: reason,
    },
  );
}

/** Sets a property even when its name is `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

function decodeNode(stored: Record<string, unknown>, columns: readonly ResultColumn[]): Node {
  const row: Row = {};
  const raw = new Map<string, unknown>();
  for (const column of columns) {
    const value = stored[column.alias];
    if (column.path.length === 1) raw.set(column.path[0]!, value);
    if (column.hidden) continue;
    const decoded = decodeValue({
      type: column.type,
      name: column.alias,
      definition: { scale: column.scale },
    }, value);
    let target: Record<string, unknown> = row;
    for (const step of column.path.slice(0, -1)) {
      if (!Object.hasOwn(target, step)) setOwn(target, step, {});
      target = target[step] as Record<string, unknown>;
    }
    setOwn(target, column.path[column.path.length - 1]!, decoded);
  }
  return { row, raw };
}

/** A map key for a tuple of stored values (1 and 1.0 and "1" meet, as they do in SQL). */
function linkKey(values: readonly unknown[]): string | undefined {
  if (values.some((v) => v === null || v === undefined)) return undefined;
  return values.map((v) => v instanceof Uint8Array ? `b:${[...v].join(",")}` : String(v)).join(
    "\u0000",
  );
}

// --- expansion planning -----------------------------------------------------------------------

function rewriteLevels(
  item: ExpandItem,
  name: string,
  entity: EntityMetadata,
  target: EntityMetadata,
): ODataQuery {
  const options = item.options ?? {};
  const { levels, ...rest } = options;
  if (levels === undefined) return options;
  if (levels === "max") throw notSupported("$levels=max", "Give a number of levels.");
  if (!Number.isSafeInteger(levels) || levels < 1) {
    throw invalidArgument(`$levels must be a positive integer, got ${levels}`);
  }
  if (target.name !== entity.name) {
    throw notSupported(`$levels on ${name}, which does not lead back to ${entity.name}`);
  }
  if (levels === 1) return rest;
  const again: ExpandItem = { path: [name], options: { ...rest, levels: levels - 1 } };
  return { ...rest, expand: [...(rest.expand ?? []), again] };
}

function planExpansions(
  schema: SchemaResolver,
  entity: EntityMetadata,
  items: readonly ExpandItem[] | undefined,
  depth: number,
): ExpansionPlan[] {
  if (items === undefined || items.length === 0) return [];
  const maxDepth = DEFAULT_QUERY_LIMITS.maxExpandDepth;
  if (depth > maxDepth) throw new QueryLimitError("maxExpandDepth", maxDepth);
  const named = items.filter((item) => item.path[0] !== "*");
  const stars = items.filter((item) => item.path[0] === "*");
  const plans = new Map<string, ExpansionPlan>();
  const add = (name: string, item: ExpandItem) => {
    if (item.ref === true) throw notSupported("$ref in $expand");
    if (item.count === true) throw notSupported("/$count in $expand");
    const { target } = resolveRelation(schema, entity, name);
    const options = rewriteLevels(item, name, entity, target);
    const { expand, ...query } = options;
    plans.set(name, {
      name,
      relation: resolveRelation(schema, entity, name).relation,
      target,
      query,
      children: planExpansions(schema, target, expand, depth + 1),
    });
  };
  for (const item of named) {
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

// --- executing --------------------------------------------------------------------------------

function expand(
  executor: SqliteExecutor,
  schema: SchemaResolver,
  parent: EntityMetadata,
  parents: readonly Node[],
  plans: readonly ExpansionPlan[],
  signal: AbortSignal | undefined,
): void {
  for (const plan of plans) {
    const { relation } = plan;
    const tuples = new Map<string, SqlValue[]>();
    for (const node of parents) {
      const values = relation.localFields.map((f) => node.raw.get(f));
      const key = linkKey(values);
      if (key !== undefined) tuples.set(key, values as SqlValue[]);
    }
    const keyFields = [...new Set(plan.children.flatMap((child) => child.relation.localFields))];
    const children: Node[] = [];
    const byParent = new Map<string, Node[]>();
    const all = [...tuples.values()];
    for (let start = 0; start < all.length; start += EXPAND_CHUNK_SIZE) {
      checkSignal(signal);
      const compiled = compileExpansion({
        schema,
        parent,
        navigation: plan.name,
        query: plan.query,
        keys: all.slice(start, start + EXPAND_CHUNK_SIZE),
        keyFields,
      });
      for (const stored of executor.all(compiled.sql, compiled.params)) {
        const node = decodeNode(stored, compiled.columns);
        children.push(node);
        const key = linkKey(relation.targetFields.map((f) => node.raw.get(f)))!;
        const list = byParent.get(key);
        if (list === undefined) byParent.set(key, [node]);
        else list.push(node);
      }
    }
    // One query per navigation property of the next level, over all children at once.
    expand(executor, schema, plan.target, children, plan.children, signal);
    for (const node of parents) {
      const key = linkKey(relation.localFields.map((f) => node.raw.get(f)));
      const related = key === undefined ? [] : byParent.get(key) ?? [];
      const value = relation.kind === "one" ? related[0]?.row ?? null : related.map((n) => n.row);
      setOwn(node.row, plan.name, value);
    }
  }
}

/**
 * Reads rows with their expansions and, when `query.count` is true, the total count.
 *
 * @example
 * ```ts
 * import { executeRead, type SqliteExecutor } from "./read.ts";
 * import type { ReadRequest } from "../../src/provider/provider.ts";
 * declare const executor: SqliteExecutor, request: ReadRequest;
 * const { rows, count } = executeRead(executor, request);
 * ```
 */
export function executeRead(
  executor: SqliteExecutor,
  request: ReadRequest,
  signal?: AbortSignal,
): ReadResult {
  checkSignal(signal);
  const plans = planExpansions(request.schema, request.entity, request.query.expand, 1);
  const keyFields = [...new Set(plans.flatMap((plan) => plan.relation.localFields))];
  const compiled = compileRead(request, { keyFields });
  const nodes = executor.all(compiled.sql, compiled.params).map((stored) =>
    decodeNode(stored, compiled.columns)
  );
  expand(executor, request.schema, request.entity, nodes, plans, signal);
  const rows = nodes.map((node) => node.row);
  if (request.query.count !== true) return { rows };
  return { rows, count: executeCount(executor, request, signal) };
}

/**
 * Counts the rows a read matches, ignoring `$orderby`, `$skip` and `$top`.
 *
 * @example
 * ```ts
 * import { executeCount, type SqliteExecutor } from "./read.ts";
 * import type { ReadRequest } from "../../src/provider/provider.ts";
 * declare const executor: SqliteExecutor, request: ReadRequest;
 * const total: number = executeCount(executor, request);
 * ```
 */
export function executeCount(
  executor: SqliteExecutor,
  request: ReadRequest,
  signal?: AbortSignal,
): number {
  checkSignal(signal);
  const compiled = compileCount(request);
  const row = executor.all(compiled.sql, compiled.params)[0];
  return Number(row?.count ?? 0);
}

/**
 * Streams decoded rows one by one (flat memory). `$expand` is not supported here.
 *
 * @example
 * ```ts
 * import { streamRows, type SqliteExecutor } from "./read.ts";
 * import type { ReadRequest } from "../../src/provider/provider.ts";
 * declare const executor: SqliteExecutor, request: ReadRequest;
 * for (const row of streamRows(executor, request)) console.log(row);
 * ```
 */
export function* streamRows(
  executor: SqliteExecutor,
  request: ReadRequest,
  signal?: AbortSignal,
): Generator<Row, void, undefined> {
  if (request.query.expand !== undefined && request.query.expand.length > 0) {
    throw notSupported("$expand in streamed reads", "Use read() for expansions.");
  }
  checkSignal(signal);
  const compiled = compileRead(request);
  for (const stored of executor.iterate(compiled.sql, compiled.params)) {
    checkSignal(signal);
    yield decodeNode(stored, compiled.columns).row;
  }
}
