/**
 * Bulk writes (issue 7 §5): createMany writes through prepared multi-row statements in chunks
 * that yield to the event loop, still all or nothing. Speed is measured by
 * bench/create_many_ratio.ts, not here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EntityNamespaceManager, ODataActiveRecordError } from "../../../mod.ts";
import { isCode, withDir } from "./helpers.ts";

const ITEMS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string", required: true, unique: true },
    quantity: { type: "integer" },
    price: { type: "decimal", scale: 2 },
    loose: { type: "decimal" },
    added: { type: "datetime" },
    active: { type: "boolean" },
    tags: { type: "json" },
  },
} as const;

const base = Date.UTC(2024, 0, 1);
function items(count: number, from = 0) {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      name: `item ${i}`,
      quantity: i % 1000,
      price: `${i % 10000}.${String(i % 100).padStart(2, "0")}`,
      loose: i % 7 === 0 ? "1.50" : String(i / 4),
      added: new Date(base + i * 1000),
      active: i % 3 === 0,
      tags: i % 5 === 0 ? [i] : null,
    };
  });
}

async function withItems(
  fn: (
    Items: ReturnType<typeof register>["Items"],
    ns: ReturnType<typeof register>["ns"],
  ) => Promise<void>,
) {
  await withDir(async (dir) => {
    const manager = new EntityNamespaceManager();
    try {
      const { ns, Items } = register(manager, join(dir, "bulk.db"));
      await ns.sync();
      await fn(Items, ns);
    } finally {
      await manager.close();
    }
  });
}

function register(manager: EntityNamespaceManager, filePath: string) {
  const ns = manager.createNamespace("bulk", { provider: { type: "sqlite", filePath } });
  return { ns, Items: ns.registerEntity("Items", ITEMS) };
}

Deno.test("createMany returns what findById reads, keys included, across batches and tails", async () => {
  await withItems(async (Items) => {
    await Items.create({ ...items(1, 10_000)[0]!, id: 500 }); // generated keys continue after it
    const rows = items(3_000 + 37);
    // Mixed shapes: some rows give their key, some leave out optional fields.
    rows[5] = { ...rows[5]!, id: 9_000 } as never;
    delete (rows[700] as Record<string, unknown>).quantity;
    const created = await Items.createMany(rows);
    assert.equal(created.length, rows.length);
    assert.equal(await Items.count(), rows.length + 1);
    const keys = created.map((record) => record.get("id") as number);
    assert.equal(new Set(keys).size, keys.length);
    for (const index of [0, 4, 5, 6, 63, 64, 699, 700, 701, 2_999, 3_036]) {
      const record = created[index]!;
      const read = await Items.findByIdOrFail(record.get("id"));
      for (const name of Object.keys(rows[index]!)) {
        assert.deepEqual(record.get(name), read.get(name), `row ${index}, ${name}`);
      }
      assert.equal(read.get("name"), rows[index]!.name);
    }
    assert.equal(created[5]!.get("id"), 9_000);
    assert.equal(created[0]!.get("price"), "0.00");
    assert.equal(created[7]!.get("loose"), "1.5"); // unscaled decimals read back as stored
  });
});

Deno.test("createMany with { returning: false } writes every row and returns the count", async () => {
  await withItems(async (Items) => {
    const written = await Items.createMany(items(2_500), { returning: false });
    assert.equal(written, 2_500);
    assert.equal(await Items.count(), 2_500);
    assert.equal(await Items.createMany([], { returning: false }), 0);
    const last = await Items.where("name", "item 2499").findOne();
    assert.equal(last?.get("price"), "2499.99");
  });
});

Deno.test("a failure in a late chunk of createMany leaves nothing behind", async () => {
  await withItems(async (Items) => {
    await Items.create({ name: "taken" });
    const rows = items(20_000);
    rows[19_990] = { ...rows[19_990]!, name: "taken" }; // unique violation near the end
    await assert.rejects(Items.createMany(rows), isCode("CONSTRAINT_UNIQUE"));
    assert.equal(await Items.count(), 1);
    await assert.rejects(Items.createMany(rows, { returning: false }), isCode("CONSTRAINT_UNIQUE"));
    assert.equal(await Items.count(), 1);
  });
});

Deno.test("inside a transaction a failed createMany undoes only its own rows", async () => {
  await withItems(async (Items, ns) => {
    await ns.transaction(async (tx) => {
      const T = tx.getEntity("Items");
      await T.create({ name: "kept" });
      const rows = items(3_000);
      rows[2_900] = { ...rows[2_900]!, name: "kept" };
      await assert.rejects(T.createMany(rows), isCode("CONSTRAINT_UNIQUE"));
      await T.create({ name: "also kept" });
    });
    assert.deepEqual(
      (await Items.orderBy("id").find()).data.map((r) => r.get("name")),
      ["kept", "also kept"],
    );
  });
});

Deno.test("a big createMany lets timers run, and others wait for its transaction", async () => {
  await withItems(async (Items) => {
    let fired = false;
    const timer = setTimeout(() => (fired = true), 0);
    let firedBeforeEnd = false;
    const writing = Items.createMany(items(60_000), { returning: false }).then((count) => {
      firedBeforeEnd = fired;
      return count;
    });
    // A read started meanwhile sees all rows or none: it waits for the insert's transaction.
    const counted = Items.count();
    assert.equal(await writing, 60_000);
    clearTimeout(timer);
    assert.ok(firedBeforeEnd, "the timer fired while createMany ran");
    assert.ok([0, 60_000].includes(await counted));
  });
});

Deno.test("createMany stops at an abort between chunks and writes nothing", async () => {
  await withItems(async (Items) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 0);
    await assert.rejects(
      Items.createMany(items(60_000), { signal: controller.signal }),
      (error) => error instanceof ODataActiveRecordError && error.code === "ABORTED",
    );
    assert.equal(await Items.count(), 0);
  });
});
