/**
 * The read executor: runs compiled reads through a minimal synchronous executor and decodes
 * rows to canonical values. `$expand` runs one batched query per navigation property and level
 * (parents' keys in chunks of {@linkcode EXPAND_CHUNK_SIZE}), never one query per row, then
 * stitches related rows to their parents: an object or null for to-one, an array for to-many.
 * Link columns fetched only for stitching never appear in the rows.
 *
 * Rows are fetched as arrays of column values when the executor offers it (`values`), decoded by
 * a per-shape decoder (`decode.ts`), and statements come from a {@linkcode PlanCache} when the
 * caller passes one.
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
import type { ReadRequest, ReadResult, Row, RowBuilder } from "../../src/provider/provider.ts";
import { ODataActiveRecordError, QueryLimitError } from "../../src/errors/errors.ts";
import { DEFAULT_QUERY_LIMITS } from "../../src/odata/limits.ts";
import type { SqlValue } from "./values.ts";
import {
  entityScope,
  invalidArgument,
  notSupported,
  type PlanCache,
  unknownField,
} from "../../src/sql/mod.ts";
import { compileExpansion, type ExpansionRequest } from "./compiler.ts";
import { compileCount, type CompiledRead, compileRead, type ResultColumn } from "./compiler.ts";
import { builtRowDecoder, type RowDecoder, rowDecoder, setOwn } from "./decode.ts";

/**
 * What the executor needs from a database connection (the driver implements it over
 * `node:sqlite`'s `DatabaseSync` with a statement cache). Rows are objects keyed by column alias.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import type { SqliteExecutor } from "./read.ts";
 * import type { SqlValue } from "./values.ts";
 * const db = new DatabaseSync(":memory:");
 * const executor: SqliteExecutor = {
 *   all: (sql, params) => db.prepare(sql).all(...(params as SqlValue[])) as Record<string, unknown>[],
 *   iterate: (sql, params) => db.prepare(sql).iterate(...(params as SqlValue[])) as IterableIterator<Record<string, unknown>>,
 * };
 * ```
 */
export interface SqliteExecutor {
  /** Every row of a query. */
  all(sql: string, params: readonly unknown[]): Record<string, unknown>[];
  /** The rows of a query one at a time. */
  iterate(sql: string, params: readonly unknown[]): IterableIterator<Record<string, unknown>>;
  /** Optional, preferred for reads: every row as its column values in SELECT order. */
  values?(sql: string, params: readonly unknown[]): unknown[][];
  /** Optional, preferred for streams: the rows one at a time as column values. */
  iterateValues?(sql: string, params: readonly unknown[]): IterableIterator<unknown[]>;
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

/** A decoded row with the stored column values it came from (link columns stitch expansions). */
interface Node {
  readonly row: Row;
  readonly stored: readonly unknown[];
}

/** Sets an expanded navigation property of a row. */
type Attach = (row: Row, name: string, value: Row | Row[] | null) => void;

/** Rows of one compiled shape, and the column position of each single-step property. */
interface Level {
  readonly nodes: readonly Node[];
  readonly positions: ReadonlyMap<string, number>;
  /** How navigation values are set on these rows (records built by a row builder have theirs). */
  readonly attach: Attach;
}

/** Where rows come from: the executor, and the plan cache when the caller keeps one. */
interface Source {
  readonly executor: SqliteExecutor;
  readonly plans: PlanCache | undefined;
  readonly signal: AbortSignal | undefined;
  readonly rowBuilder: ReadRequest["rowBuilder"];
}

interface ExpansionPlan {
  readonly name: string;
  readonly relation: RelationMetadata;
  readonly target: EntityMetadata;
  readonly query: ODataQuery;
  readonly children: readonly ExpansionPlan[];
}

/**
 * Throws when `signal` has fired: `TIMEOUT` for an `AbortSignal.timeout()`, `ABORTED` for any
 * other reason (an error of the module given as the reason is thrown as it is).
 *
 * @example
 * ```ts
 * import { checkSignal } from "./read.ts";
 * checkSignal(AbortSignal.timeout(1000)); // not fired yet: returns
 * ```
 */
export function checkSignal(signal: AbortSignal | undefined): void {
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

const NO_FIELDS: readonly string[] = Object.freeze([]);

const positionMaps = new WeakMap<readonly ResultColumn[], ReadonlyMap<string, number>>();

/** The column position of each single-step property of a compiled read (made once per shape). */
function positionsOf(columns: readonly ResultColumn[]): ReadonlyMap<string, number> {
  let positions = positionMaps.get(columns);
  if (positions === undefined) {
    positions = new Map();
    columns.forEach((c, i) => {
      if (c.path.length === 1) (positions as Map<string, number>).set(c.path[0]!, i);
    });
    positionMaps.set(columns, positions);
  }
  return positions;
}

/** Every row of a compiled read as column values in SELECT order. */
function storedValues(executor: SqliteExecutor, compiled: CompiledRead): unknown[][] {
  if (executor.values !== undefined) return executor.values(compiled.sql, compiled.params);
  const { columns } = compiled;
  return executor.all(compiled.sql, compiled.params).map((row) => columns.map((c) => row[c.alias]));
}

const plainAttach: Attach = setOwn;

/**
 * The decoder for rows of `entity` in a compiled shape: straight into the request's row builder's
 * objects when it has one for the entity and the shape holds fields only, else plain rows.
 */
function decoderFor(
  columns: readonly ResultColumn[],
  entity: EntityMetadata,
  rowBuilder: ReadRequest["rowBuilder"],
): { decode: RowDecoder; attach: Attach } {
  const builder: RowBuilder | undefined = rowBuilder?.(entity);
  const built = builder === undefined
    ? undefined
    : builtRowDecoder(columns, entity.fields, builder);
  return built === undefined
    ? { decode: rowDecoder(columns), attach: plainAttach }
    : { decode: built, attach: builder!.attach };
}

/** Runs a compiled read and decodes its rows, keeping the stored values for stitching. */
function fetch(executor: SqliteExecutor, compiled: CompiledRead, decode: RowDecoder): Node[] {
  const stored = storedValues(executor, compiled);
  const nodes: Node[] = new Array(stored.length);
  for (let i = 0; i < stored.length; i++) {
    nodes[i] = { row: decode(stored[i]!), stored: stored[i]! };
  }
  return nodes;
}

/** A map key for a tuple of stored values (1 and 1.0 and "1" meet, as they do in SQL). */
function linkKey(values: readonly unknown[]): string | undefined {
  if (values.some((v) => v === null || v === undefined)) return undefined;
  return values.map(linkPart).join("\u0000");
}

function linkPart(value: unknown): string {
  return value instanceof Uint8Array ? `b:${[...value].join(",")}` : String(value);
}

/** The link key of a node over `fields` (the common single field without an array). */
function nodeKey(
  node: Node,
  fields: readonly string[],
  positions: ReadonlyMap<string, number>,
): string | undefined {
  if (fields.length === 1) {
    const value = node.stored[positions.get(fields[0]!)!];
    return value === null || value === undefined ? undefined : linkPart(value);
  }
  return linkKey(fields.map((f) => node.stored[positions.get(f)!]));
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
  source: Source,
  schema: SchemaResolver,
  parent: EntityMetadata,
  parents: Level,
  plans: readonly ExpansionPlan[],
): void {
  for (const plan of plans) {
    const { relation } = plan;
    // Each parent's link key, computed once for the query and again for stitching.
    const parentKeys = parents.nodes.map((node) =>
      nodeKey(node, relation.localFields, parents.positions)
    );
    const tuples = new Map<string, SqlValue[]>();
    parents.nodes.forEach((node, i) => {
      const key = parentKeys[i];
      if (key === undefined) return;
      const values = relation.localFields.map((f) => node.stored[parents.positions.get(f)!]);
      tuples.set(key, values as SqlValue[]);
    });
    const keyFields = [...new Set(plan.children.flatMap((child) => child.relation.localFields))];
    const children: Node[] = [];
    let childPositions: ReadonlyMap<string, number> = new Map();
    let childAttach: Attach = plainAttach;
    const byParent = new Map<string, Row[]>();
    const all = [...tuples.values()];
    for (let start = 0; start < all.length; start += EXPAND_CHUNK_SIZE) {
      checkSignal(source.signal);
      const request: ExpansionRequest = {
        schema,
        parent,
        navigation: plan.name,
        query: plan.query,
        keys: all.slice(start, start + EXPAND_CHUNK_SIZE),
        keyFields,
      };
      const compiled = source.plans === undefined
        ? compileExpansion(request)
        : source.plans.expansion(request);
      childPositions = positionsOf(compiled.columns);
      const { decode, attach } = decoderFor(compiled.columns, plan.target, source.rowBuilder);
      childAttach = attach;
      for (const node of fetch(source.executor, compiled, decode)) {
        children.push(node);
        const key = nodeKey(node, relation.targetFields, childPositions)!;
        const list = byParent.get(key);
        if (list === undefined) byParent.set(key, [node.row]);
        else list.push(node.row);
      }
    }
    // One query per navigation property of the next level, over all children at once.
    const next: Level = { nodes: children, positions: childPositions, attach: childAttach };
    expand(source, schema, plan.target, next, plan.children);
    parents.nodes.forEach((node, i) => {
      const key = parentKeys[i];
      const related = key === undefined ? undefined : byParent.get(key);
      // Every parent gets its own array: rows are handed out as mutable records.
      const value = relation.kind === "one" ? related?.[0] ?? null : related?.slice() ?? [];
      parents.attach(node.row, plan.name, value);
    });
  }
}

/**
 * Reads rows with their expansions and, when `query.count` is true, the total count. With
 * `plans`, statements come from (and go into) that cache instead of being compiled every time.
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
  plans?: PlanCache,
): ReadResult {
  checkSignal(signal);
  const expansions = planExpansions(request.schema, request.entity, request.query.expand, 1);
  const keyFields = expansions.length === 0
    ? NO_FIELDS
    : [...new Set(expansions.flatMap((plan) => plan.relation.localFields))];
  const compiled = plans === undefined
    ? compileRead(request, { keyFields })
    : plans.read(request, keyFields);
  let rows: Row[];
  if (expansions.length === 0) {
    // No stitching: decode straight into the result.
    const { decode } = decoderFor(compiled.columns, request.entity, request.rowBuilder);
    const stored = storedValues(executor, compiled);
    rows = new Array(stored.length);
    for (let i = 0; i < stored.length; i++) rows[i] = decode(stored[i]!);
  } else {
    const { decode, attach } = decoderFor(compiled.columns, request.entity, request.rowBuilder);
    const nodes = fetch(executor, compiled, decode);
    const source: Source = { executor, plans, signal, rowBuilder: request.rowBuilder };
    const level: Level = { nodes, positions: positionsOf(compiled.columns), attach };
    expand(source, request.schema, request.entity, level, expansions);
    rows = nodes.map((node) => node.row);
  }
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
 * Streams decoded rows one by one (flat memory). `$expand` is not supported here. `plans` as in
 * {@linkcode executeRead}.
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
  plans?: PlanCache,
): Generator<Row, void, undefined> {
  checkSignal(signal);
  const compiled = compileStream(request, plans);
  const decode = rowDecoder(compiled.columns);
  const { columns } = compiled;
  const rows = executor.iterateValues !== undefined
    ? executor.iterateValues(compiled.sql, compiled.params)
    : Iterator.from(executor.iterate(compiled.sql, compiled.params))
      .map((row) => columns.map((c) => row[c.alias]));
  for (const stored of rows) {
    checkSignal(signal);
    yield decode(stored);
  }
}

/**
 * Compiles a streamed read (refusing `$expand`), from `plans` when given.
 *
 * @example
 * ```ts
 * import { compileStream } from "./read.ts";
 * import type { ReadRequest } from "../../src/provider/provider.ts";
 * declare const request: ReadRequest;
 * const { sql, params, columns } = compileStream(request);
 * ```
 */
export function compileStream(request: ReadRequest, plans?: PlanCache): CompiledRead {
  if (request.query.expand !== undefined && request.query.expand.length > 0) {
    throw notSupported("$expand in streamed reads", "Use read() for expansions.");
  }
  return plans === undefined ? compileRead(request) : plans.read(request, NO_FIELDS);
}
