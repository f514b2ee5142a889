// deno-lint-ignore-file no-console
/**
 * The production runtime's cost: `executeProductionQuery` (deadline, retry, circuit breaker,
 * pooled connection, metrics) against the same query through the model directly, on the same
 * SQLite Northwind file; and the percentile tracker's record cost and memory at 10 M samples.
 * CPU time of this process per operation, in short alternating rounds; the median of the
 * per-round ratios is reported.
 *
 *   deno run -A bench/runtime_overhead.ts [--rounds=160]
 *
 * Targets (issue 9 §8): ≤ 5 % overhead (ratio ≤ 1.05) for a key lookup and a 20-row list;
 * tracker record < 50 ns; memory independent of the sample count.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { cpuUsage } from "node:process";
import { join } from "node:path";
import { EntityNamespaceManager, PercentileTracker, ProductionODataService } from "../mod.ts";
import { loadNorthwind } from "../examples/northwind/load.ts";
import { NORTHWIND_ENTITIES } from "../examples/northwind/schema.ts";

const dir = await mkdtemp(join(tmpdir(), "oar-bench-runtime-"));
const filePath = join(dir, "northwind.db");
const manager = new EntityNamespaceManager();
const direct = manager.createNamespace("northwind", { provider: { type: "sqlite", filePath } });
await loadNorthwind(direct);
const Product = direct.getEntity("Products");

const service = new ProductionODataService({
  namespaces: {
    northwind: {
      connection: { type: "sqlite", filePath },
      entities: NORTHWIND_ENTITIES,
      sync: false,
    },
  },
  pool: { healthCheckInterval: 0 },
  metricsLogInterval: 0,
});
await service.initialize();

interface Case {
  name: string;
  iterations: number;
  direct: (i: number) => Promise<unknown>;
  production: (i: number) => Promise<unknown>;
}

const cases: Case[] = [
  {
    name: "key lookup",
    iterations: 20000,
    direct: (i) => Product.where({ ProductID: (i % 77) + 1 }).find(),
    production: (i) =>
      service.executeProductionQuery("northwind", "Products", {
        where: { ProductID: (i % 77) + 1 },
      }),
  },
  {
    name: "filtered, ordered 20-row list",
    iterations: 3000,
    direct: (i) =>
      Product.where({ Discontinued: i % 2 === 0 }).orderBy("ProductName").limit(20).find(),
    production: (i) =>
      service.executeProductionQuery("northwind", "Products", {
        where: { Discontinued: i % 2 === 0 },
        orderBy: "ProductName",
        limit: 20,
      }),
  },
];

// CPU time (user + system) per operation: on a machine shared by many processes, wall time
// mostly measures the neighbours; this process's CPU time is what the runtime costs.
async function time(fn: (i: number) => Promise<unknown>, iterations: number): Promise<number> {
  const start = cpuUsage();
  for (let i = 0; i < iterations; i++) await fn(i);
  const used = cpuUsage(start);
  return (used.user + used.system) / iterations;
}

const option = (name: string, fallback: number): number => {
  const arg = Deno.args.find((value) => value.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
};
const ROUNDS = option("rounds", 160);

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))]!;

console.log(
  `${ROUNDS} alternating rounds per case (CPU time of this process; median of the per-round ratios)`,
);
console.log(
  "case | direct CPU µs/op | production CPU µs/op | overhead (median) | middle half of rounds | target",
);
for (const c of cases) {
  await time(c.direct, c.iterations); // warm-up
  await time(c.production, c.iterations);
  // Short alternating rounds (ABBA) so drift on a shared machine hits both sides alike; the
  // median of the per-round ratios is reported, with the range of the middle half of the rounds.
  const d: number[] = [];
  const p: number[] = [];
  const ratios: number[] = [];
  const chunk = Math.ceil(c.iterations / 20);
  for (let round = 0; round < ROUNDS; round++) {
    let a: number, b: number;
    if (round % 2 === 0) {
      a = await time(c.direct, chunk);
      b = await time(c.production, chunk);
    } else {
      b = await time(c.production, chunk);
      a = await time(c.direct, chunk);
    }
    d.push(a);
    p.push(b);
    ratios.push(b / a);
  }
  const ratio = median(ratios);
  console.log(
    `${c.name} | ${median(d).toFixed(2)} | ${median(p).toFixed(2)} | ${
      ((ratio - 1) * 100).toFixed(1)
    }% (${ratio.toFixed(3)}×) | ${quantile(ratios, 0.25).toFixed(3)}–${
      quantile(ratios, 0.75).toFixed(3)
    }× | ≤ 5% ${ratio <= 1.05 ? "ok" : "MISSED"}`,
  );
}

await service.shutdown();
await manager.close();
await rm(dir, { recursive: true, force: true });

// Percentile tracker: record cost and memory.
const SAMPLES = 10_000_000;
const values = new Float64Array(1 << 20);
let seed = 42;
for (let i = 0; i < values.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  values[i] = 0.05 + (seed / 4294967296) * 200; // 0.05–200 ms
}
const mask = values.length - 1;
const emptyLoop = () => {
  let sum = 0;
  const start = performance.now();
  for (let i = 0; i < SAMPLES; i++) sum += values[i & mask]!;
  return [performance.now() - start, sum] as const;
};
const recordLoop = (tracker: PercentileTracker) => {
  const start = performance.now();
  for (let i = 0; i < SAMPLES; i++) tracker.record(values[i & mask]!);
  return performance.now() - start;
};
const heapBefore = (globalThis as { Deno?: typeof Deno }).Deno?.memoryUsage().heapUsed ?? 0;
const tracker = new PercentileTracker();
recordLoop(new PercentileTracker()); // warm-up
const loops: number[] = [];
const records: number[] = [];
for (let round = 0; round < 5; round++) {
  loops.push(emptyLoop()[0]);
  records.push(recordLoop(round === 0 ? tracker : new PercentileTracker()));
}
const heapAfter = Deno.memoryUsage().heapUsed;
const perRecord = ((median(records) - median(loops)) * 1e6) / SAMPLES;
console.log(
  `tracker record | ${perRecord.toFixed(1)} ns/record (loop overhead subtracted; ${
    ((median(records) * 1e6) / SAMPLES).toFixed(1)
  } ns with it) | target < 50 ns ${perRecord < 50 ? "ok" : "MISSED"}`,
);
console.log(
  `tracker memory | ${tracker.count.toLocaleString("en")} samples in ${
    (tracker.memoryBytes() / 1024).toFixed(1)
  } KiB of buckets (constant; heap delta over the run ${
    ((heapAfter - heapBefore) / 1024).toFixed(0)
  } KiB) | P50 ${tracker.percentile(50).toFixed(2)} ms, P99 ${
    tracker.percentile(99).toFixed(2)
  } ms`,
);
