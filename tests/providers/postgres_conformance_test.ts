/**
 * The shared provider conformance suite on PostgreSQL (a database of its own, loaded with the
 * Northwind sample): the same answers as SQLite, with no gaps left. A gap (a feature that
 * answers NOT_SUPPORTED, never a wrong answer) would be listed in GAPS, where each case must
 * fail, so one that starts passing is noticed.
 */
import { EntityNamespaceManager } from "../../mod.ts";
import { loadNorthwind } from "../../examples/northwind/load.ts";
import { conformanceSuite } from "./conformance.ts";
import { available, createDatabase } from "./postgres/server.ts";

const GAPS: Readonly<Record<string, string>> = {};

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
