/**
 * Reads and writes of the MongoDB provider, shared by the provider and its transactions (which
 * pass their session). `$expand` runs one batched `$in` query per navigation and level, never
 * one per row.
 *
 * @module
 */

import type { ClientSession, Collection, Db } from "mongodb";
import { ObjectId } from "mongodb";
import type { ExpandItem, ODataQuery } from "../../src/odata/ast.ts";
import { throwIfAborted } from "../../src/errors/errors.ts";
import {
  type EntityMetadata,
  type FieldMetadata,
  resolveRelation,
  type SchemaResolver,
} from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  WriteTarget,
} from "../../src/provider/provider.ts";
import { notSupported } from "./compiler/expression.ts";
import { compileRead, compileWhere, type OutputColumn, type ReadPlan } from "./compiler/read.ts";
import { mapMongoError } from "./errors.ts";
import {
  type Document,
  fromDocument,
  fromStored,
  type StorageOptions,
  toDocument,
  toStored,
} from "./values.ts";

/** What the operations need from the provider. */
export interface MongoHost {
  /** The database (connects on first use; throws `CLOSED` after close). */
  db(): Promise<Db>;
  /** How values are stored. */
  readonly storage: StorageOptions;
  /** Whether the deployment runs multi-document transactions. */
  supportsTransactions(): Promise<boolean>;
  /** Runs `work` in a transaction of its own (for atomic multi-row inserts outside one). */
  atomically<T>(work: (session: ClientSession) => Promise<T>): Promise<T>;
  /** Whether the collection has a text index (cached until the next `sync()`). */
  hasTextIndex(table: string): Promise<boolean>;
}

/** The collection holding the next value of generated integer keys, per collection. */
export const SEQUENCES = "__oar_sequences";

/** A comparable text for stored key values (ObjectId, Date, Decimal128 and numbers alike). */
function keyText(values: readonly unknown[]): string {
  return values.map((v) => {
    if (v === null || v === undefined) return "\u0000";
    if (v instanceof Date) return `d${v.getTime()}`;
    if (typeof v === "object") return `o${String(v)}`;
    return `${typeof v}${String(v)}`;
  }).join("\u0001");
}

function decode(columns: readonly OutputColumn[], document: Document): Row {
  const row: Row = {};
  for (const column of columns) {
    row[column.name] = fromStored(column.type, document[column.key], column.scale);
  }
  return row;
}

/** Settles with `promise`, or rejects with the coded abort reason as soon as `signal` fires. */
export async function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return await promise;
  throwIfAborted(signal);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      try {
        throwIfAborted(signal);
      } catch (error) {
        reject(error);
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  promise.catch(() => {}); // the race may have been lost to the signal
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * The operations on one database, optionally inside a session's transaction.
 *
 * @example
 * ```ts ignore
 * const operations = new MongoOperations(host, session);
 * const { rows } = await operations.read(request);
 * ```
 */
export class MongoOperations implements ProviderOperations {
  readonly #host: MongoHost;
  readonly #session: ClientSession | undefined;

  /** Operations of `host`, in `session`'s transaction when given. */
  constructor(host: MongoHost, session?: ClientSession) {
    this.#host = host;
    this.#session = session;
  }

  async #collection(entity: EntityMetadata): Promise<Collection<Document>> {
    return (await this.#host.db()).collection<Document>(entity.table);
  }

  #options(): { session?: ClientSession } {
    return this.#session === undefined ? {} : { session: this.#session };
  }

  async #documents(
    entity: EntityMetadata,
    plan: ReadPlan,
    signal?: AbortSignal,
  ): Promise<Document[]> {
    const collection = await this.#collection(entity);
    if (plan.kind === "find") {
      const cursor = collection.find(plan.filter, {
        ...this.#options(),
        projection: plan.projection,
        sort: plan.sort as Record<string, 1 | -1> | undefined,
        skip: plan.skip,
        limit: plan.limit,
      });
      return await raceSignal(cursor.toArray(), signal);
    }
    return await raceSignal(
      collection.aggregate<Document>(plan.pipeline, this.#options()).toArray(),
      signal,
    );
  }

  /** See {@linkcode ProviderOperations.read}. */
  async read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    throwIfAborted(options?.signal);
    const { entity, schema, query } = request;
    try {
      const text = query.search !== undefined && await this.#host.hasTextIndex(entity.table);
      const plan = compileRead(schema, entity, query, this.#host.storage, text);
      const documents = await this.#documents(entity, plan, options?.signal);
      const rows = documents.map((d) => decode(plan.columns, d));
      if (plan.expand.length > 0) {
        await this.#expand(schema, entity, documents, rows, plan.expand, options?.signal);
      }
      if (query.count !== true) return { rows };
      const count = await this.#count(entity, plan, options?.signal);
      return { rows, count };
    } catch (error) {
      throw mapMongoError(error, { entity: entity.name });
    }
  }

  async #count(entity: EntityMetadata, plan: ReadPlan, signal?: AbortSignal): Promise<number> {
    const collection = await this.#collection(entity);
    if (plan.kind === "find") {
      return await raceSignal(collection.countDocuments(plan.filter, this.#options()), signal);
    }
    const [result] = await raceSignal(
      collection.aggregate<{ n: number }>([...plan.countPipeline, { $count: "n" }], this.#options())
        .toArray(),
      signal,
    );
    return result?.n ?? 0;
  }

  async #expand(
    schema: SchemaResolver,
    entity: EntityMetadata,
    parents: readonly Document[],
    rows: Row[],
    items: readonly ExpandItem[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const expanded = new Map<string, ODataQuery | undefined>();
    for (const item of items) {
      if (item.ref || item.count) throw notSupported("$ref and $count in $expand");
      // Leaving the count out would answer without the Nav@odata.count the client asked for.
      if (item.options?.count === true) throw notSupported("$count=true inside $expand");
      if (item.path.length !== 1) throw notSupported("multi-segment $expand paths");
      if (item.path[0] === "*") {
        for (const name of entity.relations.keys()) {
          if (!expanded.has(name)) expanded.set(name, undefined);
        }
        continue;
      }
      if (item.options?.levels !== undefined) throw notSupported("$levels in $expand");
      expanded.set(String(item.path[0]), item.options);
    }
    for (const [name, options] of expanded) {
      const { relation, target } = resolveRelation(schema, entity, name);
      const localColumns = relation.localFields.map((f) => entity.fields.get(f)!.column);
      const targetFields = relation.targetFields.map((f) => target.fields.get(f)!);
      const parentKeys = parents.map((p) => localColumns.map((c) => p[c] ?? null));
      const distinct = new Map<string, unknown[]>();
      for (const key of parentKeys) {
        if (key.some((v) => v === null)) continue;
        distinct.set(keyText(key), key);
      }
      const byKey = new Map<string, Row[]>();
      if (distinct.size > 0) {
        const childQuery: ODataQuery = {
          ...options,
          top: undefined,
          skip: undefined,
          count: undefined,
        };
        const plan = compileRead(schema, target, childQuery, this.#host.storage);
        const link = linkFilter(targetFields, [...distinct.values()]);
        const collection = await this.#collection(target);
        const projection = { ...plan.projection };
        for (const field of targetFields) projection[field.column] = 1;
        if (
          "_id" in projection && projection._id === 0 &&
          targetFields.some((f) => f.column === "_id")
        ) {
          delete projection._id;
        }
        const documents = plan.kind === "find"
          ? await raceSignal(
            collection.find({ $and: [link, plan.filter] }, {
              ...this.#options(),
              projection,
              sort: plan.sort as Record<string, 1 | -1> | undefined,
            }).toArray(),
            signal,
          )
          : await raceSignal(
            collection.aggregate<Document>(
              [{ $match: link }, ...plan.pipeline.slice(0, -1), { $project: projection }],
              this.#options(),
            ).toArray(),
            signal,
          );
        const children = documents.map((d) => decode(plan.columns, d));
        if (plan.expand.length > 0) {
          await this.#expand(schema, target, documents, children, plan.expand, signal);
        }
        documents.forEach((document, i) => {
          const key = keyText(targetFields.map((f) => document[f.column] ?? null));
          let list = byKey.get(key);
          if (list === undefined) byKey.set(key, list = []);
          list.push(children[i]!);
        });
      }
      const skip = options?.skip ?? 0;
      const top = options?.top;
      parentKeys.forEach((key, i) => {
        const all = key.some((v) => v === null) ? [] : byKey.get(keyText(key)) ?? [];
        const page = all.slice(skip, top === undefined ? undefined : skip + top);
        rows[i]![name] = relation.kind === "one" ? page[0] ?? null : page;
      });
    }
  }

  /** See {@linkcode ProviderOperations.stream}. */
  async *stream(request: ReadRequest, options?: ExecutionOptions): AsyncGenerator<Row> {
    const { entity, schema, query } = request;
    throwIfAborted(options?.signal);
    if (query.expand !== undefined && query.expand.length > 0) {
      throw notSupported("$expand in streamed reads");
    }
    let plan: ReadPlan;
    try {
      plan = compileRead(schema, entity, query, this.#host.storage);
    } catch (error) {
      throw mapMongoError(error, { entity: entity.name });
    }
    const collection = await this.#collection(entity);
    const cursor = plan.kind === "find"
      ? collection.find(plan.filter, {
        ...this.#options(),
        projection: plan.projection,
        sort: plan.sort as Record<string, 1 | -1> | undefined,
        skip: plan.skip,
        limit: plan.limit,
        batchSize: 500,
      })
      : collection.aggregate<Document>(plan.pipeline, { ...this.#options(), batchSize: 500 });
    try {
      while (true) {
        throwIfAborted(options?.signal);
        let document: Document | null;
        try {
          document = await cursor.next();
        } catch (error) {
          throw mapMongoError(error, { entity: entity.name });
        }
        if (document === null) return;
        throwIfAborted(options?.signal);
        yield decode(plan.columns, document);
      }
    } finally {
      await cursor.close().catch(() => {});
    }
  }

  /** See {@linkcode ProviderOperations.count}. */
  async count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    throwIfAborted(options?.signal);
    const { entity, schema, query } = request;
    try {
      if (query.apply !== undefined && query.apply.length > 0) {
        const plan = compileRead(
          schema,
          entity,
          { ...query, top: undefined, skip: undefined },
          this.#host.storage,
        );
        return await this.#count(entity, plan, options?.signal);
      }
      const text = query.search !== undefined && await this.#host.hasTextIndex(entity.table);
      const where = compileWhere(
        schema,
        entity,
        query.filter,
        query.search,
        this.#host.storage,
        text,
      );
      const collection = await this.#collection(entity);
      if (where.pipeline === undefined) {
        return await raceSignal(
          collection.countDocuments(where.filter, this.#options()),
          options?.signal,
        );
      }
      const [result] = await raceSignal(
        collection.aggregate<{ n: number }>([...where.pipeline, { $count: "n" }], this.#options())
          .toArray(),
        options?.signal,
      );
      return result?.n ?? 0;
    } catch (error) {
      throw mapMongoError(error, { entity: entity.name });
    }
  }

  async #nextKeys(entity: EntityMetadata, field: FieldMetadata, count: number): Promise<number[]> {
    const db = await this.#host.db();
    const collection = db.collection<Document>(entity.table);
    // Keyed by a field rather than a string _id, which CongoDB (the test server) refuses.
    const sequences = db.collection<{ sequence: string; value: number }>(SEQUENCES);
    // Seed from the largest stored key, so that keys written explicitly are never handed out.
    const [largest] = await collection.find({ [field.column]: { $type: "number" } }, {
      ...this.#options(),
      projection: { [field.column]: 1 },
      sort: { [field.column]: -1 },
      limit: 1,
    }).toArray();
    const seed = Number(largest?.[field.column] ?? 0);
    await sequences.updateOne({ sequence: entity.table }, { $max: { value: seed } }, {
      ...this.#options(),
      upsert: true,
    });
    const updated = await sequences.findOneAndUpdate(
      { sequence: entity.table },
      { $inc: { value: count } },
      { ...this.#options(), returnDocument: "after", upsert: true },
    );
    const last = Number(updated?.value ?? count);
    return Array.from({ length: count }, (_, i) => last - count + 1 + i);
  }

  /** See {@linkcode ProviderOperations.insert}. */
  async insert(
    entity: EntityMetadata,
    rows: readonly Row[],
    options?: ExecutionOptions,
  ): Promise<Row[]> {
    throwIfAborted(options?.signal);
    if (rows.length === 0) return [];
    try {
      const storage = this.#host.storage;
      const documents = rows.map((row) => {
        const document = toDocument(entity, row, storage);
        for (const field of entity.fieldList) {
          if (!(field.column in document)) document[field.column] = null;
        }
        return document;
      });
      const key = entity.key.length === 1 ? entity.fields.get(entity.key[0]!)! : undefined;
      if (key !== undefined) {
        const missing = documents.filter((d) => d[key.column] === null);
        if (missing.length > 0 && key.column === "_id") {
          for (const d of missing) d._id = new ObjectId();
        } else if (missing.length > 0 && key.autoIncrement && key.type === "integer") {
          const keys = await this.#nextKeys(entity, key, missing.length);
          missing.forEach((d, i) => (d[key.column] = keys[i]));
        }
      }
      // Ids chosen here, so that a partial insert outside a transaction can be undone.
      for (const d of documents) if (d._id === undefined || d._id === null) d._id = new ObjectId();
      const collection = await this.#collection(entity);
      if (this.#session !== undefined || documents.length === 1) {
        await raceSignal(
          collection.insertMany(documents, { ...this.#options(), ordered: true }),
          options?.signal,
        );
      } else if (await this.#host.supportsTransactions()) {
        await this.#host.atomically((session) =>
          collection.insertMany(documents, { session, ordered: true })
        );
      } else {
        try {
          await collection.insertMany(documents, { ordered: true });
        } catch (error) {
          // No transactions here: undo what was written, so that createMany stays all or nothing.
          await collection.deleteMany({ _id: { $in: documents.map((d) => d._id as ObjectId) } })
            .catch(() => {});
          throw error;
        }
      }
      return documents.map((d) => fromDocument(entity, d));
    } catch (error) {
      throw mapMongoError(error, { entity: entity.name });
    }
  }

  async #targetFilter(target: WriteTarget): Promise<Document> {
    const where = compileWhere(
      target.schema,
      target.entity,
      target.filter,
      undefined,
      this.#host.storage,
    );
    if (where.pipeline === undefined) return where.filter;
    const collection = await this.#collection(target.entity);
    const ids = await collection.aggregate<{ _id: unknown }>(
      [...where.pipeline, { $project: { _id: 1 } }],
      this.#options(),
    ).toArray();
    return { _id: { $in: ids.map((d) => d._id) } };
  }

  /** See {@linkcode ProviderOperations.update}. */
  async update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    throwIfAborted(options?.signal);
    try {
      const set: Document = {};
      for (const [name, value] of Object.entries(changes)) {
        const field = target.entity.fields.get(name);
        if (field === undefined) continue;
        set[field.column] = toStored(target.entity, field, value, this.#host.storage);
      }
      if (Object.keys(set).length === 0) return 0;
      const filter = await this.#targetFilter(target);
      const collection = await this.#collection(target.entity);
      const result = await raceSignal(
        collection.updateMany(filter, { $set: set }, this.#options()),
        options?.signal,
      );
      return result.matchedCount;
    } catch (error) {
      throw mapMongoError(error, { entity: target.entity.name });
    }
  }

  /**
   * See {@linkcode ProviderOperations.increment}: `$inc` is atomic per document. A null counter
   * counts as 0: such counters are set to 0 first (idempotent, so safe under concurrency), since
   * `$inc` refuses null and not every server runs pipeline updates.
   */
  async increment(
    target: WriteTarget,
    increments: Readonly<Record<string, number>>,
    changes: Row = {},
    options?: ExecutionOptions,
  ): Promise<number> {
    throwIfAborted(options?.signal);
    try {
      const inc: Document = {};
      const set: Document = {};
      for (const [name, by] of Object.entries(increments)) {
        const field = target.entity.fields.get(name);
        if (field !== undefined) inc[field.column] = by;
      }
      for (const [name, value] of Object.entries(changes)) {
        const field = target.entity.fields.get(name);
        if (field === undefined || name in increments) continue;
        set[field.column] = toStored(target.entity, field, value, this.#host.storage);
      }
      if (Object.keys(inc).length === 0 && Object.keys(set).length === 0) return 0;
      const filter = await this.#targetFilter(target);
      const collection = await this.#collection(target.entity);
      for (const column of Object.keys(inc)) {
        await collection.updateMany(
          { $and: [filter, { [column]: { $eq: null } }] },
          { $set: { [column]: 0 } },
          this.#options(),
        );
      }
      const update: Document = {};
      if (Object.keys(inc).length > 0) update.$inc = inc;
      if (Object.keys(set).length > 0) update.$set = set;
      const result = await raceSignal(
        collection.updateMany(filter, update, this.#options()),
        options?.signal,
      );
      return result.matchedCount;
    } catch (error) {
      throw mapMongoError(error, { entity: target.entity.name });
    }
  }

  /** See {@linkcode ProviderOperations.delete}. */
  async delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    throwIfAborted(options?.signal);
    try {
      const filter = await this.#targetFilter(target);
      const collection = await this.#collection(target.entity);
      const result = await raceSignal(
        collection.deleteMany(filter, this.#options()),
        options?.signal,
      );
      return result.deletedCount;
    } catch (error) {
      throw mapMongoError(error, { entity: target.entity.name });
    }
  }
}

function linkFilter(fields: readonly FieldMetadata[], keys: readonly unknown[][]): Document {
  if (fields.length === 1) return { [fields[0]!.column]: { $in: keys.map((k) => k[0]) } };
  return {
    $or: keys.map((key) => Object.fromEntries(fields.map((f, i) => [f.column, { $eq: key[i] }]))),
  };
}
