// deno-lint-ignore-file no-console
/**
 * The two servers of the endpoint benchmark (`bench/endpoint_ratio.ts` starts this process):
 * the OData endpoint serving Northwind from a SQLite file, and a bare `Deno.serve` handler
 * that runs the same SQL through `node:sqlite` and writes the same JSON by hand. Prints
 * `{"endpoint": port, "bare": port}` on its first line, then serves until stdin closes.
 *
 *   deno run -A bench/endpoint_server.ts
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createODataHandler, EntityNamespaceManager } from "../mod.ts";
import { loadNorthwind } from "../examples/northwind/load.ts";
import { createBareHandler } from "./endpoint_bare.ts";

const dir = await mkdtemp(join(tmpdir(), "oar-endpoint-bench-"));
const filePath = join(dir, "northwind.db");
const manager = new EntityNamespaceManager();
const northwind = manager.createNamespace("northwind", { provider: { type: "sqlite", filePath } });
await loadNorthwind(northwind);
const BASE = "/odata/northwind/";
const endpoint = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen: () => {} },
  createODataHandler(northwind, { basePath: BASE }),
);

const bareServer = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen: () => {} },
  createBareHandler(filePath),
);
console.log(JSON.stringify({
  endpoint: (endpoint.addr as Deno.NetAddr).port,
  bare: (bareServer.addr as Deno.NetAddr).port,
}));

// Serve until the parent closes stdin.
for await (const _ of Deno.stdin.readable) { /* ignore input */ }
await endpoint.shutdown();
await bareServer.shutdown();
await manager.close();
await rm(dir, { recursive: true, force: true });
