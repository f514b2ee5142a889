/**
 * Shared setup of the endpoint tests: the Northwind sample in SQLite served by the handler,
 * either called directly or through a real socket (Deno.serve on port 0).
 */
import { createODataHandler, EntityNamespaceManager, type ODataHandlerOptions } from "../../mod.ts";
import type { EntityNamespace } from "../../mod.ts";
import { loadNorthwind } from "../../examples/northwind/load.ts";
import { NORTHWIND_TYPE_NAMES } from "../../examples/northwind/serve.ts";

/** The base path the tests mount the service at. */
export const BASE = "/odata/northwind/";

/** A Northwind namespace (fresh SQLite database in memory) with its handler. */
export interface Fixture {
  readonly namespace: EntityNamespace;
  readonly handler: (request: Request) => Promise<Response>;
  /** Calls the handler with a path under the base path (or an absolute URL). */
  readonly call: (path: string, init?: RequestInit) => Promise<Response>;
  readonly close: () => Promise<void>;
}

/** Loads Northwind into a fresh in-memory namespace and builds the handler. */
export async function northwind(options: ODataHandlerOptions = {}): Promise<Fixture> {
  const manager = new EntityNamespaceManager();
  const namespace = manager.createNamespace("northwind", {
    provider: { type: "sqlite", filePath: ":memory:" },
  });
  await loadNorthwind(namespace);
  const handler = createODataHandler(namespace, {
    basePath: BASE,
    schemaNamespace: "NorthwindModel",
    containerName: "NorthwindEntities",
    typeNames: NORTHWIND_TYPE_NAMES,
    ...options,
  });
  const call = (path: string, init?: RequestInit) =>
    handler(new Request(path.startsWith("http") ? path : `http://localhost${BASE}${path}`, init));
  return { namespace, handler, call, close: () => manager.close() };
}

/** Serves the handler on a real socket (port 0); returns the service root URL. */
export function listen(
  handler: (request: Request) => Promise<Response>,
): { root: string; server: Deno.HttpServer } {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
  const { port } = server.addr as Deno.NetAddr;
  return { root: `http://127.0.0.1:${port}${BASE}`, server };
}

/** Reads a JSON body. */
export async function json(response: Response): Promise<Record<string, unknown>> {
  return await response.json() as Record<string, unknown>;
}
