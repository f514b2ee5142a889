import { createODataHandler, EntityNamespaceManager } from "../mod.ts";
import { loadNorthwind } from "../examples/northwind/load.ts";
const manager = new EntityNamespaceManager();
const ns = manager.createNamespace("n", { provider: { type: "sqlite", filePath: "/tmp/prof/nw.db" } });
try { await Deno.remove("/tmp/prof/nw.db"); } catch {}
await loadNorthwind(ns);
const h = createODataHandler(ns, { basePath: "/odata/northwind/" });
const paths = Deno.args.length ? Deno.args : ["Products?$filter=UnitPrice gt 20&$orderby=ProductName&$top=20", "Orders?$expand=Order_Details($expand=Product)&$top=50"];
for (const p of paths) {
  const url = "http://127.0.0.1/odata/northwind/" + encodeURI(p);
  for (let i = 0; i < 300; i++) await (await h(new Request(url))).text();
  const n = p.includes("expand") ? 300 : 20000;
  const t = performance.now();
  for (let i = 0; i < n; i++) await (await h(new Request(url))).text();
  console.log(p, ((performance.now() - t) / n * 1000).toFixed(1), "µs");
}
await manager.close();
