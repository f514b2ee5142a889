/**
 * The operations of the PostgreSQL provider in one scope (the pool, or one transaction): reads
 * with batched `$expand` levels, cursor streams, counts and writes. Every statement honours the
 * caller's `signal` (cancelled on the server) and maps errors onto the catalogue.
 *
 * @module
 */

import { NotSupportedError, throwIfAborted } from "../../src/errors/errors.ts";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  InsertOptions,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  RowBuilder,
  WriteTarget,
} from "../../src/provider/provider.ts";
import {
  compileCount,
  compileDelete,
  type CompiledRead,
  type CompiledStatement,
  compileExpansion,
  compileExpansionCount,
  compileInsert,
  compileRead,
  compileUpdate,
  quoteIdentifier,
  transforms,
} from "./compiler.ts";
import {
  attachCounts,
  attachRelated,
  checkOverflow,
  type ExpansionPlan,
  linkFieldsOf,
  linkKey,
  parentLinks,
  planExpansions,
  type ResultColumn,
} from "../../src/sql/mod.ts";
import type { Pool } from "./connection.ts";
import { mapPostgresError } from "./errors.ts";
import { fieldDecoder } from "./values.ts";

/** Most parameters of one statement (the protocol's limit). */
const MAX_PARAMETERS = 65_534;
/**
 * Rows per INSERT of a bulk insert (fewer when the parameter limit needs it): big enough that a
 * statement's fixed costs vanish, small enough that the server never plans a giant statement.
 */
const BULK_ROWS = 4096;
/** Bulk insert statements in flight at once on the transaction's connection. */
const PIPELINE_DEPTH = 4;
/** Rows a stream fetches per round trip from its server-side cursor. */
const STREAM_BATCH = 200;

/** Something that runs SQL: the pool, or a transaction's reserved connection. */
export type Executor = Pick<Pool, "unsafe">;

/** A transaction's connection: statements, and savepoints as nested scopes. */
export type TransactionSql = Executor & {
  savepoint<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T>;
};

/** How the operations run statements: on the pool or in one transaction. */
export interface Scope {
  /** The executor, after checking that the provider and transaction are open. */
  executor(): Executor;
  /** Marks the transaction failed after a statement error. */
  failed(): void;
  /** A nested transaction: the provider's own, or a savepoint. */
  transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T>;
  /** Whether the provider was closed (maps the driver's errors to `CLOSED`). */
  closed(): boolean;
}

/**
 * `unsafe()` does not prepare by default (tagged templates do): said explicitly either way.
 * Plain objects, not frozen: the driver reads them on every query, like its callers' own.
 */
const PREPARED = { prepare: true } as const;
const ONE_OFF = { prepare: false } as const;

/**
 * Runs one statement with cancellation on `signal`, mapping errors. Statements are prepared (the
 * server parses and plans their text once per connection, as the driver's tagged templates do),
 * except big ones (more than 1,000 parameters) that will not come again, unless `prepare` says
 * they will.
 */
export async function run(
  scope: Scope,
  statement: CompiledStatement,
  options: ExecutionOptions | undefined,
  prepare: boolean = statement.params.length <= 1000,
  // deno-lint-ignore no-explicit-any
): Promise<any[] & { count: number }> {
  const signal = options?.signal;
  throwIfAborted(signal);
  const executor = scope.executor();
  const query = executor.unsafe(
    statement.text,
    // deno-lint-ignore no-explicit-any
    statement.params as any[],
    prepare ? PREPARED : ONE_OFF,
  );
  if (signal === undefined) {
    try {
      return await query;
    } catch (error) {
      scope.failed();
      throw mapPostgresError(error, { closed: scope.closed() });
    }
  }
  const cancel = () => query.cancel();
  signal.addEventListener("abort", cancel, { once: true });
  try {
    return await query;
  } catch (error) {
    scope.failed();
    if (signal.aborted) throwIfAborted(signal);
    throw mapPostgresError(error, { closed: scope.closed(), aborted: false });
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

function decodeRows(rows: readonly Row[], fields: readonly FieldMetadata[]): Row[] {
  if (fields.some((field) => field.name.includes("/"))) return decodeNested(rows, fields);
  const decode = plainDecoder(fields);
  const out: Row[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = decode(rows[i]!);
  return out;
}

/** Decodes a driver row's `fields` into a new plain row (decoders chosen once, not per value). */
function plainDecoder(fields: readonly FieldMetadata[]): (raw: Row) => Row {
  const names = fields.map((field) => field.name);
  const decoders = fields.map((field) => fieldDecoder(field.type));
  const count = names.length;
  return (raw) => {
    const row: Row = {};
    for (let i = 0; i < count; i++) {
      const name = names[i]!;
      row[name] = decoders[i]!(raw[name]);
    }
    return row;
  };
}

/** How the rows of one read level become answers, and how navigations are set on them. */
interface LevelDecoder {
  readonly decode: (raw: Row) => Row;
  readonly attach: (row: Row, name: string, value: Row | Row[] | null) => void;
}

const attachPlain = (row: Row, name: string, value: Row | Row[] | null): void => {
  row[name] = value;
};

/**
 * The decoder of `fields` (the ones the answer shows) for rows of `entity`: straight into the
 * objects of `builder` (the Active Record layer's records: each row is built once) when every
 * field is one of the entity's own, else plain rows. A built row keeps the driver's row as its
 * stored values and decodes its snapshot from it only when first needed.
 */
function levelDecoder(
  fields: readonly FieldMetadata[],
  entity: EntityMetadata,
  builder: RowBuilder | undefined,
): LevelDecoder {
  const plain = plainDecoder(fields);
  if (builder === undefined || !fields.every((field) => entity.fields.get(field.name) === field)) {
    return { decode: plain, attach: attachPlain };
  }
  const names = fields.map((field) => field.name);
  const decoders = fields.map((field) => fieldDecoder(field.type));
  const count = names.length;
  const snapshot = (stored: readonly unknown[]) => plain(stored as unknown as Row);
  return {
    decode: (raw) => {
      const row = builder.create(raw as unknown as readonly unknown[], snapshot);
      for (let i = 0; i < count; i++) {
        const name = names[i]!;
        row[name] = decoders[i]!(raw[name]);
      }
      return row;
    },
    attach: builder.attach,
  };
}

/** Decoders of every field of an entity (reads without `$select`), by row builder. */
const fullDecoders = new WeakMap<EntityMetadata, Map<RowBuilder | undefined, LevelDecoder>>();

/** {@linkcode levelDecoder}, made once per entity and builder when `fields` are all of them. */
function cachedLevelDecoder(
  fields: readonly FieldMetadata[],
  entity: EntityMetadata,
  builder: RowBuilder | undefined,
): LevelDecoder {
  const all = entity.fieldList;
  if (fields.length !== all.length || fields.some((field, i) => field !== all[i])) {
    return levelDecoder(fields, entity, builder);
  }
  let byBuilder = fullDecoders.get(entity);
  if (byBuilder === undefined) fullDecoders.set(entity, byBuilder = new Map());
  let decoder = byBuilder.get(builder);
  if (decoder === undefined) {
    byBuilder.set(builder, decoder = levelDecoder(fields, entity, builder));
  }
  return decoder;
}

/**
 * The rows of one read level: the answers, the driver's rows they came from, and the column
 * alias of each field (a hidden one for link fields read only to join the next level).
 */
interface Level {
  readonly rows: Row[];
  readonly stored: readonly Row[];
  readonly aliases: ReadonlyMap<string, string>;
  readonly attach: LevelDecoder["attach"];
}

/** Column aliases by field name of a compiled read's single-step columns (once per shape). */
const ALIASES = new WeakMap<readonly ResultColumn[], ReadonlyMap<string, string>>();

function aliasesOf(columns: readonly ResultColumn[]): ReadonlyMap<string, string> {
  let aliases = ALIASES.get(columns);
  if (aliases === undefined) {
    const map = new Map<string, string>();
    for (const column of columns) {
      if (column.path.length === 1) map.set(column.path[0]!, column.alias);
    }
    ALIASES.set(columns, aliases = map);
  }
  return aliases;
}

/** Reads a field's stored value from a driver row of a level (for link keys and key tuples). */
function storedReader(aliases: ReadonlyMap<string, string>): (raw: Row, field: string) => unknown {
  return (raw, field) => raw[aliases.get(field)!];
}

/**
 * Parent key tuples per expansion query: a single link field travels as one array parameter
 * (no limit), a composite one as a `VALUES` list kept under the protocol's parameter limit.
 */
const COMPOSITE_KEYS_PER_QUERY = 4096;

/** Rows with grouped navigation properties: `Category/CategoryName` as `{ Category: { CategoryName } }`. */
function decodeNested(rows: readonly Row[], fields: readonly FieldMetadata[]): Row[] {
  return rows.map((raw) => {
    const row: Row = {};
    for (const field of fields) {
      const path = field.name.split("/");
      let target: Row = row;
      for (const step of path.slice(0, -1)) {
        const next = Object.hasOwn(target, step) ? target[step] : undefined;
        if (next === null || typeof next !== "object") {
          target = (target[step] = {}) as Row;
        } else target = next as Row;
      }
      target[path[path.length - 1]!] = fieldDecoder(field.type)(raw[field.name]);
    }
    return row;
  });
}

/** Decodes the driver's rows of one level into answers, hidden link columns left out. */
function decodeLevel(
  stored: readonly Row[],
  compiled: CompiledRead,
  entity: EntityMetadata,
  rowBuilder: ReadRequest["rowBuilder"],
): Level {
  const { columns } = compiled;
  const shown = columns.some((column) => column.hidden)
    ? compiled.fields.filter((_, i) => !columns[i]!.hidden)
    : compiled.fields;
  const aliases = aliasesOf(columns);
  if (shown.some((field) => field.name.includes("/"))) {
    return { rows: decodeNested(stored, shown), stored, aliases, attach: attachPlain };
  }
  const level = cachedLevelDecoder(shown, entity, rowBuilder?.(entity));
  const rows: Row[] = new Array(stored.length);
  for (let i = 0; i < stored.length; i++) rows[i] = level.decode(stored[i]!);
  return { rows, stored, aliases, attach: level.attach };
}

/** The single integer key PostgreSQL generates (an identity column), if the entity has one. */
function identityKey(entity: EntityMetadata): FieldMetadata | undefined {
  if (entity.key.length !== 1) return undefined;
  const field = entity.fields.get(entity.key[0]!)!;
  return field.type === "integer" ? field : undefined;
}

/** The operations of a scope (the pool, or a transaction). */
export class PostgresOperations implements ProviderOperations {
  readonly #scope: Scope;

  constructor(scope: Scope) {
    this.#scope = scope;
  }

  async read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    const rows = await this.#readRows(request, options);
    if (request.query.count) {
      return { rows, count: await this.count(request, options) };
    }
    return { rows };
  }

  /**
   * The rows of a read, then each `$expand` level (planned by the shared planner) with ONE query
   * per navigation property and level for all its parents, never one per row. Fields read only
   * to join the levels come as hidden columns and are never shown.
   */
  async #readRows(request: ReadRequest, options: ExecutionOptions | undefined): Promise<Row[]> {
    const { entity, query, schema } = request;
    if (transforms(query)) {
      const transformed = compileRead(entity, query, [], schema);
      return decodeRows(await run(this.#scope, transformed, options), transformed.fields);
    }
    const plans = planExpansions(schema, entity, query.expand);
    const compiled = compileRead(entity, query, linkFieldsOf(plans), schema);
    const stored: readonly Row[] = await run(this.#scope, compiled, options);
    const level = decodeLevel(stored, compiled, entity, request.rowBuilder);
    if (plans.length > 0) await this.#expand(request, entity, level, plans, options);
    return level.rows;
  }

  /** Reads and attaches the expansions `plans` of the rows of `parents` (of `entity`). */
  async #expand(
    request: ReadRequest,
    entity: EntityMetadata,
    parents: Level,
    plans: readonly ExpansionPlan[],
    options: ExecutionOptions | undefined,
  ): Promise<void> {
    const read = storedReader(parents.aliases);
    for (const plan of plans) {
      const { relation } = plan;
      const links = parentLinks(parents.stored, relation.localFields, read);
      const step = relation.localFields.length === 1
        ? links.tuples.length
        : COMPOSITE_KEYS_PER_QUERY;
      if (plan.count) {
        const counts = new Map<string, number>();
        const fields = relation.targetFields;
        for (let start = 0; start < links.tuples.length; start += step) {
          const compiled = compileExpansionCount({
            schema: request.schema,
            parent: entity,
            navigation: plan.name,
            query: plan.query,
            keys: links.tuples.slice(start, start + step),
          });
          for (const raw of await run(this.#scope, compiled, options) as Row[]) {
            const key = linkKey(raw, fields, (row, field) => row[field]);
            if (key !== undefined) counts.set(key, Number(raw.$count));
          }
        }
        attachCounts(plan, parents.rows, links.keys, counts);
      }
      if (!plan.rows) continue;
      let children: Level | undefined;
      for (let start = 0; start < links.tuples.length; start += step) {
        const compiled = compileExpansion({
          schema: request.schema,
          parent: entity,
          navigation: plan.name,
          query: plan.query,
          keys: links.tuples.slice(start, start + step),
          keyFields: plan.childLinkFields,
        }, plan.target);
        const stored: readonly Row[] = await run(this.#scope, compiled, options);
        const level = decodeLevel(stored, compiled, plan.target, request.rowBuilder);
        children = children === undefined ? level : {
          ...children,
          rows: [...children.rows, ...level.rows],
          stored: [...children.stored, ...level.stored],
        };
      }
      checkOverflow(plan, children?.rows.length ?? 0);
      if (children === undefined) {
        attachRelated(plan, parents.rows, links.keys, [], [], parents.attach);
        continue;
      }
      if (plan.children.length > 0) {
        await this.#expand(request, plan.target, children, plan.children, options);
      }
      const childRead = storedReader(children.aliases);
      const childKeys = children.stored.map((raw) =>
        linkKey(raw, relation.targetFields, childRead)
      );
      attachRelated(plan, parents.rows, links.keys, children.rows, childKeys, parents.attach);
    }
  }

  async *stream(request: ReadRequest, options?: ExecutionOptions): AsyncIterable<Row> {
    if ((request.query.expand ?? []).length > 0) {
      throw new NotSupportedError("$expand in stream()", "the postgres provider", {
        suggestion: "Use find() for expanded reads, or stream the related entity separately.",
      });
    }
    const compiled = compileRead(request.entity, request.query, [], request.schema);
    const signal = options?.signal;
    throwIfAborted(signal);
    const executor = this.#scope.executor();
    // deno-lint-ignore no-explicit-any
    const query = executor.unsafe(compiled.text, compiled.params as any[]);
    try {
      // A server-side cursor: memory holds one batch, whatever the result size.
      for await (const batch of query.cursor(STREAM_BATCH)) {
        for (const row of decodeRows(batch, compiled.fields)) {
          throwIfAborted(signal);
          yield row;
        }
      }
    } catch (error) {
      if (signal?.aborted) throwIfAborted(signal);
      this.#scope.failed();
      throw mapPostgresError(error, { closed: this.#scope.closed() });
    }
  }

  async count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    const compiled = compileCount(request.entity, request.query, request.schema);
    const [row] = await run(this.#scope, compiled, options);
    return Number(row.count);
  }

  async insert(
    entity: EntityMetadata,
    rows: readonly Row[],
    options?: InsertOptions,
  ): Promise<Row[]> {
    if (rows.length === 0) return [];
    const returnRows = options?.returning !== false;
    const identity = identityKey(entity);
    let explicitIdentity = false;
    const out: Row[] = [];
    // Rows with the same given fields go in one statement, chunked under the parameter limit.
    const groups = new Map<string, { names: string[]; rows: Row[]; at: number[] }>();
    const fields = entity.fieldList;
    rows.forEach((row, index) => {
      // The given fields as a bit string: rows alike share one statement shape.
      let id = "";
      for (const field of fields) {
        const value = row[field.name];
        id += value === undefined || (field === identity && value === null) ? "0" : "1";
      }
      let group = groups.get(id);
      if (group === undefined) {
        const names = fields.filter((_, i) => id[i] === "1").map((field) => field.name);
        if (identity !== undefined && names.includes(identity.name)) explicitIdentity = true;
        groups.set(id, group = { names, rows: [], at: [] });
      }
      group.rows.push(row);
      group.at.push(index);
    });
    const run1 = async (work: Scope) => {
      for (const group of groups.values()) {
        const step = group.names.length === 0 ? 1 : Math.max(
          1,
          Math.min(BULK_ROWS, Math.floor(MAX_PARAMETERS / group.names.length)),
        );
        // Up to PIPELINE_DEPTH chunks in flight on the connection: the server inserts one while
        // this process encodes the next. The first failure (in order) is the one reported; the
        // chunks after it fail only because the transaction already has.
        const inFlight: { start: number; result: Promise<Row[]> }[] = [];
        const settle = async () => {
          const { start, result } = inFlight.shift()!;
          const written = await result;
          if (!returnRows) return;
          const stored = decodeRows(written, entity.fieldList);
          for (let offset = 0; offset < stored.length; offset++) {
            out[group.at[start + offset]!] = stored[offset]!;
          }
        };
        try {
          for (let start = 0; start < group.rows.length; start += step) {
            const chunk = group.rows.slice(start, start + step);
            const compiled = compileInsert(entity, chunk, group.names, returnRows);
            // Full chunks share one text: prepared once per connection, so the server parses
            // and plans their thousands of placeholders once, not per chunk.
            const result = run(work, compiled, options, chunk.length === step);
            result.catch(() => {}); // awaited in order by settle()
            inFlight.push({ start, result });
            if (inFlight.length >= PIPELINE_DEPTH) await settle();
          }
          while (inFlight.length > 0) await settle();
        } finally {
          // After a failure, wait for the chunks already sent before the transaction ends.
          await Promise.allSettled(inFlight.map((chunk) => chunk.result));
        }
      }
      if (explicitIdentity && identity !== undefined) {
        // Keys given by the caller move the identity past them, so generated keys never clash.
        const table = quoteIdentifier(entity.table);
        const column = quoteIdentifier(identity.column);
        await run(work, {
          text:
            `SELECT setval(pg_get_serial_sequence($1, $2), m) FROM (SELECT max(${column}) AS m FROM ${table}) AS x WHERE m IS NOT NULL`,
          params: [table, identity.column],
        }, options);
      }
    };
    const [only] = groups.values();
    const oneStatement = groups.size === 1 && !explicitIdentity &&
      (only!.names.length === 0
        ? rows.length === 1
        : rows.length <= BULK_ROWS && rows.length * only!.names.length <= MAX_PARAMETERS);
    if (oneStatement) {
      await run1(this.#scope); // one statement: atomic by itself
    } else {
      await this.#scope.transaction(async (tx) => {
        await run1((tx as PostgresOperations).#scope);
      }, options);
    }
    return returnRows ? out : [];
  }

  async update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    if (Object.keys(changes).length === 0) return await this.#matching(target, options);
    const compiled = compileUpdate(target.entity, target.filter, changes, {}, target.schema);
    return (await run(this.#scope, compiled, options)).count;
  }

  async delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    const compiled = compileDelete(target.entity, target.filter, target.schema);
    return (await run(this.#scope, compiled, options)).count;
  }

  async increment(
    target: WriteTarget,
    increments: Readonly<Record<string, number>>,
    changes: Row = {},
    options?: ExecutionOptions,
  ): Promise<number> {
    if (Object.keys(increments).length === 0 && Object.keys(changes).length === 0) {
      return await this.#matching(target, options);
    }
    const compiled = compileUpdate(
      target.entity,
      target.filter,
      changes,
      increments,
      target.schema,
    );
    return (await run(this.#scope, compiled, options)).count;
  }

  transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    return this.#scope.transaction(work, options);
  }

  async #matching(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    const compiled = compileCount(target.entity, { filter: target.filter }, target.schema);
    const [row] = await run(this.#scope, compiled, options);
    return Number(row.count);
  }
}
