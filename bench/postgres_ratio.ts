// deno-lint-ignore-file no-console
/**
 * Active Record on PostgreSQL against raw postgres.js running the same SQL (the statements the
 * provider compiles, taken from its compiler). Prints µs per operation and the ratio ours / raw,
 * measured in one run with interleaved rounds so machine noise hits both sides alike.
 *
 *   POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres deno run -A bench/postgres_ratio.ts
 *
 * Targets (issue 11 §4): key lookup and a 20-row filtered list ≤ 1.2×; 50 orders with expanded
 * details ≤ 1.5× a hand-written two-query version; createMany of 100,000
 * rows ≤ 1.3× the driver's own bulk insert (its `sql(rows)` helper, chunked under the protocol's
 * 65,535-parameter limit, in one transaction). Works in a database it creates and drops.
 */

import postgres from "postgres";
import { EntityNamespaceManager, parseFilter } from "../mod.ts";
import { compileRead } from "../providers/postgres/compiler.ts";

const adminUrl = Deno.env.get("POSTGRES_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const name = `oar_bench_${Deno.pid}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE DATABASE "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;

const manager = new EntityNamespaceManager();
const ns = manager.createNamespace("bench", {
  provider: { type: "postgres", url: url.toString(), poolSize: 4 },
});
const FIELDS = {
  ProductID: { type: "integer", primaryKey: true },
  ProductName: { type: "string", required: true },
  UnitPrice: { type: "decimal", precision: 12, scale: 2 },
  UnitsInStock: { type: "integer" },
  Discontinued: { type: "boolean" },
} as const;
const Product = ns.registerEntity("Products", { fields: FIELDS });
const Bulk = ns.registerEntity("Bulk", { fields: FIELDS });
const Order = ns.registerEntity("Orders", {
  fields: { OrderID: { type: "integer", primaryKey: true }, Customer: { type: "string" } },
  relations: { Details: { type: "many", entity: "Details", foreignKey: "OrderID" } },
});
const Detail = ns.registerEntity("Details", {
  fields: {
    OrderID: { type: "integer", primaryKey: true },
    Line: { type: "integer", primaryKey: true },
    Quantity: { type: "integer" },
    UnitPrice: { type: "decimal", precision: 12, scale: 2 },
  },
  relations: { Order: { type: "one", entity: "Orders", foreignKey: "OrderID" } },
});
ns.registerEntity("RawBulk", { fields: FIELDS });
await ns.sync();
await Product.createMany(
  Array.from({ length: 1000 }, (_, i) => ({
    ProductName: `Product ${String(i).padStart(4, "0")}`,
    UnitPrice: `${(i * 7) % 100}.${String(i % 100).padStart(2, "0")}`,
    UnitsInStock: i % 50,
    Discontinued: i % 3 === 0,
  })),
);
await Order.createMany(
  Array.from({ length: 800 }, (_, i) => ({ OrderID: 10_000 + i, Customer: `C${i % 90}` })),
);
await Detail.createMany(
  Array.from({ length: 2400 }, (_, i) => ({
    OrderID: 10_000 + Math.floor(i / 3),
    Line: i % 3,
    Quantity: i % 40,
    UnitPrice: `${i % 70}.50`,
  })),
);
await admin.end();

const raw = postgres(url.toString(), {
  max: 4,
  onnotice: () => {},
  connection: { search_path: "public", TimeZone: "UTC" },
});
const byKeySql = compileRead(Product.metadata, { filter: parseFilter("ProductID eq 1") });
const listSql = compileRead(Product.metadata, {
  filter: parseFilter("UnitPrice gt 10"),
  orderby: [{ expression: parseFilter("ProductName"), direction: "asc" }],
  top: 20,
});

const ordersSql = compileRead(Order.metadata, {
  orderby: [{ expression: parseFilter("OrderID"), direction: "asc" }],
  top: 50,
});
const detailsSql = compileRead(Detail.metadata, {}, [], {
  field: Detail.metadata.fields.get("OrderID")!,
  values: [0],
});

/** The hand-written two-query version of 50 orders with their details. */
async function ordersByHand(): Promise<unknown> {
  const orders = await raw.unsafe(ordersSql.text, []);
  const ids = orders.map((o) => o.OrderID);
  const details = await raw.unsafe(detailsSql.text, [ids]);
  const byOrder = new Map<unknown, unknown[]>();
  for (const d of details) {
    let list = byOrder.get(d.OrderID);
    if (list === undefined) byOrder.set(d.OrderID, list = []);
    list.push(d);
  }
  return orders.map((o) => ({ ...o, Details: byOrder.get(o.OrderID) ?? [] }));
}

interface Case {
  name: string;
  target: number;
  iterations: number;
  raw: (i: number) => Promise<unknown>;
  ours: (i: number) => Promise<unknown>;
}

const cases: Case[] = [
  {
    name: "key lookup (findById)",
    target: 1.2,
    iterations: 3000,
    raw: (i) => raw.unsafe(byKeySql.text, [(i % 1000) + 1]),
    ours: (i) => Product.findById((i % 1000) + 1),
  },
  {
    name: "filtered, ordered 20-row list",
    target: 1.2,
    iterations: 1500,
    raw: (i) => raw.unsafe(listSql.text, [String(10 + (i % 10))]),
    ours: (i) =>
      Product.where("UnitPrice", "gt", String(10 + (i % 10))).orderBy("ProductName").limit(20)
        .find(),
  },
  {
    name: "50 orders with expanded details",
    target: 1.5,
    iterations: 500,
    raw: () => ordersByHand(),
    ours: () => Order.orderBy("OrderID").limit(50).expand("Details").find(),
  },
];

async function time(fn: (i: number) => Promise<unknown>, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return ((performance.now() - start) * 1000) / n;
}

/** Median of the ratios of short interleaved blocks: load bursts of a shared machine hit a
 * block of one side only, and the median sets those blocks aside. */
for (const c of cases) {
  await time(c.raw, 200);
  await time(c.ours, 200);
  const block = 50;
  const ratios: number[] = [];
  let rawTotal = 0;
  let oursTotal = 0;
  for (let done = 0; done < c.iterations; done += block) {
    const r = await time(c.raw, block);
    const o = await time(c.ours, block);
    rawTotal += r;
    oursTotal += o;
    ratios.push(o / r);
  }
  ratios.sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)]!;
  const blocks = ratios.length;
  console.log(
    `${c.name}: ours ${(oursTotal / blocks).toFixed(1)} µs, raw ${
      (rawTotal / blocks).toFixed(1)
    } µs, median block ratio ${median.toFixed(2)}× (target ≤ ${c.target}×)`,
  );
}

// createMany of 100,000 rows against the driver's own bulk insert, same rows, one transaction.
const ROWS = 100_000;
const rows = Array.from({ length: ROWS }, (_, i) => ({
  ProductName: `Bulk ${i}`,
  UnitPrice: `${i % 1000}.${String(i % 100).padStart(2, "0")}`,
  UnitsInStock: i % 50,
  Discontinued: i % 2 === 0,
}));
const columns = ["ProductName", "UnitPrice", "UnitsInStock", "Discontinued"] as const;
const perStatement = Math.floor(65_535 / columns.length);
async function rawBulk(): Promise<void> {
  await raw.begin(async (sql) => {
    for (let start = 0; start < rows.length; start += perStatement) {
      await sql`INSERT INTO "RawBulk" ${sql(rows.slice(start, start + perStatement), ...columns)}
        RETURNING *`;
    }
  });
}
const results: { raw: number; ours: number }[] = [];
for (let round = 0; round < 3; round++) {
  await raw.unsafe('TRUNCATE "RawBulk", "Bulk"');
  let start = performance.now();
  await rawBulk();
  const rawMs = performance.now() - start;
  start = performance.now();
  await Bulk.createMany(rows);
  results.push({ raw: rawMs, ours: performance.now() - start });
}
const best = (key: "raw" | "ours") => Math.min(...results.map((r) => r[key]));
console.log(
  `createMany ${ROWS} rows: ours ${best("ours").toFixed(0)} ms, driver bulk insert ${
    best("raw").toFixed(0)
  } ms, ratio ${(best("ours") / best("raw")).toFixed(2)}× (target ≤ 1.3×)`,
);

await raw.end();
await manager.close();
const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
await cleanup.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
await cleanup.end();
