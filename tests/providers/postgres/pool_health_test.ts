/**
 * The production runtime's ConnectionPool on PostgreSQL, on a PRIVATE server this test starts
 * and stops: a server that goes down makes the connection unhealthy (queries fail fast with a
 * coded unavailable error) and the pool's health `degraded`; back up, the background reconnect
 * makes it healthy and queries succeed again. (The production service's `postgres_prod` namespace
 * runs on this pool; tests/examples/production/postgres_test.ts checks it as a real process.)
 */
import assert from "node:assert/strict";
import { ConnectionPool, EntityNamespaceManager, ODataActiveRecordError } from "../../../mod.ts";
import { eventually } from "../../runtime/helpers.ts";
import { createDatabase, PrivateServer } from "./server.ts";

const server = await PrivateServer.create();

Deno.test({
  name: "postgres pool health: down → unhealthy and refused; back up → healthy and serving",
  ignore: server === undefined,
  async fn() {
    const database = await createDatabase(server!);
    const pool = new ConnectionPool({
      retryDelay: 20,
      jitter: 0,
      maxRetries: 2,
      healthCheckInterval: 50,
      healthCheckTimeout: 2000,
    });
    const manager = new EntityNamespaceManager();
    try {
      const connection = await pool.getConnection("postgres_prod", {
        type: "postgres",
        provider: { type: "postgres", url: database.url, poolSize: 2, connectTimeout: 2000 },
      });
      const ns = manager.createNamespace("postgres_prod", { provider: connection });
      const Logs = ns.registerEntity("logs", {
        fields: { id: { type: "integer", primaryKey: true }, level: { type: "string" } },
      });
      await ns.sync();
      await Logs.create({ level: "warn" });
      assert.equal(pool.getConnectionStats().healthyConnections, 1);

      assert.ok(await server!.stop());
      await eventually(() => connection.state === "unhealthy", "the health check to notice");
      assert.equal(pool.getConnectionStats().healthyConnections, 0);
      await assert.rejects(Logs.find(), (error) => {
        assert.ok(error instanceof ODataActiveRecordError);
        assert.ok(
          ["PROVIDER_UNAVAILABLE", "CIRCUIT_OPEN"].includes(error.code),
          `${error.code}: ${error.message}`,
        );
        return true;
      });

      assert.ok(await server!.start());
      await eventually(() => connection.state === "healthy", "the background reconnect", 30000);
      assert.deepEqual((await Logs.find()).data.map((r) => r.level), ["warn"]);
      assert.equal(pool.getConnectionStats().healthyConnections, 1);
    } finally {
      await manager.close();
      await pool.closeAll();
      await database.drop();
    }
  },
});

Deno.test({
  name: "postgres pool health: the private server is removed at the end",
  ignore: server === undefined,
  async fn() {
    await server!.destroy();
  },
});
