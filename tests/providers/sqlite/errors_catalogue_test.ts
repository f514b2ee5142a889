/**
 * Errors that never escape the catalogue (issue 7 §6): each case gave PROVIDER_ERROR or a
 * misleading message before.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  EntityNamespaceManager,
  MAX_WHERE_IN_LENGTH,
  ODataActiveRecordError,
  QueryLimitError,
} from "../../../mod.ts";
import { isCode, withDir } from "./helpers.ts";

const PEOPLE = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string", required: true },
    age: { type: "integer" },
    score: { type: "number" },
    at: { type: "datetime" },
  },
} as const;

async function open() {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("e", { provider: { type: "sqlite", filePath: ":memory:" } });
  const People = ns.registerEntity("People", PEOPLE);
  await ns.sync();
  await People.createMany(
    Array.from({ length: 16 }, (_, i) => ({ name: `p${i}`, age: 20 + i, score: i / 2 })),
  );
  return { manager, People, [Symbol.asyncDispose]: () => manager.close() };
}

Deno.test("where(field, 'in', 100,000 ids) works; past the documented limit a QueryLimitError", async () => {
  await using f = await open();
  const ids = Array.from({ length: 100_000 }, (_, i) => i * 2); // even ids 0..199998
  assert.equal(await f.People.where("id", "in", ids).count(), 8);
  const names = Array.from({ length: 100_000 }, (_, i) => `p${i}`);
  assert.equal(await f.People.where("name", "in", names).count(), 16);
  const scores = Array.from({ length: 5_000 }, (_, i) => i); // whole floats stay REAL
  assert.equal(await f.People.where("score", "in", scores).count(), 8);
  // With a null among them: `in` or `eq null`, still one parameter for the values.
  await f.People.create({ name: "ageless" });
  assert.equal(await f.People.where("age", "in", [null, ...ids]).count(), 9); // 8 even + ageless
  assert.equal(await f.People.where("age", "in", [null, ...ids.map(() => null)]).count(), 1);
  await f.People.where("name", "ageless").delete();
  const rows = await f.People.where("id", "in", ids).orderBy("id").find();
  assert.deepEqual(rows.data.map((r) => r.get("id")), [2, 4, 6, 8, 10, 12, 14, 16]);
  const tooMany = new Array<number>(MAX_WHERE_IN_LENGTH + 1).fill(1);
  assert.throws(
    () => f.People.where("id", "in", tooMany),
    (error) => error instanceof QueryLimitError && error.limit === "maxWhereInLength",
  );
});

Deno.test("2,000 chained or() calls give a QueryLimitError, not the store's refusal", async () => {
  await using f = await open();
  const build = () => {
    let query = f.People.where("age", "eq", -1);
    for (let i = 0; i < 2000; i++) query = query.or("age", "eq", i);
    return query;
  };
  assert.throws(build, (error) => error instanceof QueryLimitError && error.limit === "maxNodes");
  // Inside a group too.
  assert.throws(
    () =>
      f.People.where((q) => {
        let group = q.where("age", "eq", -1);
        for (let i = 0; i < 2000; i++) group = group.or("age", "eq", i);
        return group;
      }),
    isCode("QUERY_LIMIT_EXCEEDED"),
  );
  // Below the limit the chain runs.
  let query = f.People.where("age", "eq", -1);
  for (let i = 20; i < 300; i++) query = query.or("age", "eq", i);
  assert.equal(await query.count(), 16);
});

Deno.test("forgetting sync() gives SCHEMA_NOT_SYNCED saying to run sync()", async () => {
  await withDir(async (dir) => {
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("n", {
        provider: { type: "sqlite", filePath: join(dir, "n.db") },
      });
      const People = ns.registerEntity("People", PEOPLE);
      for (const attempt of [() => People.find(), () => People.create({ name: "x" })]) {
        await assert.rejects(attempt, (error) => {
          assert.ok(error instanceof ODataActiveRecordError);
          assert.equal(error.code, "SCHEMA_NOT_SYNCED");
          assert.match(error.message, /sync\(\)/);
          return true;
        });
      }
      await ns.sync();
      assert.equal(await People.count(), 0);
    } finally {
      await manager.close();
    }
  });
});

Deno.test("where() operators are case-insensitive", async () => {
  await using f = await open();
  assert.equal(await f.People.where("age", "EQ", 30).count(), 1);
  assert.equal(await f.People.where("age", "Ge", 30).count(), 6);
  assert.equal(await f.People.where("name", "StartsWith", "p1").count(), 7);
  assert.equal(await f.People.where("age", "IN", [20, 21]).count(), 2);
  // @ts-expect-error: an unknown operator is a compile error too
  assert.throws(() => f.People.where("age", "LIKE", 30), isCode("INVALID_OPERATOR"));
});

Deno.test("NaN is reported as NaN, not as 'Value null'", async () => {
  await using f = await open();
  assert.throws(() => f.People.where("score", "eq", NaN), (error) => {
    assert.ok(error instanceof ODataActiveRecordError);
    assert.equal(error.code, "TYPE_MISMATCH");
    assert.match(error.message, /Value NaN /);
    assert.doesNotMatch(error.message, /null/);
    return true;
  });
  await assert.rejects(f.People.create({ name: "n", score: NaN }), isCode("VALIDATION_FAILED"));
});

Deno.test("datetimes with digits below the millisecond are refused, not silently cut", async () => {
  await using f = await open();
  await assert.rejects(f.People.create({ name: "m", at: "2024-01-01T00:00:00.123456Z" }), (e) => {
    assert.ok(e instanceof ODataActiveRecordError && e.code === "VALIDATION_FAILED");
    assert.match(e.message, /below the millisecond/);
    return true;
  });
  const kept = await f.People.create({ name: "m", at: "2024-01-01T00:00:00.123000Z" });
  assert.equal((kept.get("at") as Date).toISOString(), "2024-01-01T00:00:00.123Z");
  assert.throws(
    () => f.People.where("at", "gt", "2024-01-01T00:00:00.1234Z"),
    isCode("TYPE_MISMATCH"),
  );
});

Deno.test("where({ x: undefined }) says the value is undefined (INVALID_ARGUMENT)", async () => {
  await using f = await open();
  for (
    // @ts-expect-error: undefined is no value at compile time either
    const make of [() => f.People.where({ age: undefined }), () => f.People.where("age", undefined)]
  ) {
    assert.throws(make, (error) => {
      assert.ok(error instanceof ODataActiveRecordError);
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.match(error.message, /age .*undefined/);
      return true;
    });
  }
  assert.equal(await f.People.where({ age: null }).count(), 0);
});

Deno.test("upsert on an existing row updates only the given fields; inserts need required ones", async () => {
  await using f = await open();
  const before = await f.People.findByIdOrFail(3);
  const updated = await f.People.upsert({ id: 3, age: 99 });
  assert.equal(updated.get("age"), 99);
  assert.equal(updated.get("name"), before.get("name"));
  assert.equal(updated.get("score"), before.get("score"));
  await assert.rejects(f.People.upsert({ id: 1000, age: 2 }), (error) => {
    assert.ok(error instanceof ODataActiveRecordError && error.code === "VALIDATION_FAILED");
    assert.match(error.message, /name/);
    return true;
  });
  assert.equal(await f.People.findById(1000), undefined);
  const inserted = await f.People.upsert({ id: 1000, name: "new", age: 2 });
  assert.equal(inserted.get("name"), "new");
  await assert.rejects(
    f.People.upsert({ id: 3, age: "old" as never }),
    isCode("VALIDATION_FAILED"),
  );
  assert.equal((await f.People.findByIdOrFail(3)).get("age"), 99);
});

Deno.test("a stream aborted at row 3 of 16 stops there", async (t) => {
  for (const where of ["memory", "file"]) {
    await t.step(where, async () => {
      await withDir(async (dir) => {
        const manager = new EntityNamespaceManager();
        try {
          const filePath = where === "memory" ? ":memory:" : join(dir, "s.db");
          const ns = manager.createNamespace("s", { provider: { type: "sqlite", filePath } });
          const People = ns.registerEntity("People", PEOPLE);
          await ns.sync();
          await People.createMany(Array.from({ length: 16 }, (_, i) => ({ name: `p${i}` })));
          const controller = new AbortController();
          const seen: unknown[] = [];
          await assert.rejects(async () => {
            for await (const person of People.orderBy("id").stream({ signal: controller.signal })) {
              seen.push(person.get("id"));
              if (seen.length === 3) controller.abort();
            }
          }, isCode("ABORTED"));
          assert.deepEqual(seen, [1, 2, 3]);
        } finally {
          await manager.close();
        }
      });
    });
  }
});
