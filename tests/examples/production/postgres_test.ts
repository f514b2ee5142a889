/**
 * The `postgres_prod` namespace of the production service (a real process) on a PRIVATE
 * PostgreSQL server this test starts and stops (initdb + pg_ctl in a temporary folder, never the
 * machine's own server): served over OData while the server runs; the server stopped → `/health`
 * is `degraded` naming `postgres_prod` and its queries fail at once with a coded 503; the server
 * back → `healthy` and the same data is served again. Also: a server down when the service starts
 * → it starts degraded and turns healthy when the server appears. Every wait polls an observed
 * state with a deadline.
 */
import assert from "node:assert/strict";
import { getJson, spawnService, waitUntil } from "../../../examples/production-ready/harness.ts";
import { createDatabase, PrivateServer } from "../../providers/postgres/server.ts";

const server = await PrivateServer.create();
if (server === undefined) {
  // deno-lint-ignore no-console
  console.log("postgres_prod service tests ignored: install initdb and pg_ctl to enable them.");
}

interface NamespaceReport {
  readonly status: string;
  readonly type: string;
  readonly error?: string;
}

interface HealthBody {
  readonly status: string;
  readonly namespaces: Record<string, NamespaceReport>;
}

async function withTempDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "oar-service-pg-" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function serviceEnv(dir: string, postgresUrl: string): Record<string, string> {
  return {
    PORT: "0",
    NORTHWIND_PATH: `${dir}/northwind.db`,
    SQLITE_PATH: `${dir}/production.db`,
    METRICS_LOG_INTERVAL: "0",
    POSTGRES_URL: postgresUrl,
    // A short health-check period and few, short retries keep the test quick; the outcomes do
    // not depend on them (every wait polls the observed state).
    HEALTH_CHECK_INTERVAL: "100",
    MAX_RETRIES: "1",
    RETRY_DELAY: "50",
    CONNECTION_TIMEOUT: "5000",
    MIN_POOL_SIZE: "1",
  };
}

/** Polls `/health` until `accept` holds; returns that report. */
function healthUntil(
  url: string,
  what: string,
  accept: (body: HealthBody) => boolean,
): Promise<HealthBody> {
  return waitUntil(
    what,
    async () => {
      const report = await getJson(`${url}/health`);
      const body = report.body as unknown as HealthBody;
      return body.namespaces !== undefined && accept(body) ? body : undefined;
    },
    30_000,
    50,
  );
}

/** A request that must answer (never hang): bounded by a generous deadline. */
async function request(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await response.text();
  return { status: response.status, body: text === "" ? {} : JSON.parse(text) };
}

function postUser(base: string, id: string, name: string) {
  return request(`${base}/odata/postgres_prod/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, name, email: `${id}@example.com`, isActive: true }),
  });
}

/** A query to postgres_prod while its server is down: answered at once with a coded 503. */
async function assertUnavailable(base: string): Promise<void> {
  const refused = await request(`${base}/odata/postgres_prod/users?$orderby=id`);
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  const error = refused.body.error as { code: string; message: string };
  assert.ok(
    ["PROVIDER_UNAVAILABLE", "CIRCUIT_OPEN"].includes(error.code),
    JSON.stringify(refused.body),
  );
}

Deno.test({
  name: "postgres_prod: server stopped → health degraded, coded 503s; restarted → healthy, serving",
  ignore: server === undefined,
  async fn() {
    const database = await createDatabase(server!);
    try {
      await withTempDir(async (dir) => {
        const child = await spawnService({ env: serviceEnv(dir, database.url) });
        try {
          await child.waitForLine(/Service ready/);
          const up = await getJson(`${child.url}/health`);
          const upBody = up.body as unknown as HealthBody;
          assert.equal(upBody.status, "healthy", JSON.stringify(upBody));
          assert.equal(upBody.namespaces.postgres_prod?.type, "postgres");
          const created = await postUser(child.url, "u1", "Ada");
          assert.equal(created.status, 201, JSON.stringify(created.body));
          const listed = await request(`${child.url}/odata/postgres_prod/users?$select=id,name`);
          assert.equal(listed.status, 200, JSON.stringify(listed.body));
          assert.deepEqual(listed.body.value, [{ id: "u1", name: "Ada" }]);

          assert.ok(await server!.stop(), "pg_ctl stop");
          const down = await healthUntil(
            child.url,
            "postgres_prod reported down",
            (body) => body.namespaces.postgres_prod?.status === "unhealthy",
          );
          assert.equal(down.status, "degraded", JSON.stringify(down));
          assert.equal(down.namespaces.northwind?.status, "healthy");
          assert.equal(down.namespaces.sqlite_prod?.status, "healthy");
          await assertUnavailable(child.url);
          // The other namespaces keep serving.
          assert.equal((await getJson(`${child.url}/odata/northwind/Products(1)`)).status, 200);

          assert.ok(await server!.start(), "pg_ctl start");
          const back = await healthUntil(
            child.url,
            "the service healthy again",
            (body) => body.status === "healthy",
          );
          assert.equal(back.namespaces.postgres_prod?.status, "healthy");
          const again = await request(`${child.url}/odata/postgres_prod/users?$select=id,name`);
          assert.equal(again.status, 200, JSON.stringify(again.body));
          assert.deepEqual(again.body.value, [{ id: "u1", name: "Ada" }]);
          const second = await postUser(child.url, "u2", "Bob");
          assert.equal(second.status, 201, JSON.stringify(second.body));
        } finally {
          child.kill("SIGTERM");
          assert.equal((await child.status).code, 0, child.lines.join("\n"));
        }
      });
    } finally {
      await server!.start(); // in case an assertion left it stopped
      await database.drop();
    }
  },
});

Deno.test({
  name:
    "postgres_prod: server down at start → the service starts degraded, healthy when it appears",
  ignore: server === undefined,
  async fn() {
    const database = await createDatabase(server!);
    try {
      assert.ok(await server!.stop(), "pg_ctl stop");
      await withTempDir(async (dir) => {
        const child = await spawnService({ env: serviceEnv(dir, database.url) });
        try {
          await child.waitForLine(/Service ready/);
          const down = await healthUntil(
            child.url,
            "a health report naming postgres_prod",
            (body) => body.namespaces.postgres_prod !== undefined,
          );
          assert.equal(down.status, "degraded", JSON.stringify(down));
          assert.notEqual(down.namespaces.postgres_prod?.status, "healthy");
          assert.equal(down.namespaces.northwind?.status, "healthy");
          await assertUnavailable(child.url);

          assert.ok(await server!.start(), "pg_ctl start");
          const up = await healthUntil(
            child.url,
            "the service healthy once the server appeared",
            (body) => body.status === "healthy",
          );
          assert.equal(up.namespaces.postgres_prod?.status, "healthy");
          // Synced on recovery: the tables exist and take writes.
          const created = await postUser(child.url, "u1", "Ada");
          assert.equal(created.status, 201, JSON.stringify(created.body));
          const count = await fetch(`${child.url}/odata/postgres_prod/users/$count`);
          assert.equal(await count.text(), "1");
        } finally {
          child.kill("SIGTERM");
          assert.equal((await child.status).code, 0, child.lines.join("\n"));
        }
      });
    } finally {
      await server!.start();
      await database.drop();
    }
  },
});

Deno.test({
  name: "postgres_prod: the private server is removed at the end",
  ignore: server === undefined,
  async fn() {
    await server!.destroy();
  },
});
