// deno-lint-ignore-file no-console
/**
 * The full production service against the bare OData endpoint, in requests per second.
 *
 *   deno run -A bench/service_ratio.ts [--seconds=0.5] [--rounds=16] [--concurrency=16] [--control]
 *
 * Two processes serve the same Northwind file: the production service (`deno task start`'s
 * script: ServiceApp routing and request counting, pooled connection with circuit breaker and
 * fail-fast, deadline, performance monitor) and this script in `--bare` mode (only
 * `Deno.serve(createODataHandler(namespace))` over a plain SQLite namespace). The load generator
 * (closed loop, keep-alive `fetch`) runs in this process and alternates between the two in short
 * ABBA rounds, so drifts in machine load hit both. For each path it prints the median rps of each
 * side, the median of the per-round ratios service/bare (target ≥ 0.90) with their range, and
 * p50/p99 latencies; the last line is the verdict.
 *
 * On a shared machine rps swing with other processes' load, so it also prints the CPU time each
 * server process spent per request (all threads, from `/proc/<pid>/task/<tid>/schedstat`,
 * Linux), measured in rounds that load both servers at once so that both figures of a round see
 * the same machine: the capacity ratio bare CPU / service CPU is the rps ratio both would reach
 * when CPU-bound. `--control` puts a second copy of the service in place of the bare endpoint:
 * its ratios show how far the method itself scatters (ideally 100 %).
 *
 * @module
 */

import { createODataHandler, EntityNamespaceManager } from "../mod.ts";
import {
  type ChildService,
  freePort,
  type LoadResult,
  MAIN_PATH,
  runLoad,
  SERVICE_PERMISSIONS,
  spawnService,
  waitUntil,
} from "../examples/production-ready/harness.ts";
import {
  ensureNorthwindDatabase,
  NORTHWIND_ENTITIES,
} from "../examples/production-ready/northwind_db.ts";

/**
 * CPU time of a process in ms, all its threads together (Linux), or NaN elsewhere: the time on
 * CPU from each thread's `/proc/<pid>/task/<tid>/schedstat`, in nanoseconds (`/proc/<pid>/stat`
 * counts 10 ms ticks, too coarse for short rounds).
 */
function cpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(
          Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0],
        );
      } catch {
        // The thread ended meanwhile: its time is gone with it (threads of a server live long).
      }
    }
    return ns / 1e6;
  } catch {
    return NaN;
  }
}

const option = (name: string, fallback: number): number => {
  const arg = Deno.args.find((value) => value.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
};

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const summary = (list: LoadResult[]) => ({
  rps: median(list.map((r) => r.rps)),
  p50: median(list.map((r) => r.p50)),
  p99: median(list.map((r) => r.p99)),
  errors: list.reduce((sum, r) => sum + r.errors, 0),
});

/** The compared requests: a key lookup and a 20-row filtered, ordered list. */
const PATHS: Readonly<Record<string, string>> = {
  "Products(7)": "/odata/northwind/Products(7)",
  "20-row list":
    "/odata/northwind/Products?$filter=UnitPrice%20gt%2020&$orderby=ProductName&$top=20",
};

function serveBare(path: string): void {
  const manager = new EntityNamespaceManager();
  const namespace = manager.createNamespace("northwind", {
    provider: { type: "sqlite", filePath: path },
  });
  for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
    namespace.registerEntity(name, definition);
  }
  const handler = createODataHandler(namespace, { basePath: "/odata/northwind/" });
  const server = Deno.serve(
    { port: Number(Deno.env.get("PORT") ?? 0), onListen: () => undefined },
    handler,
  );
  console.log(`🌐 Listening on http://127.0.0.1:${server.addr.port}/`);
  console.log("✅ Service ready");
}

async function main(): Promise<void> {
  const seconds = option("seconds", 0.5);
  const rounds = option("rounds", 16);
  const control = Deno.args.includes("--control");
  const concurrency = option("concurrency", 16);
  const dir = await Deno.makeTempDir({ prefix: "oar-service-bench-" });
  const northwindPath = `${dir}/northwind.db`;
  await ensureNorthwindDatabase(northwindPath);
  const env = {
    PORT: "0",
    NORTHWIND_PATH: northwindPath,
    SQLITE_PATH: `${dir}/production.db`,
    METRICS_LOG_INTERVAL: "0",
  };
  const children: ChildService[] = [];
  try {
    const service = await spawnService({ env });
    children.push(service);
    // --control: the "bare" side is a second copy of the service, to show the method's noise.
    const bare = await spawnService({
      env: { ...env, PORT: String(freePort()), SQLITE_PATH: `${dir}/production-2.db` },
      args: control
        ? ["run", ...SERVICE_PERMISSIONS, MAIN_PATH]
        : ["run", "-A", new URL(import.meta.url).pathname, "--bare"],
    });
    children.push(bare);
    for (const child of children) {
      await waitUntil("readiness", async () => {
        const response = await fetch(`${child.url}/odata/northwind/Products(1)`);
        await response.body?.cancel();
        return response.status === 200 ? true : undefined;
      });
    }
    console.log(
      `service vs ${control ? "a second service (control run)" : "bare endpoint"}: per path ` +
        `${rounds} alternating rounds (rps) and ${rounds} rounds loading both at once (CPU) × ` +
        `${seconds}s, concurrency ${concurrency}; medians of the per-round ratios (range)`,
    );
    const verdicts: boolean[] = [];
    for (const [label, path] of Object.entries(PATHS)) {
      const results: { service: LoadResult[]; bare: LoadResult[] } = { service: [], bare: [] };
      const measure = async (side: "service" | "bare", child: ChildService) => {
        results[side].push(
          await runLoad([child.url + path], { concurrency, durationMs: seconds * 1000 }),
        );
      };
      for (const child of children) {
        await runLoad([child.url + path], { concurrency, maxRequests: 2000 });
      }
      // ABBA: each round pairs two neighbouring measurements, in alternating order, so a drift
      // in the machine's load hits both sides alike; the ratio is taken per round.
      for (let round = 0; round < rounds; round++) {
        if (round % 2 === 0) {
          await measure("service", service);
          await measure("bare", bare);
        } else {
          await measure("bare", bare);
          await measure("service", service);
        }
      }
      // CPU per request from rounds that load both servers at once: each round's two figures
      // come from the same moment of the machine (same neighbours, same cache pressure), which
      // the alternating rounds cannot give. Each server has its own `concurrency` clients.
      const cpuRatios: number[] = [];
      const shared: { service: number[]; bare: number[] } = { service: [], bare: [] };
      for (let round = 0; round < rounds; round++) {
        const before = [cpuMs(service.process.pid), cpuMs(bare.process.pid)];
        const [onService, onBare] = await Promise.all(
          [service, bare].map((child) =>
            runLoad([child.url + path], { concurrency, durationMs: seconds * 1000 })
          ),
        );
        const serviceCpu = ((cpuMs(service.process.pid) - before[0]!) * 1000) /
          onService!.requests;
        const bareCpu = ((cpuMs(bare.process.pid) - before[1]!) * 1000) / onBare!.requests;
        shared.service.push(serviceCpu);
        shared.bare.push(bareCpu);
        cpuRatios.push(bareCpu / serviceCpu);
      }
      const rpsRatios = results.service.map((r, i) => r.rps / results.bare[i]!.rps);
      const s = summary(results.service);
      const b = summary(results.bare);
      const ratio = median(rpsRatios);
      const capacity = median(cpuRatios);
      const range = (values: number[]) =>
        `[${(Math.min(...values) * 100).toFixed(0)}–${(Math.max(...values) * 100).toFixed(0)}%]`;
      verdicts.push(ratio >= 0.9, capacity >= 0.9);
      console.log(
        `${label.padEnd(12)} service ${s.rps.toFixed(0)} rps (p50 ${s.p50.toFixed(2)} ms, p99 ${
          s.p99.toFixed(2)
        } ms) | bare ${b.rps.toFixed(0)} rps (p50 ${b.p50.toFixed(2)} ms, p99 ${
          b.p99.toFixed(2)
        } ms) | ` +
          `rps ratio ${(ratio * 100).toFixed(1)}% ${range(rpsRatios)} ${
            ratio >= 0.9 ? "✅" : "❌"
          } (target ≥ 90%)` +
          (s.errors + b.errors > 0 ? ` errors: service ${s.errors}, bare ${b.errors}` : ""),
      );
      console.log(
        `${"".padEnd(12)} CPU per request, both loaded at once: service ${
          median(shared.service).toFixed(1)
        } µs, bare ${median(shared.bare).toFixed(1)} µs | capacity ratio ${
          (capacity * 100).toFixed(1)
        }% ${range(cpuRatios)} ${capacity >= 0.9 ? "✅" : "❌"}`,
      );
    }
    console.log(
      verdicts.every(Boolean)
        ? "verdict: every path ≥ 90% by rps and by CPU capacity ✅"
        : "verdict: target MISSED ❌",
    );
  } finally {
    for (const child of children) {
      child.kill("SIGTERM");
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

if (Deno.args.includes("--bare")) {
  serveBare(Deno.env.get("NORTHWIND_PATH")!);
} else {
  await main();
}
