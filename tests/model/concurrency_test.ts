/**
 * Optimistic concurrency (a `version: true` field checked and moved on by `save()` and
 * `updateById`, stale writes fail with `CONFLICT`) and atomic `increment`/`decrement` (issue 7
 * §4). Real SQLite files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type EntityModel,
  EntityNamespaceManager,
  ODataActiveRecordError,
  resolveEntity,
} from "../../mod.ts";
import { isCode, withDir } from "../providers/sqlite/helpers.ts";

const COUNTERS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string" },
    value: { type: "integer" },
    ratio: { type: "number" },
    version: { type: "integer", version: true },
  },
} as const;

async function counters(dir: string): Promise<{
  manager: EntityNamespaceManager;
  Counters: EntityModel;
  filePath: string;
}> {
  const filePath = join(dir, "c.db");
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("c", { provider: { type: "sqlite", filePath } });
  const Counters = ns.registerEntity("Counters", COUNTERS);
  await ns.sync();
  return { manager, Counters, filePath };
}

function raw(filePath: string, id: number): { value: number; version: number } {
  const db = new DatabaseSync(filePath, { readOnly: true });
  try {
    const row = db.prepare('SELECT "value", "version" FROM "Counters" WHERE "id" = ?').get(id);
    return { ...row } as { value: number; version: number };
  } finally {
    db.close();
  }
}

Deno.test("version: 50 concurrent read-modify-write saves give conflicts, never lost updates", () =>
  withDir(async (dir) => {
    const { manager, Counters, filePath } = await counters(dir);
    const created = await Counters.create({ id: 1, value: 0 });
    assert.equal(created.version, 1); // a version starts at 1
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, async () => {
        const counter = await Counters.findByIdOrFail(1);
        counter.value = (counter.value as number) + 1;
        await counter.save();
        return counter;
      }),
    );
    const saved = results.filter((r) => r.status === "fulfilled").length;
    const conflicts = results.filter((r) => r.status === "rejected");
    for (const conflict of conflicts) {
      assert.ok(isCode("CONFLICT")(conflict.reason), String(conflict.reason));
    }
    assert.ok(saved >= 1);
    assert.ok(conflicts.length > 0, "concurrent stale saves must conflict");
    assert.deepEqual(raw(filePath, 1), { value: saved, version: 1 + saved });
    // A saved record knows its new version and can save again.
    const winner = results.find((r) => r.status === "fulfilled")!;
    const record = (winner as PromiseFulfilledResult<Awaited<ReturnType<typeof Counters.create>>>)
      .value;
    assert.equal(record.version, 1 + saved);
    record.value = 100;
    await record.save();
    assert.deepEqual(raw(filePath, 1), { value: 100, version: 2 + saved });
    await manager.close();
  }));

Deno.test("version: read-modify-write with retry on CONFLICT loses nothing", () =>
  withDir(async (dir) => {
    const { manager, Counters, filePath } = await counters(dir);
    await Counters.create({ id: 1, value: 0 });
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (;;) {
          const counter = await Counters.findByIdOrFail(1);
          counter.value = (counter.value as number) + 1;
          try {
            await counter.save();
            return;
          } catch (error) {
            if (!isCode("CONFLICT")(error)) throw error;
            conflicts++;
          }
        }
      }),
    );
    assert.ok(conflicts > 0);
    assert.deepEqual(raw(filePath, 1), { value: 20, version: 21 });
    await manager.close();
  }));

Deno.test("version: updateById checks a given version and moves it on; others move it too", () =>
  withDir(async (dir) => {
    const { manager, Counters, filePath } = await counters(dir);
    await Counters.create({ id: 1, value: 0 });
    assert.equal(await Counters.updateById(1, { value: 5, version: 1 }), 1);
    assert.deepEqual(raw(filePath, 1), { value: 5, version: 2 });
    const error = await Counters.updateById(1, { value: 6, version: 1 }).catch((e) => e);
    assert.ok(error instanceof ODataActiveRecordError && error.code === "CONFLICT");
    assert.equal(error.status, 412);
    assert.deepEqual(raw(filePath, 1), { value: 5, version: 2 });
    // Without a version: written, and the version moves on (readers of version 2 now conflict).
    assert.equal(await Counters.updateById(1, { value: 7 }), 1);
    assert.deepEqual(raw(filePath, 1), { value: 7, version: 3 });
    await Counters.where("id", 1).update({ name: "bulk" });
    assert.deepEqual(raw(filePath, 1), { value: 7, version: 4 });
    await Counters.upsert({ id: 1, name: "upserted" });
    assert.deepEqual(raw(filePath, 1), { value: 7, version: 5 });
    // A missing row is still "0 rows", not a conflict.
    assert.equal(await Counters.updateById(404, { value: 1, version: 1 }), 0);
    // A stale record: its save conflicts, reload + save works.
    const stale = await Counters.findByIdOrFail(1);
    await Counters.incrementById(1, "value");
    stale.value = 0;
    await assert.rejects(stale.save(), isCode("CONFLICT"));
    await stale.reload();
    stale.value = 0;
    await stale.save();
    assert.deepEqual(raw(filePath, 1), { value: 0, version: 7 });
    await manager.close();
  }));

Deno.test("increment: 50 concurrent increments give +50; by id and on a query; decrement", () =>
  withDir(async (dir) => {
    const { manager, Counters, filePath } = await counters(dir);
    await Counters.createMany([{ id: 1, value: 0 }, { id: 2, value: 10 }, { id: 3 }]);
    const affected = await Promise.all(
      Array.from({ length: 50 }, () => Counters.incrementById(1, "value")),
    );
    assert.deepEqual(new Set(affected), new Set([1]));
    assert.deepEqual(raw(filePath, 1), { value: 50, version: 51 });
    assert.equal(await Counters.where("id", "gt", 1).increment("value", 5), 2);
    assert.equal(raw(filePath, 2).value, 15);
    assert.equal(raw(filePath, 3).value, 5); // null counts as 0
    assert.equal(await Counters.where("id", 2).decrement("value", 3), 1);
    assert.equal(await Counters.decrementById(2, "value"), 1);
    assert.equal(raw(filePath, 2).value, 11);
    await Counters.where("id", 1).increment("ratio", 0.5);
    assert.equal((await Counters.findByIdOrFail(1)).ratio, 0.5);
    assert.equal(await Counters.incrementById(404, "value"), 0);
    await manager.close();
  }));

Deno.test("increment: bad fields, amounts and unfiltered queries are refused", () =>
  withDir(async (dir) => {
    const { manager, Counters, filePath } = await counters(dir);
    await Counters.create({ id: 1, value: 0 });
    await assert.rejects(Counters.incrementById(1, "name"), isCode("INVALID_ARGUMENT"));
    await assert.rejects(Counters.incrementById(1, "id"), isCode("INVALID_ARGUMENT"));
    await assert.rejects(Counters.incrementById(1, "version"), isCode("INVALID_ARGUMENT"));
    await assert.rejects(Counters.incrementById(1, "valeu"), isCode("UNKNOWN_FIELD"));
    await assert.rejects(Counters.incrementById(1, "value", 1.5), isCode("INVALID_ARGUMENT"));
    await assert.rejects(Counters.incrementById(1, "ratio", NaN), isCode("INVALID_ARGUMENT"));
    await assert.rejects(
      Counters.decrementById(1, "value", "2" as unknown as number),
      isCode("INVALID_ARGUMENT"),
    );
    await assert.rejects(Counters.increment("value"), isCode("UNSAFE_OPERATION"));
    await assert.rejects(Counters.limit(1).increment("value"), isCode("NOT_SUPPORTED"));
    assert.deepEqual(raw(filePath, 1), { value: 0, version: 1 });
    assert.equal(await Counters.increment("value", 2, { all: true }), 1);
    assert.deepEqual(raw(filePath, 1), { value: 2, version: 2 });
    await manager.close();
  }));

Deno.test("version: rows older than the version column (null) save and get a version", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "old.db");
    const db = new DatabaseSync(filePath);
    db.exec('CREATE TABLE "Counters" ("id" INTEGER PRIMARY KEY, "value" INTEGER)');
    db.exec('INSERT INTO "Counters" VALUES (1, 5)');
    db.close();
    const manager = new EntityNamespaceManager();
    const ns = manager.createNamespace("old", { provider: { type: "sqlite", filePath } });
    const Counters = ns.registerEntity("Counters", COUNTERS);
    await ns.sync(); // adds the version column, null in the existing row
    const old = await Counters.findByIdOrFail(1);
    assert.equal(old.version, null);
    old.value = 6;
    await old.save();
    assert.deepEqual(raw(filePath, 1), { value: 6, version: 1 });
    await manager.close();
  }));

Deno.test("version: only one integer, non-key field can be the version", () => {
  const code = (fields: Record<string, unknown>) => {
    try {
      resolveEntity("V", { fields: fields as never });
      return "ok";
    } catch (error) {
      return (error as ODataActiveRecordError).code;
    }
  };
  const id = { type: "integer", primaryKey: true };
  assert.equal(code({ id, v: { type: "integer", version: true } }), "ok");
  assert.equal(code({ id, v: { type: "string", version: true } }), "INVALID_SCHEMA");
  assert.equal(code({ id: { ...id, version: true } }), "INVALID_SCHEMA");
  assert.equal(
    code({ id, v: { type: "integer", version: true }, w: { type: "integer", version: true } }),
    "INVALID_SCHEMA",
  );
  const meta = resolveEntity("V", {
    fields: { id: { type: "integer", primaryKey: true }, v: { type: "integer", version: true } },
  });
  assert.equal(meta.versionField, "v");
  assert.equal(meta.fields.get("v")!.nullable, false);
});
