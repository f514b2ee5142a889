/**
 * The MongoDB provider over the wire (CongoDB, or MONGODB_URI): safety of values and documents,
 * the mapping of pool options and driver errors, and faults injected by a real TCP proxy in
 * front of the server (dropped connections, slow replies, a refused port).
 */

import assert from "node:assert/strict";
import { MongoClient, MongoServerError } from "mongodb";
import {
  ConnectionPool,
  createProvider,
  EntityNamespaceManager,
  ODataActiveRecordError,
  type Provider,
  resolveEntity,
} from "../../../mod.ts";
import { driverOptions } from "../../../providers/mongodb/mod.ts";
import { mapMongoError } from "../../../providers/mongodb/errors.ts";
import { mongoConfig, startMongo } from "./helpers.ts";

const server = await startMongo();

async function isCode(promise: Promise<unknown>, code: string): Promise<ODataActiveRecordError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError, `expected a module error, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

function shop(url = server.url) {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("shop", { provider: mongoConfig({ ...server, url }) });
  const Item = ns.registerEntity("Items", {
    fields: {
      Id: { type: "integer", primaryKey: true },
      Name: { type: "string", required: true },
      Price: { type: "decimal", scale: 2 },
      Tags: { type: "json" },
    },
  });
  return { manager, ns, Item };
}

Deno.test("values never become operators or field paths", async () => {
  const { manager, ns, Item } = shop();
  try {
    await ns.sync();
    await Item.createMany([
      { Id: 1, Name: "$Name", Price: "1.00" },
      { Id: 2, Name: "a.*b(c)[d]^$", Price: "2.50" },
      { Id: 3, Name: "plain", Price: "3.25" },
    ]);
    // A literal that looks like a field path compares as text.
    assert.equal(await Item.filter("tolower(Name) eq '$name'").count(), 1);
    assert.equal(await Item.filter("Name eq '$Name'").count(), 1);
    // Regular-expression characters in the argument match themselves.
    assert.equal(await Item.where("Name", "contains", ".*b(c)[d]^$").count(), 1);
    assert.equal(await Item.where("Name", "startswith", "a.*").count(), 1);
    assert.equal(await Item.where("Name", "endswith", "^$").count(), 1);
    assert.equal(await Item.where("Name", "contains", ".*").count(), 1);
    assert.equal(await Item.filter("indexof(Name,'(c)') eq 4").count(), 1);
    // An object value of a json field is data, compared as a whole, never an operator document.
    await isCode(Item.create({ Id: 4, Name: "x", Tags: { $gt: "" } }), "VALIDATION_FAILED");
    await isCode(Item.create({ Id: 5, Name: "x", Tags: { "a.b": 1 } }), "VALIDATION_FAILED");
    await isCode(
      Item.create({ Id: 6, Name: "x", Tags: [{ nested: { $where: "1" } }] }),
      "VALIDATION_FAILED",
    );
    assert.equal(await Item.count(), 3, "nothing of the refused documents was written");
    // Injection through filter text stays a value.
    assert.equal(await Item.where("Name", "eq", "x' or '1' eq '1").count(), 0);
  } finally {
    await manager.close();
  }
});

Deno.test("decimals keep their scale; generated keys continue after explicit ones", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("seq", { provider: mongoConfig(server) });
  const Note = ns.registerEntity("Notes", {
    fields: {
      NoteID: { type: "integer", primaryKey: true },
      Text: { type: "string" },
      Amount: { type: "decimal", scale: 2 },
    },
  });
  try {
    await ns.sync();
    await Note.create({ NoteID: 10, Text: "explicit", Amount: "1.5" });
    const generated = await Note.createMany([{ Text: "a", Amount: "2" }, { Text: "b" }]);
    assert.deepEqual(generated.map((n) => n.toJSON().NoteID), [11, 12]);
    const read = await Note.findByIdOrFail(11);
    assert.equal(read.toJSON().Amount, "2.00");
    assert.deepEqual((await Note.findByIdOrFail(12)).toJSON(), {
      NoteID: 12,
      Text: "b",
      Amount: null,
    });
  } finally {
    await manager.close();
  }
});

Deno.test("sync creates collections and the key index, and reports drift", async () => {
  const manager = new EntityNamespaceManager();
  const config = mongoConfig(server);
  const ns = manager.createNamespace("drift", { provider: config });
  ns.registerEntity("People", {
    fields: {
      PersonID: { type: "integer", primaryKey: true },
      Name: { type: "string", required: true },
      Born: { type: "datetime" },
    },
  });
  const raw = await createProvider(config);
  try {
    const first = await ns.sync();
    assert.deepEqual(first.createdTables, ["People"]);
    assert.ok(first.createdIndexes.includes("People.pk_PersonID"), String(first.createdIndexes));
    // Documents written by someone else, with a wrong type and an undeclared field.
    await raw.insert(ns.schema.getEntityMetadata("People")!, [{ PersonID: 1, Name: "A" }]);
    const db = await (raw as unknown as { db(): Promise<import("mongodb").Db> }).db();
    await db.collection("People").insertOne({ PersonID: 2, Name: 5, Nick: "b" });
    const second = await ns.sync();
    assert.deepEqual(second.createdTables, []);
    const kinds = second.warnings.map((w) => `${w.kind}:${w.column}`).sort();
    assert.deepEqual(kinds, ["extra-column:Nick", "type-mismatch:Name"]);
  } finally {
    await raw.close();
    await manager.close();
  }
});

Deno.test("pool options map onto the driver's", () => {
  const options = driverOptions({
    type: "mongodb",
    connectionString: "mongodb://127.0.0.1:1",
    databaseName: "x",
    poolSize: 20,
    minPoolSize: 2,
    maxIdleTime: 30000,
    timeout: 5000,
  });
  assert.deepEqual(
    [
      options.maxPoolSize,
      options.minPoolSize,
      options.maxIdleTimeMS,
      options.serverSelectionTimeoutMS,
      options.connectTimeoutMS,
    ],
    [20, 2, 30000, 5000, 5000],
  );
});

Deno.test("bad configs are INVALID_CONFIGURATION", async () => {
  for (
    const config of [
      { connectionString: "http://x", databaseName: "a" },
      { connectionString: "mongodb://x", databaseName: "a/b" },
      { connectionString: "mongodb://x", databaseName: "a", poolSize: -1 },
      { connectionString: "mongodb://x", databaseName: "a", poolSize: 2, minPoolSize: 3 },
    ]
  ) {
    await isCode(createProvider({ type: "mongodb", ...config } as never), "INVALID_CONFIGURATION");
  }
});

Deno.test("driver errors map to coded errors", () => {
  const duplicate = new MongoServerError({
    message: "E11000 duplicate key error collection: t.Items index: pk_Id dup key: { Id: 1 }",
    code: 11000,
    keyValue: { Id: 1 },
  });
  const mapped = mapMongoError(duplicate, { entity: "Items" });
  assert.equal(mapped.code, "CONSTRAINT_UNIQUE");
  assert.match(mapped.message, /Id = 1/);
  assert.equal(mapMongoError(new MongoServerError({ message: "x", code: 50 })).code, "TIMEOUT");
  assert.equal(
    mapMongoError(new MongoServerError({ message: "x", code: 2 })).code,
    "PROVIDER_ERROR",
  );
});

Deno.test("a refused port is PROVIDER_UNAVAILABLE, well before the timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const provider = await createProvider({
    ...mongoConfig(server),
    connectionString:
      `mongodb://127.0.0.1:${port}/?directConnection=true&serverMonitoringMode=poll`,
    timeout: 1500,
  });
  try {
    const error = await isCode(provider.connect(), "PROVIDER_UNAVAILABLE");
    assert.equal(error.context.retryable, true);
  } finally {
    await provider.close();
  }
});

/** A TCP proxy in front of the server that can drop connections or hold replies. */
function faultProxy(target: URL) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let mode: "pass" | "drop" | "hold" = "pass";
  const open = new Set<Deno.Conn>();
  const held: (() => void)[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      for await (const chunk of from.readable.pipeThrough(new TransformStream())) {
        if (mode === "drop") throw new Error("drop");
        if (mode === "hold") await new Promise<void>((resolve) => held.push(resolve));
        const writer = to.writable.getWriter();
        await writer.write(chunk);
        writer.releaseLock();
      }
    } catch {
      // a dropped or closed connection
    } finally {
      for (const conn of [from, to]) {
        if (open.delete(conn)) {
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
      }
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
      open.add(client);
      open.add(upstream);
      void pump(client, upstream);
      void pump(upstream, client);
    }
  })().catch(() => {});
  return {
    url: `mongodb://127.0.0.1:${
      (listener.addr as Deno.NetAddr).port
    }/?directConnection=true&serverMonitoringMode=poll`,
    set(next: "pass" | "drop" | "hold") {
      mode = next;
      if (next === "drop") {
        for (const conn of open) {
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
        open.clear();
      }
      if (next !== "hold") held.splice(0).forEach((release) => release());
    },
    async close() {
      this.set("drop");
      listener.close();
      await accepting;
    },
  };
}

Deno.test({
  name: "dropped connections fail as PROVIDER_UNAVAILABLE, slow replies as TIMEOUT, then recover",
  sanitizeResources: false, // the driver's monitor sockets outlive the test by a tick
  sanitizeOps: false,
  fn: async () => {
    // Faults get a server of their own: half-sent messages must not disturb the other tests.
    await using own = await startMongo();
    const proxy = faultProxy(new URL(own.url));
    let provider: Provider | undefined;
    try {
      provider = await createProvider({
        ...mongoConfig(server),
        connectionString: proxy.url,
        timeout: 1500,
      });
      await provider.ping();
      proxy.set("hold");
      await isCode(provider.ping({ signal: AbortSignal.timeout(200) }), "TIMEOUT");
      proxy.set("drop");
      const dropped = await isCode(provider.ping(), "PROVIDER_UNAVAILABLE");
      assert.equal(dropped.context.retryable, true);
      proxy.set("pass");
      let recovered = false;
      for (let attempt = 0; attempt < 20 && !recovered; attempt++) {
        try {
          await provider.ping();
          recovered = true;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assert.ok(recovered, "the provider reconnects once the server answers again");
    } finally {
      await provider?.close();
      await proxy.close();
    }
  },
});

Deno.test("a key mapped to _id: ObjectIds generated by MongoDB, found by their hex text", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("ids", { provider: mongoConfig(server) });
  const Doc = ns.registerEntity("Docs", {
    fields: {
      id: { type: "string", column: "_id", primaryKey: true, autoIncrement: true },
      Title: { type: "string" },
    },
  });
  try {
    await ns.sync();
    const [a, b] = await Doc.createMany([{ Title: "a" }, { Title: "b" }]);
    const idA = String(a!.toJSON().id);
    assert.match(idA, /^[0-9a-f]{24}$/);
    assert.notEqual(idA, b!.toJSON().id);
    assert.equal((await Doc.findByIdOrFail(idA)).toJSON().Title, "a");
    assert.equal(await Doc.where("id", "in", [idA, String(b!.toJSON().id)]).count(), 2);
    assert.equal(await Doc.where("id", "ne", idA).count(), 1);
    assert.equal(await Doc.deleteById(idA), 1);
    assert.equal(await Doc.count(), 1);
  } finally {
    await manager.close();
  }
});

Deno.test("increment is atomic, counts null as 0; version fields give CONFLICT, never lost updates", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("counters", { provider: mongoConfig(server) });
  const Counter = ns.registerEntity("Counters", {
    fields: {
      Id: { type: "integer", primaryKey: true },
      Hits: { type: "integer" },
      Version: { type: "integer", version: true },
    },
  });
  try {
    await ns.sync();
    await Counter.createMany([{ Id: 1, Hits: 0 }, { Id: 2 }]);
    await Promise.all(Array.from({ length: 50 }, () => Counter.incrementById(1, "Hits", 1)));
    assert.equal((await Counter.findByIdOrFail(1)).toJSON().Hits, 50);
    assert.equal(await Counter.where("Id", 2).increment("Hits", 3), 1);
    assert.equal((await Counter.findByIdOrFail(2)).toJSON().Hits, 3);
    const a = await Counter.findByIdOrFail(1);
    const b = await Counter.findByIdOrFail(1);
    a.set("Hits", 100);
    await a.save();
    b.set("Hits", 200);
    await isCode(b.save(), "CONFLICT");
    assert.equal((await Counter.findByIdOrFail(1)).toJSON().Hits, 100);
  } finally {
    await manager.close();
  }
});

Deno.test({
  name: "pool over MongoDB: health checks remove a dropped server, the breaker opens, both recover",
  sanitizeResources: false, // the driver's monitor sockets outlive the test by a tick
  sanitizeOps: false,
  fn: async () => {
    await using own = await startMongo();
    const proxy = faultProxy(new URL(own.url));
    const pool = new ConnectionPool({
      healthCheckInterval: 0, // rounds run by hand below
      healthCheckTimeout: 500,
      maxRetries: 0,
      retryDelay: 50,
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
    });
    try {
      const base = mongoConfig(server);
      const connection = await pool.getConnection("mongodb_prod", {
        type: "mongodb",
        connectionString: proxy.url,
        databaseName: base.databaseName,
        timeout: 1000,
      });
      await connection.ping();
      assert.equal(connection.state, "healthy");
      proxy.set("drop");
      await pool.checkHealth();
      assert.equal(connection.state, "unhealthy");
      // Calls fail fast while it is out of service.
      const started = performance.now();
      await isCode(connection.ping(), "PROVIDER_UNAVAILABLE");
      assert.ok(performance.now() - started < 500, "an unhealthy connection fails fast");
      proxy.set("pass");
      let healthy = false;
      for (let i = 0; i < 40 && !healthy; i++) {
        await pool.checkHealth();
        healthy = connection.state === "healthy";
        if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(healthy, "the pool restores the connection once the server answers");
      assert.equal(pool.getConnectionStats().healthyConnections, 1);
      // Slow replies: two timeouts open the breaker, then calls are refused at once.
      const entity = resolveEntity("Items", {
        fields: { Id: { type: "integer", primaryKey: true } },
      });
      const request = { entity, schema: { getEntityMetadata: () => entity }, query: {} };
      assert.equal(await connection.count(request), 0);
      proxy.set("hold");
      for (let i = 0; i < 2; i++) {
        await isCode(connection.count(request, { signal: AbortSignal.timeout(200) }), "TIMEOUT");
      }
      const refused = performance.now();
      await isCode(connection.count(request), "CIRCUIT_OPEN");
      assert.ok(performance.now() - refused < 100, "an open circuit refuses at once");
      assert.equal(pool.getConnectionStats().connections.mongodb_prod?.circuit.state, "open");
      proxy.set("pass");
    } finally {
      await pool.closeAll();
      await proxy.close();
    }
  },
});

Deno.test({
  name: "$search uses the collection's text index when it has one (a real server)",
  // CongoDB creates text indexes but its engine (mingo) has no $text: MONGODB_URI only.
  ignore: server.congo,
  fn: async () => {
    const config = mongoConfig(server);
    const manager = new EntityNamespaceManager();
    const ns = manager.createNamespace("text", { provider: config });
    const Item = ns.registerEntity("Items", {
      fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } },
    });
    const client = new MongoClient(config.connectionString);
    try {
      await ns.sync();
      await Item.createMany([{ Id: 1, Name: "green tea" }, { Id: 2, Name: "teapot" }]);
      assert.equal(await Item.search("tea").count(), 2, "substring semantics without the index");
      await client.db(config.databaseName).collection("Items").createIndex({ Name: "text" });
      await ns.sync(); // forgets what the provider knew about indexes
      const { data } = await Item.search("tea").find();
      assert.deepEqual(data.map((r) => r.toJSON().Id), [1], "word semantics with the index");
    } finally {
      await client.close();
      await manager.close();
    }
  },
});

Deno.test("$count inside $expand is refused (NOT_SUPPORTED), never answered without the count", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("counts", { provider: mongoConfig(server) });
  const Owner = ns.registerEntity("Owners", {
    fields: { OwnerID: { type: "integer", primaryKey: true } },
    relations: { Pets: { type: "many", entity: "Pets", foreignKey: "OwnerID" } },
  });
  const Pet = ns.registerEntity("Pets", {
    fields: { PetID: { type: "integer", primaryKey: true }, OwnerID: { type: "integer" } },
  });
  try {
    await ns.sync();
    await Owner.create({ OwnerID: 1 });
    await Pet.createMany([{ PetID: 1, OwnerID: 1 }, { PetID: 2, OwnerID: 1 }]);
    const { data } = await Owner.query("$expand=Pets").find();
    assert.equal(((data[0]!.toJSON() as Record<string, unknown>).Pets as unknown[]).length, 2);
    await isCode(Owner.query("$expand=Pets($count=true)").find(), "NOT_SUPPORTED");
    await isCode(Owner.query("$expand=Pets/$count").find(), "NOT_SUPPORTED");
  } finally {
    await manager.close();
  }
});

Deno.test({
  name: "mongodb test server: stop",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => server.stop(),
});
