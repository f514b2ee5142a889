/**
 * The production service as real processes: start-up on a fresh directory, a provider down at
 * start, SIGTERM with requests in flight (drained, cut off at the deadline, forced by a second
 * signal), the request deadline, JSON and debug logs, a bad variable. Ports are chosen by the OS;
 * every wait ends on an observed event (bounded by a timeout), never on a sleep.
 */
import assert from "node:assert/strict";
import {
  freePort,
  getJson,
  holdRequest,
  spawnService,
  waitUntil,
} from "../../../examples/production-ready/harness.ts";
import {
  connectionFailureScenario,
  gracefulShutdownScenario,
  performanceScenario,
} from "../../../examples/production-ready/scenario.ts";

async function withTempDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "oar-service-test-" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno task start on a fresh directory serves /health, /metrics and /odata/northwind/", async () => {
  await withTempDir(async (dir) => {
    const northwindPath = `${dir}/data/northwind.db`;
    const child = await spawnService({
      args: ["task", "start"],
      env: {
        PORT: "0",
        NORTHWIND_PATH: northwindPath,
        SQLITE_PATH: `${dir}/production.db`,
        METRICS_LOG_INTERVAL: "0",
      },
    });
    try {
      await waitUntil("readiness", async () => {
        const response = await fetch(`${child.url}/health/ready`);
        await response.body?.cancel();
        return response.status === 200 ? true : undefined;
      });
      assert.ok((await Deno.stat(northwindPath)).isFile, "the Northwind file was created");
      assert.ok(child.lines.some((line) => /Creating the Northwind sample database/.test(line)));

      const health = await getJson(`${child.url}/health`);
      assert.equal(health.status, 200);
      assert.equal(health.body.status, "healthy");
      const namespaces = health.body.namespaces as Record<string, unknown>;
      assert.deepEqual(Object.keys(namespaces).sort(), [
        "http_odata_prod",
        "northwind",
        "sqlite_prod",
      ]);
      assert.equal((await getJson(`${child.url}/health/live`)).status, 200);

      const product = await getJson(`${child.url}/odata/northwind/Products(7)`);
      assert.equal(product.status, 200);
      assert.equal(product.body.ProductName, "Uncle Bob's Organic Dried Pears");
      const list = await getJson(
        `${child.url}/odata/northwind/Products?$filter=UnitPrice%20gt%2020&$orderby=ProductName&$top=20`,
      );
      assert.equal((list.body.value as unknown[]).length, 20);
      const logs = await getJson(`${child.url}/odata/sqlite_prod/logs?$orderby=id`);
      assert.equal(logs.status, 200, JSON.stringify(logs.body));
      assert.match(
        String((logs.body.value as { message: string }[])[0]?.message),
        /^Service ready on port \d+$/,
      );
      const remote = await getJson(`${child.url}/odata/http_odata_prod/Products(7)`);
      assert.equal(remote.status, 200, JSON.stringify(remote.body));
      // Registered from our own /odata/northwind/$metadata, not by hand.
      assert.ok(
        child.lines.some((line) =>
          /http_odata_prod: [1-9]\d* entity set\(s\) from the remote \$metadata/.test(line)
        ),
        child.lines.join("\n"),
      );
      assert.equal(remote.body.ProductName, "Uncle Bob's Organic Dried Pears");

      const metrics = await fetch(`${child.url}/metrics`);
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      assert.match(text, /^odata_service_ready 1$/m);
      assert.match(text, /^odata_service_http_requests_total\{route="odata",status="200"\} [1-9]/m);
    } finally {
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0, child.lines.join("\n"));
    }
  });
});

Deno.test("a remote OData provider down at start: degraded, growing retry delays, healthy when it appears", async () => {
  const result = await connectionFailureScenario();
  assert.ok(result.pass, [...result.checks, JSON.stringify(result.figures)].join("\n"));
});

Deno.test("SIGTERM with 5 slow requests in flight: all complete with 200, new ones refused, exit 0, final metrics", async () => {
  const result = await gracefulShutdownScenario({}, { inFlight: 5, shutdownTimeoutMs: 10_000 });
  assert.ok(result.pass, [...result.checks, JSON.stringify(result.figures)].join("\n"));
  assert.equal(result.figures.completed, 5);
});

Deno.test("LOG_FORMAT=json writes one JSON object per line", async () => {
  await withTempDir(async (dir) => {
    const child = await spawnService({
      env: {
        PORT: "0",
        LOG_FORMAT: "json",
        NORTHWIND_PATH: `${dir}/northwind.db`,
        SQLITE_PATH: `${dir}/production.db`,
        METRICS_LOG_INTERVAL: "0",
      },
    });
    await child.waitForLine(/Service ready/);
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0, child.lines.join("\n"));
    assert.ok(child.lines.length > 3);
    for (const line of child.lines.filter((line) => line.trim() !== "")) {
      const record = JSON.parse(line);
      assert.equal(typeof record.message, "string", line);
      assert.equal(typeof record.level, "string", line);
    }
    assert.ok(child.lines.some((line) => JSON.parse(line).message.includes("Performance Metrics")));
  });
});

Deno.test("a bad variable stops the start with a message naming it", async () => {
  const child = await spawnService({
    env: { PORT: "0", POOL_SIZE: "abc", CONNECTION_TIMEOUT: "-5" },
    noWait: true,
  });
  const status = await child.status;
  assert.notEqual(status.code, 0);
  const output = child.lines.join("\n");
  assert.match(output, /POOL_SIZE=abc/);
  assert.match(output, /CONNECTION_TIMEOUT=-5/);
  assert.ok(!output.includes("Listening on"), "nothing was started");
});

Deno.test("DEBUG=odata-active-record:* logs each store operation at debug level", async () => {
  await withTempDir(async (dir) => {
    const child = await spawnService({
      env: {
        PORT: "0",
        DEBUG: "odata-active-record:*",
        NORTHWIND_PATH: `${dir}/northwind.db`,
        SQLITE_PATH: `${dir}/production.db`,
        METRICS_LOG_INTERVAL: "0",
      },
    });
    try {
      await child.waitForLine(/Service ready/);
      const product = await getJson(`${child.url}/odata/northwind/Products(7)`);
      assert.equal(product.status, 200);
      await child.waitForLine(/🐛 \[odata-active-record:sql\] northwind: read Products/);
    } finally {
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0, child.lines.join("\n"));
    }
  });
});

Deno.test("without DEBUG no debug line is written", async () => {
  await withTempDir(async (dir) => {
    const child = await spawnService({
      env: {
        PORT: "0",
        NORTHWIND_PATH: `${dir}/northwind.db`,
        SQLITE_PATH: `${dir}/production.db`,
        METRICS_LOG_INTERVAL: "0",
      },
    });
    await child.waitForLine(/Service ready/);
    assert.equal((await getJson(`${child.url}/odata/northwind/Products(7)`)).status, 200);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    assert.ok(!child.lines.some((line) => line.includes("🐛")), child.lines.join("\n"));
  });
});

/** A service on a fresh directory with `env` added; stopped (SIGKILL) by the caller's finally. */
async function serviceWith(dir: string, env: Record<string, string>) {
  return await spawnService({
    env: {
      PORT: "0",
      NORTHWIND_PATH: `${dir}/northwind.db`,
      SQLITE_PATH: `${dir}/production.db`,
      METRICS_LOG_INTERVAL: "0",
      ...env,
    },
  });
}

const QUERY_PATH = "/odata/northwind/Products/$query";

Deno.test("a request still running at SHUTDOWN_TIMEOUT is cut off and the exit code is 1", async () => {
  await withTempDir(async (dir) => {
    const child = await serviceWith(dir, { SHUTDOWN_TIMEOUT: "300", CONNECTION_TIMEOUT: "60000" });
    try {
      await child.waitForLine(/Service ready/);
      const held = await holdRequest(child.port, "POST", QUERY_PATH, "$top=1");
      await waitUntil("the request in flight", async () => {
        const metrics = await (await fetch(`${child.url}/metrics`)).text();
        return /^odata_service_http_requests_in_flight 2$/m.test(metrics) ? true : undefined;
      });
      child.kill("SIGTERM");
      const status = await child.status;
      held.close();
      assert.equal(status.code, 1, child.lines.join("\n"));
      assert.ok(child.lines.some((line) => /still running after 300ms/.test(line)));
      assert.ok(
        child.lines.some((line) => /Performance Metrics/.test(line)),
        "metrics still logged",
      );
    } finally {
      await child.stop();
    }
  });
});

Deno.test("a second SIGTERM during the drain forces the exit", async () => {
  await withTempDir(async (dir) => {
    const child = await serviceWith(dir, {
      SHUTDOWN_TIMEOUT: "60000",
      CONNECTION_TIMEOUT: "60000",
    });
    try {
      await child.waitForLine(/Service ready/);
      const held = await holdRequest(child.port, "POST", QUERY_PATH, "$top=1");
      await waitUntil("the request in flight", async () => {
        const metrics = await (await fetch(`${child.url}/metrics`)).text();
        return /^odata_service_http_requests_in_flight 2$/m.test(metrics) ? true : undefined;
      });
      child.kill("SIGTERM");
      await child.waitForLine(/Draining: 1 request/);
      child.kill("SIGTERM");
      const status = await child.status;
      held.close();
      assert.equal(status.code, 130, child.lines.join("\n"));
      assert.ok(child.lines.some((line) => /Second SIGTERM/.test(line)));
    } finally {
      await child.stop();
    }
  });
});

Deno.test("an OData request past CONNECTION_TIMEOUT gets a 504 in the OData error shape", async () => {
  await withTempDir(async (dir) => {
    const child = await serviceWith(dir, { CONNECTION_TIMEOUT: "200" });
    try {
      await child.waitForLine(/Service ready/);
      // The body never completes: the endpoint waits for it until the deadline answers.
      const held = await holdRequest(child.port, "POST", QUERY_PATH, "$top=1");
      const response = await held.read();
      assert.equal(response.status, 504, response.body);
      assert.equal(JSON.parse(response.body).error.code, "TIMEOUT");
      held.close();
      assert.equal((await getJson(`${child.url}/odata/northwind/Products(1)`)).status, 200);
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  });
});

Deno.test("SIGTERM during initialize() stops cleanly without ever turning ready", async () => {
  await withTempDir(async (dir) => {
    const remote = freePort(); // refuses: initialize() waits between its retries
    const child = await serviceWith(dir, {
      ODATA_BASE_URL: `http://127.0.0.1:${remote}/odata/northwind/`,
      RETRY_DELAY: "5000",
    });
    try {
      await child.waitForLine(/Retrying connection http_odata_prod/);
      assert.equal((await getJson(`${child.url}/health/ready`)).status, 503);
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0, child.lines.join("\n"));
      assert.ok(child.lines.some((line) => /Shutdown complete/.test(line)));
      assert.ok(!child.lines.some((line) => /Service ready/.test(line)), child.lines.join("\n"));
    } finally {
      await child.stop();
    }
  });
});

Deno.test("the performance scenario, small: no errors, /metrics agrees, service-side quantiles", async () => {
  const result = await performanceScenario({}, { concurrency: 4, maxRequests: 300 });
  assert.ok(result.pass, [...result.checks, JSON.stringify(result.figures)].join("\n"));
  assert.equal(result.figures.requests, 300);
});
