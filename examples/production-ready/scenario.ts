/**
 * The original design's `node test.js --scenario=...`, run for real against service processes:
 *
 *   deno task scenario connection-failure   # remote OData down at start, then back
 *   deno task scenario performance          # load run: throughput and latency percentiles
 *   deno task scenario graceful-shutdown    # SIGTERM with requests in flight
 *
 * Each prints what it observed and a verdict (exit code 0 when it passes). The process tests run
 * the same functions with smaller figures.
 *
 * @module
 */

import {
  type ChildService,
  freePort,
  getJson,
  holdRequest,
  type LoadResult,
  runLoad,
  spawnService,
  waitUntil,
} from "./harness.ts";

/** What a scenario observed. */
export interface ScenarioResult {
  /** The scenario name. */
  readonly name: string;
  /** Whether every check held. */
  readonly pass: boolean;
  /** One line per check: `✅ ...` or `❌ ...`. */
  readonly checks: readonly string[];
  /** The figures measured. */
  readonly figures: Readonly<Record<string, unknown>>;
}

/** Options shared by the scenarios. */
export interface ScenarioOptions {
  /** A directory for the SQLite files (default: a new temporary directory, removed after). */
  readonly dataDir?: string;
  /** Echo the service's log lines. */
  readonly echo?: boolean;
  /** Extra environment for the service. */
  readonly env?: Record<string, string>;
}

class Checks {
  readonly lines: string[] = [];
  pass = true;
  check(ok: boolean, text: string): boolean {
    this.lines.push(`${ok ? "✅" : "❌"} ${text}`);
    if (!ok) this.pass = false;
    return ok;
  }
}

async function withDataDir<T>(
  options: ScenarioOptions,
  work: (dir: string) => Promise<T>,
): Promise<T> {
  if (options.dataDir !== undefined) return await work(options.dataDir);
  const dir = await Deno.makeTempDir({ prefix: "oar-scenario-" });
  try {
    return await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  }
}

function serviceEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: "0",
    NORTHWIND_PATH: `${dir}/northwind.db`,
    SQLITE_PATH: `${dir}/production.db`,
    LOG_LEVEL: "info",
    LOG_FORMAT: "text",
    METRICS_LOG_INTERVAL: "0",
    ...extra,
  };
}

async function isReady(child: ChildService): Promise<true | undefined> {
  const response = await fetch(`${child.url}/health/ready`);
  await response.body?.cancel();
  return response.status === 200 ? true : undefined;
}

/**
 * A remote OData service (the `http_odata_prod` provider's target) that refuses connections at
 * start, then comes up: the service must start degraded, retry with growing delays, and turn
 * healthy once the remote answers.
 *
 * @example
 * ```ts
 * const result = await connectionFailureScenario();
 * console.log(result.pass, result.figures);
 * ```
 */
export function connectionFailureScenario(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  return withDataDir(options, async (dir) => {
    const checks = new Checks();
    const remotePort = freePort(); // nothing listens there yet: connections are refused
    const started = performance.now();
    const service = await spawnService({
      echo: options.echo,
      env: serviceEnv(dir, {
        ODATA_BASE_URL: `http://127.0.0.1:${remotePort}/odata/northwind/`,
        RETRY_DELAY: "100",
        MAX_RETRIES: "2",
        CONNECTION_TIMEOUT: "2000",
        HEALTH_CHECK_INTERVAL: "300",
        ...options.env,
      }),
    });
    let remote: ChildService | undefined;
    try {
      await waitUntil("readiness", () => isReady(service));
      const degraded = await getJson(`${service.url}/health`);
      const namespaces = degraded.body.namespaces as Record<string, { status: string }>;
      checks.check(
        degraded.status === 200 && degraded.body.status === "degraded" &&
          namespaces.http_odata_prod?.status !== "healthy" &&
          namespaces.northwind?.status === "healthy",
        `started degraded with http_odata_prod down (GET /health: ${degraded.status} ${degraded.body.status})`,
      );
      const delays = service.lines
        .map((line) => /Retrying connection http_odata_prod in (\d+)ms/.exec(line)?.[1])
        .filter((delay): delay is string => delay !== undefined)
        .map(Number);
      const first = delays.slice(0, 2); // the start-up attempts; background reconnects follow
      checks.check(
        first.length === 2 && first[1]! > first[0]!,
        `retried with growing delays: ${delays.join("ms, ")}ms`,
      );
      const failFastStart = performance.now();
      const down = await fetch(`${service.url}/odata/http_odata_prod/Products(1)`);
      await down.body?.cancel();
      const failFastMs = performance.now() - failFastStart;
      checks.check(
        down.status === 503,
        `a query on the down namespace is refused with ${down.status} in ${
          failFastMs.toFixed(0)
        }ms`,
      );

      const remoteStarted = performance.now();
      remote = await spawnService({
        env: serviceEnv(dir, {
          PORT: String(remotePort),
          SQLITE_PATH: `${dir}/remote.db`,
        }),
      });
      await waitUntil("the remote's readiness", () => isReady(remote!));
      const healthy = await waitUntil("health to turn healthy", async () => {
        const health = await getJson(`${service.url}/health`);
        return health.body.status === "healthy" ? health : undefined;
      }, 40_000);
      const recoveryMs = performance.now() - remoteStarted;
      checks.check(
        healthy.status === 200,
        `healthy ${recoveryMs.toFixed(0)}ms after the remote came up`,
      );
      const product = await getJson(`${service.url}/odata/http_odata_prod/Products(1)`);
      checks.check(
        product.status === 200 && product.body.ProductName === "Chai",
        `GET /odata/http_odata_prod/Products(1) through the recovered provider: ${product.status} ${
          String(product.body.ProductName)
        }`,
      );
      return {
        name: "connection-failure",
        pass: checks.pass,
        checks: checks.lines,
        figures: {
          retryDelaysMs: delays,
          failFastMs: Math.round(failFastMs),
          recoveryMs: Math.round(recoveryMs),
          totalMs: Math.round(performance.now() - started),
        },
      };
    } finally {
      await service.stop();
      await remote?.stop();
    }
  });
}

/** The requests of the performance scenario and the service benchmark. */
export const LOAD_PATHS: readonly string[] = [
  "/odata/northwind/Products(7)",
  "/odata/northwind/Products?$filter=UnitPrice%20gt%2020&$orderby=ProductName&$top=20",
];

/**
 * A load run against the service: throughput, client-side latency percentiles, and the
 * service's own view from `/metrics`.
 *
 * @example
 * ```ts
 * const result = await performanceScenario({}, { durationMs: 5000, concurrency: 16 });
 * ```
 */
export function performanceScenario(
  options: ScenarioOptions = {},
  load: { durationMs?: number; concurrency?: number; maxRequests?: number } = {},
): Promise<ScenarioResult> {
  return withDataDir(options, async (dir) => {
    const checks = new Checks();
    const service = await spawnService({
      echo: options.echo,
      env: serviceEnv(dir, options.env),
    });
    try {
      await waitUntil("readiness", () => isReady(service));
      const urls = LOAD_PATHS.map((path) => service.url + path);
      await runLoad(urls, { concurrency: 4, maxRequests: 200 }); // warm-up
      const result: LoadResult = await runLoad(urls, {
        concurrency: load.concurrency ?? 16,
        durationMs: load.durationMs ?? 5000,
        maxRequests: load.maxRequests,
      });
      checks.check(
        result.requests > 0,
        `${result.requests} requests in ${result.seconds.toFixed(1)}s`,
      );
      checks.check(
        result.errors === 0,
        `${result.errors} errors (statuses ${JSON.stringify(result.statuses)})`,
      );
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      const served = /^odata_service_http_requests_total\{route="odata",status="200"\} (\d+)/m
        .exec(metrics)?.[1];
      checks.check(
        Number(served) >= result.requests,
        `/metrics counted ${served} OData responses with 200`,
      );
      // The service's own view: the monitor's quantiles for northwind.Products, in ms.
      const quantile = (q: string) => {
        const value = new RegExp(
          `^odata_active_record_query_duration_seconds\\{namespace="northwind",` +
            `entity="Products",quantile="${q}"\\} (\\S+)`,
          "m",
        ).exec(metrics)?.[1];
        return value === undefined ? NaN : round(Number(value) * 1000);
      };
      const serverSide = {
        p50Ms: quantile("0.5"),
        p95Ms: quantile("0.95"),
        p99Ms: quantile("0.99"),
      };
      checks.check(
        Number.isFinite(serverSide.p99Ms),
        `service-side northwind.Products P50/P95/P99: ${serverSide.p50Ms} / ${serverSide.p95Ms} / ${serverSide.p99Ms} ms`,
      );
      return {
        name: "performance",
        pass: checks.pass,
        checks: checks.lines,
        figures: {
          requests: result.requests,
          rps: Math.round(result.rps),
          p50Ms: round(result.p50),
          p95Ms: round(result.p95),
          p99Ms: round(result.p99),
          concurrency: load.concurrency ?? 16,
          serverSide,
        },
      };
    } finally {
      service.kill("SIGTERM");
      await service.status;
    }
  });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * SIGTERM while slow requests are in flight: each of them completes with 200, new requests are
 * refused, the process exits 0 within the drain deadline and logs its final metrics.
 *
 * The slow requests are `POST .../Products/$query` whose body is held back on the socket until
 * after the signal: to the server they are in flight for as long as the scenario decides.
 *
 * @example
 * ```ts
 * const result = await gracefulShutdownScenario({}, { inFlight: 5 });
 * ```
 */
export function gracefulShutdownScenario(
  options: ScenarioOptions = {},
  settings: { inFlight?: number; shutdownTimeoutMs?: number } = {},
): Promise<ScenarioResult> {
  return withDataDir(options, async (dir) => {
    const checks = new Checks();
    const inFlight = settings.inFlight ?? 5;
    const shutdownTimeoutMs = settings.shutdownTimeoutMs ?? 10_000;
    const service = await spawnService({
      echo: options.echo,
      env: serviceEnv(dir, { SHUTDOWN_TIMEOUT: String(shutdownTimeoutMs), ...options.env }),
    });
    try {
      await waitUntil("readiness", () => isReady(service));
      const held = await Promise.all(
        Array.from(
          { length: inFlight },
          (_, i) =>
            holdRequest(
              service.port,
              "POST",
              "/odata/northwind/Products/$query",
              `$filter=ProductID eq ${i + 1}&$select=ProductID,ProductName`,
            ),
        ),
      );
      // The gauge counts the /metrics request itself too.
      await waitUntil(`${inFlight} requests in flight`, async () => {
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        const count = Number(/^odata_service_http_requests_in_flight (\d+)/m.exec(metrics)?.[1]);
        return count === inFlight + 1 ? true : undefined;
      });
      checks.check(true, `${inFlight} slow requests in flight`);

      // Background load across the signal: each answer is a 200, a 503 or a refused connection.
      const stopLoad = new AbortController();
      const background = runLoad([`${service.url}/odata/northwind/Products(7)`], {
        concurrency: 4,
        signal: stopLoad.signal,
      });
      await waitUntil("background load", async () => {
        const metrics = await (await fetch(`${service.url}/metrics`)).text();
        const served = /route="odata",status="200"\} (\d+)/.exec(metrics)?.[1];
        return Number(served) >= 50 ? true : undefined;
      });

      const signalled = performance.now();
      service.kill("SIGTERM");
      await service.waitForLine(/Draining/, 5000);
      const refused = await fetch(`${service.url}/odata/northwind/Products(1)`)
        .then(async (response) => {
          await response.body?.cancel();
          return response.status === 503 ? "503" : `unexpected ${response.status}`;
        }, () => "connection refused");
      checks.check(
        refused !== undefined && !refused.startsWith("unexpected"),
        `a new request after SIGTERM: ${refused}`,
      );

      const results = await Promise.all(held.map((request) => request.finish()));
      const ok = results.filter(
        (result, i) => result.status === 200 && result.body.includes(`"ProductID":${i + 1}`),
      ).length;
      checks.check(
        ok === inFlight,
        `${ok} of ${inFlight} in-flight requests completed with 200 (${
          results.map((r) => r.status).join(", ")
        })`,
      );
      const status = await service.status;
      const elapsedMs = performance.now() - signalled;
      stopLoad.abort();
      const load = await background;
      const unexpected = Object.keys(load.statuses).filter(
        (key) => !["200", "503", "network"].includes(key),
      );
      checks.check(
        (load.statuses["200"] ?? 0) > 0 && unexpected.length === 0,
        `background load across the signal: ${JSON.stringify(load.statuses)} ` +
          "(200 before the drain, then 503 or refused; nothing else)",
      );
      checks.check(status.code === 0, `exit code ${status.code}`);
      checks.check(
        elapsedMs < shutdownTimeoutMs,
        `exited ${elapsedMs.toFixed(0)}ms after SIGTERM (deadline ${shutdownTimeoutMs}ms)`,
      );
      const signalLine = service.lines.findIndex((line) => /SIGTERM/.test(line));
      const metricsLine = service.lines.findIndex((line, i) =>
        i > signalLine && /Performance Metrics/.test(line)
      );
      checks.check(
        signalLine >= 0 && metricsLine > signalLine,
        "final metrics logged after the signal",
      );
      return {
        name: "graceful-shutdown",
        pass: checks.pass,
        checks: checks.lines,
        figures: {
          inFlight,
          completed: ok,
          exitCode: status.code,
          shutdownMs: Math.round(elapsedMs),
          backgroundLoad: load.statuses,
        },
      };
    } finally {
      await service.stop();
    }
  });
}

const SCENARIOS: Record<string, (options: ScenarioOptions) => Promise<ScenarioResult>> = {
  "connection-failure": (options) => connectionFailureScenario(options),
  "performance": (options) => performanceScenario(options),
  "graceful-shutdown": (options) => gracefulShutdownScenario(options),
};

if (import.meta.main) {
  const arg = Deno.args.find((value) => !value.startsWith("--echo")) ?? "";
  const name = arg.replace(/^--scenario=/, "");
  const run = SCENARIOS[name];
  if (run === undefined) {
    // deno-lint-ignore no-console
    console.error(`Usage: deno task scenario <${Object.keys(SCENARIOS).join("|")}> [--echo]`);
    Deno.exit(2);
  }
  // deno-lint-ignore no-console
  console.log(`🧪 Scenario ${name}`);
  const result = await run({ echo: Deno.args.includes("--echo") });
  // deno-lint-ignore no-console
  console.log([
    ...result.checks,
    `📏 ${JSON.stringify(result.figures)}`,
    result.pass ? `🟢 PASS ${name}` : `🔴 FAIL ${name}`,
  ].join("\n"));
  Deno.exit(result.pass ? 0 : 1);
}
