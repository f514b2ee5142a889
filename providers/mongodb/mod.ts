/**
 * The MongoDB provider on the official driver (`mongodb`). Loaded only through the provider
 * registry's dynamic import, so importing `mod.ts` never loads the driver.
 *
 * The pool options map onto the driver's own pool: `poolSize` → `maxPoolSize`, `minPoolSize`,
 * `maxIdleTime` → `maxIdleTimeMS`, `timeout` → `serverSelectionTimeoutMS` and
 * `connectTimeoutMS`. Health is the `ping` command. Transactions need a replica set or a sharded
 * cluster (a single-node replica set will do); elsewhere `transaction()` is `NOT_SUPPORTED` and
 * multi-row inserts undo their partial writes on failure instead.
 *
 * @module
 */

import { ForwardingIncrements } from "../../src/provider/forwarding.ts";
import { type ClientSession, type Db, MongoClient, type MongoClientOptions } from "mongodb";
import {
  NotSupportedError,
  ODataActiveRecordError,
  throwIfAborted,
} from "../../src/errors/errors.ts";
import type { EntityMetadata } from "../../src/model/schema.ts";
import type {
  ExecutionOptions,
  Provider,
  ProviderCapabilities,
  ProviderOperations,
  SyncReport,
} from "../../src/provider/provider.ts";
import type { MongoProviderConfig } from "../../src/provider/registry.ts";
import { mapMongoError } from "./errors.ts";
import { type MongoHost, MongoOperations, raceSignal } from "./operations.ts";
import { syncCollections } from "./schema.ts";
import type { StorageOptions } from "./values.ts";

function closedError(): ODataActiveRecordError {
  return new ODataActiveRecordError("CLOSED", "The mongodb provider is closed", {
    context: { provider: "mongodb" },
  });
}

function invalidConfig(message: string, suggestion: string): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_CONFIGURATION", message, {
    suggestion,
    context: { provider: "mongodb" },
  });
}

/**
 * The driver options for a provider config (exported for tests of the mapping).
 *
 * @example
 * ```ts
 * import { driverOptions } from "./mod.ts";
 * driverOptions({ type: "mongodb", connectionString: "mongodb://127.0.0.1", databaseName: "app", poolSize: 20 }).maxPoolSize; // 20
 * ```
 */
export function driverOptions(config: MongoProviderConfig): MongoClientOptions {
  const options: MongoClientOptions = {};
  if (config.poolSize !== undefined) options.maxPoolSize = config.poolSize;
  if (config.minPoolSize !== undefined) options.minPoolSize = config.minPoolSize;
  if (config.maxIdleTime !== undefined) options.maxIdleTimeMS = config.maxIdleTime;
  if (config.timeout !== undefined) {
    options.serverSelectionTimeoutMS = config.timeout;
    options.connectTimeoutMS = config.timeout;
  }
  return options;
}

function validate(config: MongoProviderConfig): void {
  if (
    typeof config?.connectionString !== "string" ||
    !/^mongodb(\+srv)?:\/\//.test(config.connectionString)
  ) {
    throw invalidConfig(
      "The mongodb provider needs a connectionString such as mongodb://127.0.0.1:27017",
      'Pass { type: "mongodb", connectionString: "mongodb://host:27017", databaseName: "app" }',
    );
  }
  if (
    typeof config.databaseName !== "string" || !/^[^/\\. "$*<>:|?]{1,63}$/.test(config.databaseName)
  ) {
    throw invalidConfig(
      `Invalid MongoDB databaseName ${JSON.stringify(config.databaseName)}`,
      'Use a name without / \\ . " $ * < > : | ? and at most 63 characters',
    );
  }
  for (const name of ["poolSize", "minPoolSize", "maxIdleTime", "timeout"] as const) {
    const value = config[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw invalidConfig(`mongodb ${name} must be a non-negative integer`, `Got ${String(value)}`);
    }
  }
  if (
    config.poolSize !== undefined && config.minPoolSize !== undefined &&
    config.minPoolSize > config.poolSize
  ) {
    throw invalidConfig("mongodb minPoolSize must not exceed poolSize", "Lower minPoolSize");
  }
  if (
    config.decimal !== undefined && config.decimal !== "decimal128" && config.decimal !== "double"
  ) {
    throw invalidConfig(
      'mongodb decimal must be "decimal128" or "double"',
      "Leave it out for decimal128",
    );
  }
}

/**
 * The MongoDB provider. Create it through `createProvider({ type: "mongodb", ... })` or a
 * namespace config.
 *
 * @example
 * ```ts ignore
 * import { createProvider } from "@oar/odata-active-record";
 * const provider = await createProvider({
 *   type: "mongodb",
 *   connectionString: "mongodb://127.0.0.1:27017",
 *   databaseName: "shop",
 * });
 * await provider.connect();
 * await provider.ping();
 * await provider.close();
 * ```
 */
export class MongoProvider extends ForwardingIncrements<MongoOperations>
  implements Provider, MongoHost {
  /** Always `"mongodb"`. */
  readonly type = "mongodb";
  readonly #config: MongoProviderConfig;
  readonly storage: StorageOptions;
  #client: MongoClient | undefined;
  #connecting: Promise<Db> | undefined;
  #closed = false;
  #transactions: boolean | undefined;

  /** Validates the config; no I/O until `connect()`. */
  constructor(config: MongoProviderConfig) {
    super();
    validate(config);
    this.#config = config;
    this.storage = { decimal: config.decimal ?? "decimal128" };
    this.forwardTo(new MongoOperations(this));
  }

  /** What it supports; `transactions` is known once connected (a replica set or cluster). */
  get capabilities(): ProviderCapabilities {
    return {
      apply: true,
      search: true,
      transactions: this.#transactions ?? true,
      expand: true,
      compute: true,
      schema: true,
    };
  }

  /** The database, connecting on first use. */
  db(): Promise<Db> {
    if (this.#closed) return Promise.reject(closedError());
    this.#connecting ??= this.#connect().catch((error) => {
      this.#connecting = undefined; // a later call tries again
      throw error;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Db> {
    const client = new MongoClient(this.#config.connectionString, driverOptions(this.#config));
    try {
      await client.connect();
      const hello = await client.db("admin").command({ hello: 1 });
      this.#transactions = typeof hello.setName === "string" || hello.msg === "isdbgrid";
    } catch (error) {
      await client.close().catch(() => {});
      throw mapMongoError(error);
    }
    if (this.#closed) {
      await client.close().catch(() => {});
      throw closedError();
    }
    this.#client = client;
    return client.db(this.#config.databaseName);
  }

  /** Whether the deployment runs multi-document transactions. */
  async supportsTransactions(): Promise<boolean> {
    await this.db();
    return this.#transactions ?? false;
  }

  /** Runs `work` in a transaction of its own. */
  async atomically<T>(work: (session: ClientSession) => Promise<T>): Promise<T> {
    await this.db();
    const session = this.#client!.startSession();
    try {
      session.startTransaction();
      const result = await work(session);
      await session.commitTransaction();
      return result;
    } catch (error) {
      if (session.inTransaction()) await session.abortTransaction().catch(() => {});
      throw error;
    } finally {
      await session.endSession().catch(() => {});
    }
  }

  readonly #textIndexes = new Map<string, Promise<boolean>>();

  /** Whether the collection has a text index (asked once, until the next `sync()`). */
  hasTextIndex(table: string): Promise<boolean> {
    let known = this.#textIndexes.get(table);
    if (known === undefined) {
      known = this.db().then((db) => db.collection(table).indexes()).then(
        (indexes) => indexes.some((index) => Object.values(index.key).includes("text")),
        () => false, // no such collection yet: no text index
      );
      this.#textIndexes.set(table, known);
    }
    return known;
  }

  /** Connects (idempotent). */
  async connect(options?: ExecutionOptions): Promise<void> {
    throwIfAborted(options?.signal);
    await this.db();
  }

  /** Closes the client (idempotent); later calls fail with `CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#connecting = undefined;
    await client?.close();
  }

  /** The `ping` command; `PROVIDER_UNAVAILABLE` (or `TIMEOUT`) when the server does not answer. */
  async ping(options?: ExecutionOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const run = (async () => {
      const db = await this.db();
      await db.command({ ping: 1 });
    })();
    try {
      await raceSignal(run, options?.signal);
    } catch (error) {
      throw mapMongoError(error);
    }
  }

  /** Runs `work` in one multi-document transaction (replica sets and clusters only). */
  async transaction<T>(
    work: (tx: ProviderOperations) => Promise<T>,
    options?: ExecutionOptions,
  ): Promise<T> {
    throwIfAborted(options?.signal);
    if (!(await this.supportsTransactions())) {
      throw new NotSupportedError("transactions", "this MongoDB deployment (a standalone server)", {
        suggestion:
          "Run MongoDB as a replica set (a single-node replica set will do) to use transactions.",
      });
    }
    try {
      return await this.atomically((session) => work(new MongoOperations(this, session)));
    } catch (error) {
      throw isDriverError(error) ? mapMongoError(error) : error;
    }
  }

  /** Creates collections and indexes; reports drift found by sampling documents. */
  async sync(entities: readonly EntityMetadata[], options?: ExecutionOptions): Promise<SyncReport> {
    throwIfAborted(options?.signal);
    try {
      this.#textIndexes.clear(); // sync() may have created one
      return await syncCollections(await this.db(), entities);
    } catch (error) {
      throw mapMongoError(error);
    }
  }
}

function isDriverError(error: unknown): boolean {
  return typeof (error as { name?: unknown })?.name === "string" &&
    String((error as { name: string }).name).startsWith("Mongo");
}

/**
 * Creates an unconnected MongoDB provider (the registry's entry point).
 *
 * @example
 * ```ts ignore
 * import { createMongoProvider } from "./mod.ts";
 * const provider = createMongoProvider({ type: "mongodb", connectionString: "mongodb://127.0.0.1", databaseName: "app" });
 * ```
 */
export function createMongoProvider(config: MongoProviderConfig): MongoProvider {
  return new MongoProvider(config);
}
