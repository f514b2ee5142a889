/**
 * The shared provider conformance suite on PostgreSQL (a database of its own, loaded with the
 * Northwind sample): the same answers as SQLite. The gaps are features the PostgreSQL provider's
 * interim compiler does not compile yet (they answer NOT_SUPPORTED, never a wrong answer); each
 * gap case must fail, so one that starts passing is noticed.
 */
import { EntityNamespaceManager } from "../../mod.ts";
import { loadNorthwind } from "../../examples/northwind/load.ts";
import { conformanceSuite } from "./conformance.ts";
import { available, createDatabase } from "./postgres/server.ts";

const GAPS: Readonly<Record<string, string>> = {
  "$apply groupby aggregate": "$apply (GROUP BY) waits for the SQL compiler shared with SQLite",
};

if (available) {
  conformanceSuite("postgres", async () => {
    const database = await createDatabase();
    const manager = new EntityNamespaceManager();
    const namespace = manager.createNamespace("northwind", {
      provider: { type: "postgres", url: database.url },
    });
    try {
      await loadNorthwind(namespace);
    } catch (error) {
      await manager.close();
      await database.drop();
      throw error;
    }
    return {
      namespace,
      close: async () => {
        await manager.close();
        await database.drop();
      },
    };
  }, GAPS);
}
