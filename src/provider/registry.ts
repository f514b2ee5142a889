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
 * Any provider config. Later providers (`mongodb`, `http-odata`) add their own members.
 *
 * @example
 * ```ts
 * import type { ProviderConfig } from "@oar/odata-active-record";
 * const config: ProviderConfig = { type: "sqlite", filePath: "./app.db" };
 * ```
 */
export type ProviderConfig = SqliteProviderConfig | PostgresProviderConfig;

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
