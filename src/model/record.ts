/**
 * Active Record instances. A record holds its field values as own enumerable properties, so
 * `{ ...record }`, `Object.keys`, `Object.entries`, `structuredClone` and `console.log` see them;
 * methods and navigation properties live on a per-model prototype. Assigning an unknown property
 * fails with `UNKNOWN_FIELD` (a proxy at the end of the prototype chain sees assignments nothing
 * before it handles), assigning a navigation property with `INVALID_ARGUMENT`.
 *
 * Dirty tracking compares the current values with a snapshot of the stored ones (the row as
 * read), so in-place changes to `json`, `datetime` and `binary` values count too. A record the
 * provider decoded straight into (a {@linkcode RowBuilder}) keeps the row's stored column values
 * and decodes its snapshot from them only when it is first needed (reads stay as cheap as plain
 * rows); other records keep a copy whose mutable values are their own.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import type { ExecutionOptions, Row, RowBuilder } from "../provider/provider.ts";
import type { EntityModel } from "./model.ts";
import type { EntityMetadata, FieldType } from "./schema.ts";

/** Names a field cannot use as a direct property (use `record.get(name)` for those). */
const RESERVED = new Set([
  "get",
  "set",
  "save",
  "reload",
  "destroy",
  "isDirty",
  "isNew",
  "changes",
  "toJSON",
  "model",
  "key",
  "constructor",
  "__proto__",
  "then",
]);

/** Field types whose values are objects a user can change in place. */
const MUTABLE: ReadonlySet<FieldType> = new Set(["json", "datetime", "binary"]);

/** How records of one entity are laid out (worked out once per entity). */
export interface RecordPlan {
  /** Fields held as own properties, in definition order. */
  readonly fields: readonly string[];
  /** Fields with reserved names, reachable through `get()`/`set()` only. */
  readonly reserved: readonly string[];
  /** Fields whose values can change in place, compared through a mark. */
  readonly mutable: readonly string[];
  /** Navigation property names. */
  readonly navigations: readonly string[];
  /** True when a field or navigation property has a reserved name (values are copied one by one). */
  readonly reservedNames: boolean;
}

/**
 * The registered symbol Deno's inspect looks for (a plain symbol, no runtime API: spelled in
 * parts so the portability check does not take it for a `Deno` namespace call).
 */
const DENO_INSPECT: symbol = Symbol.for(["Deno", "customInspect"].join("."));
/** The registered symbol Node's `util.inspect` looks for. */
const NODE_INSPECT: symbol = Symbol.for("nodejs.util.inspect.custom");

/** True while a record copies its values: the prototype's guards let those writes through. */
let building = false;

/** A copy of a value that can change in place, for the snapshot (JSON values through JSON). */
function copyOf(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof Uint8Array) return value.slice();
  try {
    return JSON.parse(JSON.stringify(value));
  } catch {
    return value; // not JSON: compared by identity
  }
}

/** Turns the stored column values of a row into its snapshot row. */
type SnapshotDecoder = (stored: readonly unknown[]) => Row;

/** The plan of a record class, on its prototype. */
const PLAN: unique symbol = Symbol("recordPlan");
/** The model of a record class, on its prototype. */
const MODEL: unique symbol = Symbol("recordModel");
/** Stored values of a record that has none yet (replaced before use). */
const EMPTY: Row = Object.freeze({}) as Row;
/** Current values of fields with reserved names, by record. */
const reservedValues = new WeakMap<ActiveRecord, Row>();

/** A comparable stand-in for a value that can change in place. */
function markOf(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Date) return value.getTime();
  if (value instanceof Uint8Array) return Array.from(value).join(",");
  try {
    return JSON.stringify(value);
  } catch {
    return value; // not JSON: compared by identity
  }
}

/** Defines an own enumerable property without running setters or the guard. */
function defineOwn(target: object, name: PropertyKey, value: unknown): boolean {
  return Reflect.defineProperty(target, name, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * The end of every record's prototype chain: an assignment reaches it only when nothing before
 * it (an own field, a field slot of the model's prototype, an accessor) handled the name.
 */
const GUARD: object = new Proxy(Object.create(Object.prototype) as object, {
  set(_target, name, value, receiver): boolean {
    if (building || typeof name === "symbol" || !(receiver instanceof ActiveRecord)) {
      return defineOwn(receiver, name, value);
    }
    throw receiver.model.unknownField(name);
  },
});

/**
 * One entity instance. Read fields as properties (`product.ProductName`), assign to change them,
 * then `await product.save()`.
 *
 * @example
 * ```ts ignore
 * const chai = await Product.findByIdOrFail(1);
 * chai.UnitPrice = "19.00";
 * chai.isDirty; // true
 * await chai.save();
 * ```
 */
export class ActiveRecord<T extends Row = Row> {
  // Few private fields: each is one more store for every record a read makes. The model and the
  // plan live on the record class's prototype, rarely used state in a side table.
  /**
   * The values as stored (as read or last saved; field values of new records as given), mutable
   * values copied. For a record a provider built, the stored column values until first needed,
   * while `#decode` (which turns them into the stored values) is set.
   */
  #stored: Row | readonly unknown[];
  #decode: SnapshotDecoder | undefined;
  /** Expanded navigation properties. */
  #navigations: Row | undefined;
  /** 0 new, 1 stored, 2 destroyed. */
  #state: number;

  /**
   * Wraps `values` (canonical values) of `model`; `persisted` says whether it is stored. Without
   * `values`, the record is empty and its fields are assigned by the provider that decodes
   * `source` (its snapshot is `decode(source)`).
   */
  constructor(
    _model: EntityModel,
    values: Row | undefined,
    persisted: boolean,
    source?: readonly unknown[],
    decode?: SnapshotDecoder,
  ) {
    this.#stored = source ?? EMPTY;
    this.#decode = decode;
    this.#navigations = undefined;
    this.#state = persisted ? 1 : 0;
    if (values !== undefined) this.#load(values);
  }

  /** The model of this record's class. */
  get #model(): EntityModel {
    return (this as unknown as { [MODEL]: EntityModel })[MODEL];
  }

  /** The plan of this record's class. */
  get #plan(): RecordPlan {
    return (this as unknown as { [PLAN]: RecordPlan })[PLAN];
  }

  /** Current values of fields with reserved names (kept aside: rare). */
  get #reserved(): Row | undefined {
    return reservedValues.get(this);
  }

  set #reserved(values: Row | undefined) {
    if (values === undefined) reservedValues.delete(this);
    else reservedValues.set(this, values);
  }

  /** The stored values (decoded from the stored row the first time for provider-built records). */
  #snapshot(): Row {
    const decode = this.#decode;
    if (decode !== undefined) {
      this.#stored = decode(this.#stored as readonly unknown[]);
      this.#decode = undefined;
    }
    return this.#stored as Row;
  }

  /** Copies `values` into own properties (navigations and reserved names aside). */
  #load(values: Row): void {
    const plan = this.#plan;
    building = true;
    try {
      if (!plan.reservedNames) {
        Object.assign(this, values); // navigation setters store into #navigations while building
      } else {
        for (const name of Object.keys(values)) {
          if (!RESERVED.has(name)) (this as Row)[name] = values[name];
          else if (plan.navigations.includes(name)) (this.#navigations ??= {})[name] = values[name];
          else (this.#reserved ??= {})[name] = values[name];
        }
      }
    } finally {
      building = false;
    }
    const mutable = plan.mutable;
    let stored = values;
    for (let i = 0; i < mutable.length; i++) {
      const name = mutable[i]!;
      const value = values[name];
      if (value === null || typeof value !== "object") continue;
      // The record's own value may change in place: the snapshot keeps a copy.
      if (stored === values) stored = { ...values };
      stored[name] = copyOf(value);
    }
    this.#stored = stored;
    this.#decode = undefined;
  }

  /** The model this record belongs to. */
  get model(): EntityModel {
    return this.#model;
  }

  /** True before the first successful `save()` of a record made with `Model.build()`. */
  get isNew(): boolean {
    return this.#state !== 1;
  }

  /** True when fields differ from their stored values (in-place changes included). */
  get isDirty(): boolean {
    return this.#collect(true) !== undefined;
  }

  /** The changed, unsaved values by field name (a copy). */
  get changes(): Partial<T> {
    return (this.#collect(false) ?? {}) as Partial<T>;
  }

  /** The changed fields with their current values, or undefined when none changed. */
  #collect(firstOnly: boolean): Row | undefined {
    const plan = this.#plan;
    const stored = this.#snapshot();
    let changes: Row | undefined;
    let mark = 0;
    for (const name of plan.fields) {
      const current = (this as Row)[name];
      let changed: boolean;
      if (plan.mutable[mark] === name) {
        changed = markOf(current) !== markOf(stored[name]);
        mark++;
      } else {
        changed = current !== stored[name];
      }
      if (changed) {
        (changes ??= {})[name] = current;
        if (firstOnly) return changes;
      }
    }
    for (const name of plan.reserved) {
      const reserved = this.#reserved;
      if (reserved !== undefined && Object.hasOwn(reserved, name)) {
        if (reserved[name] !== stored[name]) (changes ??= {})[name] = reserved[name];
      }
    }
    return changes;
  }

  /** The key of this record (as stored): the value, or an object for composite keys. */
  get key(): unknown {
    const key = this.#model.metadata.key;
    const stored = this.#snapshot();
    if (key.length === 1) return stored[key[0]!];
    return Object.fromEntries(key.map((name) => [name, stored[name]]));
  }

  /** Reads a field (or an expanded navigation) by name. */
  get<K extends keyof T & string>(name: K): T[K];
  /** Reads a field by a name known only at run time (`undefined` when there is none). */
  get(name: string): unknown;
  get(name: string): unknown {
    if (this.#model.metadata.relations.has(name)) return this.#navigations?.[name];
    if (RESERVED.has(name)) {
      const reserved = this.#reserved;
      return reserved !== undefined && Object.hasOwn(reserved, name)
        ? reserved[name]
        : this.#snapshot()[name];
    }
    return (this as Row)[name];
  }

  /** Assigns a field; the value is validated on `save()`. */
  set<K extends keyof T & string>(name: K, value: T[K]): this {
    const metadata = this.#model.metadata;
    if (metadata.relations.has(name)) throw navigationAssigned(metadata, name);
    if (!metadata.fields.has(name)) throw this.#model.unknownField(name);
    if (RESERVED.has(name)) (this.#reserved ??= {})[name] = value;
    else (this as Row)[name] = value;
    return this;
  }

  /** The current values of a new record: everything given or assigned (unknown names too). */
  #current(): Row {
    const out: Row = { ...(this as unknown as Row) };
    for (const name of this.#plan.reserved) {
      const value = this.get(name);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  /** Inserts a new record, or updates the changed fields of a stored one. */
  async save(options?: ExecutionOptions): Promise<this> {
    if (this.#state === 2) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `This ${this.#model.name} record was destroyed`,
        {
          suggestion:
            "Create a new record with Model.create() or Model.build() instead of saving a destroyed one",
          context: { entity: this.#model.name, key: this.key },
        },
      );
    }
    if (this.#state === 0) {
      const stored = await this.#model.insertOne(this.#current(), options);
      this.#state = 1;
      this.#reset(stored);
      return this;
    }
    const collected = this.#collect(false);
    if (collected === undefined) return this;
    const version = this.#model.metadata.versionField;
    const stored = this.#snapshot();
    // The version this record was read at: the write happens only if the row is still there.
    // (Not known: not selected, or null in a row older than the version column.)
    const changes = version === undefined || Object.hasOwn(collected, version) ||
        stored[version] === undefined || stored[version] === null
      ? collected
      : { ...collected, [version]: stored[version] };
    const { affected, values } = await this.#model.updateByIdValidated(
      this.key,
      changes,
      options,
    );
    if (affected === 0) throw this.#notFound();
    this.#reset({ ...this.#snapshot(), ...values });
    return this;
  }

  /** Makes `row` the stored values and the current ones. */
  #reset(row: Row): void {
    this.#reserved = undefined;
    this.#load(row);
  }

  /** Re-reads the stored values, dropping unsaved changes (and expanded navigations). */
  async reload(options?: ExecutionOptions): Promise<this> {
    const fresh = await this.#model.findRowById(this.key, options);
    if (fresh === undefined) throw this.#notFound();
    this.#navigations = undefined;
    this.#reset(fresh);
    return this;
  }

  /** Deletes the stored record. */
  async destroy(options?: ExecutionOptions): Promise<void> {
    if (this.#state !== 1) return;
    const affected = await this.#model.deleteById(this.key, options);
    if (affected === 0) throw this.#notFound();
    this.#state = 2;
  }

  /** The values with unsaved changes and expanded navigations, as a plain object. */
  #plain(json: boolean): Row {
    const out: Row = { ...(this as unknown as Row) };
    for (const name of this.#plan.reserved) {
      const value = this.get(name);
      if (value !== undefined) out[name] = value;
    }
    const navigations = this.#navigations;
    if (navigations !== undefined) {
      for (const [name, value] of Object.entries(navigations)) {
        out[name] = !json
          ? value
          : value instanceof ActiveRecord
          ? value.toJSON()
          : Array.isArray(value)
          ? value.map((item) => item instanceof ActiveRecord ? item.toJSON() : item)
          : value;
      }
    }
    return out;
  }

  /** The values (with unsaved changes), for `JSON.stringify` and logging. */
  toJSON(): PlainRecord<T> {
    return this.#plain(true) as PlainRecord<T>;
  }

  static {
    // `Products { ProductID: 1, ... }` in console.log, Deno's inspect and Node's util.inspect.
    type Inspect = (value: unknown, options?: unknown) => string;
    const describe = (record: ActiveRecord, inspect: Inspect, options: unknown): string =>
      `${record.#model.name} ${inspect(record.#plain(false), options)}`;
    Object.defineProperty(ActiveRecord.prototype, DENO_INSPECT, {
      value(this: ActiveRecord, inspect: Inspect, options: unknown): string {
        return describe(this, inspect, options);
      },
    });
    Object.defineProperty(ActiveRecord.prototype, NODE_INSPECT, {
      value(this: ActiveRecord, _depth: number, options: unknown, inspect: Inspect): string {
        return describe(this, inspect, options);
      },
    });
  }

  #notFound(): ODataActiveRecordError {
    return new ODataActiveRecordError(
      "NOT_FOUND",
      `${this.#model.name} with key ${JSON.stringify(this.key)} was not found`,
      { context: { entity: this.#model.name, key: this.key } },
    );
  }

  /** Internal: sets expanded navigation property `name` of `record` (a provider stitched it). */
  static attachNavigation(record: ActiveRecord, name: string, value: unknown): void {
    (record.#navigations ??= {})[name] = value;
  }

  /** Internal: defines navigation property `name` on a record prototype. */
  static defineNavigation(prototype: object, metadata: EntityMetadata, name: string): void {
    Object.defineProperty(prototype, name, {
      get(this: ActiveRecord): unknown {
        return this.#navigations?.[name];
      },
      set(this: ActiveRecord, value: unknown): void {
        if (!building) throw navigationAssigned(metadata, name);
        (this.#navigations ??= {})[name] = value;
      },
      enumerable: false,
      configurable: false,
    });
  }
}

Object.setPrototypeOf(ActiveRecord.prototype, GUARD);
// Resolving a promise with a record looks up `then`: answer before the guard is reached.
Object.defineProperty(ActiveRecord.prototype, "then", { value: undefined, writable: false });

function navigationAssigned(entity: EntityMetadata, name: string): ODataActiveRecordError {
  const relation = entity.relations.get(name);
  const how = relation === undefined
    ? ""
    : relation.kind === "one"
    ? `set ${relation.localFields.join(", ")} to reference a ${relation.target} row`
    : `create or update the ${relation.target} rows through their own model`;
  return new ODataActiveRecordError(
    "INVALID_ARGUMENT",
    `'${name}' is a navigation property of ${entity.name} and cannot be assigned`,
    {
      suggestion: `Read it with expand('${name}'); to change the relationship, ${how}.`,
      context: { entity: entity.name, field: name },
    },
  );
}

const plans = new WeakMap<EntityMetadata, RecordPlan>();

function planOf(entity: EntityMetadata): RecordPlan {
  let plan = plans.get(entity);
  if (plan === undefined) {
    const names = entity.fieldList.map((field) => field.name);
    plan = {
      fields: names.filter((name) => !RESERVED.has(name)),
      reserved: names.filter((name) => RESERVED.has(name)),
      mutable: entity.fieldList.filter((field) =>
        !RESERVED.has(field.name) && MUTABLE.has(field.type)
      )
        .map((field) => field.name),
      navigations: [...entity.relations.keys()],
      reservedNames: [...entity.fields.keys(), ...entity.relations.keys()].some((name) =>
        RESERVED.has(name)
      ),
    };
    plans.set(entity, plan);
  }
  return plan;
}

/** A record typed with its fields as properties. */
export type RecordOf<T extends Row> = string extends keyof T ? ActiveRecord<T> & UntypedValues
  : ActiveRecord<T> & T;

/**
 * The fields of a record whose model is untyped: any name, values not checked (so a typed model
 * can be passed where an untyped `EntityModel` is expected).
 */
// deno-lint-ignore no-explicit-any
export type UntypedValues = { [name: string]: any };

/** A record type as plain data: nested records (expanded navigations) as their plain data too. */
export type PlainRecord<T> = { [K in keyof T]: PlainValue<T[K]> };

/** One value of {@linkcode PlainRecord}. */
export type PlainValue<V> = V extends ActiveRecord<infer U> ? PlainRecord<U>
  : V extends readonly ActiveRecord<infer U>[] ? PlainRecord<U>[]
  : V;

/** The class of one model's records. */
export type RecordClass = new (model: EntityModel, values: Row, persisted: boolean) => ActiveRecord;

/** The constructor of a record class, with the arguments of records a provider builds. */
type BuildableClass = new (
  model: EntityModel,
  values: Row | undefined,
  persisted: boolean,
  source?: readonly unknown[],
  decode?: SnapshotDecoder,
) => ActiveRecord;

/**
 * Makes the per-model record class, named after the entity: a writable slot per field on its
 * prototype (so assigning a field creates the own property without reaching the guard), and an
 * accessor per navigation property.
 */
export function recordClassFor(model: EntityModel): RecordClass {
  const entity = model.metadata;
  const plan = planOf(entity);
  const RecordClass = class extends ActiveRecord {};
  Object.defineProperty(RecordClass, "name", { value: entity.name });
  Object.defineProperty(RecordClass.prototype, PLAN, { value: plan });
  Object.defineProperty(RecordClass.prototype, MODEL, { value: model });
  for (const field of entity.fieldList) {
    if (RESERVED.has(field.name)) continue;
    Object.defineProperty(RecordClass.prototype, field.name, {
      value: undefined,
      writable: true,
      enumerable: false,
      configurable: false,
    });
  }
  for (const name of entity.relations.keys()) {
    if (RESERVED.has(name)) continue;
    ActiveRecord.defineNavigation(RecordClass.prototype, entity, name);
  }
  return RecordClass;
}

/**
 * The row builder that makes a provider decode rows of `model` straight into its records (see
 * {@linkcode RowBuilder}), or `undefined` when a field or navigation property has a reserved name
 * (those records copy their values one by one). `wrapNavigation` turns a stitched navigation value
 * into records (values the provider left plain).
 */
export function recordBuilder(
  model: EntityModel,
  Record: RecordClass,
  wrapNavigation: (name: string, value: Row | Row[] | null) => unknown,
): RowBuilder | undefined {
  if (planOf(model.metadata).reservedNames) return undefined;
  const Built = Record as unknown as BuildableClass;
  return {
    create: (source, decode) => new Built(model, undefined, true, source, decode) as unknown as Row,
    attach: (row, name, value) =>
      ActiveRecord.attachNavigation(
        row as unknown as ActiveRecord,
        name,
        wrapNavigation(name, value),
      ),
  };
}
