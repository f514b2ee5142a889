// deno-lint-ignore-file no-console
/**
 * The MongoDB provider against the official driver used directly, on the same server in one run
 * (interleaved rounds, medians): key lookup and a filtered, ordered 20-document list. Also the
 * cost of the compile step alone. Runs against CongoDB (started here) or MONGODB_URI.
 *
 *   deno run -A bench/mongodb_ratio.ts
 *
 * Target (issue 10): ≤ 1.2× the raw driver; compiling takes microseconds.
 */

import { MongoClient } from "mongodb";
import { EntityNamespaceManager, parseQuery } from "../mod.ts";
import { loadNorthwind } from "../examples/northwind/load.ts";
import { compileRead } from "../providers/mongodb/compiler/read.ts";
import { mongoConfig, startMongo } from "../tests/providers/mongodb/helpers.ts";

const server = await startMongo();
const config = mongoConfig(server);
const manager = new EntityNamespaceManager();
const northwind = manager.createNamespace("northwind", { provider: config });
await loadNorthwind(northwind);
const Product = northwind.getEntity("Products");
const client = new MongoClient(config.connectionString);
await client.connect();
const products = client.db(config.databaseName).collection("Products");
const projection = Object.fromEntries([
  ["_id", 0],
  ...Product.metadata.fieldList.map((f) => [f.column, 1]),
]);

interface Case {
  name: string;
  raw: (i: number) => Promise<unknown>;
  ours: (i: number) => Promise<unknown>;
}

const cases: Case[] = [
  {
    name: "key lookup",
    raw: (i) => products.findOne({ ProductID: { $eq: 1 + (i % 77) } }, { projection }),
    ours: (i) => Product.findById(1 + (i % 77)),
  },
  {
    name: "filtered, ordered 20-row list",
    raw: () =>
      products.find({ UnitPrice: { $gt: 20 } }, { projection, sort: { ProductName: 1 }, limit: 20 })
        .toArray(),
    ours: () => Product.where("UnitPrice", "gt", 20).orderBy("ProductName").limit(20).find(),
  },
];

async function timeOf(run: (i: number) => Promise<unknown>, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await run(i);
  return ((performance.now() - start) * 1000) / n;
}

const ROUNDS = 9;
const N = 200;
for (const c of cases) {
  for (let i = 0; i < 50; i++) {
    await c.raw(i);
    await c.ours(i);
  }
  const raw: number[] = [];
  const ours: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    raw.push(await timeOf(c.raw, N));
    ours.push(await timeOf(c.ours, N));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [r, o] = [median(raw), median(ours)];
  console.log(
    `${c.name.padEnd(32)} raw ${r.toFixed(1).padStart(8)} µs  ours ${
      o.toFixed(1).padStart(8)
    } µs  ratio ${(o / r).toFixed(3)}`,
  );
}

const schema = northwind.schema;
const entity = Product.metadata;
const queries = [
  "$filter=UnitPrice gt 20&$orderby=ProductName&$top=20",
  "$filter=contains(ProductName,'Ch') and Category/CategoryName eq 'Beverages'&$select=ProductName",
  "$apply=groupby((CategoryID),aggregate(UnitsInStock with sum as Stock))",
].map((q) => parseQuery(q));
const COMPILES = 20_000;
const start = performance.now();
for (let i = 0; i < COMPILES; i++) {
  compileRead(
    schema,
    entity,
    queries[i % queries.length]!,
    config.decimal === "double" ? { decimal: "double" } : { decimal: "decimal128" },
  );
}
console.log(
  `compile step alone: ${
    (((performance.now() - start) * 1000) / COMPILES).toFixed(2)
  } µs per query`,
);

await client.close();
await manager.close();
await server.stop();
