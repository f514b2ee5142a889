/**
 * Active Record instances: a row with field accessors, dirty tracking, and `save`, `reload`,
 * `destroy`. Accessors live on a per-model prototype, so wrapping a row costs one allocation.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import type { ExecutionOptions, Row } from "../provider/provider.ts";
import type { EntityModel } from "./model.ts";

/** Names a field cannot use as a direct accessor (use `record.get(name)` for those). */
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
]);

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
  #model: EntityModel<T>;
  #values: Row;
  #changes: Row | undefined;
  #persisted: boolean;
  #destroyed = false;

  /** Wraps `values` (canonical values) of `model`; `persisted` says whether it is stored. */
  constructor(model: EntityModel<T>, values: Row, persisted: boolean) {
    this.#model = model;
    this.#values = values;
    this.#changes = undefined;
    this.#persisted = persisted;
  }

  /** The model this record belongs to. */
  get model(): EntityModel<T> {
    return this.#model;
  }

  /** True before the first successful `save()` of a record made with `Model.build()`. */
  get isNew(): boolean {
    return !this.#persisted;
  }

  /** True when fields were assigned since the last load or save. */
  get isDirty(): boolean {
    return this.#changes !== undefined;
  }

  /** The assigned, unsaved values by field name (a copy). */
  get changes(): Partial<T> {
    return { ...this.#changes } as Partial<T>;
  }

  /** The key of this record: the value, or an object for composite keys. */
  get key(): unknown {
    const key = this.#model.metadata.key;
    if (key.length === 1) return this.#values[key[0]!];
    return Object.fromEntries(key.map((name) => [name, this.#values[name]]));
  }

  /** Reads a field (or an expanded navigation) by name. */
  get<K extends keyof T & string>(name: K): T[K] {
    if (this.#changes !== undefined && Object.hasOwn(this.#changes, name)) {
      return this.#changes[name] as T[K];
    }
    return this.#values[name] as T[K];
  }

  /** Assigns a field; the value is validated on `save()`. */
  set<K extends keyof T & string>(name: K, value: T[K]): this {
    if (!this.#model.metadata.fields.has(name)) {
      throw this.#model.unknownField(name);
    }
    this.#changes ??= {};
    this.#changes[name] = value;
    return this;
  }

  /** Inserts a new record, or updates the changed fields of a stored one. */
  async save(options?: ExecutionOptions): Promise<this> {
    if (this.#destroyed) {
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
    if (!this.#persisted) {
      const stored = await this.#model.insertOne({ ...this.#values, ...this.#changes }, options);
      this.#values = stored;
      this.#changes = undefined;
      this.#persisted = true;
      return this;
    }
    if (this.#changes === undefined) return this;
    const version = this.#model.metadata.versionField;
    // The version this record was read at: the write happens only if the row is still there.
    // (Not known: not selected, or null in a row older than the version column.)
    const changes = version === undefined || Object.hasOwn(this.#changes, version) ||
        this.#values[version] === undefined || this.#values[version] === null
      ? this.#changes
      : { ...this.#changes, [version]: this.#values[version] };
    const { affected, values } = await this.#model.updateByIdValidated(
      this.key,
      changes as Partial<T>,
      options,
    );
    if (affected === 0) throw this.#notFound();
    this.#values = { ...this.#values, ...values };
    this.#changes = undefined;
    return this;
  }

  /** Re-reads the stored values, dropping unsaved changes. */
  async reload(options?: ExecutionOptions): Promise<this> {
    const fresh = await this.#model.findRowById(this.key, options);
    if (fresh === undefined) throw this.#notFound();
    this.#values = fresh;
    this.#changes = undefined;
    return this;
  }

  /** Deletes the stored record. */
  async destroy(options?: ExecutionOptions): Promise<void> {
    if (!this.#persisted) return;
    const affected = await this.#model.deleteById(this.key, options);
    if (affected === 0) throw this.#notFound();
    this.#persisted = false;
    this.#destroyed = true;
  }

  /** The values (with unsaved changes), for `JSON.stringify` and logging. */
  toJSON(): T {
    const out: Row = { ...this.#values, ...this.#changes };
    for (const [name, value] of Object.entries(out)) {
      if (value instanceof ActiveRecord) out[name] = value.toJSON();
      else if (Array.isArray(value) && value[0] instanceof ActiveRecord) {
        out[name] = value.map((item: ActiveRecord) => item.toJSON());
      }
    }
    return out as T;
  }

  #notFound(): ODataActiveRecordError {
    return new ODataActiveRecordError(
      "NOT_FOUND",
      `${this.#model.name} with key ${JSON.stringify(this.key)} was not found`,
      { context: { entity: this.#model.name, key: this.key } },
    );
  }
}

/** A record typed with its fields as properties. */
export type RecordOf<T extends Row> = ActiveRecord<T> & T;

/**
 * Makes the per-model record class: one accessor per field and navigation on its prototype.
 * Fields whose names clash with record methods stay reachable through `get()`/`set()`.
 */
export function recordClassFor<T extends Row>(
  fieldNames: readonly string[],
  navigationNames: readonly string[],
): new (model: EntityModel<T>, values: Row, persisted: boolean) => ActiveRecord<T> {
  const RecordClass = class extends ActiveRecord<T> {};
  for (const name of fieldNames) {
    if (RESERVED.has(name)) continue;
    Object.defineProperty(RecordClass.prototype, name, {
      get(this: ActiveRecord<T>) {
        return this.get(name);
      },
      set(this: ActiveRecord<T>, value: unknown) {
        this.set(name, value as T[string]);
      },
      enumerable: true,
      configurable: false,
    });
  }
  for (const name of navigationNames) {
    if (RESERVED.has(name)) continue;
    Object.defineProperty(RecordClass.prototype, name, {
      get(this: ActiveRecord<T>) {
        return this.get(name);
      },
      enumerable: true,
      configurable: false,
    });
  }
  return RecordClass;
}
