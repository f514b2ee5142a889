import assert from "node:assert/strict";
import { loadConfigFromEnv } from "../../../mod.ts";
import { namespacesFromConfig } from "../../../examples/production-ready/main.ts";

Deno.test("the design's namespaces: mongodb_prod only with MONGODB_URI, http_odata_prod on our own endpoint by default", () => {
  const plain = namespacesFromConfig(loadConfigFromEnv({}), 4321);
  assert.deepEqual(Object.keys(plain), ["northwind", "sqlite_prod", "http_odata_prod"]);
  assert.deepEqual(plain.northwind!.connection, {
    type: "sqlite",
    filePath: "./data/northwind.db",
    timeout: 5000,
    verbose: false,
  });
  assert.equal(plain.northwind!.sync, false, "the sample is loaded, never re-synced");
  assert.deepEqual(Object.keys(plain.sqlite_prod!.entities ?? {}), ["logs"]);
  assert.equal(plain.sqlite_prod!.sync, true);
  assert.equal(
    (plain.http_odata_prod!.connection as { baseUrl: string }).baseUrl,
    "http://127.0.0.1:4321/odata/northwind/",
  );
  // Its entity sets come from the remote's $metadata, read in setup once the remote answers.
  assert.equal(plain.http_odata_prod!.entities, undefined);
  assert.equal(typeof plain.http_odata_prod!.setup, "function");

  const withMongo = namespacesFromConfig(
    loadConfigFromEnv({
      MONGODB_URI: "mongodb://db.internal:27017",
      MONGODB_DATABASE: "shop",
      POOL_SIZE: "20",
      MIN_POOL_SIZE: "5",
      MAX_IDLE_TIME: "60000",
      CONNECTION_TIMEOUT: "2500",
      ODATA_BASE_URL: "http://remote.internal/odata/",
    }),
    3000,
  );
  assert.deepEqual(Object.keys(withMongo), [
    "northwind",
    "sqlite_prod",
    "mongodb_prod",
    "http_odata_prod",
  ]);
  assert.deepEqual(withMongo.mongodb_prod!.connection, {
    type: "mongodb",
    connectionString: "mongodb://db.internal:27017",
    databaseName: "shop",
    poolSize: 20,
    minPoolSize: 5,
    maxIdleTime: 60000,
    timeout: 2500,
  });
  assert.deepEqual(Object.keys(withMongo.mongodb_prod!.entities ?? {}), ["users", "orders"]);
  assert.equal(
    (withMongo.http_odata_prod!.connection as { baseUrl: string }).baseUrl,
    "http://remote.internal/odata/",
  );
});
