/**
 * Namespaces: isolated sets of entities, each on its own provider, managed by one manager.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { ODataActiveRecordError } from "../errors/errors.ts";
import { closestName } from "../errors/suggest.ts";
import type {
  DriftWarning,
  ExecutionOptions,
  Provider,
  ProviderCapabilities,
  ProviderOperations,
  SyncReport,
} from "../provider/provider.ts";
import { createProvider, type ProviderConfig } from "../provider/registry.ts";
import type { ModelContext, NamespaceOptions } from "./context.ts";
import { coerceValue } from "./coerce.ts";
import { EntityModel } from "./model.ts";
import {
  type EntityDefinition,
  type EntityMetadata,
  resolveEntity,
  type SchemaResolver,
} from "./schema.ts";
import type {
  EntityDefinitions,
  EntityName,
  KnownDefinitions,
  ModelOf,
  RecordType,
  ShapeOf,
  Simplify,
  TypedTransactionScope,
  UntypedModel,
} from "./types.ts";

/**
 * What `registerFromMetadata()` did and found.
 *
 * @example
 * ```ts
 * import type { MetadataRegistration } from "@oar/odata-active-record";
 * const report: MetadataRegistration = { registered: ["Products"], warnings: [], skipped: [] };
 * ```
 */
export interface MetadataRegistration {
  /** Entities registered now. */
  readonly registered: readonly string[];
  /** Drift between entities registered before and the provider's schema. */
  readonly warnings: readonly DriftWarning[];
  /** What the provider's schema had that could not be registered, and why. */
  readonly skipped: readonly string[];
}

/** Options of `createNamespace()`. */
export interface CreateNamespaceOptions extends NamespaceOptions {
  /** A provider config (`{ type: "sqlite", filePath: "./app.db" }`) or a provider instance. */
  readonly provider: ProviderConfig | Provider;
  /**
   * Entities to register right away; the namespace is then typed with them, so `getEntity`
   * returns typed models (see {@linkcode defineEntities}).
   */
  readonly entities?: EntityDefinitions;
}

const NAMESPACE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Models bound to one transaction: `tx.getEntity("Products").create(...)` runs inside it. Once
 * the transaction has ended (committed or rolled back), its models and their records refuse to
 * run (`TRANSACTION_CLOSED`) instead of writing outside any transaction.
 *
 * @example
 * ```ts ignore
 * await namespace.transaction(async (tx) => {
 *   await tx.getEntity("Orders").create({ ... });
 *   await tx.getEntity("Order_Details").createMany([...]);
 * });
 * ```
 */
export class TransactionScope implements ModelContext {
  readonly #namespace: EntityNamespace;
  readonly #operations: ProviderOperations;
  readonly #models = new Map<string, EntityModel>();
  /** The enclosing transaction of a nested one (a savepoint). */
  readonly parent: TransactionScope | undefined;
  #open = true;

  /** Internal: made by `namespace.transaction()`. */
  constructor(
    namespace: EntityNamespace,
    operations: ProviderOperations,
    parent?: TransactionScope,
  ) {
    this.#namespace = namespace;
    this.#operations = operations;
    this.parent = parent;
  }

  /** The namespace name. */
  get namespaceName(): string {
    return this.#namespace.name;
  }

  /** The namespace's schema. */
  get schema(): SchemaResolver {
    return this.#namespace.schema;
  }

  /** The namespace's options. */
  get options(): NamespaceOptions {
    return this.#namespace.options;
  }

  /** True until the transaction has ended (it and every enclosing one). */
  get isOpen(): boolean {
    return this.#open && (this.parent === undefined || this.parent.isOpen);
  }

  /** Internal: called by `namespace.transaction()` when `work` has settled. */
  end(): void {
    this.#open = false;
  }

  /**
   * The transaction's operations (those of a nested transaction of it when one is running in
   * the caller's async context); rejects with `TRANSACTION_CLOSED` once it has ended.
   */
  operations(): Promise<ProviderOperations> {
    if (!this.isOpen) return Promise.reject(transactionClosed(this.#namespace.name));
    const ambient = this.#namespace.ambientScope();
    if (ambient !== undefined && ambient !== this && ambient.isOpen && ambient.#within(this)) {
      return Promise.resolve(ambient.#operations);
    }
    return Promise.resolve(this.#operations);
  }

  /** True when this scope is `scope` or nested in it. */
  #within(scope: TransactionScope): boolean {
    return this === scope || (this.parent !== undefined && this.parent.#within(scope));
  }

  /** Internal: the provider operations of this scope, for nesting. */
  providerOperations(): ProviderOperations {
    if (!this.isOpen) throw transactionClosed(this.#namespace.name);
    return this.#operations;
  }

  /** The provider's capabilities. */
  capabilities(): ProviderCapabilities | undefined {
    return this.#namespace.capabilities();
  }

  /** The model of `name`, bound to this transaction. */
  getEntity(name: string): UntypedModel {
    let model = this.#models.get(name);
    if (model === undefined) {
      model = new EntityModel(this.#namespace.getEntity(name).metadata, this);
      this.#models.set(name, model);
    }
    return model;
  }

  /**
   * A nested transaction (a savepoint): when `work` throws, only what it wrote is rolled back
   * and the error comes back to the caller, who may catch it and go on.
   */
  transaction<R>(
    work: (tx: TransactionScope) => Promise<R>,
    options?: ExecutionOptions,
  ): Promise<R> {
    return this.#namespace.nestedTransaction(this, work, options);
  }
}

function transactionClosed(namespace: string): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "TRANSACTION_CLOSED",
    `This transaction of namespace ${namespace} has ended: its models and records cannot run ` +
      "any more",
    { context: { namespace } },
  );
}

/**
 * One isolated namespace: its entities and its provider. Made by
 * `manager.createNamespace()`; it connects on first use or on `connect()`.
 *
 * @example
 * ```ts ignore
 * const shop = manager.createNamespace("shop", { provider: { type: "sqlite", filePath: ":memory:" } });
 * const Product = shop.registerEntity("Products", { fields: { ... } });
 * await shop.sync();
 * ```
 */
// deno-lint-ignore no-explicit-any
export class EntityNamespace<E extends EntityDefinitions = any> implements ModelContext {
  /** The namespace name. */
  readonly name: string;
  /** Its options. */
  readonly options: NamespaceOptions;
  readonly #providerSource: ProviderConfig | Provider;
  readonly #entities = new Map<string, EntityModel>();
  #provider: Promise<Provider> | undefined;
  #connected: Provider | undefined;
  #closed = false;
  /** The transaction the current async context runs in (see `transaction()`). */
  readonly #ambient = new AsyncLocalStorage<TransactionScope>();
  /** Whether a transaction ever ran: until then no context can be inside one. */
  #transacted = false;
  /** Resolves entities of this namespace by name. */
  readonly schema: SchemaResolver;

  /** Internal: use `manager.createNamespace()`. */
  constructor(name: string, options: CreateNamespaceOptions) {
    this.name = name;
    const { provider, entities: _entities, ...rest } = options;
    this.#providerSource = provider;
    this.options = rest;
    this.schema = { getEntityMetadata: (entity) => this.#entities.get(entity)?.metadata };
  }

  /** The namespace name (for models). */
  get namespaceName(): string {
    return this.name;
  }

  /** The provider type, from the config or instance. */
  get providerType(): string {
    return this.#providerSource.type;
  }

  /** Connects the provider (shared by concurrent callers; retried after a failure). */
  connect(options?: ExecutionOptions): Promise<Provider> {
    if (this.#closed) {
      return Promise.reject(
        new ODataActiveRecordError("CLOSED", `Namespace ${this.name} is closed`, {
          context: { namespace: this.name },
        }),
      );
    }
    this.#provider ??= (async () => {
      const source = this.#providerSource;
      const provider = "connect" in source ? source : await createProvider(source);
      await provider.connect(options);
      this.#connected = provider;
      return provider;
    })().catch((error) => {
      this.#provider = undefined; // a failed load or connect can be retried
      throw error;
    });
    return this.#provider;
  }

  /**
   * The provider's operations, connecting first (the shared, settled promise once connected).
   * Inside `transaction()` (in its async context), the transaction's operations instead.
   */
  operations(): Promise<ProviderOperations> {
    if (this.#transacted) {
      const scope = this.#ambient.getStore();
      if (scope !== undefined) return scope.operations();
    }
    return this.connect();
  }

  /** Internal: the transaction of the caller's async context, if any. */
  ambientScope(): TransactionScope | undefined {
    return this.#transacted ? this.#ambient.getStore() : undefined;
  }

  /** The provider's capabilities once connected. */
  capabilities(): ProviderCapabilities | undefined {
    return this.#connected?.capabilities;
  }

  /**
   * Registers an entity and returns its model, typed from the definition: field names are
   * checked at compile time, and records have the fields' value types.
   */
  registerEntity<const D extends EntityDefinition>(
    name: string,
    definition: D,
  ): EntityModel<RecordType<D>, ShapeOf<D, E>> {
    if (this.#entities.has(name)) {
      throw new ODataActiveRecordError(
        "ENTITY_EXISTS",
        `Entity ${name} is already registered in ${this.name}`,
        {
          context: { namespace: this.name, entity: name },
        },
      );
    }
    const metadata = resolveEntity(name, definition);
    for (const field of metadata.fieldList) {
      const value = field.definition.defaultValue;
      if (value === undefined || value === null || typeof value === "function") continue;
      // A default that can never be stored would make every create() fail later: say it now.
      const coerced = coerceValue(field, value, this.options);
      if (!coerced.ok) {
        throw new ODataActiveRecordError(
          "INVALID_SCHEMA",
          `Entity ${name}: the defaultValue of ${field.name} is invalid: ${coerced.reason}`,
          { suggestion: coerced.suggestion, context: { entity: name, field: field.name } },
        );
      }
    }
    const model = new EntityModel(metadata, this);
    this.#entities.set(name, model);
    return model as unknown as EntityModel<RecordType<D>, ShapeOf<D, E>>;
  }

  /**
   * Registers several entities; returns this namespace typed with them too, so `getEntity`
   * returns typed models and relations between them type `expand()`.
   */
  registerEntities<const D extends EntityDefinitions>(
    definitions: D,
  ): EntityNamespace<Simplify<KnownDefinitions<E> & D>> {
    for (const [name, definition] of Object.entries(definitions)) {
      this.registerEntity(name, definition);
    }
    return this as unknown as EntityNamespace<Simplify<KnownDefinitions<E> & D>>;
  }

  /** The model of a registered entity; throws `UNKNOWN_ENTITY` with the closest name. */
  getEntity<N extends EntityName<E>>(name: N): ModelOf<E, N> {
    const model = this.#entities.get(name);
    if (model === undefined) {
      const closest = closestName(name, this.#entities.keys());
      throw new ODataActiveRecordError(
        "UNKNOWN_ENTITY",
        `Unknown entity '${name}' in namespace ${this.name}.${
          closest ? ` Did you mean '${closest}'?` : ""
        }`,
        { context: { namespace: this.name, entity: name, closest } },
      );
    }
    return model as unknown as ModelOf<E, N>;
  }

  /** True when `name` is registered. */
  hasEntity(name: string): boolean {
    return this.#entities.has(name);
  }

  /** Every registered model. */
  getEntities(): EntityModel[] {
    return [...this.#entities.values()];
  }

  /** Every registered entity's metadata. */
  getEntityMetadata(): EntityMetadata[] {
    return [...this.#entities.values()].map((model) => model.metadata);
  }

  /** Creates missing tables, columns and indexes; reports drift as warnings. */
  async sync(options?: ExecutionOptions): Promise<SyncReport> {
    if (this.ambientScope()?.isOpen) {
      // It would wait for the write lock that this very transaction holds.
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `sync() cannot run inside a transaction of namespace ${this.name}`,
        {
          suggestion: "Call sync() before or after namespace.transaction()",
          context: { namespace: this.name },
        },
      );
    }
    for (const metadata of this.getEntityMetadata()) {
      for (const relation of metadata.relations.values()) {
        const target = this.#entities.get(relation.target)?.metadata;
        const targetFields = relation.targetFields.length > 0
          ? relation.targetFields
          : target?.key ?? [];
        const bad = target === undefined
          ? undefined
          : targetFields.find((field) => !target.fields.has(field)) ??
            (targetFields.length !== relation.localFields.length ? "(count)" : undefined);
        if (bad !== undefined) {
          throw new ODataActiveRecordError(
            "INVALID_SCHEMA",
            bad === "(count)"
              ? `Relation ${metadata.name}.${relation.name} pairs ${relation.localFields.length} field(s) ` +
                `with ${targetFields.length} on ${relation.target}`
              : `Relation ${metadata.name}.${relation.name}: ${relation.target} has no field ${bad}`,
            { context: { entity: metadata.name, relation: relation.name } },
          );
        }
        if (!this.#entities.has(relation.target)) {
          throw new ODataActiveRecordError(
            "INVALID_SCHEMA",
            `Relation ${metadata.name}.${relation.name} points to unregistered entity '${relation.target}'`,
            { context: { entity: metadata.name, relation: relation.name } },
          );
        }
      }
    }
    const provider = await this.connect(options);
    return await provider.sync(this.getEntityMetadata(), options);
  }

  /**
   * Runs `work` in one transaction; everything it wrote is rolled back if it throws. Every model
   * and record of this namespace that `work` uses (also through functions it calls, and records
   * loaded before) takes part in it; other code waits for it to end. Called inside a transaction,
   * it makes a nested one (a savepoint). Models of `tx` refuse to run once it has ended.
   */
  async transaction<R>(
    work: (tx: TypedTransactionScope<E>) => Promise<R>,
    options?: ExecutionOptions,
  ): Promise<R> {
    if (typeof work !== "function") {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        "transaction() takes an async function (tx) => ...",
        {
          context: { namespace: this.name },
        },
      );
    }
    // A typed scope is a TransactionScope whose getEntity is typed: the same object.
    const untypedWork = work as (tx: TransactionScope) => Promise<R>;
    const ambient = this.ambientScope();
    // A transaction started by code that outlived an ended one (a timer) is a new one.
    if (ambient?.isOpen) return await this.nestedTransaction(ambient, untypedWork, options);
    const provider = await this.connect(options);
    if (!provider.capabilities.transactions) {
      throw new ODataActiveRecordError(
        "NOT_SUPPORTED",
        `Provider ${provider.type} has no transactions`,
        {
          context: { namespace: this.name, provider: provider.type },
        },
      );
    }
    this.#transacted = true;
    return await provider.transaction(
      (operations) =>
        this.#runScoped(
          new TransactionScope(this, operations),
          untypedWork,
        ),
      options,
    );
  }

  /** Runs `work` with `scope` as the ambient transaction; ends the scope when it settles. */
  async #runScoped<R>(
    scope: TransactionScope,
    work: (tx: TransactionScope) => Promise<R>,
  ): Promise<R> {
    try {
      return await this.#ambient.run(scope, () => work(scope));
    } finally {
      scope.end();
    }
  }

  /** Internal: a nested transaction (a savepoint) of `parent`. */
  async nestedTransaction<R>(
    parent: TransactionScope,
    work: (tx: TransactionScope) => Promise<R>,
    options?: ExecutionOptions,
  ): Promise<R> {
    if (typeof work !== "function") {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        "transaction() takes an async function (tx) => ...",
        { context: { namespace: this.name } },
      );
    }
    const operations = parent.providerOperations();
    if (operations.transaction === undefined) {
      throw new ODataActiveRecordError(
        "NOT_SUPPORTED",
        `Provider ${this.providerType} has no nested transactions`,
        { context: { namespace: this.name, provider: this.providerType } },
      );
    }
    return await operations.transaction(
      (nested) => this.#runScoped(new TransactionScope(this, nested, parent), work),
      options,
    );
  }

  /**
   * Registers every entity of the provider's own schema: for `http-odata`, every entity set of
   * the remote `$metadata` with its properties, key and navigation. Entities registered before
   * are kept as they are and compared with the remote schema: differences come back as
   * `warnings`. Providers without introspection refuse with `NOT_SUPPORTED`.
   *
   * @example
   * ```ts ignore
   * const remote = manager.createNamespace("remote", {
   *   provider: { type: "http-odata", baseUrl: "http://127.0.0.1:8080/odata/northwind/" },
   * });
   * const { registered, warnings } = await remote.registerFromMetadata();
   * await remote.getEntity("Products").query("$filter=UnitPrice gt 20&$top=5&$count=true").find();
   * ```
   */
  async registerFromMetadata(options?: ExecutionOptions): Promise<MetadataRegistration> {
    const provider = await this.connect(options);
    if (typeof provider.introspect !== "function") {
      throw new ODataActiveRecordError(
        "NOT_SUPPORTED",
        `Provider ${provider.type} cannot read a schema to register entities from`,
        { context: { namespace: this.name, provider: provider.type } },
      );
    }
    const found = await provider.introspect(options);
    const registered: string[] = [];
    const kept: EntityMetadata[] = [];
    for (const [name, definition] of Object.entries(found.entities)) {
      const existing = this.#entities.get(name);
      if (existing !== undefined) {
        kept.push(existing.metadata);
        continue;
      }
      this.registerEntity(name, definition);
      registered.push(name);
    }
    const report = kept.length === 0 ? undefined : await provider.sync(kept, options);
    return { registered, warnings: report?.warnings ?? [], skipped: found.warnings };
  }

  /** Checks that the provider answers. */
  async ping(options?: ExecutionOptions): Promise<void> {
    const provider = await this.connect(options);
    await provider.ping(options);
  }

  /** Closes the provider; later use fails with `CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#provider;
    this.#provider = undefined;
    this.#connected = undefined;
    if (pending === undefined) return;
    const provider = await pending.catch(() => undefined);
    await provider?.close();
  }
  /** Closes the namespace at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Options of the manager. */
export interface EntityNamespaceManagerOptions {
  /** Options applied to every namespace unless it sets its own. */
  readonly defaults?: NamespaceOptions;
}

/**
 * Creates and holds isolated namespaces, one provider each.
 *
 * @example
 * ```ts
 * import { EntityNamespaceManager } from "@oar/odata-active-record";
 * const manager = new EntityNamespaceManager();
 * const tenant = manager.createNamespace("tenant_a", { provider: { type: "sqlite", filePath: ":memory:" } });
 * tenant.registerEntity("Notes", { fields: { id: { type: "integer", primaryKey: true }, text: { type: "string" } } });
 * await tenant.sync();
 * await tenant.getEntity("Notes").create({ text: "hello" });
 * await manager.close();
 * ```
 */
export class EntityNamespaceManager {
  readonly #namespaces = new Map<string, EntityNamespace>();
  readonly #defaults: NamespaceOptions;

  /** Creates an empty manager. */
  constructor(options: EntityNamespaceManagerOptions = {}) {
    this.#defaults = options.defaults ?? {};
  }

  /**
   * Creates a namespace (no I/O: it connects on first use). Entities given in `entities` are
   * registered, and the namespace is typed with them.
   */
  createNamespace<const E extends EntityDefinitions = Record<never, never>>(
    name: string,
    options: CreateNamespaceOptions & { readonly entities?: E },
  ): EntityNamespace<E> {
    if (typeof name !== "string" || !NAMESPACE_NAME.test(name)) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `Invalid namespace name ${JSON.stringify(name)}`,
        {
          suggestion: "Use letters, digits, _ . or -, starting with a letter or _",
          context: { namespace: name },
        },
      );
    }
    if (this.#namespaces.has(name)) {
      throw new ODataActiveRecordError("NAMESPACE_EXISTS", `Namespace ${name} exists already`, {
        context: { namespace: name },
      });
    }
    const provider = (options as { provider?: unknown } | null)?.provider as
      | { type?: unknown }
      | null
      | undefined;
    if (
      options === null || typeof options !== "object" || provider === null ||
      typeof provider !== "object" ||
      typeof provider.type !== "string"
    ) {
      throw new ODataActiveRecordError(
        "INVALID_CONFIGURATION",
        `Namespace ${name} needs a provider`,
        {
          suggestion: `Pass { provider: { type: "sqlite", filePath: "./app.db" } }`,
          context: { namespace: name },
        },
      );
    }
    const namespace = new EntityNamespace<E>(name, { ...this.#defaults, ...options });
    if (options.entities !== undefined) namespace.registerEntities(options.entities);
    this.#namespaces.set(name, namespace as unknown as EntityNamespace);
    return namespace;
  }

  /** The namespace; throws `UNKNOWN_NAMESPACE` with the closest name. */
  getNamespace(name: string): EntityNamespace {
    const namespace = this.#namespaces.get(name);
    if (namespace === undefined) {
      const closest = closestName(name, this.#namespaces.keys());
      throw new ODataActiveRecordError(
        "UNKNOWN_NAMESPACE",
        `Unknown namespace '${name}'.${closest ? ` Did you mean '${closest}'?` : ""}`,
        { context: { namespace: name, closest } },
      );
    }
    return namespace;
  }

  /** True when the namespace exists. */
  hasNamespace(name: string): boolean {
    return this.#namespaces.has(name);
  }

  /** Every namespace. */
  getAllNamespaces(): EntityNamespace[] {
    return [...this.#namespaces.values()];
  }

  /** Removes a namespace and closes its provider. */
  async removeNamespace(name: string): Promise<void> {
    const namespace = this.getNamespace(name);
    this.#namespaces.delete(name);
    await namespace.close();
  }

  /** Closes every namespace. */
  async close(): Promise<void> {
    const all = [...this.#namespaces.values()];
    this.#namespaces.clear();
    await Promise.all(all.map((namespace) => namespace.close()));
  }
  /** Closes every namespace at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
