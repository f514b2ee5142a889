/**
 * Reads decode rows straight into records (a row builder) and records keep their snapshot as
 * the stored row until they need it: these tests pin what that must not change. Expanded
 * records of a shape the builder cannot make (a field with a reserved name) are wrapped as
 * before; in-place changes of expanded records are seen; a record read again after save() is
 * clean.
 */

import assert from "node:assert/strict";
import { ActiveRecord, EntityNamespaceManager } from "../../mod.ts";

async function open() {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("built", {
    provider: { type: "sqlite", filePath: ":memory:" },
    entities: {
      Owners: {
        fields: { id: { type: "integer", primaryKey: true }, name: { type: "string" } },
        relations: {
          items: { type: "many", entity: "Items", foreignKey: "ownerId" },
          events: { type: "many", entity: "Events", foreignKey: "ownerId" },
        },
      },
      Items: {
        fields: {
          id: { type: "integer", primaryKey: true },
          key: { type: "string" },
          ownerId: { type: "integer" },
        },
      },
      Events: {
        fields: {
          id: { type: "integer", primaryKey: true },
          at: { type: "datetime" },
          data: { type: "json" },
          ownerId: { type: "integer" },
        },
      },
    },
  });
  await ns.sync();
  await ns.getEntity("Owners").create({ name: "Ann" });
  await ns.getEntity("Items").create({ key: "k1", ownerId: 1 });
  await ns.getEntity("Events").create({ at: "2024-01-31T10:00:00Z", data: { n: [1] }, ownerId: 1 });
  return { ns, manager };
}

Deno.test("expanded records whose fields have reserved names are records too", async () => {
  const { ns, manager } = await open();
  try {
    const owner = await ns.getEntity("Owners").expand("items").findOne();
    assert.ok(owner instanceof ActiveRecord);
    const [item] = owner.items as ActiveRecord[];
    assert.ok(item instanceof ActiveRecord);
    assert.equal(item.get("key"), "k1");
    assert.deepEqual(owner.toJSON(), {
      id: 1,
      name: "Ann",
      items: [{ id: 1, key: "k1", ownerId: 1 }],
    });
  } finally {
    await manager.close();
  }
});

Deno.test("in-place changes to expanded records' values are seen and saved", async () => {
  const { ns, manager } = await open();
  try {
    const owner = await ns.getEntity("Owners").expand("events").findOne();
    const [event] = owner!.events as (ActiveRecord & { at: Date; data: { n: number[] } })[];
    assert.equal(event!.isDirty, false);
    event!.at.setUTCFullYear(2030);
    event!.data.n.push(2);
    assert.deepEqual(Object.keys(event!.changes), ["at", "data"]);
    await event!.save();
    assert.equal(event!.isDirty, false);
    const stored = await ns.getEntity("Events").findByIdOrFail(1);
    assert.equal((stored.at as Date).toISOString(), "2030-01-31T10:00:00.000Z");
    assert.deepEqual(stored.data, { n: [1, 2] });
    assert.equal(stored.isDirty, false);
    assert.deepEqual(stored.key, 1);
  } finally {
    await manager.close();
  }
});

Deno.test("a list read gives separate records with their own snapshots", async () => {
  const { ns, manager } = await open();
  try {
    const Events = ns.getEntity("Events");
    await Events.create({ at: "2024-02-01T00:00:00Z", data: [1], ownerId: 1 });
    const { data } = await Events.orderBy("id").find();
    assert.equal(data.length, 2);
    (data[1]!.data as number[]).push(2);
    assert.equal(data[0]!.isDirty, false);
    assert.deepEqual(data[1]!.changes, { data: [1, 2] });
    await data[1]!.reload();
    assert.deepEqual(data[1]!.data, [1]);
    assert.equal(data[1]!.isDirty, false);
  } finally {
    await manager.close();
  }
});
