import assert from "node:assert/strict";
import { type HealthReport, ServiceApp } from "../../../examples/production-ready/app.ts";
import { RequestDeadlines } from "../../../examples/production-ready/deadlines.ts";
import {
  debugCategories,
  formatJson,
  formatText,
} from "../../../examples/production-ready/logging.ts";

function report(status: HealthReport["status"]): HealthReport {
  return {
    status,
    timestamp: new Date(0).toISOString(),
    connections: { total: 2, healthy: status === "healthy" ? 2 : status === "degraded" ? 1 : 0 },
    namespaces: {},
    uptime: 1,
    circuits: {},
  };
}

function appWith(status: HealthReport["status"] = "healthy") {
  let release: (() => void) | undefined;
  const app = new ServiceApp({
    health: () => Promise.resolve(report(status)),
    metrics: () => "odata_queries_total 0\n",
    namespaces: () => ["northwind"],
    odata: (name) =>
      name === "northwind"
        ? async (request) => {
          if (new URL(request.url).pathname.endsWith("/slow")) {
            await new Promise<void>((resolve) => (release = resolve));
          }
          return new Response("{}", { status: 200 });
        }
        : undefined,
  });
  return { app, release: () => release?.() };
}

const get = (app: ServiceApp, path: string) => app.handle(new Request(`http://x${path}`));

Deno.test("readiness follows the lifecycle: starting 503, ready 200, draining 503 (OData refused)", async () => {
  const { app } = appWith();
  assert.equal((await get(app, "/health/ready")).status, 503);
  assert.equal((await get(app, "/health/live")).status, 200);
  assert.equal((await get(app, "/odata/northwind/Products")).status, 200);
  app.markReady();
  assert.equal((await get(app, "/health/ready")).status, 200);
  assert.equal((await get(app, "/odata/northwind/Products")).status, 200);
  app.startDraining();
  assert.equal((await get(app, "/health/ready")).status, 503);
  const refused = await get(app, "/odata/northwind/Products");
  assert.equal(refused.status, 503);
  assert.equal((await refused.json()).error.code, "SHUTTING_DOWN");
  assert.equal((await get(app, "/health/live")).status, 200);
});

Deno.test("/health is 200 when healthy or degraded and 503 when unhealthy", async () => {
  for (const [status, code] of [["healthy", 200], ["degraded", 200], ["unhealthy", 503]] as const) {
    const response = await get(appWith(status).app, "/health");
    assert.equal(response.status, code);
    assert.equal((await response.json()).status, status);
  }
});

Deno.test("unknown routes and namespaces are 404; /odata/<ns> redirects to the slash form", async () => {
  const { app } = appWith();
  app.markReady();
  assert.equal((await get(app, "/nope")).status, 404);
  const post = await app.handle(new Request("http://x/health", { method: "POST" }));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  assert.equal((await get(app, "/odata/%E0%A4%A/")).status, 404, "malformed escapes are no 500");
  const unknown = await get(app, "/odata/other/");
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).error.message, /other/);
  const redirect = await get(app, "/odata/northwind?$top=1");
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get("location"), "/odata/northwind/?$top=1");
});

Deno.test("whenIdle waits for requests in flight; /metrics counts them", async () => {
  const { app, release } = appWith();
  app.markReady();
  const slow = get(app, "/odata/northwind/slow");
  await Promise.resolve();
  assert.equal(app.inFlight, 1);
  const metrics = await (await get(app, "/metrics")).text();
  assert.match(metrics, /^odata_queries_total 0$/m);
  assert.match(metrics, /^odata_service_http_requests_in_flight 2$/m);
  assert.match(metrics, /^odata_service_ready 1$/m);
  let idle = false;
  const waiting = app.whenIdle().then(() => (idle = true));
  await Promise.resolve();
  assert.equal(idle, false);
  release();
  assert.equal((await slow).status, 200);
  await waiting;
  assert.equal(app.inFlight, 0);
  assert.match(app.httpMetrics(), /route="odata",status="200"\} 1/);
});

Deno.test("DEBUG names the library categories to log at debug level", () => {
  assert.deepEqual(debugCategories("odata-active-record:*"), [["odata-active-record"]]);
  assert.deepEqual(debugCategories("other:*,odata-active-record:pool"), [[
    "odata-active-record",
    "pool",
  ]]);
});

Deno.test("text lines keep the design's emoji messages; JSON lines are one object", () => {
  const record = {
    category: ["odata-active-record", "pool"],
    level: "info" as const,
    message: ["✅ Connection ", "sqlite_prod", " established (attempt ", 1, ")"],
    rawMessage: "",
    timestamp: 0,
    properties: { connection: "sqlite_prod", error: new Error("boom") },
  };
  assert.equal(formatText(record), "✅ Connection sqlite_prod established (attempt 1)");
  const parsed = JSON.parse(formatJson(record));
  assert.equal(parsed.message, "✅ Connection sqlite_prod established (attempt 1)");
  assert.equal(parsed.logger, "odata-active-record.pool");
  assert.equal(parsed["@timestamp"], "1970-01-01T00:00:00.000Z");
  assert.deepEqual(parsed.properties.error, { name: "Error", message: "boom" });
  assert.equal(
    formatText({ ...record, level: "debug" }).startsWith("🐛 [odata-active-record:pool]"),
    true,
  );
});

Deno.test("OData requests are recorded per namespace and entity set; 5xx counts as an error", async () => {
  const recorded: [string, string, boolean][] = [];
  const app = new ServiceApp({
    health: () => Promise.resolve(report("healthy")),
    metrics: () => "",
    namespaces: () => ["northwind"],
    odata: () => (request) =>
      Promise.resolve(
        new Response(null, {
          status: new URL(request.url).pathname.includes("Orders") ? 503 : 200,
        }),
      ),
    recordOData: (namespace, entity, _ms, ok) => recorded.push([namespace, entity, ok]),
  });
  app.markReady();
  await get(app, "/odata/northwind/Products(7)/Category");
  await get(app, "/odata/northwind/Orders?$top=1");
  await get(app, "/odata/northwind/");
  await get(app, "/health");
  assert.deepEqual(recorded, [
    ["northwind", "Products", true],
    ["northwind", "Orders", false],
    ["northwind", "$service", true],
  ]);
});

Deno.test("whenIdle waits for the requests in flight at the call, not for later ones", async () => {
  const releases: (() => void)[] = [];
  const app = new ServiceApp({
    health: () => Promise.resolve(report("healthy")),
    metrics: () => "",
    namespaces: () => ["northwind"],
    odata: () => async () => {
      await new Promise<void>((resolve) => releases.push(resolve));
      return new Response("{}");
    },
  });
  app.markReady();
  const first = get(app, "/odata/northwind/Products");
  await Promise.resolve();
  let idle = false;
  const waiting = app.whenIdle().then(() => (idle = true));
  const later = get(app, "/odata/northwind/Products"); // arrives after whenIdle()
  await Promise.resolve();
  assert.equal(releases.length, 2);
  releases[0]!();
  assert.equal((await first).status, 200);
  await waiting;
  assert.equal(idle, true, "the later request does not hold the drain");
  assert.equal(app.inFlight, 1);
  releases[1]!();
  assert.equal((await later).status, 200);
});

Deno.test("with request deadlines, an OData request past its deadline is answered 504 and counted", async () => {
  const deadlines = new RequestDeadlines(20, () => new Response("late", { status: 504 }));
  // The deadlines' timer never keeps a process alive (the server does that): this test must.
  const keepAlive = setTimeout(() => {}, 60_000);
  const recorded: [string, boolean][] = [];
  let release!: () => void;
  const app = new ServiceApp({
    health: () => Promise.resolve(report("healthy")),
    metrics: () => "",
    namespaces: () => ["northwind"],
    odata: () => (request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/Broken")) throw new Error("a fault of the handler");
      if (!path.endsWith("/Stuck")) return Promise.resolve(new Response("{}"));
      return new Promise<Response>((resolve) => (release = () => resolve(new Response("{}"))));
    },
    recordOData: (_namespace, entity, _ms, ok) => recorded.push([entity, ok]),
  }, { deadlines });
  try {
    app.markReady();
    const stuck = get(app, "/odata/northwind/Stuck");
    assert.equal((await get(app, "/odata/northwind/Products")).status, 200);
    assert.equal((await get(app, "/odata/northwind/Broken")).status, 500);
    assert.equal((await get(app, "/health/live")).status, 200); // not an OData request
    assert.equal(app.inFlight, 1);
    assert.equal(deadlines.pending, 1);
    const late = await stuck;
    assert.equal(late.status, 504);
    assert.equal(await late.text(), "late");
    assert.equal(app.inFlight, 0);
    await app.whenIdle();
    release(); // the handler's late answer changes nothing
    await Promise.resolve();
    assert.deepEqual(recorded, [["Products", true], ["Broken", false], ["Stuck", false]]);
    assert.match(app.httpMetrics(), /route="odata",status="504"} 1/);
    assert.equal(deadlines.pending, 0);
  } finally {
    deadlines.close();
    clearTimeout(keepAlive);
  }
});
