// deno-lint-ignore-file no-console
/**
 * Active Record on SQLite against the same SQL through node:sqlite directly (prepared
 * statements: the physical floor). Prints µs per operation and the ratio ours / raw, measured in
 * one run with interleaved rounds so machine noise hits both sides alike: the process CPU time
 * (user + system) of each round, because on a shared machine wall time mostly measures the
 * neighbours, and the ratio is the median of the rounds' own ratios (wall time is printed too).
 *
 *   deno run -A bench/sqlite_ratio.ts [rounds=21]
 *
 * Targets (issue 3): key lookup and a filtered, ordered 20-row list ≤ 1.25× raw; 50 orders
 * with expanded Order_Details ≤ 1.5× a hand-written two-query version.
 */

import { DatabaseSync } from "node:sqlite";
import process from "node:process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntityNamespaceManager } from "../mod.ts";
import { loadNorthwind } from "../examples/northwind/load.ts";

const ROUNDS = Number(Deno.args[0] ?? 21);

const dir = await mkdtemp(join(tmpdir(), "oar-bench-"));
const filePath = join(dir, "northwind.db");
const manager = new EntityNamespaceManager();
const northwind = manager.createNamespace("northwind", { provider: { type: "sqlite", filePath } });
await loadNorthwind(northwind);
const Product = northwind.getEntity("Products");
const Order = northwind.getEntity("Orders");

const raw = new DatabaseSync(filePath);
const productColumns = Product.metadata.fieldList.map((f) => `"${f.column}" AS "${f.name}"`).join(
  ", ",
);
const orderColumns = Order.metadata.fieldList.map((f) => `"${f.column}" AS "${f.name}"`).join(", ");
const detailColumns = northwind.getEntity("Order_Details").metadata.fieldList
  .map((f) => `"${f.column}" AS "${f.name}"`).join(", ");
const byKey = raw.prepare(`SELECT ${productColumns} FROM "Products" WHERE "ProductID" = ?`);
const list = raw.prepare(
  `SELECT ${productColumns} FROM "Products" WHERE "UnitPrice" > ? ORDER BY "ProductName" LIMIT 20`,
);
const orders = raw.prepare(`SELECT ${orderColumns} FROM "Orders" ORDER BY "OrderID" LIMIT 50`);
const detailsCache = new Map<number, ReturnType<typeof raw.prepare>>();
function detailsFor(n: number) {
  let statement = detailsCache.get(n);
  if (statement === undefined) {
    statement = raw.prepare(
      `SELECT ${detailColumns} FROM "Order_Details" WHERE "OrderID" IN (${
        Array(n).fill("?").join(",")
      })`,
    );
    detailsCache.set(n, statement);
  }
  return statement;
}

interface Case {
  name: string;
  target: number;
  raw: (i: number) => unknown;
  ours: (i: number) => Promise<unknown>;
  iterations: number;
}

const cases: Case[] = [
  {
    name: "key lookup (findById)",
    target: 1.25,
    iterations: 20000,
    raw: (i) => byKey.get((i % 77) + 1),
    ours: (i) => Product.findById((i % 77) + 1),
  },
  {
    name: "filtered, ordered 20-row list",
    target: 1.25,
    iterations: 3000,
    raw: (i) => list.all(10 + (i % 10)),
    ours: (i) =>
      Product.where("UnitPrice", "gt", 10 + (i % 10)).orderBy("ProductName").limit(20).find(),
  },
  {
    name: "50 orders with expanded Order_Details",
    target: 1.5,
    iterations: 500,
    raw: () => {
      const parents = orders.all() as Record<string, unknown>[];
      const ids = parents.map((o) => o.OrderID as number);
      const children = detailsFor(ids.length).all(...ids) as Record<string, unknown>[];
      const byOrder = new Map<unknown, Record<string, unknown>[]>();
      for (const child of children) {
        const bucket = byOrder.get(child.OrderID);
        if (bucket === undefined) byOrder.set(child.OrderID, [child]);
        else bucket.push(child);
      }
      for (const parent of parents) parent.Order_Details = byOrder.get(parent.OrderID) ?? [];
      return parents;
    },
    ours: () => Order.orderBy("OrderID").limit(50).expand("Order_Details").find(),
  },
];

interface Timing {
  /** CPU µs per operation. */
  readonly cpu: number;
  /** Wall µs per operation. */
  readonly wall: number;
}

/** CPU microseconds of this process so far. */
function cpu(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function time(fn: (i: number) => unknown, iterations: number): Promise<Timing> {
  const startCpu = cpu();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await fn(i);
  return {
    cpu: (cpu() - startCpu) / iterations,
    wall: ((performance.now() - start) * 1000) / iterations,
  };
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

let failures = 0;
console.log("case | raw µs (CPU) | ours µs (CPU) | ratio (CPU) | target | wall ratio");
for (const c of cases) {
  const iterations = Math.ceil(c.iterations / 3); // shorter rounds, more of them
  await time(c.raw, c.iterations); // warm-up
  await time(c.ours, c.iterations);
  const raws: Timing[] = [];
  const ours: Timing[] = [];
  const ratios: number[] = [];
  const wallRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r = await time(c.raw, iterations);
    const o = await time(c.ours, iterations);
    raws.push(r);
    ours.push(o);
    ratios.push(o.cpu / r.cpu);
    wallRatios.push(o.wall / r.wall);
  }
  const ratio = median(ratios);
  if (ratio > c.target) failures++;
  console.log(
    `${c.name} | ${median(raws.map((t) => t.cpu)).toFixed(2)} | ${
      median(ours.map((t) => t.cpu)).toFixed(2)
    } | ${ratio.toFixed(2)}× | ≤ ${c.target}× ${ratio <= c.target ? "ok" : "MISSED"} | ${
      median(wallRatios).toFixed(2)
    }×`,
  );
}

raw.close();
await manager.close();
await rm(dir, { recursive: true, force: true });
if (failures > 0) console.log(`${failures} target(s) missed`);
