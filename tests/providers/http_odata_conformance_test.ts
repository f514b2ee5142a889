/**
 * The round trip: the HTTP OData provider pointed at this module's own endpoint
 * (`createODataHandler`) serving the SQLite Northwind passes the same conformance suite as
 * SQLite, over real loopback sockets. The endpoint pages at 100 rows, so reads follow next links.
 */

import { createODataHandler, type EntityNamespace, EntityNamespaceManager } from "../../mod.ts";
import { NORTHWIND_ENTITIES } from "../../examples/northwind/schema.ts";
import { openNorthwind } from "../fixtures/northwind.ts";
import { conformanceSuite } from "./conformance.ts";

async function openRemote(
  register: (namespace: EntityNamespace) => Promise<void>,
): Promise<{ namespace: EntityNamespace; close(): Promise<void> }> {
  const backing = await openNorthwind({ memory: true });
  const handler = createODataHandler(backing.namespace, {
    basePath: "/odata/northwind/",
    maxPageSize: 100,
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
  const manager = new EntityNamespaceManager();
  const namespace = manager.createNamespace("remote", {
    provider: {
      type: "http-odata",
      baseUrl: `http://127.0.0.1:${server.addr.port}/odata/northwind/`,
    },
  });
  await register(namespace);
  return {
    namespace,
    close: async () => {
      await manager.close();
      await server.shutdown();
      await backing.close();
    },
  };
}

conformanceSuite(
  "http-odata → endpoint → sqlite (entities registered by hand)",
  () =>
    openRemote((namespace) => {
      for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
        namespace.registerEntity(name, definition);
      }
      return Promise.resolve();
    }),
);

conformanceSuite(
  "http-odata → endpoint → sqlite (registerFromMetadata)",
  () =>
    openRemote(async (namespace) => {
      await namespace.registerFromMetadata();
    }),
);
