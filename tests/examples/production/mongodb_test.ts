/**
 * The `mongodb_prod` namespace of the production service against a MongoDB wire-protocol server
 * (the tests' CongoDB, or the real server at MONGODB_URI), and against a port that refuses.
 */
import assert from "node:assert/strict";
import {
  freePort,
  getJson,
  spawnService,
  waitUntil,
} from "../../../examples/production-ready/harness.ts";
import { startMongo } from "../../providers/mongodb/helpers.ts";

async function withTempDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "oar-service-mongo-" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function env(dir: string, extra: Record<string, string>): Record<string, string> {
  return {
    PORT: "0",
    NORTHWIND_PATH: `${dir}/northwind.db`,
    SQLITE_PATH: `${dir}/production.db`,
    METRICS_LOG_INTERVAL: "0",
    ...extra,
  };
}

Deno.test("mongodb_prod serves the design's users and orders over OData when MONGODB_URI is set", async () => {
  await using mongo = await startMongo();
  await withTempDir(async (dir) => {
    const database = `service_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const child = await spawnService({
      env: env(dir, { MONGODB_URI: mongo.url, MONGODB_DATABASE: database }),
    });
    try {
      await child.waitForLine(/Service ready/);
      const health = await getJson(`${child.url}/health`);
      assert.equal(health.body.status, "healthy", JSON.stringify(health.body));
      const created = await fetch(`${child.url}/odata/mongodb_prod/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "u1", name: "Ada", email: "ada@example.com", isActive: true }),
      });
      assert.equal(created.status, 201, await created.text());
      const inactive = await fetch(`${child.url}/odata/mongodb_prod/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "u2", name: "Bob", email: "bob@example.com", isActive: false }),
      });
      assert.equal(inactive.status, 201, await inactive.text());
      const active = await getJson(
        `${child.url}/odata/mongodb_prod/users?$filter=isActive%20eq%20true&$select=id,name`,
      );
      assert.equal(active.status, 200, JSON.stringify(active.body));
      assert.deepEqual(
        (active.body.value as { id: string; name: string }[]).map(({ id, name }) => ({ id, name })),
        [{ id: "u1", name: "Ada" }],
      );
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, child.lines.join("\n"));
    }
  });
});

Deno.test("a MongoDB that refuses connections leaves the service degraded; the other namespaces serve", async () => {
  await withTempDir(async (dir) => {
    const child = await spawnService({
      env: env(dir, {
        MONGODB_URI: `mongodb://127.0.0.1:${freePort()}/`,
        MAX_RETRIES: "1",
        RETRY_DELAY: "50",
        CONNECTION_TIMEOUT: "1000",
      }),
    });
    try {
      await child.waitForLine(/Service ready/);
      const health = await waitUntil("a health report", async () => {
        const report = await getJson(`${child.url}/health`);
        return report.body.status === undefined ? undefined : report;
      });
      assert.equal(health.status, 200);
      assert.equal(health.body.status, "degraded", JSON.stringify(health.body));
      const namespaces = health.body.namespaces as Record<string, { status: string }>;
      assert.notEqual(namespaces.mongodb_prod?.status, "healthy");
      assert.equal(namespaces.northwind?.status, "healthy");
      const users = await fetch(`${child.url}/odata/mongodb_prod/users`);
      await users.body?.cancel();
      assert.equal(users.status, 503);
      assert.equal((await getJson(`${child.url}/odata/northwind/Products(1)`)).status, 200);
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, child.lines.join("\n"));
    }
  });
});
