/** Configuration from the environment: defaults, and one clear message per bad variable. */
import assert from "node:assert/strict";
import {
  CONFIG_VARIABLES,
  ConfigurationError,
  loadConfigFromEnv,
  poolOptionsFromConfig,
} from "../../mod.ts";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfigFromEnv(env);
  } catch (error) {
    assert.ok(error instanceof ConfigurationError);
    assert.equal(error.code, "INVALID_CONFIGURATION");
    for (const p of error.problems) {
      assert.ok(error.message.includes(`${p.variable}=${p.value}: ${p.message}`));
    }
    return error.problems.map((p) => `${p.variable}=${p.value}: ${p.message}`);
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

Deno.test("defaults follow the original design", () => {
  const config = loadConfigFromEnv({});
  assert.deepEqual(config, {
    port: 3000,
    northwindPath: "./data/northwind.db",
    sqlitePath: "./production.db",
    mongodbDatabase: "production_db",
    poolSize: 10,
    minPoolSize: 2,
    maxIdleTime: 30000,
    connectionTimeout: 5000,
    maxRetries: 3,
    retryDelay: 1000,
    healthCheckInterval: 30000,
    shutdownTimeout: 10000,
    logLevel: "info",
    logFormat: "pretty",
    metricsLogInterval: 300000,
    debug: [],
  });
  assert.deepEqual(poolOptionsFromConfig(config), {
    maxRetries: 3,
    retryDelay: 1000,
    healthCheckInterval: 30000,
    healthCheckTimeout: 5000,
    connectTimeout: 5000,
  });
});

Deno.test("every variable is read into the typed config", () => {
  const config = loadConfigFromEnv({
    MONGODB_URI: "mongodb://db:27017",
    MONGODB_DATABASE: "shop",
    SQLITE_PATH: "/data/p.db",
    ODATA_BASE_URL: "http://localhost:3000/odata/northwind/",
    POOL_SIZE: "20",
    MIN_POOL_SIZE: "5",
    MAX_IDLE_TIME: "60000",
    CONNECTION_TIMEOUT: "2500",
    MAX_RETRIES: "0",
    RETRY_DELAY: "250",
    HEALTH_CHECK_INTERVAL: "0",
    PORT: "8080",
    NORTHWIND_PATH: "/data/nw.db",
    LOG_LEVEL: "WARN",
    LOG_FORMAT: "json",
    METRICS_LOG_INTERVAL: "60000",
    SHUTDOWN_TIMEOUT: "15000",
    DEBUG: "odata-active-record:*, other",
    POSTGRES_URL: "postgres://app@db:5432/shop",
  });
  assert.deepEqual(config, {
    port: 8080,
    northwindPath: "/data/nw.db",
    sqlitePath: "/data/p.db",
    mongodbUri: "mongodb://db:27017",
    mongodbDatabase: "shop",
    odataBaseUrl: "http://localhost:3000/odata/northwind/",
    poolSize: 20,
    minPoolSize: 5,
    maxIdleTime: 60000,
    connectionTimeout: 2500,
    maxRetries: 0,
    retryDelay: 250,
    healthCheckInterval: 0,
    shutdownTimeout: 15000,
    logLevel: "warning",
    logFormat: "json",
    metricsLogInterval: 60000,
    debug: ["odata-active-record:*", "other"],
    postgresUrl: "postgres://app@db:5432/shop",
  });
  assert.equal(CONFIG_VARIABLES.length, 19);
});

Deno.test("each bad variable gets its own message naming it and what it accepts", () => {
  const cases: [Record<string, string>, string][] = [
    [{ POOL_SIZE: "abc" }, "POOL_SIZE=abc: must be a whole number from 1 to 1000"],
    [{ POOL_SIZE: "0" }, "POOL_SIZE=0: must be a whole number from 1 to 1000"],
    [{ POOL_SIZE: "2.5" }, "POOL_SIZE=2.5: must be a whole number from 1 to 1000"],
    [{ POOL_SIZE: "5", MIN_POOL_SIZE: "8" }, "MIN_POOL_SIZE=8: must not exceed POOL_SIZE (5)"],
    [
      { MIN_POOL_SIZE: "-1" },
      "MIN_POOL_SIZE=-1: must be a whole number from 0 to 1000 (negative values are invalid)",
    ],
    [
      { CONNECTION_TIMEOUT: "-5" },
      "CONNECTION_TIMEOUT=-5: must be a whole number of milliseconds from 1 to 600000 (negative values are invalid)",
    ],
    [
      { CONNECTION_TIMEOUT: "5s" },
      "CONNECTION_TIMEOUT=5s: must be a whole number of milliseconds from 1 to 600000",
    ],
    [
      { MAX_IDLE_TIME: "x" },
      "MAX_IDLE_TIME=x: must be a whole number of milliseconds from 0 to 86400000",
    ],
    [{ MAX_RETRIES: "many" }, "MAX_RETRIES=many: must be a whole number from 0 to 100"],
    [
      { RETRY_DELAY: "-100" },
      "RETRY_DELAY=-100: must be a whole number of milliseconds from 0 to 3600000 (negative values are invalid)",
    ],
    [
      { HEALTH_CHECK_INTERVAL: "often" },
      "HEALTH_CHECK_INTERVAL=often: must be a whole number of milliseconds from 0 to 86400000",
    ],
    [
      { SHUTDOWN_TIMEOUT: "1e3" },
      "SHUTDOWN_TIMEOUT=1e3: must be a whole number of milliseconds from 0 to 3600000",
    ],
    [
      { METRICS_LOG_INTERVAL: "-1" },
      "METRICS_LOG_INTERVAL=-1: must be a whole number of milliseconds from 0 to 86400000 (negative values are invalid)",
    ],
    [{ PORT: "70000" }, "PORT=70000: must be a whole number from 0 to 65535"],
    [
      { LOG_LEVEL: "loud" },
      "LOG_LEVEL=loud: must be one of trace, debug, info, warn, warning, error, fatal",
    ],
    [{ LOG_FORMAT: "xml" }, "LOG_FORMAT=xml: must be one of pretty, text, json"],
    [
      { MONGODB_URI: "localhost:27017" },
      "MONGODB_URI=localhost:27017: must be a URL starting with mongodb:// or mongodb+srv://, e.g. mongodb://localhost:27017",
    ],
    [
      { POSTGRES_URL: "mysql://db/x" },
      "POSTGRES_URL=mysql://db/x: must be a URL starting with postgres:// or postgresql://, e.g. postgres://app@db:5432/production",
    ],
    [
      { ODATA_BASE_URL: "ftp://x" },
      "ODATA_BASE_URL=ftp://x: must be a URL starting with http:// or https://, e.g. https://services.odata.org/V4/Northwind/Northwind.svc",
    ],
    [
      { MONGODB_DATABASE: "my db" },
      'MONGODB_DATABASE=my db: must be a MongoDB database name: up to 63 characters, none of / \\ . " $ or space',
    ],
  ];
  for (const [env, message] of cases) {
    assert.deepEqual(problems(env), [message], JSON.stringify(env));
  }
});

Deno.test("every problem is reported at once, in one error", () => {
  const found = problems({ POOL_SIZE: "abc", CONNECTION_TIMEOUT: "-5", LOG_FORMAT: "xml" });
  assert.equal(found.length, 3);
  assert.match(found.join("\n"), /^POOL_SIZE=abc/m);
  assert.match(found.join("\n"), /^CONNECTION_TIMEOUT=-5/m);
  assert.match(found.join("\n"), /^LOG_FORMAT=xml/m);
});

Deno.test("empty values mean the default; the process environment is the default source", () => {
  assert.equal(loadConfigFromEnv({ POOL_SIZE: "", PORT: "  " }).poolSize, 10);
  const before = Deno.env.get("POOL_SIZE");
  Deno.env.set("POOL_SIZE", "17");
  try {
    assert.equal(loadConfigFromEnv().poolSize, 17);
  } catch (error) {
    // The machine's own environment may hold other bad values; POOL_SIZE must have been read.
    assert.ok(error instanceof ConfigurationError);
    assert.ok(!error.problems.some((p) => p.variable === "POOL_SIZE"));
  } finally {
    if (before === undefined) Deno.env.delete("POOL_SIZE");
    else Deno.env.set("POOL_SIZE", before);
  }
});
