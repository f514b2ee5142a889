/**
 * Every code of the catalogue is reachable: each has a scenario through the real API (real
 * SQLite files) that raises it. A new code without a scenario fails this test.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  CircuitBreaker,
  createODataHandler,
  createProvider,
  type EntityNamespace,
  EntityNamespaceManager,
  ERROR_CATALOGUE,
  type ErrorCode,
  ODataActiveRecordError,
  parseFilter,
  parseQuery,
} from "../../mod.ts";
import { importProvider } from "../../src/provider/registry.ts";
import { available, withDatabase } from "../providers/postgres/helpers.ts";
import { mapPostgresError } from "../../providers/postgres/errors.ts";

const dir = await mkdtemp(join(tmpdir(), "oar-codes-"));
const manager = new EntityNamespaceManager();

function namespaceWithTable(name: string, ddl: string): EntityNamespace {
  const filePath = join(dir, `${name}.db`);
  const db = new DatabaseSync(filePath);
  db.exec(ddl);
  db.close();
  return manager.createNamespace(name, { provider: { type: "sqlite", filePath } });
}

async function main(): Promise<EntityNamespace> {
  const ns = manager.createNamespace("main", {
    provider: { type: "sqlite", filePath: join(dir, "main.db") },
  });
  ns.registerEntity("Items", {
    fields: {
      id: { type: "integer", primaryKey: true },
      name: { type: "string", required: true, unique: true },
    },
  });
  await ns.sync();
  await ns.getEntity("Items").create({ name: "first" });
  return ns;
}

const scenarios: Record<ErrorCode, () => unknown> = {
  ODATA_SYNTAX: () => parseFilter("Price gt"),
  QUERY_LIMIT_EXCEEDED: () => parseQuery("$top=5", { limits: { maxTop: 2 } }),
  NOT_SUPPORTED: async () =>
    (await main2()).getEntity("Items").filter(
      "geo.distance(geography'SRID=4326;Point(1 2)',geography'SRID=4326;Point(1 3)') lt 1",
    ).find(),
  VALIDATION_FAILED: async () => (await main2()).getEntity("Items").create({ name: 42 }),
  UNKNOWN_FIELD: async () => (await main2()).getEntity("Items").where("nmae", "eq", "x"),
  UNKNOWN_ENTITY: async () => (await main2()).getEntity("Itemz"),
  UNKNOWN_NAMESPACE: () => manager.getNamespace("nope"),
  NAMESPACE_EXISTS: () =>
    manager.createNamespace("main", { provider: { type: "sqlite", filePath: ":memory:" } }),
  ENTITY_EXISTS: async () =>
    (await main2()).registerEntity("Items", {
      fields: { id: { type: "integer", primaryKey: true } },
    }),
  INVALID_SCHEMA: async () =>
    (await main2()).registerEntity("NoKey", { fields: { a: { type: "string" } } }),
  INVALID_OPERATOR: async () => (await main2()).getEntity("Items").where("id", "contains", "1"),
  INVALID_ARGUMENT: async () => (await main2()).getEntity("Items").limit(-1),
  TYPE_MISMATCH: async () => (await main2()).getEntity("Items").where("id", "eq", "one"),
  NOT_FOUND: async () => (await main2()).getEntity("Items").findByIdOrFail(404),
  UNSAFE_OPERATION: async () => (await main2()).getEntity("Items").delete(),
  CONSTRAINT_UNIQUE: async () => (await main2()).getEntity("Items").create({ name: "first" }),
  CONSTRAINT_NOT_NULL: async () => {
    // The table is stricter than the registered schema: the database has the last word.
    const ns = namespaceWithTable(
      "notnull",
      'CREATE TABLE "T" ("id" INTEGER PRIMARY KEY, "v" TEXT NOT NULL)',
    );
    ns.registerEntity("T", {
      fields: { id: { type: "integer", primaryKey: true }, v: { type: "string" } },
    });
    await ns.getEntity("T").create({});
  },
  CONSTRAINT_FOREIGN_KEY: async () => {
    const ns = manager.createNamespace("fk", {
      provider: { type: "sqlite", filePath: ":memory:" },
    });
    ns.registerEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
    ns.registerEntity("C", {
      fields: { id: { type: "integer", primaryKey: true }, p: { type: "integer" } },
      relations: { parent: { type: "one", entity: "P", foreignKey: "p" } },
    });
    await ns.sync();
    await ns.getEntity("C").create({ p: 7 });
  },
  CONSTRAINT_CHECK: async () => {
    const ns = namespaceWithTable(
      "check",
      'CREATE TABLE "T" ("id" INTEGER PRIMARY KEY, "n" INTEGER CHECK ("n" > 0))',
    );
    ns.registerEntity("T", {
      fields: { id: { type: "integer", primaryKey: true }, n: { type: "integer" } },
    });
    await ns.getEntity("T").create({ n: -1 });
  },
  UNKNOWN_PROVIDER: () => createProvider({ type: "cassandra" } as never),
  PROVIDER_DEPENDENCY_MISSING: () =>
    importProvider(
      "imaginary",
      "npm:imaginary-driver",
      () => import("./no-such-provider-module.ts" as string),
    ),
  PROVIDER_UNAVAILABLE: () =>
    manager.createNamespace("gone", {
      provider: { type: "sqlite", filePath: join(dir, "missing", "x.db") },
    }).ping(),
  PROVIDER_ERROR: async () => {
    const ns = namespaceWithTable("ro", 'CREATE TABLE "T" ("id" INTEGER PRIMARY KEY)');
    await ns.close();
    const ro = manager.createNamespace("ro2", {
      provider: { type: "sqlite", filePath: join(dir, "ro.db"), readOnly: true },
    });
    ro.registerEntity("T", { fields: { id: { type: "integer", primaryKey: true } } });
    await ro.getEntity("T").create({ id: 1 });
  },
  TRANSACTION_FAILED: async () => {
    // A deferred foreign key is only checked at COMMIT, so the commit itself fails.
    const ns = namespaceWithTable(
      "deferred",
      'CREATE TABLE "P" ("id" INTEGER PRIMARY KEY); CREATE TABLE "C" ("id" INTEGER PRIMARY KEY, "p" INTEGER ' +
        'REFERENCES "P" ("id") DEFERRABLE INITIALLY DEFERRED)',
    );
    ns.registerEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });
    ns.registerEntity("C", {
      fields: { id: { type: "integer", primaryKey: true }, p: { type: "integer" } },
    });
    await ns.transaction(async (tx) => {
      await tx.getEntity("C").create({ p: 9 });
    });
  },
  TIMEOUT: async () => {
    const filePath = join(dir, "busy.db");
    const ns = manager.createNamespace("busy", {
      provider: { type: "sqlite", filePath, busyTimeoutMs: 20 },
    });
    ns.registerEntity("T", { fields: { id: { type: "integer", primaryKey: true } } });
    await ns.sync();
    const other = new DatabaseSync(filePath);
    other.exec("BEGIN IMMEDIATE");
    try {
      await ns.getEntity("T").create({});
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
  },
  ABORTED: async () => (await main2()).getEntity("Items").find({ signal: AbortSignal.abort() }),
  INVALID_CONFIGURATION: () => manager.createNamespace("noprovider", {} as never),
  CLOSED: async () => {
    const ns = manager.createNamespace("closing", {
      provider: { type: "sqlite", filePath: ":memory:" },
    });
    await ns.close();
    await ns.connect();
  },
  TRANSACTION_CLOSED: async () => {
    const ns = await main2();
    const kept = await ns.transaction((tx) => Promise.resolve(tx.getEntity("Items")));
    await kept.create({ name: "after the transaction" });
  },
  CONFLICT: async () => {
    const ns = manager.createNamespace("versioned", {
      provider: { type: "sqlite", filePath: ":memory:" },
    });
    const V = ns.registerEntity("V", {
      fields: { id: { type: "integer", primaryKey: true }, n: { type: "integer", version: true } },
    });
    await ns.sync();
    await V.create({ id: 1 });
    await V.updateById(1, { n: 0 });
  },
  SCHEMA_NOT_SYNCED: async () => {
    const ns = manager.createNamespace("unsynced", {
      provider: { type: "sqlite", filePath: join(dir, "unsynced.db") },
    });
    ns.registerEntity("Items", { fields: { id: { type: "integer", primaryKey: true } } });
    await ns.getEntity("Items").find(); // sync() forgotten
  },
  METHOD_NOT_ALLOWED: () => overHttp("Items", { method: "DELETE" }),
  NOT_ACCEPTABLE: () => overHttp("Items", { headers: { accept: "application/atom+xml" } }),
  PRECONDITION_FAILED: () => overHttp("Items(1)", { headers: { "if-match": 'W/"stale"' } }),
  PAYLOAD_TOO_LARGE: () =>
    overHttp("Items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(100) }),
    }),
  UNSUPPORTED_MEDIA_TYPE: () =>
    overHttp("Items", { method: "POST", headers: { "content-type": "text/csv" }, body: "a" }),
  FAILED_DEPENDENCY: async () => {
    const response = await createODataHandler(await main2())(
      new Request("http://localhost/$batch", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          requests: [
            { id: "1", method: "get", url: "Items(404)" },
            { id: "2", dependsOn: ["1"], method: "get", url: "Items" },
          ],
        }),
      }),
    );
    const { responses } = await response.json() as { responses: { body: unknown }[] };
    raiseFrom(424, responses[1]!.body);
  },
  PRECONDITION_REQUIRED: () =>
    overHttp("Items(1)", {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "changed" }),
    }),
  CIRCUIT_OPEN: async () => {
    const breaker = new CircuitBreaker({ name: "codes", failureThreshold: 1, cooldownMs: 60000 });
    const unavailable = () =>
      Promise.reject(new ODataActiveRecordError("PROVIDER_UNAVAILABLE", "down"));
    await breaker.execute(unavailable).catch(() => {});
    await breaker.execute(() => Promise.resolve(1));
  },
  TRANSACTION_CONFLICT: async () => {
    // Needs a PostgreSQL server (a real deadlock); without one, the mapping of its SQLSTATE.
    if (!available) throw mapPostgresError({ code: "40P01", message: "deadlock detected" });
    await withDatabase(async ({ namespace }) => {
      const ns = namespace();
      const C = ns.registerEntity("C", {
        fields: { id: { type: "integer", primaryKey: true }, n: { type: "integer" } },
      });
      await ns.sync();
      await C.createMany([{ id: 1, n: 0 }, { id: 2, n: 0 }]);
      let arrived = 0;
      let release!: () => void;
      const both = new Promise<void>((resolve) => (release = resolve));
      const crossing = (a: number, b: number) =>
        ns.transaction(async () => {
          await C.where("id", "eq", a).increment("n", 1);
          if (++arrived === 2) release();
          await both;
          await C.where("id", "eq", b).increment("n", 1);
        });
      const results = await Promise.allSettled([crossing(1, 2), crossing(2, 1)]);
      for (const result of results) if (result.status === "rejected") throw result.reason;
    });
  },
};

/** The endpoint over the main namespace; Items writes need If-Match, bodies are small. */
function httpHandler(ns: EntityNamespace): (request: Request) => Promise<Response> {
  return createODataHandler(ns, { maxBodyBytes: 64, requireIfMatch: ["Items"] });
}

/** Raises the coded error an OData error body carries, checking the wire status first. */
function raiseFrom(status: number, body: unknown): never {
  const error = (body as { error: { code: ErrorCode; message: string } }).error;
  assert.equal(status, ERROR_CATALOGUE[error.code].status, `${error.code} on the wire`);
  throw new ODataActiveRecordError(error.code, error.message);
}

/** Calls the endpoint and raises the error of its OData error response. */
async function overHttp(path: string, init?: RequestInit): Promise<void> {
  const response = await httpHandler(await main2())(new Request(`http://localhost/${path}`, init));
  raiseFrom(response.status, await response.json());
}

let shared: Promise<EntityNamespace> | undefined;
function main2(): Promise<EntityNamespace> {
  shared ??= main();
  return shared;
}

Deno.test("every error code has a scenario that raises it", async (t) => {
  try {
    assert.deepEqual(Object.keys(scenarios).sort(), Object.keys(ERROR_CATALOGUE).sort());
    for (const [code, scenario] of Object.entries(scenarios)) {
      await t.step(code, async () => {
        try {
          await scenario();
        } catch (error) {
          assert.ok(
            error instanceof ODataActiveRecordError,
            `${code}: not a module error: ${error}`,
          );
          assert.equal(error.code, code, error.message);
          assert.equal(error.status, ERROR_CATALOGUE[code as ErrorCode].status);
          assert.ok(error.message.length > 0 && error.suggestion.length > 0);
          return;
        }
        assert.fail(`${code}: the scenario raised nothing`);
      });
    }
  } finally {
    await manager.close();
    await rm(dir, { recursive: true, force: true });
  }
});
