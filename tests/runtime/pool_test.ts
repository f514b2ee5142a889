/**
 * The connection pool on real SQLite files: connect with retries, degraded start and background
 * reconnect, health checks that take a broken store out of service and bring it back, fast
 * failures meanwhile, and no timer left after closeAll() (the test sanitizers check).
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ConnectionPool, EntityNamespaceManager, toProviderConfig } from "../../mod.ts";
import { corruptDatabase, eventually, isCode, withDir, withLogs } from "./helpers.ts";

const LOGS = {
  fields: { id: { type: "integer", primaryKey: true }, level: { type: "string" } },
} as const;

const FAST = { retryDelay: 1, jitter: 0, maxRetries: 2, healthCheckInterval: 0 } as const;

Deno.test("getConnection connects once per name and reports stats", async () => {
  await withDir(async (dir) => {
    await withLogs(async (lines) => {
      const pool = new ConnectionPool(FAST);
      try {
        const config = { type: "sqlite", filePath: join(dir, "a.db") } as const;
        const first = await pool.getConnection("sqlite_prod", config);
        const again = await pool.getConnection("sqlite_prod", config);
        assert.equal(first, again);
        assert.equal(first.state, "healthy");
        assert.equal(first.capabilities.transactions, true);
        await assert.rejects(
          pool.getConnection("sqlite_prod", { type: "http-odata", baseUrl: "http://127.0.0.1:1/" }),
          isCode("INVALID_CONFIGURATION"),
        );
        const stats = pool.getConnectionStats();
        assert.equal(stats.totalConnections, 1);
        assert.equal(stats.healthyConnections, 1);
        assert.equal(stats.totalRetries, 0);
        assert.equal(stats.maxRetries, 2);
        assert.equal(stats.retryDelay, 1);
        assert.equal(stats.healthCheckInterval, 0);
        const connection = stats.connections.sqlite_prod!;
        assert.equal(connection.type, "sqlite");
        assert.equal(connection.state, "healthy");
        assert.equal(connection.circuit.state, "closed");
        assert.ok(connection.connectedAt !== undefined);
        assert.deepEqual(lines, ["✅ Connection sqlite_prod established successfully (attempt 1)"]);
      } finally {
        await pool.closeAll();
      }
    });
  });
});

Deno.test("a store down at start: retries, rejects, then reconnects in the background", async () => {
  await withDir(async (dir) => {
    await withLogs(async (lines) => {
      const pool = new ConnectionPool(FAST);
      const manager = new EntityNamespaceManager();
      try {
        const filePath = join(dir, "later", "p.db"); // the directory does not exist yet
        await assert.rejects(
          pool.getConnection("sqlite_prod", { type: "sqlite", filePath }),
          isCode("PROVIDER_UNAVAILABLE"),
        );
        const connection = pool.connection("sqlite_prod")!;
        assert.ok(lines.includes(
          "⚠️ Connection sqlite_prod attempt 1 failed: " +
            connection.stats().lastError!.message,
        ));
        assert.ok(lines.includes("🔄 Retrying connection sqlite_prod in 1ms..."));
        assert.ok(lines.includes("🔄 Retrying connection sqlite_prod in 2ms..."));
        assert.equal(
          lines.filter((l) => l.startsWith("⚠️ Connection sqlite_prod attempt")).length,
          3,
        ); // 1 + maxRetries
        assert.ok(pool.getConnectionStats().totalRetries >= 2);

        // Meanwhile every use fails fast with the coded error, naming the cause.
        const ns = manager.createNamespace("sqlite_prod", { provider: connection });
        const Logs = ns.registerEntity("logs", LOGS);
        await assert.rejects(Logs.find(), (error) => {
          assert.ok(isCode("PROVIDER_UNAVAILABLE")(error));
          assert.match((error as Error).message, /Connection sqlite_prod is unavailable/);
          return true;
        });

        await mkdir(join(dir, "later"));
        await eventually(() => connection.state === "healthy", "background reconnect");
        assert.ok(lines.includes("✅ Connection sqlite_prod re-established"));
        await ns.sync();
        await Logs.create({ level: "info" });
        assert.equal((await Logs.find()).data.length, 1);
      } finally {
        await manager.close();
        await pool.closeAll();
      }
    });
  });
});

Deno.test("health checks remove an unhealthy connection and restore it", async () => {
  await withDir(async (dir) => {
    await withLogs(async (lines) => {
      const pool = new ConnectionPool({
        ...FAST,
        healthCheckInterval: 10,
        healthCheckTimeout: 1000,
      });
      const manager = new EntityNamespaceManager();
      try {
        const filePath = join(dir, "p.db");
        const connection = await pool.getConnection("sqlite_prod", { type: "sqlite", filePath });
        const ns = manager.createNamespace("sqlite_prod", { provider: connection });
        const Logs = ns.registerEntity("logs", LOGS);
        await ns.sync();
        await Logs.create({ level: "warn" });

        const restore = await corruptDatabase(filePath);
        await eventually(() => connection.state === "unhealthy", "the health check to notice");
        assert.ok(
          lines.some((l) => l.startsWith("🚨 Connection sqlite_prod failed health check: ")),
        );
        assert.ok(lines.includes("🚨 Connection sqlite_prod is unhealthy, removing from pool"));
        assert.equal(pool.getConnectionStats().healthyConnections, 0);
        await assert.rejects(Logs.find(), isCode("PROVIDER_UNAVAILABLE"));
        assert.equal(connection.stats().lastError?.code, "PROVIDER_UNAVAILABLE");

        await restore();
        await eventually(() => connection.state === "healthy", "the background reconnect");
        assert.ok(lines.includes("✅ Connection sqlite_prod re-established"));
        assert.deepEqual((await Logs.find()).data.map((r) => r.level), ["warn"]);
        assert.equal(pool.getConnectionStats().healthyConnections, 1);
        assert.ok(connection.stats().lastHealthCheck !== undefined);
      } finally {
        await manager.close();
        await pool.closeAll();
      }
    });
  });
});

Deno.test("a configuration error is not retried and not reconnected", async () => {
  const pool = new ConnectionPool(FAST);
  try {
    await assert.rejects(
      pool.getConnection("x", { type: "nosuch", provider: { type: "nosuch" } as never }),
      isCode("UNKNOWN_PROVIDER"),
    );
    assert.equal(pool.getConnectionStats().totalRetries, 0);
    assert.equal(pool.connection("x")!.state, "unhealthy");
  } finally {
    await pool.closeAll();
  }
});

Deno.test("closeAll closes everything, is idempotent, and refuses new connections", async () => {
  const pool = new ConnectionPool({ ...FAST, healthCheckInterval: 5 });
  const connection = await pool.getConnection("mem", { type: "sqlite", filePath: ":memory:" });
  await pool.closeAll();
  await pool.closeAll();
  assert.equal(connection.state, "closed");
  await assert.rejects(connection.ping(), isCode("CLOSED"));
  await assert.rejects(
    pool.getConnection("mem", { type: "sqlite", filePath: ":memory:" }),
    isCode("CLOSED"),
  );
  assert.equal(pool.getConnectionStats().totalConnections, 0);
});

Deno.test("the last release of a connection closes it", async () => {
  const pool = new ConnectionPool(FAST);
  try {
    const a = await pool.getConnection("mem", { type: "sqlite", filePath: ":memory:" });
    await pool.getConnection("mem", { type: "sqlite", filePath: ":memory:" });
    await a.close();
    assert.equal(a.state, "healthy");
    await a.close();
    assert.equal(a.state, "closed");
    assert.equal(pool.connection("mem"), undefined);
  } finally {
    await pool.closeAll();
  }
});

Deno.test("design-level configs map onto provider configs", () => {
  assert.deepEqual(
    toProviderConfig({ type: "sqlite", filePath: "./p.db", timeout: 2000, verbose: true }),
    {
      type: "sqlite",
      filePath: "./p.db",
      busyTimeoutMs: 2000,
    },
  );
  const http = {
    type: "http-odata",
    baseUrl: "http://127.0.0.1:3000/odata/northwind/",
    headers: { "User-Agent": "OData-Active-Record-Production/1.0" },
    timeout: 8000,
  } as const;
  assert.deepEqual(toProviderConfig(http), {
    type: "http-odata",
    baseUrl: http.baseUrl,
    headers: http.headers,
    timeoutMs: 8000,
    concurrency: 16,
    keepAlive: true,
  });
  const mongo = {
    type: "mongodb",
    connectionString: "mongodb://127.0.0.1:27017",
    databaseName: "production_db",
    poolSize: 10,
    minPoolSize: 2,
    maxIdleTime: 30000,
    timeout: 5000,
  } as const;
  assert.deepEqual(toProviderConfig(mongo), mongo);
  const custom = { type: "sqlite", filePath: ":memory:", readOnly: true } as const;
  assert.equal(toProviderConfig({ type: "sqlite", provider: custom }), custom);
  assert.throws(
    () => toProviderConfig({ type: "sqlite" } as never),
    isCode("INVALID_CONFIGURATION"),
  );
  assert.throws(() => new ConnectionPool({ retryDelay: -1 }), isCode("INVALID_CONFIGURATION"));
});

Deno.test("maxConcurrency: extra operations wait their turn, within their signal", async () => {
  const pool = new ConnectionPool(FAST);
  const manager = new EntityNamespaceManager();
  try {
    const connection = await pool.getConnection("limited", {
      type: "sqlite",
      provider: { type: "sqlite", filePath: ":memory:" },
      maxConcurrency: 1,
    });
    const ns = manager.createNamespace("limited", { provider: connection });
    const Logs = ns.registerEntity("logs", LOGS);
    await ns.sync();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const holding = ns.transaction(async (tx) => {
      await tx.getEntity("logs").create({ level: "held" });
      await gate; // holds the only turn
    });
    await eventually(() => connection.stats().active === 1, "the transaction to hold the turn");
    let read = false;
    const waiting = Logs.find().then((result) => {
      read = true;
      return result;
    });
    await eventually(() => connection.stats().queued === 1, "the read to queue");
    assert.equal(read, false);
    const controller = new AbortController();
    const cancelled = Logs.count({ signal: controller.signal });
    await eventually(() => connection.stats().queued === 2, "the count to queue");
    controller.abort();
    await assert.rejects(cancelled, isCode("ABORTED"));
    assert.equal(connection.stats().queued, 1);
    release();
    await holding;
    assert.deepEqual((await waiting).data.map((r) => r.level), ["held"]);
    assert.equal(connection.stats().active, 0);
    assert.throws(
      () =>
        pool.register("bad", { type: "sqlite", filePath: ":memory:", maxConcurrency: 0 } as never),
      isCode("INVALID_CONFIGURATION"),
    );
  } finally {
    await manager.close();
    await pool.closeAll();
  }
});

Deno.test("SQLite read pool: reads do not wait for a transaction on the writer", async () => {
  await withDir(async (dir) => {
    const pool = new ConnectionPool(FAST);
    const manager = new EntityNamespaceManager();
    try {
      const connection = await pool.getConnection("sqlite_prod", {
        type: "sqlite",
        filePath: join(dir, "p.db"),
        readPoolSize: 2,
      });
      assert.equal(connection.stats().readers, 2);
      const ns = manager.createNamespace("sqlite_prod", { provider: connection });
      const Logs = ns.registerEntity("logs", LOGS);
      await ns.sync();
      await Logs.create({ level: "committed" });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let inside = false;
      const writing = ns.transaction(async (tx) => {
        await tx.getEntity("logs").create({ level: "pending" });
        assert.equal(await tx.getEntity("logs").count(), 2); // reads in the transaction see it
        inside = true;
        await gate;
      });
      await eventually(() => inside, "the transaction to hold the writer");
      // Answered by the read pool while the writer's transaction is open: committed rows only.
      for (let i = 0; i < 3; i++) {
        assert.deepEqual((await Logs.find()).data.map((r) => r.level), ["committed"]);
        assert.equal(await Logs.count(), 1);
      }
      release();
      await writing;
      assert.deepEqual((await Logs.orderBy("id").find()).data.map((r) => r.level), [
        "committed",
        "pending",
      ]);
      await pool.checkHealth();
      assert.equal(connection.state, "healthy");
      assert.throws(
        () => pool.register("mem", { type: "sqlite", filePath: ":memory:", readPoolSize: 1 }),
        isCode("INVALID_CONFIGURATION"),
      );
    } finally {
      await manager.close();
      await pool.closeAll();
    }
  });
});

Deno.test("through a pooled connection, versioned saves still conflict and counters stay atomic", async () => {
  await withDir(async (dir) => {
    const pool = new ConnectionPool(FAST);
    const manager = new EntityNamespaceManager();
    try {
      const connection = await pool.getConnection("sqlite_prod", {
        type: "sqlite",
        filePath: join(dir, "v.db"),
      });
      assert.equal(typeof connection.increment, "function");
      const ns = manager.createNamespace("pooled", { provider: connection });
      const Counter = ns.registerEntity("Counters", {
        fields: {
          Id: { type: "integer", primaryKey: true },
          Hits: { type: "integer" },
          Version: { type: "integer", version: true },
        },
      });
      await ns.sync();
      await Counter.create({ Id: 1, Hits: 0 });
      await Promise.all(Array.from({ length: 20 }, () => Counter.incrementById(1, "Hits", 1)));
      const a = await Counter.findByIdOrFail(1);
      const b = await Counter.findByIdOrFail(1);
      assert.equal(a.Hits, 20);
      a.Hits = 21;
      await a.save();
      b.Hits = 99;
      await assert.rejects(b.save(), isCode("CONFLICT"));
      assert.equal((await Counter.findByIdOrFail(1)).Hits, 21);
    } finally {
      await manager.close();
      await pool.closeAll();
    }
  });
});
