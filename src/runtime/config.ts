/**
 * Configuration from environment variables: every variable of the original design plus the
 * service's own, read into one typed object and validated at start. A bad value stops start-up
 * with one clear line per problem naming the variable and what it accepts.
 *
 * @module
 */

import { type ErrorOptions, ODataActiveRecordError } from "../errors/errors.ts";
import { processEnv } from "./platform.ts";
import type { ConnectionPoolOptions } from "./pool_types.ts";

/** LogTape's levels, as `LOG_LEVEL` accepts them. */
export type LogLevelName = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/**
 * The validated configuration of the production service.
 *
 * @example
 * ```ts
 * import { loadConfigFromEnv } from "@oar/odata-active-record";
 * const config = loadConfigFromEnv({ POOL_SIZE: "20" });
 * console.log(config.poolSize, config.port); // 20 3000
 * ```
 */
export interface ProductionConfig {
  /** `PORT`: the HTTP port. @default {3000} */
  readonly port: number;
  /** `NORTHWIND_PATH`: the embedded Northwind SQLite file. @default {"./data/northwind.db"} */
  readonly northwindPath: string;
  /** `SQLITE_PATH`: the `sqlite_prod` database file. @default {"./production.db"} */
  readonly sqlitePath: string;
  /** `MONGODB_URI`: the MongoDB URL; unset means no `mongodb_prod` namespace. */
  readonly mongodbUri?: string;
  /** `POSTGRES_URL`: the PostgreSQL database shared by replicas; unset means no `postgres_prod` namespace. */
  readonly postgresUrl?: string;
  /** `MONGODB_DATABASE`: the MongoDB database. @default {"production_db"} */
  readonly mongodbDatabase: string;
  /** `ODATA_BASE_URL`: the remote OData service; unset means the service's own Northwind endpoint. */
  readonly odataBaseUrl?: string;
  /** `POOL_SIZE`: the largest number of connections per store. @default {10} */
  readonly poolSize: number;
  /** `MIN_POOL_SIZE`: connections kept open per store. @default {2} */
  readonly minPoolSize: number;
  /** `MAX_IDLE_TIME`: ms an idle connection is kept. @default {30000} */
  readonly maxIdleTime: number;
  /** `CONNECTION_TIMEOUT`: ms for a connect, and the default query deadline. @default {5000} */
  readonly connectionTimeout: number;
  /** `MAX_RETRIES`: retries of a connect or a read. @default {3} */
  readonly maxRetries: number;
  /** `RETRY_DELAY`: ms before the first retry (doubling). @default {1000} */
  readonly retryDelay: number;
  /** `HEALTH_CHECK_INTERVAL`: ms between health checks (0 = off). @default {30000} */
  readonly healthCheckInterval: number;
  /** `SHUTDOWN_TIMEOUT`: ms in-flight requests may take to finish on shutdown. @default {10000} */
  readonly shutdownTimeout: number;
  /** `LOG_LEVEL`. @default {"info"} */
  readonly logLevel: LogLevelName;
  /** `LOG_FORMAT`: readable lines or JSON lines. @default {"pretty"} */
  readonly logFormat: "pretty" | "json";
  /** `METRICS_LOG_INTERVAL`: ms between metrics reports in the log (0 = off). @default {300000} */
  readonly metricsLogInterval: number;
  /** `DEBUG`: comma-separated category patterns, e.g. `odata-active-record:*`. */
  readonly debug: readonly string[];
}

/** One invalid variable. */
export interface ConfigProblem {
  /** The variable's name. */
  readonly variable: string;
  /** Its value. */
  readonly value: string;
  /** What it accepts. */
  readonly message: string;
}

/**
 * Invalid configuration: `problems` lists every bad variable, one line each in the message.
 *
 * @example
 * ```ts
 * import { ConfigurationError, loadConfigFromEnv } from "@oar/odata-active-record";
 * try {
 *   loadConfigFromEnv({ POOL_SIZE: "abc" });
 * } catch (error) {
 *   if (error instanceof ConfigurationError) console.log(error.problems[0]?.variable); // "POOL_SIZE"
 * }
 * ```
 */
export class ConfigurationError extends ODataActiveRecordError {
  /** Every invalid variable. */
  readonly problems: readonly ConfigProblem[];

  /** Creates the error from its problems. */
  constructor(problems: readonly ConfigProblem[], options: ErrorOptions = {}) {
    super(
      "INVALID_CONFIGURATION",
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  ${p.variable}=${p.value}: ${p.message}`).join("\n"),
      {
        suggestion: "Fix the environment variables listed above and start again.",
        ...options,
        context: { problems: problems.map((p) => ({ ...p })), ...options.context },
      },
    );
    this.name = "ConfigurationError";
    this.problems = problems;
  }
}

/**
 * Every environment variable {@linkcode loadConfigFromEnv} reads.
 *
 * @example
 * ```ts
 * import { CONFIG_VARIABLES } from "@oar/odata-active-record";
 * CONFIG_VARIABLES.includes("POOL_SIZE"); // true
 * ```
 */
export const CONFIG_VARIABLES: readonly string[] = [
  "MONGODB_URI",
  "MONGODB_DATABASE",
  "SQLITE_PATH",
  "ODATA_BASE_URL",
  "POOL_SIZE",
  "MIN_POOL_SIZE",
  "MAX_IDLE_TIME",
  "CONNECTION_TIMEOUT",
  "MAX_RETRIES",
  "RETRY_DELAY",
  "HEALTH_CHECK_INTERVAL",
  "PORT",
  "NORTHWIND_PATH",
  "LOG_LEVEL",
  "LOG_FORMAT",
  "METRICS_LOG_INTERVAL",
  "SHUTDOWN_TIMEOUT",
  "POSTGRES_URL",
  "DEBUG",
];

const LEVELS: Readonly<Record<string, LogLevelName>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  warning: "warning",
  error: "error",
  fatal: "fatal",
};

class Reader {
  readonly problems: ConfigProblem[] = [];
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(env: Readonly<Record<string, string | undefined>>) {
    this.#env = env;
  }

  raw(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  problem(variable: string, value: string, message: string): void {
    this.problems.push({ variable, value, message });
  }

  integer(name: string, fallback: number, min: number, max: number, unit = ""): number {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      const what = unit === "ms"
        ? `must be a whole number of milliseconds from ${min} to ${max}`
        : `must be a whole number from ${min} to ${max}`;
      this.problem(
        name,
        text,
        value < 0 && min >= 0 ? `${what} (negative values are invalid)` : what,
      );
      return fallback;
    }
    return value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  url(name: string, protocols: readonly string[], example: string): string | undefined {
    const text = this.raw(name);
    if (text === undefined) return undefined;
    let ok = false;
    try {
      ok = protocols.includes(new URL(text).protocol);
    } catch {
      ok = false;
    }
    if (!ok) {
      this.problem(
        name,
        text,
        `must be a URL starting with ${
          protocols.map((p) => `${p}//`).join(" or ")
        }, e.g. ${example}`,
      );
      return undefined;
    }
    return text;
  }

  choice<T extends string>(name: string, choices: Readonly<Record<string, T>>, fallback: T): T {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = choices[text.toLowerCase()];
    if (value === undefined) {
      this.problem(name, text, `must be one of ${[...new Set(Object.keys(choices))].join(", ")}`);
      return fallback;
    }
    return value;
  }
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Reads and validates the configuration from `env` (by default the process environment, which
 * needs `--allow-env` on Deno). Throws a {@linkcode ConfigurationError} listing every problem.
 *
 * @example
 * ```ts
 * import { loadConfigFromEnv } from "@oar/odata-active-record";
 * const config = loadConfigFromEnv({ PORT: "8080", LOG_FORMAT: "json" });
 * console.log(config.port, config.logFormat); // 8080 "json"
 * ```
 */
export function loadConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = processEnv(),
): ProductionConfig {
  const r = new Reader(env);
  const poolSize = r.integer("POOL_SIZE", 10, 1, 1000);
  const minPoolSize = r.integer("MIN_POOL_SIZE", Math.min(2, poolSize), 0, 1000);
  if (minPoolSize > poolSize && r.raw("MIN_POOL_SIZE") !== undefined) {
    r.problem(
      "MIN_POOL_SIZE",
      String(minPoolSize),
      `must not exceed POOL_SIZE (${poolSize})`,
    );
  }
  const database = r.string("MONGODB_DATABASE", "production_db");
  if (/[/\\. "$\0]/.test(database) || database.length > 63) {
    r.problem(
      "MONGODB_DATABASE",
      database,
      'must be a MongoDB database name: up to 63 characters, none of / \\ . " $ or space',
    );
  }
  const mongodbUri = r.url(
    "MONGODB_URI",
    ["mongodb:", "mongodb+srv:"],
    "mongodb://localhost:27017",
  );
  const postgresUrl = r.url(
    "POSTGRES_URL",
    ["postgres:", "postgresql:"],
    "postgres://app@db:5432/production",
  );
  const odataBaseUrl = r.url(
    "ODATA_BASE_URL",
    ["http:", "https:"],
    "https://services.odata.org/V4/Northwind/Northwind.svc",
  );
  const config: ProductionConfig = {
    port: r.integer("PORT", 3000, 0, 65535),
    northwindPath: r.string("NORTHWIND_PATH", "./data/northwind.db"),
    sqlitePath: r.string("SQLITE_PATH", "./production.db"),
    ...(mongodbUri === undefined ? {} : { mongodbUri }),
    ...(postgresUrl === undefined ? {} : { postgresUrl }),
    mongodbDatabase: database,
    ...(odataBaseUrl === undefined ? {} : { odataBaseUrl }),
    poolSize,
    minPoolSize,
    maxIdleTime: r.integer("MAX_IDLE_TIME", 30000, 0, DAY, "ms"),
    connectionTimeout: r.integer("CONNECTION_TIMEOUT", 5000, 1, 10 * 60_000, "ms"),
    maxRetries: r.integer("MAX_RETRIES", 3, 0, 100),
    retryDelay: r.integer("RETRY_DELAY", 1000, 0, HOUR, "ms"),
    healthCheckInterval: r.integer("HEALTH_CHECK_INTERVAL", 30000, 0, DAY, "ms"),
    shutdownTimeout: r.integer("SHUTDOWN_TIMEOUT", 10000, 0, HOUR, "ms"),
    logLevel: r.choice("LOG_LEVEL", LEVELS, "info"),
    logFormat: r.choice("LOG_FORMAT", { pretty: "pretty", text: "pretty", json: "json" }, "pretty"),
    metricsLogInterval: r.integer("METRICS_LOG_INTERVAL", 300000, 0, DAY, "ms"),
    debug: (r.raw("DEBUG") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""),
  };
  if (r.problems.length > 0) throw new ConfigurationError(r.problems);
  return config;
}

/**
 * The connection pool options a configuration stands for.
 *
 * @example
 * ```ts
 * import { ConnectionPool, loadConfigFromEnv, poolOptionsFromConfig } from "@oar/odata-active-record";
 * const pool = new ConnectionPool(poolOptionsFromConfig(loadConfigFromEnv({})));
 * await pool.closeAll();
 * ```
 */
export function poolOptionsFromConfig(config: ProductionConfig): ConnectionPoolOptions {
  return {
    maxRetries: config.maxRetries,
    retryDelay: config.retryDelay,
    healthCheckInterval: config.healthCheckInterval,
    healthCheckTimeout: config.connectionTimeout,
    connectTimeout: config.connectionTimeout,
  };
}
