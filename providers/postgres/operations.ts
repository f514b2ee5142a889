/**
 * The operations of the PostgreSQL provider in one scope (the pool, or one transaction): reads
 * with batched `$expand` levels, cursor streams, counts and writes. Every statement honours the
 * caller's `signal` (cancelled on the server) and maps errors onto the catalogue.
 *
 * @module
 */

import {
  NotSupportedError,
  ODataActiveRecordError,
  throwIfAborted,
} from "../../src/errors/errors.ts";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  InsertOptions,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  WriteTarget,
} from "../../src/provider/provider.ts";
import {
  compileCount,
  compileDelete,
  type CompiledStatement,
  compileInsert,
  compileRead,
  compileUpdate,
  type KeyRestriction,
  quoteIdentifier,
  transforms,
} from "./compiler.ts";
import type { Pool } from "./connection.ts";
import { mapPostgresError } from "./errors.ts";
import { decodeValue } from "./values.ts";

/** Most parameters of one statement (the protocol's limit). */
const MAX_PARAMETERS = 65_534;
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

/** Runs one statement with cancellation on `signal`, mapping errors. */
export async function run(
  scope: Scope,
  statement: CompiledStatement,
  options: ExecutionOptions | undefined,
  // deno-lint-ignore no-explicit-any
): Promise<any[] & { count: number }> {
  const signal = options?.signal;
  throwIfAborted(signal);
  const executor = scope.executor();
  const query = executor.unsafe(
    statement.text,
    // deno-lint-ignore no-explicit-any
    statement.params as any[],
    // Big one-off statements (bulk insert chunks) are not kept as prepared statements.
    statement.params.length > 1000 ? { prepare: false } : undefined,
  );
  const cancel = () => query.cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    return await query;
  } catch (error) {
    scope.failed();
    if (signal?.aborted) throwIfAborted(signal);
    throw mapPostgresError(error, { closed: scope.closed(), aborted: signal?.aborted });
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

function decodeRows(rows: readonly Row[], fields: readonly FieldMetadata[]): Row[] {
  if (fields.some((field) => field.name.includes("/"))) return decodeNested(rows, fields);
  return rows.map((raw) => {
    const row: Row = {};
    for (const field of fields) row[field.name] = decodeValue(raw[field.name], field.type);
    return row;
  });
}

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
      target[path[path.length - 1]!] = decodeValue(raw[field.name], field.type);
    }
    return row;
  });
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
    const rows = await this.#readLevel(request.entity, request.schema, request.query, options);
    if (request.query.count) {
      return { rows, count: await this.count(request, options) };
    }
    return { rows };
  }

  /**
   * The rows of one level, then each `$expand` of it with ONE query for all its rows (the
   * parents' keys as one array parameter), recursively: one query per level, never per row.
   */
  async #readLevel(
    entity: EntityMetadata,
    schema: ReadRequest["schema"],
    query: ReadRequest["query"],
    options: ExecutionOptions | undefined,
    within?: KeyRestriction,
  ): Promise<Row[]> {
    const plans = (query.expand ?? []).map((item) => expandPlan(entity, schema, item));
    const extra = [...new Set(plans.map((plan) => plan.local.name))];
    // The parent level joins on this field: it strips it itself when it was not selected.
    if (within !== undefined) extra.push(within.field.name);
    const compiled = compileRead(entity, { ...query, expand: undefined }, extra, within, schema);
    const rows = decodeRows(await run(this.#scope, compiled, options), compiled.fields);
    // Transformed rows hold what was asked for (no expansion can follow them).
    if (transforms(query)) return rows;
    for (const plan of plans) {
      const keys = [...new Set(rows.map((row) => row[plan.local.name]).filter((v) => v != null))];
      const children = keys.length === 0 ? [] : await this.#readLevel(
        plan.target,
        schema,
        plan.options,
        options,
        { field: plan.remote, values: keys },
      );
      const byKey = new Map<unknown, Row[]>();
      for (const child of children) {
        const key = child[plan.remote.name];
        let list = byKey.get(key);
        if (list === undefined) byKey.set(key, list = []);
        list.push(child);
      }
      for (const row of rows) {
        const found = byKey.get(row[plan.local.name]) ?? [];
        row[plan.name] = plan.many ? found : found[0] ?? null;
      }
      if (plan.stripRemote) { for (const child of children) delete child[plan.remote.name]; }
    }
    // Fields read only to join the levels are not part of the answer.
    const selected = new Set(compileRead(entity, { select: query.select }).fields);
    const joinOnly = compiled.fields.filter((field) =>
      !selected.has(field) && field !== within?.field
    );
    for (const field of joinOnly) for (const row of rows) delete row[field.name];
    return rows;
  }

  async *stream(request: ReadRequest, options?: ExecutionOptions): AsyncIterable<Row> {
    if ((request.query.expand ?? []).length > 0) {
      throw new NotSupportedError("$expand in stream()", "the postgres provider", {
        suggestion: "Use find() for expanded reads, or stream the related entity separately.",
      });
    }
    const compiled = compileRead(request.entity, request.query, [], undefined, request.schema);
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
        const perStatement = Math.max(
          1,
          Math.floor(MAX_PARAMETERS / Math.max(1, group.names.length)),
        );
        const step = group.names.length === 0 ? 1 : perStatement;
        for (let start = 0; start < group.rows.length; start += step) {
          const chunk = group.rows.slice(start, start + step);
          const compiled = compileInsert(entity, chunk, group.names, returnRows);
          const result = await run(work, compiled, options);
          if (!returnRows) continue;
          const stored = decodeRows(result, entity.fieldList);
          stored.forEach((row, offset) => (out[group.at[start + offset]!] = row));
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
    if (
      groups.size === 1 && rows.length * Math.max(1, entity.fieldList.length) <= MAX_PARAMETERS &&
      !explicitIdentity
    ) {
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

/** How one `$expand` item is read: the relation's two sides and the nested options. */
interface ExpandPlan {
  readonly name: string;
  readonly many: boolean;
  readonly target: EntityMetadata;
  readonly local: FieldMetadata;
  readonly remote: FieldMetadata;
  readonly options: ReadRequest["query"];
  /** The remote field was read only to join: not part of the nested rows. */
  readonly stripRemote: boolean;
}

function expandPlan(
  entity: EntityMetadata,
  schema: ReadRequest["schema"],
  item: NonNullable<ReadRequest["query"]["expand"]>[number],
): ExpandPlan {
  const name = item.path[0];
  if (item.path.length !== 1 || name === undefined || name === "*") {
    throw new NotSupportedError("$expand of a path, a type cast or *", "the postgres provider");
  }
  if (item.ref || item.count) {
    throw new NotSupportedError("$expand with $ref or $count", "the postgres provider");
  }
  const relation = entity.relations.get(name);
  const target = relation && schema.getEntityMetadata(relation.target);
  if (relation === undefined || target === undefined) {
    throw new ODataActiveRecordError(
      "UNKNOWN_FIELD",
      `Unknown navigation '${name}' on ${entity.name}`,
      { context: { entity: entity.name, field: name } },
    );
  }
  const remoteNames = relation.targetFields.length > 0 ? relation.targetFields : target.key;
  if (relation.localFields.length !== 1 || remoteNames.length !== 1) {
    throw new NotSupportedError("$expand over a composite key", "the postgres provider");
  }
  const options = item.options ?? {};
  if (options.levels !== undefined) {
    throw new NotSupportedError("$levels inside $expand", "the postgres provider");
  }
  const remote = target.fields.get(remoteNames[0]!)!;
  const selectsRemote = options.select === undefined || target.key.includes(remote.name) ||
    options.select.some((s) =>
      s.segments.some((segment) => segment.kind === "Star") ||
      (s.segments[0]?.kind === "Property" && s.segments[0].name === remote.name)
    );
  return {
    name,
    many: relation.kind === "many",
    target,
    local: entity.fields.get(relation.localFields[0]!)!,
    remote,
    options: { ...options, count: undefined },
    stripRemote: !selectsRemote,
  };
}
