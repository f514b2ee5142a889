/**
 * The reads and writes of the provider, or of one transaction: writes then go into a change set
 * instead of to the service, and reads see the transaction's pending updates and deletes by key.
 *
 * @module
 */

import { NotSupportedError, throwIfAborted } from "../../src/errors/errors.ts";
import type { ExpandItem } from "../../src/odata/ast.ts";
import type { EntityMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  WriteTarget,
} from "../../src/provider/provider.ts";
import type { BatchWrite } from "./batch.ts";
import { assertPlainNames, keyLookup, keyPredicate, keySelect } from "./keys.ts";
import { encodeRow } from "./values.ts";

/** What the operations need of the provider. */
export interface OperationsHost {
  /** The pages of a read (a key lookup is one page). */
  pages(request: ReadRequest, options?: ExecutionOptions): AsyncGenerator<Page>;
  /** `Entity/$count`. */
  remoteCount(request: ReadRequest, options?: ExecutionOptions): Promise<number>;
  /** Inserts now. */
  insertNow(
    entity: EntityMetadata,
    rows: readonly Row[],
    writes: readonly BatchWrite[],
    options: ExecutionOptions | undefined,
  ): Promise<Row[]>;
  /** Sends key writes now. */
  writeNow(writes: readonly PendingWrite[], options: ExecutionOptions | undefined): Promise<number>;
  /** `If-Match` for a row whose ETag was seen. */
  ifMatch(entity: EntityMetadata, key: string): Record<string, string> | undefined;
}

/** One write waiting for the transaction's change set, with what it does to reads in `tx`. */
export interface PendingWrite extends BatchWrite {
  readonly entity: EntityMetadata;
  readonly rowKey?: string;
  readonly changes?: Row;
  readonly deleted?: boolean;
}

/** Where operations send their writes: straight to the service, or into a change set. */
export interface WriteSink {
  readonly pending?: PendingWrite[];
}

/**
 * Refuses `Nav/$ref` in `$expand`: the remote answers with `@odata.id` texts only, which rows of
 * the related entity cannot hold (they would come back empty).
 */
function refuseReferences(items: readonly ExpandItem[] | undefined): void {
  for (const item of items ?? []) {
    if (item.ref === true) {
      throw new NotSupportedError("$ref in $expand", "the http-odata provider", {
        suggestion: `Expand ${item.path.join("/")}($select=<key fields>) instead.`,
      });
    }
    refuseReferences(item.options?.expand);
  }
}

/**
 * The reads and writes of the provider or of one transaction (`sink.pending` set).
 */
export class HttpOperations implements ProviderOperations {
  readonly #provider: OperationsHost;
  readonly #sink: WriteSink;

  constructor(provider: OperationsHost, sink: WriteSink) {
    this.#provider = provider;
    this.#sink = sink;
  }

  async read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    refuseReferences(request.query.expand);
    const rows: Row[] = [];
    let count: number | undefined;
    const top = request.query.top;
    for await (const page of this.#provider.pages(request, options)) {
      if (count === undefined && page.count !== undefined) count = page.count;
      for (const row of this.#overlay(request.entity, page.rows)) {
        if (top !== undefined && rows.length >= top) break;
        rows.push(row);
      }
      if (top !== undefined && rows.length >= top) break;
    }
    return count === undefined ? { rows } : { rows, count };
  }

  async *stream(request: ReadRequest, options?: ExecutionOptions): AsyncIterable<Row> {
    refuseReferences(request.query.expand);
    const top = request.query.top;
    let yielded = 0;
    for await (const page of this.#provider.pages(request, options)) {
      for (const row of this.#overlay(request.entity, page.rows)) {
        if (top !== undefined && yielded >= top) return;
        yielded++;
        yield row;
      }
      if (top !== undefined && yielded >= top) return;
    }
  }

  async count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    const entity = request.entity;
    if (this.#sink.pending?.some((w) => w.entity.name === entity.name && w.deleted)) {
      // Deleted rows of this transaction must not count: count what the reads would show.
      const { rows } = await this.read({
        ...request,
        query: {
          filter: request.query.filter,
          search: request.query.search,
          select: keySelect(entity),
        },
      }, options);
      return rows.length;
    }
    return await this.#provider.remoteCount(request, options);
  }

  async insert(
    entity: EntityMetadata,
    rows: readonly Row[],
    options?: ExecutionOptions,
  ): Promise<Row[]> {
    assertPlainNames(entity);
    throwIfAborted(options?.signal);
    const writes = rows.map((row): BatchWrite => ({
      method: "POST",
      url: entity.table,
      body: encodeRow(entity, row),
    }));
    if (this.#sink.pending !== undefined) {
      this.#sink.pending.push(...writes.map((w) => ({ ...w, entity })));
      return rows.map((row) => ({ ...row }));
    }
    return await this.#provider.insertNow(entity, rows, writes, options);
  }

  async update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    assertPlainNames(target.entity);
    const keys = await this.#targetKeys(target, options);
    if (keys.length === 0) return 0;
    const body = encodeRow(target.entity, changes);
    const writes = keys.map((key): PendingWrite => ({
      method: "PATCH",
      url: `${target.entity.table}${key}`,
      body,
      headers: this.#ifMatch(target.entity, key),
      entity: target.entity,
      rowKey: key,
      changes,
    }));
    return await this.#write(writes, options);
  }

  async delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    assertPlainNames(target.entity);
    const keys = await this.#targetKeys(target, options);
    if (keys.length === 0) return 0;
    const writes = keys.map((key): PendingWrite => ({
      method: "DELETE",
      url: `${target.entity.table}${key}`,
      headers: this.#ifMatch(target.entity, key),
      entity: target.entity,
      rowKey: key,
      deleted: true,
    }));
    return await this.#write(writes, options);
  }

  /**
   * `If-Match` for a keyed write. A row this transaction writes already gets `*` on its later
   * writes: the first write's ETag guards it, and the stored ETag is stale after that write.
   */
  #ifMatch(entity: EntityMetadata, key: string): Record<string, string> | undefined {
    const pending = this.#sink.pending;
    if (pending?.some((w) => w.entity.table === entity.table && w.rowKey === key)) {
      return { "If-Match": "*" };
    }
    return this.#provider.ifMatch(entity, key);
  }

  async #write(writes: PendingWrite[], options: ExecutionOptions | undefined): Promise<number> {
    if (this.#sink.pending !== undefined) {
      this.#sink.pending.push(...writes);
      return writes.length;
    }
    return await this.#provider.writeNow(writes, options);
  }

  /** The key predicates of the rows a write targets (read first unless the filter is a key). */
  async #targetKeys(target: WriteTarget, options: ExecutionOptions | undefined): Promise<string[]> {
    const entity = target.entity;
    const direct = keyLookup(entity, target.filter);
    // Whole rows, not `$select` of the key: services send ETags with whole entities only.
    const request: ReadRequest = {
      entity,
      schema: target.schema,
      query: target.filter === undefined ? {} : { filter: target.filter },
    };
    if (direct !== undefined && this.#sink.pending === undefined) {
      // Straight to the key URL: a 404 answers "0 rows" without a read first.
      return [direct];
    }
    const { rows } = await this.read(request, options);
    const keys: string[] = [];
    for (const row of rows) {
      const key = keyPredicate(entity, row);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  /** Applies this transaction's pending updates and deletes (by key) to rows read in it. */
  #overlay(entity: EntityMetadata, rows: Row[]): Row[] {
    const pending = this.#sink.pending?.filter((w) => w.entity.name === entity.name && w.rowKey);
    if (pending === undefined || pending.length === 0) return rows;
    const out: Row[] = [];
    for (const row of rows) {
      const key = keyPredicate(entity, row);
      let current: Row | undefined = row;
      for (const write of pending) {
        if (write.rowKey !== key || current === undefined) continue;
        if (write.deleted) current = undefined;
        else {
          const changed: Row = { ...current };
          for (const [name, value] of Object.entries(write.changes ?? {})) {
            if (Object.hasOwn(current, name)) changed[name] = value;
          }
          current = changed;
        }
      }
      if (current !== undefined) out.push(current);
    }
    return out;
  }
}

/** One page of a read. */
export interface Page {
  readonly rows: Row[];
  readonly count?: number;
}
