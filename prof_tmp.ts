import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { buildProductionQuery, EntityNamespaceManager, ProductionODataService } from "./mod.ts";
import { loadNorthwind } from "./examples/northwind/load.ts";
import { NORTHWIND_ENTITIES } from "./examples/northwind/schema.ts";
const dir = await mkdtemp(join(tmpdir(), "oar-prof-"));
const filePath = join(dir, "northwind.db");
const manager = new EntityNamespaceManager();
const direct = manager.createNamespace("northwind", { provider: { type: "sqlite", filePath } });
await loadNorthwind(direct);
const P = direct.getEntity("Products");
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
const variants: Record<string, (i: number) => Promise<unknown>> = {
  again: (i) => P.where({ Discontinued: i % 2 === 0 }).orderBy("ProductName").limit(20).find(),
  signal: (i) =>
    P.where({ Discontinued: i % 2 === 0 }).orderBy("ProductName").limit(20).find({
      signal: new AbortController().signal,
    }),
  build: (i) =>
    buildProductionQuery(P, {
      where: { Discontinued: i % 2 === 0 },
      orderBy: "ProductName",
      limit: 20,
    }).find(),
  service: (i) =>
    service.executeProductionQuery("northwind", "Products", {
      where: { Discontinued: i % 2 === 0 },
      orderBy: "ProductName",
      limit: 20,
    }),
};
const base = (i: number) =>
  P.where({ Discontinued: i % 2 === 0 }).orderBy("ProductName").limit(20).find();
async function time(fn: (i: number) => Promise<unknown>, n: number) {
  const s = cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const e = cpuUsage(s);
  return (e.user + e.system) / n;
}
for (const [name, fn] of Object.entries(variants)) {
  await time(fn, 1000);
  await time(base, 1000);
  const d = [], bs = [];
  for (let r = 0; r < 40; r++) {
    let a, b;
    if (r % 2) {
      b = await time(fn, 300);
      a = await time(base, 300);
    } else {
      a = await time(base, 300);
      b = await time(fn, 300);
    }
    d.push(b - a);
    bs.push(a);
  }
  d.sort((a, b) => a - b);
  bs.sort((a, b) => a - b);
  console.log(name.padEnd(10), "base", bs[20].toFixed(2), "overhead µs", d[20].toFixed(2));
}
await service.shutdown();
await manager.close();
