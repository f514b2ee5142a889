// deno-lint-ignore-file no-console
/**
 * Serves the Northwind sample as an OData v4 service:
 * `PORT=8080 deno run -A examples/northwind/serve.ts` answers at
 * `http://127.0.0.1:8080/odata/northwind/` with the entity sets, properties and navigation
 * names of the public Northwind V4 service (`NorthwindModel`, container `NorthwindEntities`).
 * The data lives in SQLite: in memory by default, or in the file named by `NORTHWIND_DB`
 * (loaded when the file is new).
 *
 * @module
 */

import { createODataHandler, EntityNamespaceManager } from "../../mod.ts";
import { loadNorthwind } from "./load.ts";
import { NORTHWIND_ENTITIES } from "./schema.ts";

/**
 * The entity type name of each Northwind entity set, as in the public service.
 *
 * @example
 * ```ts
 * import { NORTHWIND_TYPE_NAMES } from "./serve.ts";
 * NORTHWIND_TYPE_NAMES.Order_Details; // "Order_Detail"
 * ```
 */
export const NORTHWIND_TYPE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  Categories: "Category",
  Suppliers: "Supplier",
  Products: "Product",
  Customers: "Customer",
  Employees: "Employee",
  Shippers: "Shipper",
  Orders: "Order",
  Order_Details: "Order_Detail",
  Regions: "Region",
  Territories: "Territory",
  EmployeeTerritories: "EmployeeTerritory",
});

if (import.meta.main) {
  const port = Number(Deno.env.get("PORT") ?? "8080");
  const file = Deno.env.get("NORTHWIND_DB");
  let fresh = true;
  if (file !== undefined) {
    fresh = await Deno.stat(file).then(() => false, () => true);
  }
  const manager = new EntityNamespaceManager();
  const northwind = manager.createNamespace("northwind", {
    provider: { type: "sqlite", filePath: file ?? ":memory:" },
  });
  if (fresh) await loadNorthwind(northwind);
  else {
    for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
      northwind.registerEntity(name, definition);
    }
    await northwind.sync();
  }
  const handler = createODataHandler(northwind, {
    basePath: "/odata/northwind/",
    schemaNamespace: "NorthwindModel",
    containerName: "NorthwindEntities",
    typeNames: NORTHWIND_TYPE_NAMES,
    logger: (error) => console.error("unexpected fault:", error),
  });
  const server = Deno.serve({
    port,
    hostname: "127.0.0.1",
    onListen: ({ port }) => console.log(`Northwind at http://127.0.0.1:${port}/odata/northwind/`),
  }, handler);
  const stop = async () => {
    await server.shutdown();
    await manager.close();
  };
  Deno.addSignalListener("SIGINT", () => void stop());
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => void stop());
  await server.finished;
}
