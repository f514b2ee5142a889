/**
 * ProductionODataService on real SQLite files: object and string queries, metrics, the breaker
 * opening on a broken store and closing after recovery, degraded start, health, draining shutdown.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type EntityNamespace,
  ODataActiveRecordError,
  ProductionODataService,
  type ProductionServiceOptions,
} from "../../mod.ts";
import { corruptDatabase, eventually, isCode, withDir, withLogs } from "./helpers.ts";

const LOGS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    level: { type: "string" },
    message: { type: "string" },
    isActive: { type: "boolean" },
  },
} as const;

async function seed(ns: EntityNamespace): Promise<void> {
  const Logs = ns.getEntity("logs");
  if ((await Logs.count()) > 0) return;
  await Logs.createMany(
    Array.from({ length: 30 }, (_, i) => ({
      level: ["info", "warn", "error"][i % 3],
      message: `m${String(i).padStart(2, "0")}`,
      isActive: i % 2 === 0,
    })),
  );
}

function options(
  filePath: string,
  extra: Partial<ProductionServiceOptions> = {},
): ProductionServiceOptions {
  return {
    namespaces: {
      sqlite_prod: {
        connection: { type: "sqlite", filePath },
        entities: { logs: LOGS },
        setup: seed,
      },
    },
    pool: { healthCheckInterval: 0, retryDelay: 1, jitter: 0, maxRetries: 1 },
    retry: { maxRetries: 1, minTimeout: 1, jitter: 0 },
    metricsLogInterval: 0,
    ...extra,
  };
}

Deno.test("executeProductionQuery: the design's object form and OData strings", async () => {
  await withDir(async (dir) => {
    const service = new ProductionODataService(options(join(dir, "p.db")));
    try {
      await service.initialize();
      const active = await service.executeProductionQuery("sqlite_prod", "logs", {
        where: { isActive: true },
        limit: 10,
      });
      assert.equal(active.data.length, 10);
      assert.ok(active.data.every((r) => r.isActive === true));

      const sorted = await service.executeProductionQuery("sqlite_prod", "logs", {
        where: { level: "error" },
        orderBy: { message: "desc" },
        select: ["id", "message"],
        limit: 3,
        count: true,
      });
      assert.deepEqual(sorted.data.map((r) => r.message), ["m29", "m26", "m23"]);
      assert.equal(sorted.count, 10);
      assert.equal(sorted.data[0]!.level, undefined);

      const viaText = await service.executeProductionQuery(
        "sqlite_prod",
        "logs",
        "?$filter=level eq 'warn' and isActive eq false&$orderby=message&$top=2",
      );
      assert.deepEqual(viaText.data.map((r) => r.message), ["m01", "m07"]);
      const ordered = await service.executeProductionQuery("sqlite_prod", "logs", {
        orderBy: ["level desc", "message"],
        offset: 1,
        limit: 1,
        filter: "id le 30",
      });
      assert.equal(ordered.data[0]!.message, "m04"); // warn > info > error, then by message
      assert.equal((await service.executeProductionQuery("sqlite_prod", "logs")).data.length, 30);

      await assert.rejects(
        service.executeProductionQuery("sqlite_prod", "logs", { limt: 3 } as never),
        (e) => isCode("INVALID_ARGUMENT")(e) && /Did you mean 'limit'/.test((e as Error).message),
      );
      await assert.rejects(
        service.executeProductionQuery("sqlite_prod", "logs", { where: { levle: "x" } }),
        isCode("UNKNOWN_FIELD"),
      );
      await assert.rejects(
        service.executeProductionQuery("sqlite_prod", "log"),
        isCode("UNKNOWN_ENTITY"),
      );
      await assert.rejects(
        service.executeProductionQuery("nosuch", "logs"),
        isCode("UNKNOWN_NAMESPACE"),
      );
      await assert.rejects(
        service.executeProductionQuery("sqlite_prod", "logs", {}, { signal: AbortSignal.abort() }),
        isCode("ABORTED"),
      );

      const metrics = service.monitor.snapshot();
      assert.deepEqual(Object.keys(metrics.entities), ["sqlite_prod.logs"]); // unknown names add none
      const logs = metrics.entities["sqlite_prod.logs"]!;
      assert.equal(logs.queries, 8);
      assert.equal(logs.errors, 3);
      assert.ok(logs.p50 > 0 && logs.p99 >= logs.p95 && logs.p95 >= logs.p50);
      assert.equal((await service.healthCheck()).status, "healthy");
    } finally {
      await service.shutdown();
    }
  });
});

Deno.test("the breaker opens on a failing store, fails fast, and closes after recovery", async () => {
  await withDir(async (dir) => {
    await withLogs(async (lines) => {
      let now = Date.parse("2026-01-01T00:00:00Z");
      const filePath = join(dir, "p.db");
      const service = new ProductionODataService(options(filePath, {
        pool: {
          healthCheckInterval: 0,
          retryDelay: 1,
          jitter: 0,
          breaker: { failureThreshold: 3, cooldownMs: 30000, now: () => now },
        },
      }));
      try {
        await service.initialize();
        const restore = await corruptDatabase(filePath, "in-place");
        // Two attempts (one retry) of the first query, one of the second: three failures.
        await assert.rejects(
          service.executeProductionQuery("sqlite_prod", "logs"),
          isCode("PROVIDER_UNAVAILABLE"),
        );
        await assert.rejects(
          service.executeProductionQuery("sqlite_prod", "logs"),
          isCode("CIRCUIT_OPEN"),
        );
        assert.ok(
          lines.includes(
            "⚠️ Query sqlite_prod.logs attempt 1 failed: SQLite database unavailable: file is not a database",
          ),
        );
        const health = await service.healthCheck();
        assert.equal(health.circuits.sqlite_prod, "open");

        // While open: rejected before any timer could fire, never reaching the store.
        const before = service.pool.connection("sqlite_prod")!.breaker.stats();
        let settled = false;
        const call = service.executeProductionQuery("sqlite_prod", "logs", {}, { timeout: 60000 });
        call.catch(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 0));
        assert.equal(settled, true);
        await assert.rejects(call, (error) => {
          assert.ok(error instanceof ODataActiveRecordError && error.code === "CIRCUIT_OPEN");
          assert.match(error.message, /it will retry at 2026-01-01T00:00:30\.000Z/);
          return true;
        });
        const after = service.pool.connection("sqlite_prod")!.breaker.stats();
        assert.equal(after.failures, before.failures);
        assert.equal(after.rejected, before.rejected + 1);

        await restore();
        await assert.rejects(
          service.executeProductionQuery("sqlite_prod", "logs"),
          isCode("CIRCUIT_OPEN"),
        );
        now += 30000; // the cool-down passes: one probe goes through and succeeds
        assert.equal(
          (await service.executeProductionQuery("sqlite_prod", "logs", { limit: 1 })).data.length,
          1,
        );
        assert.equal(service.pool.connection("sqlite_prod")!.breaker.state, "closed");
        assert.ok(lines.includes("✅ Circuit sqlite_prod closed"));
        const prometheus = service.monitor.toPrometheus({
          pool: service.pool.getConnectionStats(),
        });
        assert.match(
          prometheus,
          /^odata_active_record_circuit_state\{connection="sqlite_prod",state="closed"\} 1$/m,
        );
        assert.match(
          prometheus,
          /^odata_active_record_circuit_rejected_total\{connection="sqlite_prod"\} 3$/m,
        );
      } finally {
        await service.shutdown();
      }
    });
  });
});

Deno.test("a store down at start: the service starts degraded and heals in the background", async () => {
  await withDir(async (dir) => {
    let setups = 0;
    const service = new ProductionODataService({
      namespaces: {
        up: {
          connection: { type: "sqlite", filePath: join(dir, "up.db") },
          entities: { logs: LOGS },
        },
        later: {
          connection: { type: "sqlite", filePath: join(dir, "later", "p.db") },
          entities: { logs: LOGS },
          setup: async (ns) => {
            setups++;
            await seed(ns);
          },
        },
      },
      pool: { healthCheckInterval: 0, retryDelay: 1, maxRetryDelay: 20, jitter: 0, maxRetries: 1 },
      metricsLogInterval: 0,
    });
    try {
      await service.initialize();
      assert.equal(service.ready, true);
      const degraded = await service.healthCheck();
      assert.equal(degraded.status, "degraded");
      assert.deepEqual(degraded.connections, { total: 2, healthy: 1 });
      assert.equal(degraded.namespaces.up!.status, "healthy");
      assert.equal(degraded.namespaces.later!.status, "unhealthy");
      assert.match(degraded.namespaces.later!.error!, /unable to open database file/);
      assert.equal(typeof degraded.uptime, "number");
      assert.ok(!Number.isNaN(Date.parse(degraded.timestamp)));
      await assert.rejects(
        service.executeProductionQuery("later", "logs"),
        isCode("PROVIDER_UNAVAILABLE"),
      );

      await mkdir(join(dir, "later"));
      await eventually(() => service.pool.connection("later")!.state === "healthy", "reconnect");
      assert.equal((await service.healthCheck()).status, "healthy");
      assert.equal((await service.executeProductionQuery("later", "logs")).data.length, 30);
      assert.equal(setups, 1);
    } finally {
      await service.shutdown();
    }
  });
});

Deno.test("shutdown drains in-flight work, refuses new work, logs the final metrics", async () => {
  await withDir(async (dir) => {
    await withLogs(async (lines) => {
      const service = new ProductionODataService(options(join(dir, "p.db")));
      await service.initialize();
      await service.executeProductionQuery("sqlite_prod", "logs", { limit: 1 });
      let release!: () => void;
      const slow = service.track(() =>
        new Promise<string>((resolve) => (release = () => resolve("done")))
      );
      assert.equal(service.inFlight, 1);
      const stopping = service.shutdown({ timeout: 60000 });
      assert.equal(service.draining, true);
      assert.equal(service.ready, false);
      await assert.rejects(service.executeProductionQuery("sqlite_prod", "logs"), isCode("CLOSED"));
      await assert.rejects(service.track(() => Promise.resolve(1)), isCode("CLOSED"));
      release();
      assert.equal(await slow, "done");
      const report = await stopping;
      assert.equal(report.drained, true);
      assert.equal(report.abandoned, 0);
      assert.equal(await service.shutdown(), report); // idempotent
      assert.ok(
        lines.includes("🛑 Shutting down: waiting for 1 in-flight request(s) (up to 60000ms)"),
      );
      const metrics = lines.find((l) => l.startsWith("📊 Performance Metrics:"));
      assert.ok(metrics?.includes("sqlite_prod.logs:\n  Queries: 1\n"), String(metrics));
      assert.ok(lines.some((l) => l.startsWith("🔌 Connection Pool Statistics:")));
      assert.equal((await service.healthCheck()).status, "unhealthy");
    });
  });
});

Deno.test("shutdown gives up on in-flight work at its deadline", async () => {
  await withDir(async (dir) => {
    const service = new ProductionODataService(options(join(dir, "p.db")));
    await service.initialize();
    let release!: () => void;
    const stuck = service.track(() => new Promise<void>((resolve) => (release = resolve)));
    const report = await service.shutdown({ timeout: 10 });
    assert.equal(report.drained, false);
    assert.equal(report.abandoned, 1);
    release();
    await stuck;
  });
});

Deno.test("configuration errors stop initialize()", async () => {
  const service = new ProductionODataService({
    namespaces: { x: { connection: { type: "nosuch", provider: { type: "nosuch" } as never } } },
    pool: { healthCheckInterval: 0 },
    metricsLogInterval: 0,
  });
  await assert.rejects(service.initialize(), isCode("UNKNOWN_PROVIDER"));
  await service.shutdown();
  assert.throws(
    () => new ProductionODataService(undefined as never),
    isCode("INVALID_CONFIGURATION"),
  );
});

Deno.test("a query waiting past its deadline fails with TIMEOUT through its AbortSignal", async () => {
  await withDir(async (dir) => {
    const service = new ProductionODataService(options(join(dir, "p.db")));
    try {
      await service.initialize();
      const ns = service.manager.getNamespace("sqlite_prod");
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let inside = false;
      // A transaction holds the one writer connection: reads on it wait their turn.
      const holding = ns.transaction(async () => {
        inside = true;
        await gate;
      });
      await eventually(() => inside, "the transaction to start");
      await assert.rejects(
        service.executeProductionQuery("sqlite_prod", "logs", { limit: 1 }, { timeout: 30 }),
        (error) => {
          assert.ok(isCode("TIMEOUT")(error), String(error));
          assert.equal((error as ODataActiveRecordError).status, 504);
          return true;
        },
      );
      release();
      await holding;
      assert.equal(
        (await service.executeProductionQuery("sqlite_prod", "logs", { limit: 1 })).data.length,
        1,
      );
      const metrics = service.monitor.snapshot().entities["sqlite_prod.logs"]!;
      assert.equal(metrics.errors, 1);
      assert.ok(metrics.maxMs >= 30);
    } finally {
      await service.shutdown();
    }
  });
});
