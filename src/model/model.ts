/**
 * The model of one entity: the root query plus create/update/delete and key lookups.
 *
 * @module
 */

import type { Expression, ODataQuery } from "../odata/ast.ts";
import { and } from "../odata/builders.ts";
import {
  type FieldIssue,
  ODataActiveRecordError,
  throwIfAborted,
  ValidationError,
} from "../errors/errors.ts";
import type {
  ExecutionOptions,
  InsertOptions,
  ProviderOperations,
  ReadRequest,
  Row,
  RowBuilder,
} from "../provider/provider.ts";
import type { ModelContext } from "./context.ts";
import { canonicalLiteral, type ConditionScope, fieldLiteral, unknownField } from "./conditions.ts";
import { type BulkWriteOptions, type FindResult, negate, Query } from "./query.ts";
import {
  ActiveRecord,
  recordBuilder,
  type RecordClass,
  recordClassFor,
  type RecordOf,
} from "./record.ts";
import type { EntityMetadata } from "./schema.ts";
import type { DefaultShape, EntityShape, NumericFieldName } from "./types.ts";
import { keyFromValue, validateRecord } from "./validate.ts";
import { selectSteps } from "../odata/select_path.ts";

/** Options of `upsert()`. */
export interface UpsertOptions extends ExecutionOptions {
  /** Fields that identify the row. @default {the key} */
  readonly conflictFields?: readonly string[];
}

/**
 * An entity model, returned by `namespace.registerEntity()` and `namespace.getEntity()`.
 * It is the root query, so `Product.find()` and `Product.where(...)` both work.
 *
 * @example
 * ```ts ignore
 * const Product = namespace.getEntity("Products");
 * const chai = await Product.create({ ProductID: 1, ProductName: "Chai", UnitPrice: 18 });
 * const cheap = await Product.where("UnitPrice", "lt", 20).orderBy("ProductName").find();
 * ```
 */
export class EntityModel<T extends Row = Row, S extends EntityShape = DefaultShape<T>>
  extends Query<T, S> {
  /** The resolved entity metadata. */
  readonly metadata: EntityMetadata;
  /** Where it runs: its namespace, or a transaction of it. */
  readonly context: ModelContext;
  /** Field checks and literal making use this. */
  readonly scope: ConditionScope;
  readonly #Record: RecordClass;
  readonly #relationNames: readonly string[];
  /** Models of navigation targets, made once: `wrap()` needs them for every expanded row. */
  readonly #related = new Map<string, EntityModel<Row>>();
  /** The key fields' path nodes (AST nodes are immutable, so every key filter shares them). */
  readonly #keyPaths: ReadonlyMap<string, Expression>;
  /** This model's row builder (made on first read; null: none, reserved names). */
  #builder: RowBuilder | null | undefined;
  /** Row builders of other entities' rows in reads of this model (expanded navigations). */
  readonly #builders = new Map<EntityMetadata, RowBuilder | undefined>();

  /** Internal: models are made by namespaces. */
  constructor(metadata: EntityMetadata, context: ModelContext) {
    super(undefined, {});
    this.metadata = metadata;
    this.context = context;
    this.scope = { entity: metadata, schema: context.schema, options: context.options };
    this.#relationNames = [...metadata.relations.keys()];
    this.#Record = recordClassFor(this as unknown as EntityModel);
    this.#keyPaths = new Map(metadata.key.map((name): [string, Expression] => {
      const segments = [{ kind: "Property", name }] as const;
      const path: Expression = { kind: "Path", root: "implicit", segments };
      return [name, Object.freeze(path)];
    }));
  }

  /** The entity name. */
  get name(): string {
    return this.metadata.name;
  }

  /** The UNKNOWN_FIELD error for `name` on this entity, with the closest name. */
  unknownField(name: string): ODataActiveRecordError {
    return unknownField(this.metadata, name);
  }

  /** The model of a navigation property's target, in the same context. */
  relatedModel(navigation: string): EntityModel<Row> {
    const known = this.#related.get(navigation);
    if (known !== undefined) return known;
    const relation = this.metadata.relations.get(navigation);
    if (relation === undefined) throw this.unknownField(navigation);
    const target = this.context.schema.getEntityMetadata(relation.target);
    if (target === undefined) {
      throw new ODataActiveRecordError("UNKNOWN_ENTITY", `Unknown entity '${relation.target}'`, {
        context: { entity: relation.target },
      });
    }
    const model = new EntityModel(target, this.context);
    this.#related.set(navigation, model);
    return model;
  }

  /** Validates and coerces data for a write; throws one `ValidationError` listing every issue. */
  validate(data: unknown, mode: "create" | "update"): Row {
    return validateRecord(this.metadata, data, mode, this.context.options);
  }

  /** Internal: the row builder of this model's records, for providers that decode into them. */
  rowBuilder(): RowBuilder | undefined {
    if (this.#builder === undefined) {
      this.#builder = recordBuilder(
        this as unknown as EntityModel,
        this.#Record,
        (name, value) => this.#wrapNavigation(name, value),
      ) ?? null;
    }
    return this.#builder ?? undefined;
  }

  /** Row builders by entity for reads of this model: its own, and its expansions' entities. */
  readonly #rowBuilders = (entity: EntityMetadata): RowBuilder | undefined => {
    if (entity === this.metadata) return this.rowBuilder();
    if (!this.#builders.has(entity)) {
      this.#builders.set(entity, new EntityModel(entity, this.context).rowBuilder());
    }
    return this.#builders.get(entity);
  };

  /** An expanded navigation value as records (rows a provider left plain are wrapped). */
  #wrapNavigation(name: string, value: Row | Row[] | null): unknown {
    if (value === null) return null;
    if (Array.isArray(value)) {
      return value.every((row) => row instanceof ActiveRecord)
        ? value
        : value.map((row) => this.relatedModel(name).wrap(row));
    }
    return this.relatedModel(name).wrap(value);
  }

  /** Wraps canonical values as a record (`persisted` false for `build()`). */
  wrap(values: Row, persisted = true): RecordOf<T> {
    if (values instanceof ActiveRecord) return values as RecordOf<T>;
    for (const name of this.#relationNames) {
      const nested = values[name];
      if (nested === undefined || nested === null) continue;
      const related = this.relatedModel(name);
      values[name] = Array.isArray(nested)
        ? nested.map((row: Row) => related.wrap(row))
        : related.wrap(nested as Row);
    }
    return new this.#Record(this as unknown as EntityModel, values, persisted) as RecordOf<T>;
  }

  /**
   * Internal: a stored row as reads return it: every field in definition order, `null` for empty
   * ones (inserts return only what was written and the generated key).
   */
  fullRow(stored: Row): Row {
    const row: Row = {};
    for (const field of this.metadata.fieldList) {
      const value = stored[field.name];
      row[field.name] = value === undefined ? null : value;
    }
    return row;
  }

  /** A new, unsaved record (saved by `record.save()`). */
  build(data: S["update"] = {}): RecordOf<T> {
    return this.wrap({ ...data } as Row, false);
  }

  #request(query: ODataQuery): ReadRequest {
    return { entity: this.metadata, schema: this.context.schema, query };
  }

  /** A read whose rows become records (decoded straight into them by providers that can). */
  #recordRequest(query: ODataQuery): ReadRequest {
    return {
      entity: this.metadata,
      schema: this.context.schema,
      query,
      rowBuilder: this.#rowBuilders,
    };
  }

  #keyFilter(key: unknown): Expression {
    const values = keyFromValue(this.metadata, key, this.context.options);
    // The values are canonical already: they become literals without a second coercion.
    const parts: Expression[] = this.metadata.key.map((name) => ({
      kind: "Binary",
      operator: "eq",
      left: this.#keyPaths.get(name)!,
      right: canonicalLiteral(this.metadata.fields.get(name)!, values[name]),
    }));
    return parts.length === 1 ? parts[0]! : and(...parts);
  }

  /** The context's operations; callers are async, so a thrown abort becomes their rejection. */
  #operations(options: ExecutionOptions | undefined): Promise<ProviderOperations> {
    throwIfAborted(options?.signal);
    return this.context.operations();
  }

  /** Internal: runs a read; timed from `started` (`performance.now()`) when the caller has it. */
  async runFind(
    query: ODataQuery,
    options?: ExecutionOptions,
    started: number = performance.now(),
  ): Promise<FindResult<T>> {
    const operations = await this.#operations(options);
    const result = await operations.read(this.#recordRequest(query), options);
    const rows = result.rows;
    const data = new Array<RecordOf<T>>(rows.length);
    if (query.expand === undefined) {
      // Nothing expanded: the rows hold no navigation values to wrap first.
      const Record = this.#Record;
      const model = this as unknown as EntityModel;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        data[i] = (row instanceof ActiveRecord ? row : new Record(model, row, true)) as RecordOf<T>;
      }
    } else {
      for (let i = 0; i < rows.length; i++) data[i] = this.wrap(rows[i]!);
    }
    const executionTime = performance.now() - started;
    const warnings = this.#selectWarnings(query);
    return result.count === undefined
      ? { data, warnings, metadata: { executionTime } }
      : { data, count: result.count, warnings, metadata: { executionTime } };
  }

  /** Records read without their key cannot be saved, reloaded or destroyed: say so up front. */
  #selectWarnings(query: ODataQuery): string[] {
    if (query.select === undefined || query.apply !== undefined) return [];
    const selected = new Set(query.select.map((item) => selectSteps(item).join("/")));
    if (selected.has("*")) return [];
    const missing = this.metadata.key.filter((name) => !selected.has(name));
    return missing.length === 0 ? [] : [
      `select() leaves out the key (${missing.join(", ")}): these ${this.name} records cannot be ` +
      `saved, reloaded or destroyed`,
    ];
  }

  /** Internal: counts for a query of this model. */
  async runCount(query: ODataQuery, options?: ExecutionOptions): Promise<number> {
    const operations = await this.#operations(options);
    if (query.apply !== undefined) {
      // Counting what $apply produces (groups, aggregates) needs the whole pipeline.
      const { count } = await operations.read(
        this.#request({
          filter: query.filter,
          search: query.search,
          apply: query.apply,
          count: true,
          top: 0,
        }),
        options,
      );
      return count ?? 0;
    }
    return await operations.count(
      this.#request({ filter: query.filter, search: query.search }),
      options,
    );
  }

  /** Internal: streams a query of this model. */
  async *runStream(query: ODataQuery, options?: ExecutionOptions): AsyncGenerator<RecordOf<T>> {
    const operations = await this.#operations(options);
    for await (const row of operations.stream(this.#request(query), options)) {
      yield this.wrap(row);
    }
  }

  /** Internal: updates rows matching `filter`. */
  async runUpdate(
    filter: Expression | undefined,
    changes: S["update"],
    options?: BulkWriteOptions,
  ): Promise<number> {
    if (filter === undefined && options?.all !== true) throw unsafe(this.name, "update");
    return await this.#writeUpdate(filter, this.validate(changes, "update"), options);
  }

  /** Writes already validated values to the rows matching `filter`. */
  async #writeUpdate(
    filter: Expression | undefined,
    values: Row,
    options: ExecutionOptions | undefined,
  ): Promise<number> {
    if (Object.keys(values).length === 0) return 0;
    const operations = await this.#operations(options);
    const target = { entity: this.metadata, schema: this.context.schema, filter };
    const version = this.metadata.versionField;
    if (version === undefined || operations.increment === undefined) {
      return await operations.update(target, values, options);
    }
    const expected = values[version];
    if (expected === undefined || expected === null) {
      // No version to check against: the write still moves the version on, so that writers
      // holding the old one meet a conflict.
      return await operations.increment(target, { [version]: 1 }, values, options);
    }
    // Only rows still at the expected version are written, one version further.
    const checked = and(...[filter, this.#versionIs(expected)].filter((e) => e !== undefined));
    return await operations.update(
      { ...target, filter: checked },
      { ...values, [version]: (expected as number) + 1 },
      options,
    );
  }

  /** `version eq expected`. */
  #versionIs(expected: unknown): Expression {
    const name = this.metadata.versionField!;
    return {
      kind: "Binary",
      operator: "eq",
      left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name }] },
      right: canonicalLiteral(this.metadata.fields.get(name)!, expected),
    };
  }

  /**
   * Internal: adds `by` to a numeric field of the rows matching `filter` in one atomic statement
   * (a null counts as 0; the version field, if any, moves on by 1).
   */
  async runIncrement(
    filter: Expression | undefined,
    field: string,
    by: number,
    options?: BulkWriteOptions,
  ): Promise<number> {
    if (filter === undefined && options?.all !== true) throw unsafe(this.name, "increment");
    const metadata = this.metadata.fields.get(field);
    if (metadata === undefined) throw this.unknownField(field);
    if (
      (metadata.type !== "integer" && metadata.type !== "number") || metadata.primaryKey ||
      field === this.metadata.versionField
    ) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `${this.name}.${field} cannot be incremented: only integer and number fields that are ` +
          "neither key nor version",
        { context: { entity: this.name, field, type: metadata.type } },
      );
    }
    const whole = metadata.type === "integer";
    if (typeof by !== "number" || !(whole ? Number.isSafeInteger(by) : Number.isFinite(by))) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `increment() of ${this.name}.${field} needs a finite ${whole ? "integer " : ""}number, ` +
          `got ${String(by)}`,
        { context: { entity: this.name, field, by: String(by) } },
      );
    }
    const operations = await this.#operations(options);
    if (operations.increment === undefined) {
      throw new ODataActiveRecordError(
        "NOT_SUPPORTED",
        `The ${this.context.namespaceName} provider cannot increment atomically`,
        { context: { entity: this.name, field } },
      );
    }
    const increments: Record<string, number> = { [field]: by };
    if (this.metadata.versionField !== undefined) increments[this.metadata.versionField] = 1;
    return await operations.increment(
      { entity: this.metadata, schema: this.context.schema, filter },
      increments,
      {},
      options,
    );
  }

  /**
   * Adds `by` (default 1) to a numeric field of the record with this key, atomically (no lost
   * update however many run at once); returns the number of affected rows (0 or 1).
   *
   * @example
   * ```ts ignore
   * await Product.incrementById(1, "UnitsInStock", 5);
   * ```
   */
  incrementById(
    key: S["key"],
    field: NumericFieldName<S>,
    by: number = 1,
    options?: ExecutionOptions,
  ): Promise<number> {
    return this.runIncrement(this.#keyFilter(key), field, by, options);
  }

  /** Subtracts `by` (default 1) from a numeric field of the record with this key, atomically. */
  decrementById(
    key: S["key"],
    field: NumericFieldName<S>,
    by: number = 1,
    options?: ExecutionOptions,
  ): Promise<number> {
    return this.runIncrement(this.#keyFilter(key), field, negate(by), options);
  }

  /** Internal: deletes rows matching `filter`. */
  async runDelete(filter: Expression | undefined, options?: BulkWriteOptions): Promise<number> {
    if (filter === undefined && options?.all !== true) throw unsafe(this.name, "delete");
    const operations = await this.#operations(options);
    return await operations.delete(
      { entity: this.metadata, schema: this.context.schema, filter },
      options,
    );
  }

  /** Internal: inserts one validated row and returns it as `findById` would read it. */
  async insertOne(data: Row, options?: ExecutionOptions): Promise<Row> {
    const row = this.validate(data, "create");
    const operations = await this.#operations(options);
    const [stored] = await operations.insert(this.metadata, [row], options);
    return this.fullRow(stored!);
  }

  /** Internal: the stored row for a key, or undefined. */
  async findRowById(key: unknown, options?: ExecutionOptions): Promise<Row | undefined> {
    const operations = await this.#operations(options);
    // No $top: a key matches at most one row, and paging would add an ORDER BY for nothing.
    const result = await operations.read(this.#request({ filter: this.#keyFilter(key) }), options);
    return result.rows[0];
  }

  /** Creates one record. */
  async create(data: S["create"], options?: ExecutionOptions): Promise<RecordOf<T>> {
    return this.wrap(await this.insertOne(data as Row, options));
  }

  /**
   * Creates many records in one transaction: all are written, or none. Long lists are validated,
   * written and wrapped in chunks that give the event loop a turn at least every few
   * milliseconds. With `{ returning: false }` it resolves to the number of rows written instead
   * of the records (faster: nothing is read back or wrapped).
   */
  createMany(
    rows: readonly S["create"][],
    options: InsertOptions & { readonly returning: false },
  ): Promise<number>;
  /** Creates many records in one transaction and returns them (see the overload above). */
  createMany(rows: readonly S["create"][], options?: InsertOptions): Promise<RecordOf<T>[]>;
  async createMany(
    rows: readonly S["create"][],
    options?: InsertOptions,
  ): Promise<RecordOf<T>[] | number> {
    if (!Array.isArray(rows)) {
      throw new ODataActiveRecordError("INVALID_ARGUMENT", "createMany() needs an array of rows", {
        context: { entity: this.name },
      });
    }
    const returning = options?.returning !== false;
    const valid = await this.#validateAll(rows, options?.signal);
    if (valid.length === 0) return returning ? [] : 0;
    const operations = await this.#operations(options);
    const stored = await operations.insert(this.metadata, valid, options);
    if (!returning) return valid.length;
    const records = new Array<RecordOf<T>>(stored.length);
    await inSlices(stored.length, options?.signal, (i) => {
      records[i] = this.wrap(this.fullRow(stored[i]!));
    });
    return records;
  }

  /** Validates every row and reports the issues of all failing rows in one `ValidationError`. */
  async #validateAll(rows: readonly S["create"][], signal?: AbortSignal): Promise<Row[]> {
    const valid = new Array<Row>(rows.length);
    const issues: FieldIssue[] = [];
    await inSlices(rows.length, signal, (index) => {
      try {
        valid[index] = this.validate(rows[index], "create");
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        for (const issue of error.issues) {
          issues.push({ ...issue, field: `[${index}].${issue.field}` });
        }
      }
    });
    if (issues.length > 0) {
      throw new ValidationError(this.name, issues, { context: { rows: rows.length } });
    }
    return valid;
  }

  /** The record with this key (a value, or an object for composite keys), or `undefined`. */
  async findById(key: S["key"], options?: ExecutionOptions): Promise<RecordOf<T> | undefined> {
    // findRowById() inlined: one async step less on the hottest read.
    const operations = await this.#operations(options);
    const request = this.#recordRequest({ filter: this.#keyFilter(key) });
    const { rows } = await operations.read(request, options);
    return rows[0] === undefined ? undefined : this.wrap(rows[0]);
  }

  /** The record with this key; throws a `NOT_FOUND` error when there is none. */
  async findByIdOrFail(key: S["key"], options?: ExecutionOptions): Promise<RecordOf<T>> {
    const record = await this.findById(key, options);
    if (record === undefined) {
      throw new ODataActiveRecordError(
        "NOT_FOUND",
        `${this.name} with key ${JSON.stringify(key)} was not found`,
        {
          context: { entity: this.name, key },
        },
      );
    }
    return record;
  }

  /** Updates the record with this key; returns the number of affected rows (0 or 1). */
  async updateById(
    key: S["key"],
    changes: S["update"],
    options?: ExecutionOptions,
  ): Promise<number> {
    return (await this.updateByIdValidated(key, changes, options)).affected;
  }

  /**
   * Internal: `updateById` that also returns the validated values it wrote, so a record can
   * merge them without validating (and running `validate` hooks) a second time.
   */
  async updateByIdValidated(
    key: unknown,
    changes: S["update"],
    options?: ExecutionOptions,
  ): Promise<{ affected: number; values: Row }> {
    const keyValues = keyFromValue(this.metadata, key, this.context.options);
    const rest: Row = { ...changes };
    for (const name of this.metadata.key) {
      // Repeating the current key value is harmless (whole records are often passed back).
      if (Object.hasOwn(rest, name) && sameValue(rest[name], keyValues[name])) delete rest[name];
    }
    const values = this.validate(rest, "update");
    const filter = this.#keyFilter(keyValues);
    const affected = await this.#writeUpdate(filter, values, options);
    const version = this.metadata.versionField;
    const expected = version === undefined ? undefined : values[version];
    if (expected === undefined || expected === null) return { affected, values };
    if (affected === 0 && (await this.findRowById(keyValues, options)) !== undefined) {
      throw new ODataActiveRecordError(
        "CONFLICT",
        `${this.name} with key ${JSON.stringify(key)} was changed since version ${expected} ` +
          "was read",
        { context: { entity: this.name, key, version: expected } },
      );
    }
    return { affected, values: { ...values, [version!]: (expected as number) + 1 } };
  }

  /** Deletes the record with this key; returns the number of affected rows (0 or 1). */
  async deleteById(key: S["key"], options?: ExecutionOptions): Promise<number> {
    return await this.runDelete(this.#keyFilter(key), options);
  }

  /**
   * Inserts the row, or updates it when a row with the same key (or `conflictFields`) exists.
   * Runs in one transaction when the provider supports them.
   */
  async upsert(data: S["update"], options?: UpsertOptions): Promise<RecordOf<T>> {
    const given = (data ?? {}) as Row;
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new ODataActiveRecordError("INVALID_ARGUMENT", "upsert() needs an object of values", {
        context: { entity: this.name },
      });
    }
    const conflict = options?.conflictFields ?? this.metadata.key;
    for (const name of conflict) {
      if (!this.metadata.fields.has(name)) throw this.unknownField(name);
    }
    const missing = conflict.filter((name) => given[name] === undefined || given[name] === null);
    if (missing.length > 0) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `upsert() needs values for ${missing.join(", ")}`,
        {
          context: { entity: this.name, missing },
        },
      );
    }
    const filter = and(
      ...conflict.map((name): Expression => ({
        kind: "Binary",
        operator: "eq",
        left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name }] },
        right: fieldLiteral(this.scope, this.metadata.fields.get(name)!, given[name]),
      })),
    );
    // An existing row gets only what the caller gave (validated as an update: required fields
    // need not be repeated, defaults are for new rows); a new row is validated as a create.
    const changed = Object.keys(given).filter((name) =>
      given[name] !== undefined && !conflict.includes(name) && !this.metadata.key.includes(name)
    );
    const changes = Object.fromEntries(changed.map((name) => [name, given[name]])) as Partial<T>;
    const work = async (operations: ProviderOperations): Promise<Row> => {
      const matches = await operations.count(this.#request({ filter }), options);
      if (matches > 1) {
        throw new ODataActiveRecordError(
          "INVALID_ARGUMENT",
          `upsert() conflict fields ${conflict.join(", ")} match ${matches} ${this.name} rows`,
          {
            suggestion: "Use conflictFields that identify one row (the key or a unique field)",
            context: { entity: this.name, conflictFields: [...conflict], matches },
          },
        );
      }
      if (matches === 0) {
        const row = this.validate(given, "create");
        const [stored] = await operations.insert(this.metadata, [row], options);
        return this.fullRow(stored!);
      }
      const values = this.validate(changes as Row, "update");
      const version = this.metadata.versionField;
      if (Object.keys(values).length > 0) {
        const target = { entity: this.metadata, schema: this.context.schema, filter };
        if (version === undefined || operations.increment === undefined) {
          await operations.update(target, values, options);
        } else {
          delete values[version]; // an upsert is a blind write: it moves the version on
          await operations.increment(target, { [version]: 1 }, values, options);
        }
      }
      const result = await operations.read(this.#request({ filter, top: 1 }), options);
      return result.rows[0]!;
    };
    const operations = await this.#operations(options);
    const stored = this.context.capabilities()?.transactions && "transaction" in operations
      ? await (operations as {
        transaction<R>(w: (tx: ProviderOperations) => Promise<R>): Promise<R>;
      })
        .transaction(work)
      : await work(operations);
    return this.wrap(stored);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (a instanceof Date && b instanceof Date && a.getTime() === b.getTime()) ||
    (a !== null && b !== null && a !== undefined && String(a) === String(b));
}

function unsafe(entity: string, action: string): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "UNSAFE_OPERATION",
    `Refusing to ${action} every row of ${entity} without a filter`,
    {
      suggestion:
        `Add where(...) before ${action}(), or pass { all: true } to ${action} every row on purpose`,
      context: { entity, action },
    },
  );
}

/** Items between two looks at the clock in {@linkcode inSlices}. */
const SLICE = 256;
/** The longest {@linkcode inSlices} keeps the event loop without a turn for others (ms). */
const SLICE_MS = 20;

/** A macrotask turn (timers and I/O run); `setImmediate` where the runtime has it. */
function nextTurn(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => immediate ? immediate(resolve) : setTimeout(resolve, 0));
}

/**
 * Calls `each(0 .. count-1)`, giving the event loop a turn whenever {@linkcode SLICE_MS} have
 * passed (checked every {@linkcode SLICE} items), and checking the signal then.
 */
async function inSlices(
  count: number,
  signal: AbortSignal | undefined,
  each: (index: number) => void,
): Promise<void> {
  let turn = performance.now();
  for (let start = 0; start < count; start += SLICE) {
    if (start > 0 && performance.now() - turn >= SLICE_MS) {
      await nextTurn();
      throwIfAborted(signal);
      turn = performance.now();
    }
    const end = Math.min(start + SLICE, count);
    for (let i = start; i < end; i++) each(i);
  }
}
