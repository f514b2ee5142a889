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
 * Which expansions run, with which options, and how related rows attach to their parents is
 * planned by the shared `src/sql/expansion_plan.ts` (the PostgreSQL provider uses the same):
 * `$expand=*` expands every navigation property one level (named items take precedence);
 * `$levels=n` on a navigation back to the same entity is rewritten to n nested expansions
 * (`$levels=max`: as deep as the data goes, within the query limits). `$count=true` inside
 * `$expand` and `Nav/$count` run one more batched `GROUP BY` query per level; the counts go on
 * the parent rows (`src/provider/expanded_counts.ts`); `Nav/$ref` reads the related keys only.
 * Not supported: multi-segment expand paths, `$apply` inside `$expand`, and expansions in
 * streamed reads.
 *
 * @module
 */

import type { EntityMetadata, SchemaResolver } from "../../src/model/schema.ts";
import type { ReadRequest, ReadResult, Row, RowBuilder } from "../../src/provider/provider.ts";
import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import type { SqlValue } from "./values.ts";
import {
  attachCounts,
  attachRelated,
  checkOverflow,
  type ExpansionPlan,
  linkFieldsOf,
  linkKey,
  notSupported,
  parentLinks,
  type PlanCache,
  planExpansions,
} from "../../src/sql/mod.ts";
import { compileExpansion, compileExpansionCount, type ExpansionRequest } from "./compiler.ts";
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

// --- executing --------------------------------------------------------------------------------

/** A node's stored value of a field, by the column positions of its shape. */
function storedReader(
  positions: ReadonlyMap<string, number>,
): (node: Node, field: string) => unknown {
  return (node, field) => node.stored[positions.get(field)!];
}

/** The related rows' counts per parent link key: one `GROUP BY` query per chunk of keys. */
function countRelated(
  source: Source,
  schema: SchemaResolver,
  parent: EntityMetadata,
  plan: ExpansionPlan,
  all: readonly SqlValue[][],
): Map<string, number> {
  const counts = new Map<string, number>();
  const fields = plan.relation.targetFields;
  for (let start = 0; start < all.length; start += EXPAND_CHUNK_SIZE) {
    checkSignal(source.signal);
    const compiled = compileExpansionCount({
      schema,
      parent,
      navigation: plan.name,
      query: plan.query,
      keys: all.slice(start, start + EXPAND_CHUNK_SIZE),
    });
    const n = fields.length;
    for (const stored of storedValues(source.executor, compiled)) {
      const key = linkKey(stored, fields, (values, field) => values[fields.indexOf(field)]);
      if (key !== undefined) counts.set(key, Number(stored[n]));
    }
  }
  return counts;
}

function expand(
  source: Source,
  schema: SchemaResolver,
  parent: EntityMetadata,
  parents: Level,
  plans: readonly ExpansionPlan[],
): void {
  const read = storedReader(parents.positions);
  for (const plan of plans) {
    const { relation } = plan;
    const links = parentLinks(parents.nodes, relation.localFields, read);
    const all = links.tuples as SqlValue[][];
    if (plan.count) {
      const counts = countRelated(source, schema, parent, plan, all);
      attachCounts(plan, parents.nodes.map((node) => node.row), links.keys, counts);
    }
    if (!plan.rows) continue;
    const children: Node[] = [];
    let childPositions: ReadonlyMap<string, number> = new Map();
    let childAttach: Attach = plainAttach;
    for (let start = 0; start < all.length; start += EXPAND_CHUNK_SIZE) {
      checkSignal(source.signal);
      const request: ExpansionRequest = {
        schema,
        parent,
        navigation: plan.name,
        query: plan.query,
        keys: all.slice(start, start + EXPAND_CHUNK_SIZE),
        keyFields: plan.childLinkFields,
      };
      const compiled = source.plans === undefined
        ? compileExpansion(request)
        : source.plans.expansion(request);
      childPositions = positionsOf(compiled.columns);
      const { decode, attach } = decoderFor(compiled.columns, plan.target, source.rowBuilder);
      childAttach = attach;
      for (const node of fetch(source.executor, compiled, decode)) children.push(node);
    }
    checkOverflow(plan, children.length);
    // One query per navigation property of the next level, over all children at once.
    const next: Level = { nodes: children, positions: childPositions, attach: childAttach };
    expand(source, schema, plan.target, next, plan.children);
    const childRead = storedReader(childPositions);
    const childKeys = children.map((node) => linkKey(node, relation.targetFields, childRead));
    const childRows = children.map((node) => node.row);
    const parentRows = parents.nodes.map((node) => node.row);
    attachRelated(plan, parentRows, links.keys, childRows, childKeys, parents.attach);
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
  const expansions = planExpansions(request.schema, request.entity, request.query.expand);
  const keyFields = linkFieldsOf(expansions);
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
