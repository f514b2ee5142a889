/**
 * Review fixes of the SQLite provider: lock and file errors mapped by message when node:sqlite
 * gives no errcode, `unique: true` on tables that exist already, constants in `$orderby`, and
 * keys of inserted rows (never a rowid for a key column that is not the rowid). Through the
 * public API on real database files.
 */

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  createProvider,
  EntityNamespaceManager,
  type ODataActiveRecordError,
  ValidationError,
} from "../../../mod.ts";
import { mapSqliteError } from "../../../providers/sqlite/connection.ts";
import { isCode, NOTES, withDir } from "./helpers.ts";

// --- 5. error mapping ---------------------------------------------------------------------------

Deno.test("errors: a lock met by exec() (no errcode) is TIMEOUT, nothing written", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "lock.db");
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("lock", {
        provider: { type: "sqlite", filePath, busyTimeoutMs: 30 },
      });
      const Notes = ns.registerEntity("Notes", NOTES);
      await ns.sync();
      const other = new DatabaseSync(filePath);
      other.exec("BEGIN IMMEDIATE");
      try {
        const timeout = (error: unknown) => {
          assert.ok(isCode("TIMEOUT")(error), String(error));
          assert.match((error as ODataActiveRecordError).suggestion, /busyTimeoutMs/);
          return true;
        };
        // createMany of several rows begins its own transaction (exec "BEGIN IMMEDIATE").
        await assert.rejects(Notes.createMany([{ text: "a" }, { text: "b" }]), timeout);
        await assert.rejects(ns.transaction(() => Promise.resolve()), timeout);
        await assert.rejects(ns.sync(), timeout);
      } finally {
        other.exec("ROLLBACK");
        other.close();
      }
      assert.equal(await Notes.count(), 0);
      await Notes.createMany([{ text: "a" }, { text: "b" }]);
      assert.equal(await Notes.count(), 2);
    } finally {
      await manager.close();
    }
  }));

Deno.test("errors: a file that is not a database is PROVIDER_UNAVAILABLE", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "notes.txt");
    await writeFile(filePath, "These are my notes, not a database. ".repeat(200));
    const provider = await createProvider({ type: "sqlite", filePath });
    await assert.rejects(provider.connect(), isCode("PROVIDER_UNAVAILABLE"));
    await assert.rejects(provider.ping(), isCode("PROVIDER_UNAVAILABLE"));
    await provider.close();
    const readOnly = await createProvider({ type: "sqlite", filePath, readOnly: true });
    await assert.rejects(readOnly.connect(), isCode("PROVIDER_UNAVAILABLE"));
    await readOnly.close();
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("bad", { provider: { type: "sqlite", filePath } });
      const Notes = ns.registerEntity("Notes", NOTES);
      await assert.rejects(Notes.find(), isCode("PROVIDER_UNAVAILABLE")); // first use
      await assert.rejects(ns.ping(), isCode("PROVIDER_UNAVAILABLE"));
    } finally {
      await manager.close();
    }
  }));

Deno.test("errors: SQLite messages without errcode map like their codes", () => {
  const sqliteError = (message: string) =>
    Object.assign(new Error(message), { code: "ERR_SQLITE_ERROR" });
  const cases: [string, string][] = [
    ["database is locked", "TIMEOUT"],
    ["database table is locked", "TIMEOUT"],
    ["file is not a database", "PROVIDER_UNAVAILABLE"],
    ["unable to open database file: /nowhere/x.db", "PROVIDER_UNAVAILABLE"],
    ["UNIQUE constraint failed: index 'ux_Tags_code'", "CONSTRAINT_UNIQUE"],
    ['near "SELEC": syntax error', "PROVIDER_ERROR"],
  ];
  for (const [message, code] of cases) {
    assert.equal(mapSqliteError(sqliteError(message), {}).code, code, message);
  }
  // errcode wins over the message.
  const busy = Object.assign(sqliteError("whatever"), { errcode: 5 });
  assert.equal(mapSqliteError(busy, {}).code, "TIMEOUT");
});

// --- 6. unique on existing tables ---------------------------------------------------------------

const TAGS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    code: { type: "string", unique: true },
    label: { type: "string" },
  },
} as const;

Deno.test("sync: unique: true on an existing table becomes an enforced unique index", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "tags.db");
    const raw = new DatabaseSync(filePath);
    raw.exec(`CREATE TABLE "Tags" ("id" INTEGER PRIMARY KEY, "code" TEXT, "label" TEXT)`);
    raw.exec(`INSERT INTO "Tags" ("code") VALUES ('a'), ('b')`);
    raw.close();
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("tags", { provider: { type: "sqlite", filePath } });
      const Tags = ns.registerEntity("Tags", TAGS);
      const report = await ns.sync();
      assert.deepEqual(report.createdIndexes, ["ux_Tags_code"]);
      assert.deepEqual(report.warnings, []);
      await assert.rejects(Tags.create({ code: "a" }), isCode("CONSTRAINT_UNIQUE"));
      assert.equal(await Tags.count(), 2);
      assert.deepEqual((await ns.sync()).createdIndexes, []); // there now
    } finally {
      await manager.close();
    }
  }));

Deno.test("sync: a new table's UNIQUE column gets no second index", () =>
  withDir(async (dir) => {
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("tags", {
        provider: { type: "sqlite", filePath: join(dir, "t.db") },
      });
      const Tags = ns.registerEntity("Tags", TAGS);
      assert.deepEqual((await ns.sync()).createdIndexes, []);
      assert.deepEqual((await ns.sync()).createdIndexes, []);
      await Tags.create({ code: "a" });
      await assert.rejects(Tags.create({ code: "a" }), isCode("CONSTRAINT_UNIQUE"));
    } finally {
      await manager.close();
    }
  }));

Deno.test("sync: duplicates in existing rows are drift; the rest of the sync stays", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "dup.db");
    const raw = new DatabaseSync(filePath);
    raw.exec(`CREATE TABLE "Tags" ("id" INTEGER PRIMARY KEY, "code" TEXT)`); // label missing
    raw.exec(`INSERT INTO "Tags" ("code") VALUES ('a'), ('a')`);
    raw.close();
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("dup", { provider: { type: "sqlite", filePath } });
      const Tags = ns.registerEntity("Tags", TAGS);
      const Notes = ns.registerEntity("Notes", NOTES);
      const report = await ns.sync();
      assert.deepEqual(report.createdTables, ["Notes"]);
      assert.deepEqual(report.addedColumns, ["Tags.label"]);
      assert.deepEqual(report.createdIndexes, []);
      const drift = report.warnings.filter((w) => w.column === "code");
      assert.equal(drift.length, 1);
      assert.equal(drift[0]!.kind, "constraint-mismatch");
      assert.match(drift[0]!.message, /duplicate/);
      // What the sync did besides is there and usable.
      await Tags.create({ code: "b", label: "new column" });
      await Notes.create({ text: "new table" });
      assert.equal(await Tags.count(), 3);
      // Once the duplicates are gone, the next sync adds the index.
      await Tags.where("id", "eq", 2).delete();
      assert.deepEqual((await ns.sync()).createdIndexes, ["ux_Tags_code"]);
      await assert.rejects(Tags.create({ code: "a" }), isCode("CONSTRAINT_UNIQUE"));
    } finally {
      await manager.close();
    }
  }));

// --- 7. constants in $orderby -------------------------------------------------------------------

Deno.test("$orderby: constant terms order nothing (never a column number)", () =>
  withDir(async (dir) => {
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("o", {
        provider: { type: "sqlite", filePath: join(dir, "o.db") },
      });
      const Products = ns.registerEntity("Products", {
        fields: {
          ProductID: { type: "integer", primaryKey: true },
          ProductName: { type: "string" },
        },
      });
      await ns.sync();
      await Products.createMany(
        ["Tofu", "Chai", "Ikura", "Aniseed", "Konbu"].map((ProductName) => ({ ProductName })),
      );
      const names = async (query: string) =>
        (await Products.query(query).find()).data.map((r) => r.get("ProductName"));
      assert.deepEqual(
        await names("$orderby=null eq null desc,ProductName&$top=3"),
        ["Aniseed", "Chai", "Ikura"],
      );
      assert.deepEqual(
        await names("$orderby=(1e3 gt null) desc"),
        ["Tofu", "Chai", "Ikura", "Aniseed", "Konbu"], // key order
      );
      assert.deepEqual(
        await names("$orderby=true,1 desc,ProductName desc&$top=2"),
        ["Tofu", "Konbu"],
      );
      assert.deepEqual(
        await names("$compute=1 eq 1 as c&$orderby=c desc,ProductName&$top=1&$select=ProductName"),
        ["Aniseed"],
      );
      assert.deepEqual(
        await names("$apply=orderby(null eq null desc,ProductName)/top(2)"),
        ["Aniseed", "Chai"],
      );
    } finally {
      await manager.close();
    }
  }));

// --- 8. keys of inserted rows -------------------------------------------------------------------

Deno.test("insert: a key SQLite does not generate is refused, not reported as the rowid", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "things.db");
    const raw = new DatabaseSync(filePath);
    raw.exec(`CREATE TABLE "Things" ("tid" INT PRIMARY KEY, "label" TEXT)`);
    raw.close();
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("things", { provider: { type: "sqlite", filePath } });
      const Things = ns.registerEntity("Things", {
        fields: { tid: { type: "integer", primaryKey: true }, label: { type: "string" } },
      });
      await ns.sync();
      await assert.rejects(Things.create({ label: "x" }), (error: unknown) => {
        assert.ok(error instanceof ValidationError, String(error));
        assert.equal(error.issues[0]!.field, "tid");
        assert.match(error.issues[0]!.suggestion, /INTEGER PRIMARY KEY/);
        return true;
      });
      await assert.rejects(
        Things.createMany([{ tid: 1, label: "a" }, { label: "b" }]),
        isCode("VALIDATION_FAILED"),
      );
      assert.equal(await Things.count(), 0); // nothing written, not even a NULL key
      const given = await Things.create({ tid: 7, label: "y" });
      assert.equal(given.get("tid"), 7);
      assert.deepEqual((await Things.findById(7))?.toJSON(), { tid: 7, label: "y" });
    } finally {
      await manager.close();
    }
  }));

Deno.test("insert: generated keys come back as stored", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "notes.db");
    const manager = new EntityNamespaceManager();
    try {
      const ns = manager.createNamespace("notes", { provider: { type: "sqlite", filePath } });
      const Notes = ns.registerEntity("Notes", NOTES);
      await ns.sync();
      const raw = new DatabaseSync(filePath);
      // A trigger that inserts elsewhere must not change the key reported for the row.
      raw.exec(`CREATE TABLE "Log" ("n" INTEGER PRIMARY KEY, "what" TEXT);
        INSERT INTO "Log" ("n") VALUES (500);
        CREATE TRIGGER "log_notes" AFTER INSERT ON "Notes"
          BEGIN INSERT INTO "Log" ("what") VALUES (NEW."text"); END;`);
      raw.close();
      const created = await Notes.create({ text: "first" });
      const many = await Notes.createMany([{ text: "second" }, { text: "third" }]);
      for (const record of [created, ...many]) {
        const stored = await Notes.findById(record.get("id"));
        assert.equal(stored?.get("text"), record.get("text"));
      }
      assert.deepEqual([created, ...many].map((r) => r.get("id")), [1, 2, 3]);
    } finally {
      await manager.close();
    }
  }));
