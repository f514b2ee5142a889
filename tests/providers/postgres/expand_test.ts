/**
 * `$expand` over composite keys on PostgreSQL answers as on SQLite (both run the shared planner
 * in `src/sql/expansion_plan.ts`), and a read runs one statement per navigation property and
 * level whatever the number of parents: counted on the provider's own operations over a real
 * pool whose `unsafe()` calls are counted.
 */

import assert from "node:assert/strict";
import { type EntityNamespace, EntityNamespaceManager, parseQuery } from "../../../mod.ts";
import type { EntityDefinition } from "../../../src/model/schema.ts";
import { PostgresOperations, type Scope } from "../../../providers/postgres/operations.ts";
import { pgTest, withDatabase } from "./helpers.ts";
import { EXPANDED_COUNTS } from "../../../src/provider/expanded_counts.ts";

/** Order lines keyed by (OrderID, Line); notes point at a line through both fields. */
const ENTITIES: Record<string, EntityDefinition> = {
  Lines: {
    fields: {
      OrderID: { type: "integer", primaryKey: true },
      Line: { type: "integer", primaryKey: true },
      Qty: { type: "integer" },
    },
    relations: { Notes: { type: "many", entity: "Notes", foreignKey: ["OrderID", "Line"] } },
  },
  Notes: {
    fields: {
      NoteID: { type: "integer", primaryKey: true },
      OrderID: { type: "integer" },
      Line: { type: "integer" },
      Text: { type: "string" },
    },
    relations: { Parent: { type: "one", entity: "Lines", foreignKey: ["OrderID", "Line"] } },
  },
};

const LINES = Array.from({ length: 12 }, (_, i) => ({
  OrderID: 1 + Math.floor(i / 3),
  Line: i % 3,
  Qty: (i * 7) % 10,
}));
/** Notes on some lines (several on line (1, 0)); one with a null part links to nothing. */
const NOTES = [
  { NoteID: 1, OrderID: 1, Line: 0, Text: "a" },
  { NoteID: 2, OrderID: 1, Line: 0, Text: "b" },
  { NoteID: 3, OrderID: 1, Line: 0, Text: "c" },
  { NoteID: 4, OrderID: 2, Line: 1, Text: "d" },
  { NoteID: 5, OrderID: 4, Line: 2, Text: "e" },
  { NoteID: 6, OrderID: 3, Line: null, Text: "f" },
  { NoteID: 7, OrderID: 1, Line: 1, Text: "g" },
];

/** Query strings with how many statements each read runs on PostgreSQL. */
const QUERIES: readonly (readonly [string, string, number])[] = [
  ["Lines", "$expand=Notes&$orderby=OrderID,Line", 2],
  [
    "Lines",
    "$expand=Notes($orderby=NoteID desc;$top=2;$select=Text)&$select=Qty&$orderby=OrderID,Line",
    2,
  ],
  ["Lines", "$expand=*&$filter=OrderID le 2&$orderby=Line,OrderID", 2],
  [
    "Notes",
    "$expand=Parent($select=Qty;$expand=Notes($select=NoteID;$orderby=NoteID))&$select=Text&$orderby=NoteID",
    3,
  ],
  [
    "Notes",
    "$expand=Parent($expand=Notes($expand=Parent($select=Line)))&$select=NoteID&$orderby=NoteID",
    4,
  ],
  // Counts of expanded collections: one more (GROUP BY) statement per counted level.
  ["Lines", "$expand=Notes($count=true;$top=1;$orderby=NoteID)&$orderby=OrderID,Line", 3],
  ["Lines", "$expand=Notes/$count($filter=Text ne 'b')&$orderby=OrderID,Line", 2],
  // Entity references: the keys only, one statement per level as for entities.
  ["Notes", "$expand=Parent/$ref&$select=Text&$orderby=NoteID", 2],
  ["Lines", "$expand=Notes/$ref($top=1;$orderby=NoteID desc;$count=true)&$orderby=OrderID,Line", 3],
  [
    "Notes",
    "$expand=Parent($expand=Notes($count=true;$select=NoteID))&$select=NoteID&$orderby=NoteID",
    4,
  ],
];

/** JSON of rows with the counts of expanded collections (kept under a symbol) shown. */
function plain(rows: unknown): unknown {
  return JSON.parse(
    JSON.stringify(
      rows,
      (_key, value) =>
        value !== null && typeof value === "object" && Object.hasOwn(value, EXPANDED_COUNTS)
          ? { ...value, "@counts": value[EXPANDED_COUNTS] }
          : value,
    ),
  );
}

async function load(namespace: EntityNamespace): Promise<void> {
  for (const [name, definition] of Object.entries(ENTITIES)) {
    namespace.registerEntity(name, definition);
  }
  await namespace.sync();
  await namespace.getEntity("Lines").createMany(LINES);
  await namespace.getEntity("Notes").createMany(NOTES);
}

async function answer(namespace: EntityNamespace, set: string, text: string): Promise<unknown> {
  const { data } = await namespace.getEntity(set).query(text).find();
  return plain(data.map((row) => row.toJSON()));
}

pgTest("$expand over composite keys answers as on SQLite, one statement per level", async () => {
  await withDatabase(async (context) => {
    const manager = new EntityNamespaceManager();
    try {
      const sqlite = manager.createNamespace("lines", {
        provider: { type: "sqlite", filePath: ":memory:" },
      });
      const postgres = context.namespace();
      await load(sqlite);
      await load(postgres);
      let statements = 0;
      const scope: Scope = {
        executor: () => ({
          unsafe: ((...args: Parameters<typeof context.raw.unsafe>) => {
            statements++;
            return context.raw.unsafe(...args);
          }) as typeof context.raw.unsafe,
        }),
        failed: () => {},
        transaction: () => Promise.reject(new Error("no transactions in this test")),
        closed: () => false,
      };
      const operations = new PostgresOperations(scope);
      for (const [set, text, expected] of QUERIES) {
        const rows = await answer(sqlite, set, text);
        assert.ok(
          JSON.stringify(rows).includes("Notes") || JSON.stringify(rows).includes("Parent"),
        );
        if (text.includes("$count")) assert.ok(JSON.stringify(rows).includes("@counts"), text);
        assert.deepStrictEqual(await answer(postgres, set, text), rows, `${set}?${text}`);
        statements = 0;
        const entity = postgres.getEntity(set).metadata;
        const read = await operations.read({
          entity,
          schema: postgres.schema,
          query: parseQuery(text),
        });
        assert.equal(statements, expected, `${set}?${text}: ${statements} statements`);
        assert.deepStrictEqual(plain(read.rows), rows, `${set}?${text}`);
      }
    } finally {
      await manager.close();
    }
  });
});
