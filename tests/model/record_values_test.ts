/**
 * Records behave as values (issue 7 §2): they print with their entity name and values, spread
 * and clone as their fields, refuse unknown properties and navigation assignments with coded
 * errors, come back from create() exactly as findById() reads them, and see in-place changes to
 * json, datetime and binary values.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect as nodeInspect } from "node:util";
import {
  defineEntities,
  EntityNamespaceManager,
  jsonOf,
  ODataActiveRecordError,
} from "../../mod.ts";

const ENTITIES = defineEntities({
  Categories: {
    fields: {
      CategoryID: { type: "integer", primaryKey: true },
      CategoryName: { type: "string", required: true },
    },
    relations: { Products: { type: "many", entity: "Products", foreignKey: "CategoryID" } },
  },
  Products: {
    fields: {
      ProductID: { type: "integer", primaryKey: true },
      ProductName: { type: "string", required: true },
      UnitPrice: { type: "decimal", precision: 10, scale: 2 },
      CategoryID: { type: "integer" },
      Tags: { type: "json", of: jsonOf<number[]>() },
      Added: { type: "datetime" },
      Code: { type: "binary" },
      Discontinued: { type: "boolean", defaultValue: false },
    },
    relations: { Category: { type: "one", entity: "Categories", foreignKey: "CategoryID" } },
  },
});

async function open() {
  const dir = await mkdtemp(join(tmpdir(), "oar-values-"));
  const manager = new EntityNamespaceManager();
  const shop = manager.createNamespace("shop", {
    provider: { type: "sqlite", filePath: join(dir, "shop.db") },
    entities: ENTITIES,
  });
  await shop.sync();
  await shop.getEntity("Categories").create({ CategoryName: "Beverages" });
  const Product = shop.getEntity("Products");
  await Product.create({
    ProductName: "Chai",
    UnitPrice: 18,
    CategoryID: 1,
    Tags: [1],
    Added: "2024-01-31T10:00:00Z",
    Code: new Uint8Array([1, 2, 3]),
  });
  return {
    shop,
    Product,
    Category: shop.getEntity("Categories"),
    async [Symbol.asyncDispose]() {
      await manager.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const CHAI = {
  ProductID: 1,
  ProductName: "Chai",
  UnitPrice: "18.00",
  CategoryID: 1,
  Tags: [1],
  Added: new Date("2024-01-31T10:00:00Z"),
  Code: new Uint8Array([1, 2, 3]),
  Discontinued: false,
};

function isCode(code: string): (error: unknown) => boolean {
  return (error) => error instanceof ODataActiveRecordError && error.code === code;
}

Deno.test("records print with the entity name and their values", async () => {
  await using f = await open();
  const chai = await f.Product.findByIdOrFail(1);
  const deno = Deno.inspect(chai);
  assert.match(
    deno,
    /^Products \{\n {2}ProductID: 1,\n {2}ProductName: "Chai",\n {2}UnitPrice: "18\.00",/,
  );
  assert.match(nodeInspect(chai), /^Products \{\n {2}ProductID: 1,\n {2}ProductName: 'Chai',/);
  const found = await f.Product.expand("Category").find();
  const printed = Deno.inspect(found, { depth: 6 });
  assert.match(printed, /data: \[\n {4}Products \{\n {6}ProductID: 1,/);
  assert.match(printed, /Category: Categories \{ CategoryID: 1, CategoryName: "Beverages" \}/);
  const nested = Deno.inspect(await f.Category.expand("Products").findOne(), { depth: 6 });
  assert.match(nested, /^Categories \{[\s\S]*Products: \[\n {4}Products \{\n {6}ProductID: 1,/);
});

Deno.test("spread, keys, entries, assign and structuredClone see the field values", async () => {
  await using f = await open();
  const chai = await f.Product.findByIdOrFail(1);
  assert.deepEqual({ ...chai }, CHAI);
  assert.deepEqual(Object.keys(chai), Object.keys(CHAI));
  assert.deepEqual(Object.entries(chai), Object.entries(CHAI));
  assert.deepEqual(Object.assign({}, chai), CHAI);
  assert.deepEqual(structuredClone(chai), CHAI);
  assert.equal(JSON.stringify(chai), JSON.stringify(CHAI));
  chai.ProductName = "Chai tea";
  assert.equal({ ...chai }.ProductName, "Chai tea"); // unsaved changes are the current values
  const [picked] = (await f.Product.select(["ProductID", "UnitPrice"]).find()).data;
  assert.deepEqual({ ...picked }, { ProductID: 1, UnitPrice: "18.00" });
});

Deno.test("assigning an unknown property or a navigation property is a coded error", async () => {
  await using f = await open();
  const chai = await f.Product.findByIdOrFail(1);
  assert.throws(() => {
    (chai as unknown as Record<string, unknown>).ProductNam = "x";
  }, (error) => isCode("UNKNOWN_FIELD")(error) && /Did you mean 'ProductName'/.test(String(error)));
  assert.equal(Object.hasOwn(chai, "ProductNam"), false);
  assert.throws(() => Object.assign(chai, { Bogus: 1 }), isCode("UNKNOWN_FIELD"));
  assert.equal(Object.hasOwn(chai, "Bogus"), false);
  Object.assign(chai, { ProductName: "Chai tea" }); // known fields assign as usual
  assert.deepEqual(chai.changes, { ProductName: "Chai tea" });
  chai.ProductName = "Chai";
  assert.equal(chai.isDirty, false);
  assert.throws(() => chai.set("Nope" as "ProductName", "x"), isCode("UNKNOWN_FIELD"));
  const expanded = await f.Product.expand("Category").findOne();
  for (const record of [chai, expanded!]) {
    assert.throws(() => {
      (record as unknown as Record<string, unknown>).Category = null;
    }, (error) =>
      isCode("INVALID_ARGUMENT")(error) &&
      /set CategoryID/.test((error as ODataActiveRecordError).suggestion ?? ""));
  }
  assert.equal(expanded!.Category?.CategoryName, "Beverages");
  const category = await f.Category.findByIdOrFail(1);
  assert.throws(() => {
    (category as unknown as Record<string, unknown>).Products = [];
  }, isCode("INVALID_ARGUMENT"));
});

Deno.test("create() returns exactly what findById() reads", async () => {
  await using f = await open();
  const created = await f.Product.create({ ProductName: "Chang", UnitPrice: "19.5" });
  const found = await f.Product.findByIdOrFail(created.ProductID);
  const expected = {
    ProductID: 2,
    ProductName: "Chang",
    UnitPrice: "19.50",
    CategoryID: null,
    Tags: null,
    Added: null,
    Code: null,
    Discontinued: false,
  };
  assert.deepEqual({ ...created }, expected);
  assert.deepEqual({ ...found }, expected);
  assert.deepEqual(Object.keys(created), Object.keys(found));
  const [many] = await f.Product.createMany([{ ProductID: 10, ProductName: "Aniseed" }]);
  assert.deepEqual({ ...many }, { ...(await f.Product.findByIdOrFail(10)) });
  const built = f.Product.build({ ProductName: "Ikura", Added: 0 });
  await built.save();
  assert.deepEqual({ ...built }, { ...(await f.Product.findByIdOrFail(built.ProductID)) });
  assert.deepEqual(built.Added, new Date(0));
  const upserted = await f.Product.upsert({ ProductID: 20, ProductName: "Konbu" });
  assert.deepEqual({ ...upserted }, { ...(await f.Product.findByIdOrFail(20)) });
});

Deno.test("in-place changes to json, datetime and binary values are saved", async () => {
  await using f = await open();
  const chai = await f.Product.findByIdOrFail(1);
  assert.equal(chai.isDirty, false);
  chai.Tags!.push(2);
  assert.equal(chai.isDirty, true);
  assert.deepEqual(chai.changes, { Tags: [1, 2] });
  await chai.save();
  assert.equal(chai.isDirty, false);
  assert.deepEqual((await f.Product.findByIdOrFail(1)).Tags, [1, 2]);

  chai.Added!.setUTCFullYear(2030);
  assert.equal(chai.isDirty, true);
  chai.Code![0] = 9;
  assert.deepEqual(Object.keys(chai.changes), ["Added", "Code"]);
  await chai.save();
  const stored = await f.Product.findByIdOrFail(1);
  assert.equal(stored.Added!.toISOString(), "2030-01-31T10:00:00.000Z");
  assert.deepEqual(stored.Code, new Uint8Array([9, 2, 3]));

  // Equal values are no change; reload drops changes made in place.
  stored.Added = new Date("2030-01-31T10:00:00Z");
  stored.Tags = [1, 2];
  stored.UnitPrice = "18.00";
  assert.equal(stored.isDirty, false);
  stored.Tags!.push(3);
  await stored.reload();
  assert.equal(stored.isDirty, false);
  assert.deepEqual(stored.Tags, [1, 2]);
});

Deno.test("a typed namespace registers its entities; registerEntities chains", async () => {
  await using f = await open();
  assert.equal(f.shop.hasEntity("Categories") && f.shop.hasEntity("Products"), true);
  const manager = new EntityNamespaceManager();
  try {
    const notes = manager.createNamespace("n", {
      provider: { type: "sqlite", filePath: ":memory:" },
    });
    const same = notes.registerEntities({
      Notes: { fields: { id: { type: "integer", primaryKey: true }, text: { type: "string" } } },
    });
    assert.equal(same, notes);
    await same.sync();
    const note = await same.getEntity("Notes").create({ text: "hello" });
    assert.deepEqual({ ...note }, { id: 1, text: "hello" });
    assert.throws(
      () =>
        manager.createNamespace("bad", {
          provider: { type: "sqlite", filePath: ":memory:" },
          entities: { Bad: { fields: {} } },
        }),
      isCode("INVALID_SCHEMA"),
    );
    assert.equal(manager.hasNamespace("bad"), false);
  } finally {
    await manager.close();
  }
});

Deno.test("fields and relations named like record members stay reachable", async () => {
  const manager = new EntityNamespaceManager();
  try {
    const ns = manager.createNamespace("odd", {
      provider: { type: "sqlite", filePath: ":memory:" },
      entities: {
        Owners: { fields: { id: { type: "integer", primaryKey: true } } },
        Items: {
          fields: {
            id: { type: "integer", primaryKey: true },
            key: { type: "string" },
            ownerId: { type: "integer" },
          },
          relations: { model: { type: "one", entity: "Owners", foreignKey: "ownerId" } },
        },
      },
    });
    await ns.sync();
    await ns.getEntity("Owners").create({});
    const Item = ns.getEntity("Items");
    const item = await Item.create({ key: "a", ownerId: 1 });
    assert.equal(item.get("key"), "a");
    item.set("key", "b");
    assert.equal(item.isDirty, true);
    await item.save();
    assert.equal((await Item.findByIdOrFail(1)).get("key"), "b");
    const expanded = await Item.expand("model").findOne();
    assert.deepEqual(expanded!.toJSON(), { id: 1, key: "b", ownerId: 1, model: { id: 1 } });
    assert.equal(expanded!.model, Item); // the member wins; the navigation is reachable by get()
    assert.deepEqual(expanded!.get("model")?.toJSON(), { id: 1 });
    await assert.rejects(
      Item.build({ key: "c", nope: 1 } as never).save(),
      isCode("VALIDATION_FAILED"),
    );
  } finally {
    await manager.close();
  }
});

Deno.test("a record resolves a promise as a value, also with a field named then", async () => {
  const manager = new EntityNamespaceManager();
  try {
    const ns = manager.createNamespace("then", {
      provider: { type: "sqlite", filePath: ":memory:" },
      entities: {
        Steps: {
          fields: { id: { type: "integer", primaryKey: true }, then: { type: "string" } },
        },
      },
    });
    await ns.sync();
    const Steps = ns.getEntity("Steps");
    await Steps.create({ then: "next" });
    const step = await Promise.resolve(Steps.findByIdOrFail(1));
    assert.equal(step.get("then"), "next");
    assert.deepEqual(step.toJSON(), { id: 1, then: "next" });
  } finally {
    await manager.close();
  }
});
