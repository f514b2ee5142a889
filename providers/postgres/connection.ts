/**
 * The postgres.js pool of a PostgreSQL provider: config validation and the mapping of the
 * provider config onto the driver's own options.
 *
 * @module
 */

import postgres from "postgres";
import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import type { PostgresProviderConfig } from "../../src/provider/registry.ts";

/** The postgres.js instance (a pool); its type without naming the driver's generics. */
export type Pool = ReturnType<typeof postgres>;

/** The config with defaults applied. */
export interface PoolSettings {
  /** The connection URL. */
  readonly url: string;
  /** Most connections. */
  readonly poolSize: number;
  /** Connections opened by `connect()`. */
  readonly minPoolSize: number;
  /** Milliseconds an idle connection stays open (0 = forever). */
  readonly idleTimeout: number;
  /** Milliseconds to open a connection. */
  readonly connectTimeout: number;
  /** Milliseconds a statement may run (0 = no limit). */
  readonly statementTimeout: number;
  /** The PostgreSQL schema of the namespace's tables. */
  readonly schema: string;
}

function invalid(message: string, context: Record<string, unknown>): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_CONFIGURATION", message, {
    context: { provider: "postgres", ...context },
  });
}

/**
 * Validates a config and applies the defaults.
 *
 * @example
 * ```ts
 * import { poolSettings } from "./connection.ts";
 * poolSettings({ type: "postgres", url: "postgres://127.0.0.1/app" }).poolSize; // 10
 * ```
 */
export function poolSettings(config: PostgresProviderConfig): PoolSettings {
  if (typeof config?.url !== "string" || !/^postgres(ql)?:\/\//.test(config.url)) {
    throw new ODataActiveRecordError(
      "INVALID_CONFIGURATION",
      "The postgres provider needs a url such as postgres://user@host:5432/database",
      {
        suggestion: 'Pass { type: "postgres", url: "postgres://user:password@host:5432/db" }',
        context: { provider: "postgres" },
      },
    );
  }
  const count = (name: keyof PostgresProviderConfig, fallback: number, min: number): number => {
    const value = config[name];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw invalid(`postgres ${name} must be an integer of at least ${min}`, { [name]: value });
    }
    return value;
  };
  const settings: PoolSettings = {
    url: config.url,
    poolSize: count("poolSize", 10, 1),
    minPoolSize: count("minPoolSize", 0, 0),
    idleTimeout: count("idleTimeout", 30_000, 0),
    connectTimeout: count("connectTimeout", 10_000, 1),
    statementTimeout: count("statementTimeout", 0, 0),
    schema: config.schema ?? "public",
  };
  if (settings.minPoolSize > settings.poolSize) {
    throw invalid("postgres minPoolSize cannot exceed poolSize", {
      minPoolSize: settings.minPoolSize,
      poolSize: settings.poolSize,
    });
  }
  if (
    typeof settings.schema !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(settings.schema)
  ) {
    throw invalid("postgres schema must be a plain identifier (letters, digits, _)", {
      schema: settings.schema,
    });
  }
  return settings;
}

/**
 * Creates the driver's pool. No connection opens until the first query.
 *
 * @example
 * ```ts ignore
 * import { openPool, poolSettings } from "./connection.ts";
 * const pool = openPool(poolSettings({ type: "postgres", url: "postgres://127.0.0.1/app" }));
 * await pool.end();
 * ```
 */
export function openPool(settings: PoolSettings): Pool {
  const connection: Record<string, string> = {
    application_name: "odata-active-record",
    search_path: settings.schema,
    // Canonical datetimes are instants; text of dates and times never depends on the server.
    TimeZone: "UTC",
  };
  if (settings.statementTimeout > 0) {
    connection.statement_timeout = String(settings.statementTimeout);
  }
  return postgres(settings.url, {
    max: settings.poolSize,
    idle_timeout: settings.idleTimeout === 0 ? undefined : settings.idleTimeout / 1000,
    connect_timeout: settings.connectTimeout / 1000,
    connection,
    onnotice: () => {},
    // Never dumps parameters into errors and logs.
    debug: false,
  });
}
