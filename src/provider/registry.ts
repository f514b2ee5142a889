/**
 * Maps a provider config's `type` to a loader. Each loader is a literal dynamic `import()`, so
 * importing `mod.ts` never loads a provider or its dependencies; a failed load can be retried.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import type { Provider } from "./provider.ts";

/**
 * SQLite on the built-in `node:sqlite` (Deno 2.2+, Node 22.5+).
 *
 * @example
 * ```ts
 * import type { SqliteProviderConfig } from "@oar/odata-active-record";
 * const config: SqliteProviderConfig = { type: "sqlite", filePath: ":memory:" };
 * ```
 */
export interface SqliteProviderConfig {
  /** Selects the SQLite provider. */
  readonly type: "sqlite";
  /** Database file path, or `":memory:"`. */
  readonly filePath: string;
  /**
   * How long a writer waits for a lock before failing (`TIMEOUT`), in milliseconds. Writers of
   * this process wait for each other in an asynchronous queue per database file (the event loop
   * keeps running); SQLite's busy timeout, set to the same value, covers other processes.
   * @default {5000}
   */
  readonly busyTimeoutMs?: number;
  /**
   * Prepared statements kept per connection.
   * @default {200}
   */
  readonly statementCacheSize?: number;
  /** Open read-only. @default {false} */
  readonly readOnly?: boolean;
}

/**
 * A remote OData v4 service over HTTP (`fetch`). Transactions and multi-row inserts go through
 * one atomic `$batch` change set (JSON batch format) unless `batch: false`.
 *
 * @example
 * ```ts
 * import type { HttpODataProviderConfig } from "@oar/odata-active-record";
 * const config: HttpODataProviderConfig = {
 *   type: "http-odata",
 *   baseUrl: "http://127.0.0.1:8080/odata/northwind/",
 *   headers: { "X-Tenant": "a" },
 *   authorization: async () => `Bearer ${"token"}`,
 *   timeoutMs: 10_000,
 *   concurrency: 8,
 * };
 * ```
 */
export interface HttpODataProviderConfig {
  /** Selects the HTTP OData provider. */
  readonly type: "http-odata";
  /** The service root, e.g. `https://host/odata/northwind/` (a missing final `/` is added). */
  readonly baseUrl: string;
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Returns the `Authorization` header value (e.g. `Bearer …`); asked before every request. */
  readonly authorization?: () => string | undefined | Promise<string | undefined>;
  /** Per-request timeout in milliseconds (a `TIMEOUT` error when it passes). */
  readonly timeoutMs?: number;
  /** At most this many requests in flight; others wait in order. @default {unlimited} */
  readonly concurrency?: number;
  /** The `fetch` to use (tests inject one; no global mocks needed). @default {globalThis.fetch} */
  readonly fetch?: typeof fetch;
  /** Reuse connections between requests. @default {true} */
  readonly keepAlive?: boolean;
  /** Use `$batch` change sets for transactions and multi-row inserts. @default {true} */
  readonly batch?: boolean;
  /**
   * The `$batch` format: JSON (OData 4.01) or `multipart/mixed` (OData 4.0). A service that
   * refuses JSON batch is asked in multipart from then on. @default {"json"}
   */
  readonly batchFormat?: "json" | "multipart";
  /** Asks the service for pages of at most this many rows (`Prefer: odata.maxpagesize`). */
  readonly pageSize?: number;
  /** ETags remembered from reads, for `If-Match` on later writes. @default {10000} */
  readonly etagCacheSize?: number;
}

/**
 * MongoDB through the official driver (`mongodb` from npm). The pool options map onto the
 * driver's own: `poolSize` → `maxPoolSize`, `minPoolSize`, `maxIdleTime` → `maxIdleTimeMS`,
 * `timeout` → `serverSelectionTimeoutMS` and `connectTimeoutMS`.
 *
 * @example
 * ```ts
 * import type { MongoProviderConfig } from "@oar/odata-active-record";
 * const config: MongoProviderConfig = {
 *   type: "mongodb",
 *   connectionString: "mongodb://127.0.0.1:27017",
 *   databaseName: "shop",
 *   poolSize: 10,
 * };
 * ```
 */
export interface MongoProviderConfig {
  /** Selects the MongoDB provider. */
  readonly type: "mongodb";
  /** The connection string, `mongodb://...` or `mongodb+srv://...`. */
  readonly connectionString: string;
  /** The database. */
  readonly databaseName: string;
  /** Most connections in the driver's pool. @default {100} */
  readonly poolSize?: number;
  /** Connections the driver keeps open. @default {0} */
  readonly minPoolSize?: number;
  /** Milliseconds an idle connection stays in the pool. */
  readonly maxIdleTime?: number;
  /** Milliseconds to find a server and to connect. @default {30000} */
  readonly timeout?: number;
  /**
   * How decimals are stored: `decimal128` (exact; the default) or `double` (for test servers
   * without decimal arithmetic; not exact).
   */
  readonly decimal?: "decimal128" | "double";
}

/**
 * PostgreSQL through the `postgres` (postgres.js) driver and its own connection pool. Several
 * processes (service replicas) can share one database.
 *
 * @example
 * ```ts
 * import type { PostgresProviderConfig } from "@oar/odata-active-record";
 * const config: PostgresProviderConfig = {
 *   type: "postgres",
 *   url: "postgres://app@127.0.0.1:5432/shop",
 *   poolSize: 10,
 *   schema: "tenant_a",
 * };
 * ```
 */
export interface PostgresProviderConfig {
  /** Selects the PostgreSQL provider. */
  readonly type: "postgres";
  /** Connection URL, `postgres://user:password@host:port/database`. */
  readonly url: string;
  /** Most connections the pool opens. @default {10} */
  readonly poolSize?: number;
  /** Connections opened by `connect()` (a warm pool); idle ones may close later. @default {0} */
  readonly minPoolSize?: number;
  /** Milliseconds an idle connection stays open; 0 keeps it. @default {30000} */
  readonly idleTimeout?: number;
  /** Milliseconds to open a connection before `PROVIDER_UNAVAILABLE`. @default {10000} */
  readonly connectTimeout?: number;
  /** Milliseconds a statement may run before the server cancels it (`TIMEOUT`); 0 = no limit. @default {0} */
  readonly statementTimeout?: number;
  /**
   * The PostgreSQL schema holding this namespace's tables (created by `sync()`): one schema per
   * tenant isolates tenants in one database.
   * @default {"public"}
   */
  readonly schema?: string;
}

/**
 * Any provider config.
 *
 * @example
 * ```ts
 * import type { ProviderConfig } from "@oar/odata-active-record";
 * const config: ProviderConfig = { type: "sqlite", filePath: "./app.db" };
 * ```
 */
export type ProviderConfig =
  | SqliteProviderConfig
  | HttpODataProviderConfig
  | MongoProviderConfig
  | PostgresProviderConfig;

type Loader = (config: ProviderConfig) => Promise<Provider>;

const LOADERS: Readonly<Record<string, Loader>> = {
  sqlite: async (config) => {
    const module = await importProvider(
      "sqlite",
      "node:sqlite (Deno 2.2+ or Node 22.5+)",
      () => import("../../providers/sqlite/mod.ts"),
    );
    return module.createSqliteProvider(config as SqliteProviderConfig);
  },
  "http-odata": async (config) => {
    const module = await importProvider(
      "http-odata",
      "fetch (Deno, Node 18+, Bun)",
      () => import("../../providers/http-odata/mod.ts"),
    );
    return module.createHttpODataProvider(config as HttpODataProviderConfig);
  },
  mongodb: async (config) => {
    const module = await importProvider(
      "mongodb",
      'the npm package "mongodb" (map it in deno.json: "mongodb": "npm:mongodb@^6")',
      () => import("../../providers/mongodb/mod.ts"),
    );
    return module.createMongoProvider(config as MongoProviderConfig);
  },
  postgres: async (config) => {
    const module = await importProvider(
      "postgres",
      'the npm package "postgres" (postgres.js), mapped in deno.json imports',
      () => import("../../providers/postgres/mod.ts"),
    );
    return module.createPostgresProvider(config as PostgresProviderConfig);
  },
};

/**
 * Runs a provider module loader and turns a failed import into `PROVIDER_DEPENDENCY_MISSING`
 * naming what to install. Exported for provider authors and tests.
 *
 * @example
 * ```ts
 * import { importProvider } from "./registry.ts";
 * await importProvider("sqlite", "node:sqlite", () => import("node:sqlite"));
 * ```
 */
export async function importProvider<T>(
  type: string,
  dependency: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    throw new ODataActiveRecordError(
      "PROVIDER_DEPENDENCY_MISSING",
      `The ${type} provider could not be loaded: it needs ${dependency}`,
      { cause, context: { provider: type, dependency } },
    );
  }
}

/**
 * The registered provider types.
 *
 * @example
 * ```ts
 * import { providerTypes } from "@oar/odata-active-record";
 * providerTypes(); // ["sqlite", ...]
 * ```
 */
export function providerTypes(): string[] {
  return Object.keys(LOADERS);
}

/**
 * Loads the provider module for `config.type` and creates an unconnected provider.
 *
 * @example
 * ```ts
 * import { createProvider } from "@oar/odata-active-record";
 * const provider = await createProvider({ type: "sqlite", filePath: ":memory:" });
 * await provider.close();
 * ```
 */
export async function createProvider(config: ProviderConfig): Promise<Provider> {
  const type = (config as { type?: unknown } | null)?.type;
  const loader = typeof type === "string" && Object.hasOwn(LOADERS, type)
    ? LOADERS[type]
    : undefined;
  if (loader === undefined) {
    throw new ODataActiveRecordError(
      "UNKNOWN_PROVIDER",
      `Unknown provider type ${JSON.stringify(type)}; use one of ${providerTypes().join(", ")}`,
      { context: { type } },
    );
  }
  return await loader(config);
}
