/** Regression tests for defects found in review; each failed before its fix. */
import assert from "node:assert/strict";
import {
  and,
  type EntityDefinition,
  EntityNamespaceManager,
  eq,
  gt,
  literal,
  ODataActiveRecordError,
  prop,
  ValidationError,
} from "../../mod.ts";

const PRODUCTS: EntityDefinition = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string", required: true },
    price: { type: "decimal", scale: 2 },
    category: { type: "integer" },
    discontinued: { type: "boolean", defaultValue: false },
    at: { type: "datetime" },
  },
};

async function open() {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("r", { provider: { type: "sqlite", filePath: ":memory:" } });
  const P = ns.registerEntity("Products", PRODUCTS);
  await ns.sync();
  await P.createMany([
    { name: "Chai", price: 18, category: 1, discontinued: true, at: "2024-01-31T00:00:00Z" },
    { name: "Chang", price: 19, category: 1, at: "2024-01-31T18:30:00Z" },
    { name: "Aniseed", price: 10, category: 2, at: "2024-02-01T00:00:00Z" },
  ]);
  return { manager, ns, P, [Symbol.asyncDispose]: () => manager.close() };
}

function isCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ODataActiveRecordError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  };
}

Deno.test("update/delete refuse queries narrowed by search, limit, offset or $apply", async () => {
  await using f = await open();
  await assert.rejects(f.P.search("Chai").delete({ all: true }), isCode("NOT_SUPPORTED"));
  await assert.rejects(f.P.where("price", "ge", 0).limit(1).delete(), isCode("NOT_SUPPORTED"));
  await assert.rejects(
    f.P.where("price", "ge", 0).offset(1).update({ name: "x" }),
    isCode("NOT_SUPPORTED"),
  );
  await assert.rejects(
    f.P.query("$apply=filter(price gt 5)").delete({ all: true }),
    isCode("NOT_SUPPORTED"),
  );
  assert.equal(await f.P.count(), 3);
  assert.equal(await f.P.where("name", "Chai").count(), 1);
});

Deno.test("upsert updates only the given fields and refuses ambiguous conflict fields", async () => {
  await using f = await open();
  await f.P.upsert({ id: 1, name: "Chai tea" });
  const chai = (await f.P.findByIdOrFail(1)).toJSON();
  assert.equal(chai.name, "Chai tea");
  assert.equal(chai.discontinued, true); // not reset to the default
  assert.equal(chai.price, "18.00");
  await assert.rejects(
    f.P.upsert({ name: "n", category: 1 }, { conflictFields: ["category"] }),
    isCode("INVALID_ARGUMENT"),
  );
  assert.equal(await f.P.where("name", "n").count(), 0);
  const inserted = await f.P.upsert({ id: 9, name: "New" });
  assert.equal(inserted.get("discontinued"), false); // defaults do apply to new rows
});

Deno.test("count() and exists() honour $apply", async () => {
  await using f = await open();
  assert.equal(await f.P.query("$apply=groupby((category))").count(), 2);
  assert.equal(await f.P.query("$apply=filter(price gt 1000)").exists(), false);
  assert.equal(await f.P.query("$apply=filter(price gt 15)").exists(), true);
});

Deno.test("an AbortSignal.timeout deadline is TIMEOUT, other aborts ABORTED", async () => {
  await using f = await open();
  const deadline = AbortSignal.timeout(1);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await assert.rejects(f.P.find({ signal: deadline }), isCode("TIMEOUT"));
  await assert.rejects(f.P.count({ signal: AbortSignal.abort() }), isCode("ABORTED"));
});

Deno.test("registerEntity refuses broken definitions at once", async () => {
  await using f = await open();
  const bad: [string, unknown][] = [
    ["null field", { fields: { id: { type: "integer", primaryKey: true }, a: null } }],
    ["null relation", {
      fields: { id: { type: "integer", primaryKey: true } },
      relations: { r: null },
    }],
    [
      "relation without foreignKey",
      {
        fields: { id: { type: "integer", primaryKey: true } },
        relations: { r: { type: "one", entity: "X" } },
      },
    ],
    ["scale > precision", {
      fields: {
        id: { type: "integer", primaryKey: true },
        d: { type: "decimal", precision: 2, scale: 4 },
      },
    }],
    ["negative maxLength", {
      fields: { id: { type: "integer", primaryKey: true }, s: { type: "string", maxLength: -1 } },
    }],
    ["bad default", {
      fields: {
        id: { type: "integer", primaryKey: true },
        n: { type: "integer", defaultValue: "abc" },
      },
    }],
    ["unknown format", {
      fields: {
        id: { type: "integer", primaryKey: true },
        d: { type: "date", formats: ["YYYY/DD/MM"] },
      },
    }],
    ["autoIncrement on a string", {
      fields: { id: { type: "string", primaryKey: true, autoIncrement: true } },
    }],
    ["index on an unknown field", {
      fields: { id: { type: "integer", primaryKey: true } },
      indexes: [["nope"]],
    }],
  ];
  for (const [name, definition] of bad) {
    assert.throws(
      () => f.ns.registerEntity(`Bad${bad.findIndex(([n]) => n === name)}`, definition as never),
      isCode("INVALID_SCHEMA"),
      name,
    );
  }
});

Deno.test("sync refuses relations whose fields do not line up", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("s", { provider: { type: "sqlite", filePath: ":memory:" } });
  ns.registerEntity("Pairs", {
    fields: { a: { type: "integer" }, b: { type: "integer" } },
    key: ["a", "b"],
  });
  ns.registerEntity("Refs", {
    fields: { id: { type: "integer", primaryKey: true }, a: { type: "integer" } },
    relations: { pair: { type: "one", entity: "Pairs", foreignKey: "a" } },
  });
  await assert.rejects(ns.sync(), isCode("INVALID_SCHEMA"));
  const other = manager.createNamespace("t", {
    provider: { type: "sqlite", filePath: ":memory:" },
  });
  other.registerEntity("Parents", {
    fields: { id: { type: "integer", primaryKey: true } },
    relations: { kids: { type: "many", entity: "Kids", foreignKey: "parentId" } },
  });
  other.registerEntity("Kids", { fields: { id: { type: "integer", primaryKey: true } } });
  await assert.rejects(other.sync(), isCode("INVALID_SCHEMA"));
  await manager.close();
});

Deno.test("bad arguments to namespaces are coded errors", async () => {
  await using f = await open();
  await assert.rejects(f.ns.transaction(5 as never), isCode("INVALID_ARGUMENT"));
  assert.throws(
    () => f.manager.createNamespace("x", { provider: null } as never),
    isCode("INVALID_CONFIGURATION"),
  );
  assert.throws(
    () => f.manager.createNamespace("y", { provider: {} } as never),
    isCode("INVALID_CONFIGURATION"),
  );
});

Deno.test("where() and filter() take builder ASTs", async () => {
  await using f = await open();
  assert.equal(
    await f.P.where(and(gt(prop("price"), literal(15)), eq(prop("category"), literal(1)))).count(),
    2,
  );
  assert.equal(await f.P.filter(eq(prop("name"), literal("Chai"))).count(), 1);
  assert.throws(() => f.P.filter(42 as never), isCode("INVALID_ARGUMENT"));
});

Deno.test("a bare date against a datetime means the whole day, in where() as in filter()", async () => {
  await using f = await open();
  assert.equal(await f.P.where("at", "eq", "2024-01-31").count(), 2);
  assert.equal(await f.P.filter("at eq 2024-01-31").count(), 2);
  assert.equal(await f.P.where("at", "eq", "2024-01-31T00:00:00Z").count(), 1);
});

Deno.test("createMany reports the issues of every failing row", async () => {
  await using f = await open();
  try {
    await f.P.createMany([{ name: "ok" }, { price: "x" }, { name: 5 }] as never);
    assert.fail("expected a ValidationError");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues.map((i) => i.field).sort(), [
      "[1].name",
      "[1].price",
      "[2].name",
    ]);
  }
  assert.equal(await f.P.count(), 3);
});

Deno.test("a destroyed record cannot be saved back by accident", async () => {
  await using f = await open();
  const chai = await f.P.findByIdOrFail(1);
  await chai.destroy();
  await assert.rejects(chai.save(), isCode("INVALID_ARGUMENT"));
  assert.equal(await f.P.findById(1), undefined);
});
