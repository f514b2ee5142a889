/**
 * The Active Record suite on both SQL providers: the behaviourally relevant scenarios of
 * tests/model/active_record_test.ts, transactions_test.ts and concurrency_test.ts, run once on
 * SQLite and once on PostgreSQL (a database of its own per scenario) through one namespace
 * factory, with the same assertions, so both give the same answers. Raw checks read the storage
 * directly (node:sqlite; the postgres.js driver), independently of the library. Scenarios that
 * depend on SQLite's locking (writers queueing behind a transaction, busy timeouts) stay in
 * tests/model only.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";
import {
  type EntityDefinition,
  type EntityModel,
  type EntityNamespace,
  EntityNamespaceManager,
  ODataActiveRecordError,
  ODataSyntaxError,
  type Row,
  ValidationError,
} from "../../../mod.ts";
import { available, createDatabase } from "./server.ts";

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
const NOTES = {
  fields: { id: { type: "integer", primaryKey: true }, text: { type: "string" } },
} as const;
const COUNTERS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    value: { type: "integer" },
    version: { type: "integer", version: true },
  },
} as const;

/** One storage under test: namespaces on it, and raw reads that bypass the library. */
interface Storage extends AsyncDisposable {
  namespace(name: string): EntityNamespace;
  /** Rows of a table, read directly, ordered by `id`. */
  raw(table: string, columns: string): Promise<Record<string, unknown>[]>;
  /** A statement run directly on the storage. */
  exec(sql: string): Promise<void>;
}

interface Backend {
  readonly name: "sqlite" | "postgres";
  readonly ignore: boolean;
  open(): Promise<Storage>;
}

const BACKENDS: readonly Backend[] = [
  {
    name: "sqlite",
    ignore: false,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), "oar-ar-both-"));
      const filePath = join(dir, "app.db");
      const manager = new EntityNamespaceManager();
      const run = <T>(fn: (db: DatabaseSync) => T): T => {
        const db = new DatabaseSync(filePath);
        try {
          return fn(db);
        } finally {
          db.close();
        }
      };
      return {
        namespace: (name) =>
          manager.createNamespace(name, { provider: { type: "sqlite", filePath } }),
        raw: (table, columns) =>
          Promise.resolve(
            run((db) =>
              db.prepare(`SELECT ${columns} FROM "${table}" ORDER BY "id"`).all() as Record<
                string,
                unknown
              >[]
            ),
          ),
        exec: (sql) => Promise.resolve(run((db) => db.exec(sql))),
        async [Symbol.asyncDispose]() {
          await manager.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    ignore: !available,
    async open() {
      const database = await createDatabase();
      const sql = postgres(database.url, { max: 2, onnotice: () => {} });
      const manager = new EntityNamespaceManager();
      return {
        namespace: (name) =>
          manager.createNamespace(name, { provider: { type: "postgres", url: database.url } }),
        raw: async (table, columns) =>
          [...await sql.unsafe(`SELECT ${columns} FROM "${table}" ORDER BY "id"`)].map((row) => ({
            ...row,
          })),
        exec: async (text) => {
          await sql.unsafe(text);
        },
        async [Symbol.asyncDispose]() {
          await manager.close();
          await sql.end({ timeout: 1 });
          await database.drop();
        },
      };
    },
  },
];

/** Registers a scenario once per backend (PostgreSQL ones ignored without a server, see server.ts). */
function both(name: string, fn: (storage: Storage, backend: Backend) => Promise<void>): void {
  for (const backend of BACKENDS) {
    Deno.test({
      name: `active record on ${backend.name}: ${name}`,
      ignore: backend.ignore,
      fn: async () => {
        await using storage = await backend.open();
        await fn(storage, backend);
      },
    });
  }
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

const isCode = (code: string) => (error: unknown): boolean => {
  if (error instanceof ODataActiveRecordError && error.code === code) return true;
  throw error;
};

/** The Tasks/Projects sample of tests/model/active_record_test.ts. */
async function tasks(storage: Storage): Promise<EntityNamespace> {
  const ns = storage.namespace("app");
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
  return ns;
}

async function count(storage: Storage, table: string): Promise<number> {
  return (await storage.raw(table, "id")).length;
}

both("sync adds columns, reports drift, keeps data", async (storage) => {
  await tasks(storage);
  await storage.exec('ALTER TABLE "Tasks" ADD COLUMN "legacy" TEXT');
  const ns = storage.namespace("again");
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
  assert.equal(await ns.getEntity("Tasks").count(), 4);
});

both("queries are immutable and every where form works", async (storage) => {
  const ns = await tasks(storage);
  const Tasks = ns.getEntity("Tasks");
  const base = Tasks.where("done", false);
  const narrowed = base.where("priority", "eq", 1);
  assert.equal(await base.count(), 3);
  assert.equal(await narrowed.count(), 1);
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
  assert.equal(await Tasks.where("due", "ge", "01/02/2026").count(), 1);
  assert.equal(await Tasks.where("createdAt", "eq", "2026-01-01T08:00:00Z").count(), 1);
  assert.equal(await Tasks.where("project/name", "eq", "Work").count(), 2);
  assert.equal(await Tasks.filter("project/name eq 'Work' and estimate gt 2").count(), 1);
  assert.equal(await ns.getEntity("Projects").filter("tasks/any(t: t/done eq true)").count(), 1);
  await rejectsCode(() => Tasks.where("priority", "eq", "high"), "TYPE_MISMATCH");
  await rejectsCode(() => Tasks.where("project/missing", "eq", 1), "UNKNOWN_FIELD");
  await rejectsCode(Tasks.filter("nosuch eq 1").find(), "UNKNOWN_FIELD");
  await rejectsCode(Tasks.filter("title eq 1").find(), "TYPE_MISMATCH");
});

both("select, orderBy, limit, offset, withCount, search, query string", async (storage) => {
  const ns = await tasks(storage);
  const Tasks = ns.getEntity("Tasks");
  const { data, count, warnings } = await Tasks.select(["id", "title"]).orderBy("title", "desc")
    .limit(2).offset(1).withCount().find();
  assert.deepEqual(data.map((t) => t.toJSON()), [{ id: 4, title: "Fix bike" }, {
    id: 3,
    title: "Call Bob",
  }]);
  assert.equal(count, 4);
  assert.deepEqual(warnings, []);
  assert.equal((await Tasks.orderBy("estimate").find()).data[0]!.get("title"), "Fix bike");
  assert.equal((await Tasks.orderBy("estimate", "desc").find()).data[3]!.get("title"), "Fix bike");
  assert.deepEqual(
    (await Tasks.search("report OR bike").orderBy("id").find()).data.map((t) => t.get("id")),
    [2, 4],
  );
  const viaText = await Tasks.query(
    "$filter=priority eq 2&$orderby=id desc&$top=1&$count=true&$select=id",
  ).find();
  assert.deepEqual(viaText.data.map((t) => t.toJSON()), [{ id: 4 }]);
  assert.equal(viaText.count, 2);
  const grouped = await Tasks.query(
    "$apply=groupby((projectId),aggregate(estimate with sum as total,$count as n))&$orderby=projectId",
  ).find();
  assert.deepEqual(grouped.data.map((t) => t.toJSON()), [
    { projectId: null, total: null, n: 1 },
    { projectId: 1, total: "0.50", n: 1 },
    { projectId: 2, total: "4.25", n: 2 },
  ]);
  const computed = await Tasks.query(
    "$compute=estimate mul 2 as twice&$filter=twice gt 1&$orderby=twice&$select=title,twice",
  ).find();
  assert.deepEqual(computed.data.map((t) => t.toJSON()), [
    { title: "Call Bob", twice: "2.50" },
    { title: "Write report", twice: "6.00" },
  ]);
});

both("values round-trip in their canonical types", async (storage) => {
  const Tasks = (await tasks(storage)).getEntity("Tasks");
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
  assert.deepEqual(row, {
    id: 5,
    title: "Typed",
    done: false,
    priority: 2,
    estimate: "12.30",
    ratio: 0.25,
    due: "2026-03-04",
    createdAt: new Date(1767225600000),
    at: "09:30:00",
    ref: "6f9619ff-8b86-d011-b42d-00c04fc964ff",
    meta: { nested: [1, { ok: true }] },
    blob: new Uint8Array([0, 1, 255]),
    projectId: null,
  });
});

both("find variants, exists, stream with abort", async (storage) => {
  const Tasks = (await tasks(storage)).getEntity("Tasks");
  assert.equal((await Tasks.orderBy("id").findOne())?.get("title"), "Buy milk");
  assert.equal(await Tasks.where("title", "Nope").findOne(), undefined);
  assert.equal(await Tasks.findById(99), undefined);
  await rejectsCode(Tasks.findByIdOrFail(99), "NOT_FOUND");
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

both("expand one and many, nested shape", async (storage) => {
  const ns = await tasks(storage);
  const work = await ns.getEntity("Projects").where("name", "Work")
    .expand("tasks", (q) => q.select(["id", "title"]).orderBy("id", "desc").limit(1))
    .findOne();
  assert.deepEqual(work?.toJSON(), { id: 2, name: "Work", tasks: [{ id: 3, title: "Call Bob" }] });
  const task = await ns.getEntity("Tasks").where("id", 4).expand("project").findOne();
  assert.equal(task?.toJSON().project, null);
  const bob = await ns.getEntity("Tasks").where("id", 3).expand("project").findOne();
  assert.deepEqual(bob?.toJSON().project, { id: 2, name: "Work" });
});

both("writes: create, createMany, update, delete, upsert, by id", async (storage) => {
  const ns = await tasks(storage);
  const Tasks = ns.getEntity("Tasks");
  const Projects = ns.getEntity("Projects");
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
  assert.equal((await Projects.upsert({ id: 1, name: "House" })).get("name"), "House");
  assert.equal((await Projects.upsert({ id: 7, name: "Garden" })).get("id"), 7);
  assert.equal(await Projects.count(), 3);
  assert.equal(await Tasks.update({ done: false }, { all: true }), 3);
  assert.equal(await Tasks.delete({ all: true }), 3);
  assert.deepEqual(await Tasks.createMany([]), []);
  assert.equal(await count(storage, "Tasks"), 0);
});

both("bad input writes nothing and reports every field", async (storage) => {
  const ns = await tasks(storage);
  const Tasks = ns.getEntity("Tasks");
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
  }
  await rejectsCode(
    Tasks.createMany([{ title: "ok" }, { title: null } as never]),
    "VALIDATION_FAILED",
  );
  assert.equal(await Tasks.where("title", "eq", "x' OR '1'='1").count(), 0);
  await rejectsCode(() => Tasks.where('title" OR 1=1 --', "eq", "x"), "UNKNOWN_FIELD");
  assert.throws(() => Tasks.filter("title eq 'x' or 1 eq 1; DROP TABLE Tasks"), ODataSyntaxError);
  await rejectsCode(Tasks.create({ title: "fk", projectId: 99 }), "CONSTRAINT_FOREIGN_KEY");
  await rejectsCode(ns.getEntity("Projects").create({ name: "Home" }), "CONSTRAINT_UNIQUE");
  await rejectsCode(
    Tasks.createMany([{ title: "first" }, { title: "second", projectId: 99 }]),
    "CONSTRAINT_FOREIGN_KEY",
  );
  assert.equal(await count(storage, "Tasks"), 4);
  assert.equal(await count(storage, "Projects"), 2);
});

both("records: build, save, dirty tracking, reload, destroy", async (storage) => {
  const Tasks = (await tasks(storage)).getEntity("Tasks");
  const draft = Tasks.build({ title: "Draft" });
  assert.equal(draft.isNew, true);
  await draft.save();
  assert.equal(draft.isNew, false);
  assert.equal(draft.get("id"), 5);
  const task = await Tasks.findByIdOrFail(1);
  assert.equal(task.isDirty, false);
  task.title = "Buy oat milk";
  assert.deepEqual(task.changes, { title: "Buy oat milk" });
  await task.save();
  assert.equal(task.isDirty, false);
  assert.equal((await Tasks.findByIdOrFail(1)).get("title"), "Buy oat milk");
  task.set("title", "unsaved");
  await task.reload();
  assert.equal(task.get("title"), "Buy oat milk");
  task.set("priority", 7);
  await rejectsCode(task.save(), "VALIDATION_FAILED");
  await task.reload();
  await task.destroy();
  assert.equal(await Tasks.findById(1), undefined);
  await rejectsCode(task.reload(), "NOT_FOUND");
});

async function notes(storage: Storage): Promise<{ ns: EntityNamespace; Notes: EntityModel }> {
  const ns = storage.namespace("tx");
  const Notes = ns.registerEntity("Notes", NOTES);
  await ns.sync();
  return { ns, Notes };
}

async function texts(storage: Storage): Promise<unknown[]> {
  return (await storage.raw("Notes", '"text"')).map((row) => row.text);
}

function settle(promise: Promise<unknown>): Promise<PromiseSettledResult<unknown>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason) => ({ status: "rejected", reason }),
  );
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

both("transactions commit and roll back", async (storage) => {
  const ns = await tasks(storage);
  await ns.transaction(async (tx) => {
    const project = await tx.getEntity("Projects").create({ name: "Tx" });
    await tx.getEntity("Tasks").create({ title: "in tx", projectId: project.get("id") });
  });
  assert.equal(await ns.getEntity("Tasks").where("title", "in tx").count(), 1);
  await assert.rejects(
    ns.transaction(async (tx) => {
      await tx.getEntity("Tasks").create({ title: "rolled back" });
      await tx.getEntity("Projects").create({ name: "Home" }); // unique violation
    }),
    isCode("CONSTRAINT_UNIQUE"),
  );
  assert.equal(await ns.getEntity("Tasks").where("title", "rolled back").count(), 0);
  assert.equal(await count(storage, "Tasks"), 5);
});

both("tx: models and records of an ended transaction refuse to run", async (storage) => {
  const { ns, Notes } = await notes(storage);
  await Notes.create({ text: "before" });
  let model: EntityModel<Row> | undefined;
  let record: (Row & { save(): Promise<unknown> }) | undefined;
  await assert.rejects(
    ns.transaction(async (tx) => {
      model = tx.getEntity("Notes");
      record = await model.findByIdOrFail(1);
      throw new Error("roll back");
    }),
    /roll back/,
  );
  await assert.rejects(model!.create({ text: "leak" }), isCode("TRANSACTION_CLOSED"));
  await assert.rejects(model!.find(), isCode("TRANSACTION_CLOSED"));
  record!.text = "leak";
  await assert.rejects(record!.save(), isCode("TRANSACTION_CLOSED"));
  const committed = await ns.transaction((tx) => Promise.resolve(tx.getEntity("Notes")));
  await assert.rejects(committed.deleteById(1), isCode("TRANSACTION_CLOSED"));
  assert.deepEqual(await texts(storage), ["before"]);
  await Notes.create({ text: "after" });
  assert.deepEqual(await texts(storage), ["before", "after"]);
});

both("tx: a failed write among concurrent ones keeps nothing", async (storage, backend) => {
  const { ns, Notes } = await notes(storage);
  await Notes.create({ text: "existing" });
  const late: Promise<PromiseSettledResult<unknown>>[] = [];
  await assert.rejects(
    ns.transaction(async (tx) => {
      const T = tx.getEntity("Notes");
      const failing = T.create({ id: 1, text: "duplicate" });
      // Settled at once: a late failure may come before the transaction's end is awaited.
      late.push(settle(failing.catch(() => T.create({ text: "right after" }))));
      late.push(settle(tick().then(() => T.create({ text: "timer" }))));
      await Promise.all([T.create({ text: "a" }), failing, T.createMany([{ text: "b" }])]);
    }),
    isCode("CONSTRAINT_UNIQUE"),
  );
  const settled = await Promise.all(late);
  for (const result of settled) {
    if (result.status !== "rejected") continue;
    // On PostgreSQL a late write may also reach the server before the rollback, which refuses
    // it as part of the failed transaction.
    const code = (result.reason as ODataActiveRecordError).code;
    const expected = backend.name === "postgres" && code === "TRANSACTION_FAILED"
      ? "TRANSACTION_FAILED"
      : "TRANSACTION_CLOSED";
    assert.ok(isCode(expected)(result.reason));
  }
  // SQLite ends the transaction synchronously, so the late writes find it closed; a server's
  // rollback takes a round trip in which they may still join it, and are undone with it.
  if (backend.name === "sqlite") assert.ok(settled.some((result) => result.status === "rejected"));
  assert.deepEqual(await texts(storage), ["existing"]);
});

both(
  "tx: the namespace's models and records join the transaction of their context",
  async (storage) => {
    const { ns, Notes } = await notes(storage);
    const loaded = await Notes.create({ text: "loaded before" });
    const helper = async (text: string) => await Notes.create({ text });
    await assert.rejects(
      ns.transaction(async () => {
        loaded.text = "changed inside";
        await loaded.save();
        await helper("through a helper");
        assert.equal(await Notes.count(), 2);
        assert.equal((await Notes.findByIdOrFail(1)).text, "changed inside");
        throw new Error("roll back");
      }),
      /roll back/,
    );
    assert.deepEqual(await texts(storage), ["loaded before"]);
    await ns.transaction(async () => {
      await helper("committed");
      await loaded.reload();
      await loaded.destroy();
    });
    assert.deepEqual(await texts(storage), ["committed"]);
  },
);

both("tx: nested transactions are savepoints", async (storage) => {
  const { ns, Notes } = await notes(storage);
  await ns.transaction(async (tx) => {
    await Notes.create({ text: "outer" });
    await assert.rejects(
      ns.transaction(async () => {
        await Notes.create({ text: "inner, rolled back" });
        throw new Error("inner fails");
      }),
      /inner fails/,
    );
    await tx.transaction(async (inner) => {
      await inner.getEntity("Notes").create({ text: "inner, kept" });
      await inner.transaction(() => Promise.reject(new Error("deep"))).catch(() => undefined);
    });
    assert.equal(await Notes.count(), 2);
  });
  assert.deepEqual(await texts(storage), ["outer", "inner, kept"]);
  await assert.rejects(
    ns.transaction(async () => {
      await ns.transaction(async () => {
        await Notes.create({ text: "inner of a failed outer" });
      });
      throw new Error("outer fails");
    }),
    /outer fails/,
  );
  await ns.transaction(async () => {
    await Promise.allSettled([
      ns.transaction(async () => {
        await Notes.create({ text: "sibling 1" });
        await tick();
        throw new Error("sibling 1 fails");
      }),
      ns.transaction(async () => {
        await tick();
        await Notes.create({ text: "sibling 2" });
      }),
    ]);
  });
  assert.deepEqual(await texts(storage), ["outer", "inner, kept", "sibling 2"]);
});

both(
  "version: concurrent read-modify-write saves give conflicts, never lost updates",
  async (storage) => {
    const ns = storage.namespace("c");
    const Counters = ns.registerEntity("Counters", COUNTERS);
    await ns.sync();
    const created = await Counters.create({ id: 1, value: 0 });
    assert.equal(created.version, 1);
    // Every reader loads before any save: all but one save are stale, whatever the scheduling.
    const loaded = await Promise.all(Array.from({ length: 20 }, () => Counters.findByIdOrFail(1)));
    const results = await Promise.allSettled(loaded.map(async (counter) => {
      counter.value = (counter.value as number) + 1;
      await counter.save();
      return counter;
    }));
    const saved = results.filter((r) => r.status === "fulfilled");
    assert.equal(saved.length, 1);
    for (const r of results) if (r.status === "rejected") assert.ok(isCode("CONFLICT")(r.reason));
    assert.deepEqual(
      (await storage.raw("Counters", '"value", "version"')).map((
        r,
      ) => [Number(r.value), Number(r.version)]),
      [[1, 2]],
    );
    const record =
      (saved[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof Counters.create>>>).value;
    assert.equal(record.version, 2);
    record.value = 100;
    await record.save();
    assert.equal(await Counters.where("value", 100).where("version", 3).count(), 1);
    assert.equal(await Counters.where("id", 1).increment("value", 5), 1);
    assert.equal((await Counters.findByIdOrFail(1)).value, 105);
  },
);
