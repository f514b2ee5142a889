import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type EntityDefinition,
  type EntityNamespace,
  EntityNamespaceManager,
  ODataActiveRecordError,
  ODataSyntaxError,
  ValidationError,
} from "../../mod.ts";

const TASKS: EntityDefinition = {
  fields: {
    id: { type: "integer", primaryKey: true },
    title: { type: "string", required: true, maxLength: 50 },
    done: { type: "boolean", defaultValue: false },
    priority: { type: "integer", enum: [1, 2, 3], defaultValue: 2 },
    estimate: { type: "decimal", precision: 6, scale: 2 },
    ratio: { type: "number" },
    due: { type: "date", formats: ["DD/MM/YYYY"] },
    createdAt: { type: "datetime" },
    at: { type: "time" },
    ref: { type: "guid" },
    meta: { type: "json" },
    blob: { type: "binary" },
    projectId: { type: "integer" },
  },
  relations: { project: { type: "one", entity: "Projects", foreignKey: "projectId" } },
};
const PROJECTS: EntityDefinition = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string", required: true, unique: true },
  },
  relations: { tasks: { type: "many", entity: "Tasks", foreignKey: "projectId" } },
};

interface Fixture extends AsyncDisposable {
  manager: EntityNamespaceManager;
  ns: EntityNamespace;
  filePath: string;
  dir: string;
}

async function open(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), "oar-ar-"));
  const filePath = join(dir, "app.db");
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("app", { provider: { type: "sqlite", filePath } });
  ns.registerEntity("Projects", PROJECTS);
  ns.registerEntity("Tasks", TASKS);
  await ns.sync();
  await ns.getEntity("Projects").createMany([{ name: "Home" }, { name: "Work" }]);
  await ns.getEntity("Tasks").createMany([
    { title: "Buy milk", projectId: 1, estimate: "0.5", due: "2026-01-10", priority: 1 },
    {
      title: "Write report",
      projectId: 2,
      estimate: 3,
      done: true,
      due: "2026-02-01",
      priority: 3,
    },
    { title: "Call Bob", projectId: 2, estimate: "1.25", createdAt: "2026-01-01T10:00:00+02:00" },
    { title: "Fix bike", estimate: null, meta: { tags: ["x"] } },
  ]);
  return {
    manager,
    ns,
    filePath,
    dir,
    async [Symbol.asyncDispose]() {
      await manager.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function rejectsCode(
  promise: Promise<unknown> | (() => unknown),
  code: string,
): Promise<ODataActiveRecordError> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError, `not a module error: ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

function rawCount(filePath: string, table: string): number {
  const db = new DatabaseSync(filePath);
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

Deno.test("namespaces: created without I/O, isolated, removable", async () => {
  const dir = await mkdtemp(join(tmpdir(), "oar-ns-"));
  const manager = new EntityNamespaceManager();
  try {
    const missing = join(dir, "no-such-dir", "x.db");
    const broken = manager.createNamespace("broken", {
      provider: { type: "sqlite", filePath: missing },
    });
    assert.equal(manager.getNamespace("broken"), broken); // no I/O happened yet
    await rejectsCode(broken.connect(), "PROVIDER_UNAVAILABLE");

    const a = manager.createNamespace("tenant_a", {
      provider: { type: "sqlite", filePath: join(dir, "a.db") },
    });
    const b = manager.createNamespace("tenant_b", {
      provider: { type: "sqlite", filePath: join(dir, "b.db") },
    });
    for (const ns of [a, b]) {
      ns.registerEntity("Notes", {
        fields: { id: { type: "integer", primaryKey: true }, text: { type: "string" } },
      });
      await ns.sync();
    }
    await a.getEntity("Notes").create({ text: "only in a" });
    assert.equal(await a.getEntity("Notes").count(), 1);
    assert.equal(await b.getEntity("Notes").count(), 0);
    assert.deepEqual(manager.getAllNamespaces().map((n) => n.name), [
      "broken",
      "tenant_a",
      "tenant_b",
    ]);

    const unknown = await rejectsCode(() => manager.getNamespace("tenant_c"), "UNKNOWN_NAMESPACE");
    assert.match(unknown.message, /Did you mean 'tenant_a'|Did you mean 'tenant_b'/);
    await rejectsCode(
      () =>
        manager.createNamespace("tenant_a", { provider: { type: "sqlite", filePath: ":memory:" } }),
      "NAMESPACE_EXISTS",
    );
    await rejectsCode(
      () =>
        manager.createNamespace("bad name!", {
          provider: { type: "sqlite", filePath: ":memory:" },
        }),
      "INVALID_ARGUMENT",
    );
    await rejectsCode(
      () => manager.createNamespace("x", { provider: { type: "nosuch" } as never }).connect(),
      "UNKNOWN_PROVIDER",
    );

    await manager.removeNamespace("tenant_a");
    assert.equal(manager.hasNamespace("tenant_a"), false);
    await rejectsCode(a.getEntity("Notes").count(), "CLOSED");
    await rejectsCode(() => a.getEntity("Nope"), "UNKNOWN_ENTITY");
  } finally {
    await manager.close();
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("entities: registration errors and getEntity", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("s", { provider: { type: "sqlite", filePath: ":memory:" } });
  await rejectsCode(
    () => ns.registerEntity("NoKey", { fields: { a: { type: "string" } } }),
    "INVALID_SCHEMA",
  );
  await rejectsCode(
    () =>
      ns.registerEntity("BadType", { fields: { a: { type: "text" as never, primaryKey: true } } }),
    "INVALID_SCHEMA",
  );
  await rejectsCode(
    () => ns.registerEntity("Bad;Name", { fields: { a: { type: "integer", primaryKey: true } } }),
    "INVALID_SCHEMA",
  );
  const Notes = ns.registerEntity("Notes", {
    fields: { id: { type: "integer", primaryKey: true } },
  });
  assert.equal(ns.getEntity("Notes"), Notes);
  await rejectsCode(
    () => ns.registerEntity("Notes", { fields: { id: { type: "integer", primaryKey: true } } }),
    "ENTITY_EXISTS",
  );
  const unknown = await rejectsCode(() => ns.getEntity("Note"), "UNKNOWN_ENTITY");
  assert.match(unknown.message, /Did you mean 'Notes'\?/);
  ns.registerEntity("Orphans", {
    fields: { id: { type: "integer", primaryKey: true }, parentId: { type: "integer" } },
    relations: { parent: { type: "one", entity: "Missing", foreignKey: "parentId" } },
  });
  await rejectsCode(ns.sync(), "INVALID_SCHEMA");
  await manager.close();
});

Deno.test("sync: creates, adds columns, reports drift, keeps data", async () => {
  await using f = await open();
  const db = new DatabaseSync(f.filePath);
  db.exec('ALTER TABLE "Tasks" ADD COLUMN "legacy" TEXT');
  db.close();
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("again", {
    provider: { type: "sqlite", filePath: f.filePath },
  });
  ns.registerEntity("Projects", {
    ...PROJECTS,
    fields: {
      ...PROJECTS.fields,
      name: { type: "integer", required: true },
      color: { type: "string" },
    },
  });
  ns.registerEntity("Tasks", TASKS);
  const report = await ns.sync();
  assert.deepEqual(report.createdTables, []);
  assert.deepEqual(report.addedColumns, ["Projects.color"]);
  const kinds = report.warnings.map((w) => `${w.kind}:${w.column}`).sort();
  assert.deepEqual(kinds, ["extra-column:legacy", "missing-column:color", "type-mismatch:name"]);
  assert.equal(await ns.getEntity("Tasks").count(), 4); // data kept
  await manager.close();
});

Deno.test("queries are immutable and every where form works", async () => {
  await using f = await open();
  const Tasks = f.ns.getEntity("Tasks");
  const base = Tasks.where("done", false);
  const narrowed = base.where("priority", "eq", 1);
  assert.equal(await base.count(), 3);
  assert.equal(await narrowed.count(), 1);
  assert.notEqual(base.ast, narrowed.ast);

  assert.equal(await Tasks.where("estimate", "gt", 1).count(), 2);
  assert.equal(await Tasks.where("estimate", ">=", "1.25").count(), 2);
  assert.equal(await Tasks.where("estimate", "lt", 1).count(), 1);
  assert.equal(await Tasks.where("estimate", "le", 0.5).count(), 1);
  assert.equal(await Tasks.where("estimate", "ne", null).count(), 3);
  assert.equal(await Tasks.where("estimate", "eq", null).count(), 1);
  assert.equal(await Tasks.where("title", "ne", "Buy milk").count(), 3);
  assert.equal(await Tasks.where("title", "contains", "i").count(), 3);
  assert.equal(await Tasks.where("title", "contains", "I").count(), 0);
  assert.equal(await Tasks.where("title", "startswith", "Ca").count(), 1);
  assert.equal(await Tasks.where("title", "endswith", "bike").count(), 1);
  assert.equal(await Tasks.where("priority", "in", [1, 3]).count(), 2);
  assert.equal(await Tasks.where("priority", "in", []).count(), 0);
  assert.equal(await Tasks.where({ done: true, priority: 3 }).count(), 1);
  assert.equal(
    await Tasks.where((q) => q.where("priority", 1).or("priority", 3)).where("done", false).count(),
    1,
  );
  assert.equal(await Tasks.where("priority", 1).or("done", true).count(), 2);
  assert.equal(await Tasks.where("due", "ge", "01/02/2026").count(), 1); // declared DD/MM/YYYY
  assert.equal(await Tasks.where("createdAt", "eq", "2026-01-01T08:00:00Z").count(), 1); // offsets normalised
  assert.equal(await Tasks.where("project/name", "eq", "Work").count(), 2);
  assert.equal(await Tasks.filter("project/name eq 'Work' and estimate gt 2").count(), 1);
  assert.equal(await f.ns.getEntity("Projects").filter("tasks/any(t: t/done eq true)").count(), 1);

  await rejectsCode(() => Tasks.where("title", "gt", undefined), "INVALID_ARGUMENT");
  await rejectsCode(() => Tasks.where("done", "gt", true), "INVALID_OPERATOR");
  await rejectsCode(() => Tasks.where("priority", "contains", "1"), "INVALID_OPERATOR");
  // @ts-expect-error: "like" is no operator; checked at compile time and at run time
  await rejectsCode(() => Tasks.where("priority", "like", 1), "INVALID_OPERATOR");
  await rejectsCode(() => Tasks.where("priority", "eq", "high"), "TYPE_MISMATCH");
  await rejectsCode(() => Tasks.where("due", "eq", "01/02/2026 tomorrow"), "TYPE_MISMATCH");
  await rejectsCode(() => Tasks.where("createdAt", "eq", "01/02/2026"), "TYPE_MISMATCH"); // no guess
  await rejectsCode(() => Tasks.where("project/missing", "eq", 1), "UNKNOWN_FIELD");
  await rejectsCode(
    () => f.ns.getEntity("Projects").where("tasks/title", "eq", "x"),
    "INVALID_ARGUMENT",
  );
  const typo = await rejectsCode(() => Tasks.where("titel", "eq", "x"), "UNKNOWN_FIELD");
  assert.equal(typo.message, "Unknown field 'titel' on Tasks. Did you mean 'title'?");
  await rejectsCode(() => Tasks.where(() => undefined as never), "INVALID_ARGUMENT");
});

Deno.test("select, orderBy, limit, offset, withCount, search, query string", async () => {
  await using f = await open();
  const Tasks = f.ns.getEntity("Tasks");
  const { data, count, warnings, metadata } = await Tasks.select(["id", "title"]).orderBy(
    "title",
    "desc",
  ).limit(2)
    .offset(1).withCount().find();
  assert.deepEqual(data.map((t) => t.toJSON()), [{ id: 4, title: "Fix bike" }, {
    id: 3,
    title: "Call Bob",
  }]);
  assert.equal(count, 4);
  assert.deepEqual(warnings, []);
  assert.ok(metadata.executionTime >= 0);
  const nullsFirst = await Tasks.orderBy("estimate").find();
  assert.equal(nullsFirst.data[0]!.get("title"), "Fix bike");
  assert.deepEqual(
    (await Tasks.search("report OR bike").orderBy("id").find()).data.map((t) => t.get("id")),
    [2, 4],
  );
  const keyless = await Tasks.select(["title"]).limit(1).find();
  assert.deepEqual(keyless.warnings, [
    "select() leaves out the key (id): these Tasks records cannot be saved, reloaded or destroyed",
  ]);
  const viaText = await Tasks.query(
    "$filter=priority eq 2&$orderby=id desc&$top=1&$count=true&$select=id",
  ).find();
  assert.deepEqual(viaText.data.map((t) => t.toJSON()), [{ id: 4 }]);
  assert.equal(viaText.count, 2);
  assert.equal(Tasks.where("done", true).limit(3).toString(), "$filter=done%20eq%20true&$top=3");
  await rejectsCode(() => Tasks.limit(-1), "INVALID_ARGUMENT");
  await rejectsCode(() => Tasks.offset(1.5), "INVALID_ARGUMENT");
  await rejectsCode(() => Tasks.orderBy("title", "up" as "asc"), "INVALID_ARGUMENT");
  await rejectsCode(() => Tasks.select(["nope"]), "UNKNOWN_FIELD");
  assert.throws(() => Tasks.filter("title eq 'x"), ODataSyntaxError);
  assert.throws(() => Tasks.query("$filter=title eq&$top=1"), ODataSyntaxError);
  await rejectsCode(Tasks.filter("nosuch eq 1").find(), "UNKNOWN_FIELD");
  await rejectsCode(Tasks.filter("title eq 1").find(), "TYPE_MISMATCH");
});

Deno.test("values round-trip through SQLite in their canonical types", async () => {
  await using f = await open();
  const Tasks = f.ns.getEntity("Tasks");
  const created = await Tasks.create({
    title: "Typed",
    estimate: 12.3,
    ratio: 0.25,
    due: "2026-03-04",
    createdAt: 1767225600000,
    at: "9:30",
    ref: "{6F9619FF-8B86-D011-B42D-00C04FC964FF}",
    meta: { nested: [1, { ok: true }] },
    blob: new Uint8Array([0, 1, 255]),
  });
  const row = (await Tasks.findByIdOrFail(created.get("id"))).toJSON();
  assert.equal(row.title, "Typed");
  assert.equal(row.estimate, "12.30");
  assert.equal(row.ratio, 0.25);
  assert.equal(row.done, false);
  assert.equal(row.priority, 2);
  assert.equal(row.due, "2026-03-04");
  assert.deepEqual(row.createdAt, new Date(1767225600000));
  assert.equal(row.at, "09:30:00");
  assert.equal(row.ref, "6f9619ff-8b86-d011-b42d-00c04fc964ff");
  assert.deepEqual(row.meta, { nested: [1, { ok: true }] });
  assert.deepEqual(row.blob, new Uint8Array([0, 1, 255]));
  assert.equal(row.projectId, null);
});

Deno.test("find variants, exists, stream with abort", async () => {
  await using f = await open();
  const Tasks = f.ns.getEntity("Tasks");
  assert.equal((await Tasks.orderBy("id").findOne())?.get("title"), "Buy milk");
  assert.equal(await Tasks.where("title", "Nope").findOne(), undefined);
  assert.equal(await Tasks.findById(99), undefined);
  await rejectsCode(Tasks.findByIdOrFail(99), "NOT_FOUND");
  await rejectsCode(Tasks.findById({ nope: 1 }), "INVALID_ARGUMENT");
  await rejectsCode(Tasks.findById("abc"), "VALIDATION_FAILED");
  assert.equal(await Tasks.where("done", true).exists(), true);
  assert.equal(await Tasks.where("title", "zzz").exists(), false);
  const titles: string[] = [];
  for await (const task of Tasks.orderBy("id").stream()) titles.push(task.get("title") as string);
  assert.deepEqual(titles, ["Buy milk", "Write report", "Call Bob", "Fix bike"]);
  const controller = new AbortController();
  controller.abort();
  await rejectsCode(Tasks.find({ signal: controller.signal }), "ABORTED");
  await rejectsCode(Tasks.count({ signal: controller.signal }), "ABORTED");
  await rejectsCode(Tasks.create({ title: "x" }, { signal: controller.signal }), "ABORTED");
  assert.equal(await Tasks.count(), 4);
});

Deno.test("expand one and many, nested shape", async () => {
  await using f = await open();
  const Projects = f.ns.getEntity("Projects");
  const work = await Projects.where("name", "Work")
    .expand("tasks", (q) => q.select(["id", "title"]).orderBy("id", "desc").limit(1))
    .findOne();
  assert.deepEqual(work?.toJSON(), { id: 2, name: "Work", tasks: [{ id: 3, title: "Call Bob" }] });
  const task = await f.ns.getEntity("Tasks").where("id", 4).expand("project").findOne();
  assert.equal(task?.toJSON().project, null);
  await rejectsCode(() => Projects.expand("task"), "UNKNOWN_FIELD");
});

Deno.test("writes: create, createMany, update, delete, upsert, by id", async () => {
  await using f = await open();
  const Tasks = f.ns.getEntity("Tasks");
  const Projects = f.ns.getEntity("Projects");
  const created = await Tasks.create({ title: "New" });
  assert.equal(created.get("id"), 5);
  assert.equal(created.get("done"), false);
  assert.equal(await Tasks.where("done", false).update({ priority: 3 }), 4);
  assert.equal(await Tasks.where("priority", 3).count(), 5);
  await rejectsCode(Tasks.update({ priority: 1 }), "UNSAFE_OPERATION");
  await rejectsCode(Tasks.delete(), "UNSAFE_OPERATION");
  assert.equal(await Tasks.updateById(5, { title: "Renamed", id: 5 }), 1);
  assert.equal((await Tasks.findByIdOrFail(5)).get("title"), "Renamed");
  assert.equal(await Tasks.updateById(99, { title: "ghost" }), 0);
  await rejectsCode(Tasks.updateById(5, { id: 6 }), "VALIDATION_FAILED");
  assert.equal(await Tasks.deleteById(5), 1);
  assert.equal(await Tasks.deleteById(5), 0);
  assert.equal(await Tasks.where("done", true).delete(), 1);
  const upserted = await Projects.upsert({ id: 1, name: "House" });
  assert.equal(upserted.get("name"), "House");
  const inserted = await Projects.upsert({ id: 7, name: "Garden" });
  assert.equal(inserted.get("id"), 7);
  assert.equal(await Projects.count(), 3);
  assert.equal(await Tasks.update({ done: false }, { all: true }), 3);
  assert.equal(await Tasks.delete({ all: true }), 3);
  assert.deepEqual(await Tasks.createMany([]), []);
});

Deno.test("bad input writes nothing and reports every field", async () => {
  await using f = await open();
  const Tasks = f.ns.getEntity("Tasks");
  const before = rawCount(f.filePath, "Tasks");
  try {
    await Tasks.create(
      {
        title: "x".repeat(60),
        priority: 9,
        estimate: "1.234",
        due: "31/02/2026",
        titel: "typo",
      } as never,
    );
    assert.fail("expected a ValidationError");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(
      error.issues.map((i) => i.field).sort(),
      ["due", "estimate", "priority", "title", "titel"].sort(),
    );
    assert.ok(error.issues.every((i) => i.reason.length > 0 && i.suggestion.length > 0));
  }
  await rejectsCode(
    Tasks.createMany([{ title: "ok" }, { title: null } as never]),
    "VALIDATION_FAILED",
  );
  await rejectsCode(Tasks.createMany("nope" as never), "INVALID_ARGUMENT");
  // Injection attempts: as a value it is just a string; as a field name it is unknown.
  assert.equal(await Tasks.where("title", "eq", "x' OR '1'='1").count(), 0);
  await rejectsCode(() => Tasks.where('title" OR 1=1 --', "eq", "x"), "UNKNOWN_FIELD");
  assert.throws(() => Tasks.filter("title eq 'x' or 1 eq 1; DROP TABLE Tasks"), ODataSyntaxError);
  await rejectsCode(Tasks.create({ title: "fk", projectId: 99 }), "CONSTRAINT_FOREIGN_KEY");
  await rejectsCode(f.ns.getEntity("Projects").create({ name: "Home" }), "CONSTRAINT_UNIQUE");
  assert.equal(rawCount(f.filePath, "Tasks"), before);
  assert.equal(rawCount(f.filePath, "Projects"), 2);
});

Deno.test("transactions commit, roll back, and isolate concurrent writers", async () => {
  await using f = await open();
  await f.ns.transaction(async (tx) => {
    const project = await tx.getEntity("Projects").create({ name: "Tx" });
    await tx.getEntity("Tasks").create({ title: "in tx", projectId: project.get("id") });
  });
  assert.equal(await f.ns.getEntity("Tasks").where("title", "in tx").count(), 1);
  const outside = f.ns.getEntity("Tasks").create({ title: "outside" }); // waits for the transaction
  await assert.rejects(
    f.ns.transaction(async (tx) => {
      await tx.getEntity("Tasks").create({ title: "rolled back" });
      await tx.getEntity("Projects").create({ name: "Home" }); // unique violation
    }),
    (error: unknown) =>
      error instanceof ODataActiveRecordError && error.code === "CONSTRAINT_UNIQUE",
  );
  await outside;
  assert.equal(await f.ns.getEntity("Tasks").where("title", "rolled back").count(), 0);
  assert.equal(await f.ns.getEntity("Tasks").where("title", "outside").count(), 1);
});

Deno.test("records: build, save, dirty tracking, reload, destroy", async () => {
  await using f = await open();
  const Tasks = f.ns.getEntity("Tasks");
  const draft = Tasks.build({ title: "Draft" });
  assert.equal(draft.isNew, true);
  await draft.save();
  assert.equal(draft.isNew, false);
  assert.equal(typeof draft.get("id"), "number");
  const task = await Tasks.findByIdOrFail(1);
  assert.equal(task.isDirty, false);
  task.title = "Buy oat milk";
  assert.equal(task.isDirty, true);
  assert.deepEqual(task.changes, { title: "Buy oat milk" });
  await task.save();
  assert.equal(task.isDirty, false);
  assert.equal((await Tasks.findByIdOrFail(1)).get("title"), "Buy oat milk");
  task.set("title", "unsaved");
  await task.reload();
  assert.equal(task.get("title"), "Buy oat milk");
  await rejectsCode(() => task.set("nope" as never, 1 as never), "UNKNOWN_FIELD");
  task.set("priority", 7);
  await rejectsCode(task.save(), "VALIDATION_FAILED");
  await task.reload();
  await task.destroy();
  assert.equal(await Tasks.findById(1), undefined);
  await rejectsCode(task.reload(), "NOT_FOUND");
  assert.equal(JSON.stringify(draft), JSON.stringify(draft.toJSON()));
});

Deno.test("await using closes the manager and its namespaces", async () => {
  let namespace: EntityNamespace;
  {
    await using manager = new EntityNamespaceManager();
    namespace = manager.createNamespace("scoped", {
      provider: { type: "sqlite", filePath: ":memory:" },
    });
    namespace.registerEntity("Notes", { fields: { id: { type: "integer", primaryKey: true } } });
    await namespace.sync();
  }
  await rejectsCode(namespace.getEntity("Notes").count(), "CLOSED");
});
