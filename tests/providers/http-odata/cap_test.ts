/**
 * A real third-party OData v4 server: SAP CAP (`@sap/cds` with `@cap-js/sqlite`) under Node.js
 * serves a Northwind subset; the HTTP OData provider registers it from its CSDL XML `$metadata`
 * and reads it with filter, select, expand, orderby, top, skip, count, server paging and key
 * lookups. Every answer is compared with what the same data gives through the SQLite provider.
 */

import assert from "node:assert/strict";
import {
  type EntityNamespace,
  EntityNamespaceManager,
  type FindResult,
  ODataActiveRecordError,
  type Row,
} from "../../../mod.ts";
import { openNorthwind } from "../../fixtures/northwind.ts";
import { CAP_FIELDS, startCapServer } from "./cap_server.ts";

type Json = Record<string, unknown>;

/** Plain JSON (dates as ISO text) of a find result, limited to the fields CAP models. */
function plain(result: FindResult<Row>, entity: string): Json[] {
  return result.data.map((record) => pick(record.toJSON() as Json, entity));
}

function pick(row: Json, entity: string): Json {
  const out: Json = {};
  for (const [name, value] of Object.entries(row)) {
    if (Array.isArray(value)) {
      out[name] = value.map((v) => pick(v as Json, targetOf(entity, name)));
    } else if (value !== null && typeof value === "object" && !(value instanceof Date)) {
      out[name] = pick(value as Json, targetOf(entity, name));
    } else if (CAP_FIELDS[entity]?.includes(name)) {
      out[name] = value instanceof Date ? value.toISOString() : value;
    }
  }
  return out;
}

function targetOf(entity: string, navigation: string): string {
  const targets: Record<string, string> = {
    "Orders.Order_Details": "Order_Details",
    "Products.Category": "Categories",
    "Categories.Products": "Products",
    "Order_Details.Product": "Products",
    "Order_Details.Order": "Orders",
  };
  return targets[`${entity}.${navigation}`] ?? navigation;
}

/** The same query through both namespaces. */
interface Case {
  readonly name: string;
  readonly run: (ns: EntityNamespace) => Promise<unknown>;
  /** A property of the expected answer that must hold, so a case cannot pass on empty results. */
  readonly check: (value: unknown) => void;
}

const rowsOf = (value: unknown) => value as Json[];

const CASES: readonly Case[] = [
  {
    name: "filter + select + orderby",
    run: async (ns) =>
      plain(
        await ns.getEntity("Products").query(
          "$filter=UnitPrice gt 50&$select=ProductID,ProductName,UnitPrice&$orderby=ProductID",
        ).find(),
        "Products",
      ),
    check: (v) => assert.equal(rowsOf(v).length, 7),
  },
  {
    name: "string functions in filter",
    run: async (ns) =>
      plain(
        await ns.getEntity("Products").filter(
          "contains(ProductName,'Ch') or startswith(ProductName,'Tofu')",
        ).select(["ProductID", "ProductName"]).orderBy("ProductName").find(),
        "Products",
      ),
    check: (v) => assert.ok(rowsOf(v).length >= 8),
  },
  {
    name: "orderby desc, skip and top",
    run: async (ns) =>
      plain(
        await ns.getEntity("Products").orderBy("UnitPrice", "desc").orderBy("ProductID")
          .offset(3).limit(5).find(),
        "Products",
      ),
    check: (v) => assert.equal(rowsOf(v).length, 5),
  },
  {
    name: "datetime filter and count",
    run: (ns) =>
      ns.getEntity("Orders").filter(
        "OrderDate ge 1997-01-01T00:00:00Z and OrderDate lt 1998-01-01T00:00:00Z",
      ).count(),
    check: (v) => assert.equal(v, 408),
  },
  {
    name: "eq null",
    run: (ns) => ns.getEntity("Orders").where("ShippedDate", "eq", null).count(),
    check: (v) => assert.equal(v, 21),
  },
  {
    name: "$count=true with $top",
    run: async (ns) => {
      const result = await ns.getEntity("Orders").query(
        "$filter=ShipCountry eq 'Germany'&$orderby=OrderID&$top=10&$count=true",
      ).find();
      return [result.count, plain(result, "Orders")];
    },
    check: (v) => assert.equal((v as [number])[0], 122),
  },
  {
    name: "expand to-many with nested options",
    run: async (ns) =>
      plain(
        await ns.getEntity("Orders").where("OrderID", "le", 10250).orderBy("OrderID").expand(
          "Order_Details",
          (q) => q.orderBy("ProductID"),
        ).find(),
        "Orders",
      ),
    check: (v) =>
      assert.deepEqual(rowsOf(v).map((o) => (o.Order_Details as Json[]).length), [3, 2, 3]),
  },
  {
    name: "expand to-one with select",
    run: async (ns) =>
      plain(
        await ns.getEntity("Products").where("ProductID", "le", 3).orderBy("ProductID")
          .select(["ProductID", "ProductName"]).expand("Category", (q) =>
            q.select(["CategoryID", "CategoryName"]))
          .find(),
        "Products",
      ),
    check: (v) => assert.equal((rowsOf(v)[0]!.Category as Json).CategoryName, "Beverages"),
  },
  {
    name: "server paging: every Order_Details row through @odata.nextLink",
    run: async (ns) => {
      const result = await ns.getEntity("Order_Details").orderBy("OrderID").orderBy("ProductID")
        .find();
      const rows = plain(result, "Order_Details");
      return [rows.length, rows[0], rows[1000], rows.at(-1)];
    },
    check: (v) => assert.equal((v as [number])[0], 2155),
  },
  {
    name: "server paging with $top across pages",
    run: async (ns) =>
      plain(
        await ns.getEntity("Order_Details").orderBy("OrderID").orderBy("ProductID").offset(150)
          .limit(300).find(),
        "Order_Details",
      ),
    check: (v) => assert.equal(rowsOf(v).length, 300),
  },
  {
    name: "stream follows pages",
    run: async (ns) => {
      let n = 0;
      let quantity = 0;
      for await (const row of ns.getEntity("Order_Details").stream()) {
        n++;
        quantity += row.toJSON().Quantity as number;
      }
      return [n, quantity];
    },
    check: (v) => assert.equal((v as [number])[0], 2155),
  },
  {
    name: "key lookup",
    run: async (ns) =>
      pick((await ns.getEntity("Products").findById(7))!.toJSON() as Json, "Products"),
    check: (v) => assert.equal((v as Json).ProductName, "Uncle Bob's Organic Dried Pears"),
  },
  {
    name: "composite key lookup",
    run: async (ns) =>
      pick(
        (await ns.getEntity("Order_Details").findById({ OrderID: 10248, ProductID: 11 }))!
          .toJSON() as Json,
        "Order_Details",
      ),
    check: (v) => assert.equal((v as Json).Quantity, 12),
  },
  {
    name: "key lookup of a missing key",
    run: async (ns) => (await ns.getEntity("Products").findById(9999)) ?? "none",
    check: (v) => assert.equal(v, "none"),
  },
];

Deno.test("http-odata provider against SAP CAP matches the SQLite provider", async (t) => {
  await using cap = await startCapServer();
  await using sqlite = await openNorthwind({ memory: true });
  await using manager = new EntityNamespaceManager();
  const remote = manager.createNamespace("cap", {
    provider: { type: "http-odata", baseUrl: cap.baseUrl },
  });

  await t.step("registerFromMetadata reads CAP's CSDL XML", async () => {
    const report = await remote.registerFromMetadata();
    assert.deepEqual([...report.registered].sort(), [...Object.keys(CAP_FIELDS), "Notes"].sort());
    const products = remote.getEntity("Products").metadata;
    assert.deepEqual(products.key, ["ProductID"]);
    assert.equal(products.fields.get("UnitPrice")?.type, "decimal");
    assert.equal(products.fields.get("UnitPrice")?.definition.scale, 4);
    assert.equal(products.fields.get("ProductName")?.definition.maxLength, 40);
    assert.equal(products.fields.get("ProductName")?.required, true);
    assert.deepEqual(remote.getEntity("Order_Details").metadata.key, ["OrderID", "ProductID"]);
    assert.equal(products.relations.get("Category")?.target, "Categories");
    assert.deepEqual(remote.getEntity("Orders").metadata.relations.get("Order_Details"), {
      name: "Order_Details",
      kind: "many",
      target: "Order_Details",
      localFields: ["OrderID"],
      targetFields: ["OrderID"],
    });
    const result = await remote.getEntity("Products").query(
      "$filter=UnitPrice gt 20&$top=5&$count=true",
    ).find();
    assert.equal(result.data.length, 5);
    assert.equal(result.count, 37);
  });

  await t.step("CAP pages its answers (so the paging cases follow next links)", async () => {
    const response = await fetch(`${cap.baseUrl}Order_Details`);
    const body = await response.json() as { value: unknown[]; "@odata.nextLink"?: string };
    assert.equal(body.value.length, 200);
    assert.equal(typeof body["@odata.nextLink"], "string");
  });

  for (const testCase of CASES) {
    await t.step(testCase.name, async () => {
      const expected = await testCase.run(sqlite.namespace);
      testCase.check(expected);
      const actual = await testCase.run(remote);
      assert.deepStrictEqual(actual, expected);
    });
  }
});

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
): Promise<ODataActiveRecordError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError, `expected a module error, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected an error with code ${code}`);
}

Deno.test("http-odata provider writes to SAP CAP: ETags, change sets, transactions", async (t) => {
  await using cap = await startCapServer();
  await using manager = new EntityNamespaceManager();
  const remote = manager.createNamespace("cap", {
    provider: { type: "http-odata", baseUrl: cap.baseUrl },
  });
  await remote.registerFromMetadata();
  const Notes = remote.getEntity("Notes");

  await t.step("create returns the stored row with server-computed values", async () => {
    const note = await Notes.create({ NoteID: 1, Text: "first" });
    assert.equal(note.get("Text"), "first");
    assert.equal(note.get("Version"), 0);
    assert.ok(note.get("modifiedAt") instanceof Date);
  });

  await t.step("update by filter reads the keys, then patches each", async () => {
    await Notes.create({ NoteID: 2, Text: "second" });
    assert.equal(await Notes.where("NoteID", "ge", 1).update({ Version: 5 }), 2);
    assert.equal(await Notes.where("Version", 5).count(), 2);
  });

  await t.step("a stale ETag (If-Match) is a CONFLICT error", async () => {
    const note = await Notes.findByIdOrFail(1);
    // Someone else changes the row: its ETag (modifiedAt) moves on.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const other = await fetch(`${cap.baseUrl}Notes(1)`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "If-Match": "*" },
      body: JSON.stringify({ Text: "changed elsewhere" }),
    });
    await other.body?.cancel();
    assert.equal(other.status, 200);
    note.set("Text", "mine");
    const error = await rejectsWith(note.save(), "CONFLICT");
    assert.equal(error.context.status, 412);
    await note.reload(); // a fresh read brings the current ETag
    assert.equal(note.get("Text"), "changed elsewhere");
    note.set("Text", "mine");
    await note.save();
    assert.equal((await Notes.findByIdOrFail(1)).get("Text"), "mine");
  });

  await t.step("createMany is one atomic change set", async () => {
    await rejectsWith(
      Notes.createMany([{ NoteID: 3, Text: "three" }, { NoteID: 1, Text: "duplicate" }]),
      "CONSTRAINT_UNIQUE",
    );
    assert.equal(await Notes.where("NoteID", 3).count(), 0);
    const rows = await Notes.createMany([{ NoteID: 3, Text: "three" }, {
      NoteID: 4,
      Text: "four",
    }]);
    assert.deepEqual(rows.map((r) => r.get("NoteID")), [3, 4]);
  });

  await t.step("transaction commits its writes as one change set", async () => {
    await remote.transaction(async (tx) => {
      await tx.getEntity("Notes").create({ NoteID: 10, Text: "in tx" });
      assert.equal(await tx.getEntity("Notes").where("NoteID", 2).update({ Text: "tx update" }), 1);
      // Reads in the transaction see its updates by key.
      assert.equal((await tx.getEntity("Notes").findByIdOrFail(2)).get("Text"), "tx update");
      // Nothing was sent yet.
      assert.equal(await Notes.where("NoteID", 10).count(), 0);
    });
    assert.equal((await Notes.findByIdOrFail(10)).get("Text"), "in tx");
    assert.equal((await Notes.findByIdOrFail(2)).get("Text"), "tx update");
  });

  await t.step("transaction that throws sends nothing", async () => {
    await assert.rejects(
      remote.transaction(async (tx) => {
        await tx.getEntity("Notes").create({ NoteID: 11, Text: "rolled back" });
        await tx.getEntity("Notes").where("NoteID", 2).delete();
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await Notes.where("NoteID", 11).count(), 0);
    assert.equal(await Notes.where("NoteID", 2).count(), 1);
  });

  await t.step("a failing write in a transaction rolls back the others", async () => {
    await rejectsWith(
      remote.transaction(async (tx) => {
        await tx.getEntity("Notes").create({ NoteID: 12, Text: "ok" });
        await tx.getEntity("Notes").create({ NoteID: 1, Text: "duplicate" });
      }),
      "CONSTRAINT_UNIQUE",
    );
    assert.equal(await Notes.where("NoteID", 12).count(), 0);
  });

  await t.step("upsert updates an existing row and inserts a new one", async () => {
    const updated = await Notes.upsert({ NoteID: 4, Text: "four again" });
    assert.equal(updated.get("Text"), "four again");
    const inserted = await Notes.upsert({ NoteID: 20, Text: "twenty" });
    assert.equal(inserted.get("Text"), "twenty");
    assert.equal((await Notes.findByIdOrFail(4)).get("Text"), "four again");
  });

  await t.step("multipart/mixed change sets work against CAP too", async () => {
    const multipart = manager.createNamespace("cap-multipart", {
      provider: { type: "http-odata", baseUrl: cap.baseUrl, batchFormat: "multipart" },
    });
    await multipart.registerFromMetadata();
    const M = multipart.getEntity("Notes");
    await rejectsWith(
      M.createMany([{ NoteID: 30, Text: "thirty" }, { NoteID: 2, Text: "duplicate" }]),
      "CONSTRAINT_UNIQUE",
    );
    assert.equal(await M.where("NoteID", 30).count(), 0);
    await multipart.transaction(async (tx) => {
      await tx.getEntity("Notes").createMany([{ NoteID: 30, Text: "thirty" }, {
        NoteID: 31,
        Text: "thirty-one",
      }]);
    });
    assert.equal(await M.where("NoteID", "in", [30, 31]).count(), 2);
    assert.equal(await M.where("NoteID", "in", [30, 31]).delete(), 2);
  });

  await t.step("delete by filter and by id", async () => {
    assert.equal(await Notes.where("NoteID", "ge", 10).delete(), 2);
    assert.equal(await Notes.deleteById(1), 1);
    // CAP answers a keyed write without If-Match with 428 before looking for the row.
    await rejectsWith(Notes.deleteById(1), "PRECONDITION_REQUIRED");
    assert.deepEqual((await Notes.orderBy("NoteID").find()).data.map((r) => r.get("NoteID")), [
      2,
      3,
      4,
    ]);
  });
});
