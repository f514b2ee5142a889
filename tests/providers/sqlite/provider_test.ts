import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createProvider, EntityNamespaceManager } from "../../../mod.ts";
import { isCode, NOTES, withDir } from "./helpers.ts";

// Foreign keys and the busy timeout are checked by pinned_behaviour_test.ts (each measured).
Deno.test("sqlite: file opens in WAL mode", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "a.db");
    const manager = new EntityNamespaceManager();
    const ns = manager.createNamespace("a", {
      provider: { type: "sqlite", filePath, busyTimeoutMs: 1234 },
    });
    ns.registerEntity("Notes", NOTES);
    await ns.sync();
    await ns.ping();
    const raw = new DatabaseSync(filePath);
    assert.equal(
      (raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    raw.close();
    await manager.close();
  }));

Deno.test("sqlite: a held write lock becomes TIMEOUT after busyTimeoutMs, nothing written", () =>
  withDir(async (dir) => {
    const filePath = join(dir, "lock.db");
    const manager = new EntityNamespaceManager();
    const ns = manager.createNamespace("lock", {
      provider: { type: "sqlite", filePath, busyTimeoutMs: 50 },
    });
    const Notes = ns.registerEntity("Notes", NOTES);
    await ns.sync();
    const other = new DatabaseSync(filePath);
    other.exec("BEGIN IMMEDIATE");
    try {
      await assert.rejects(Notes.create({ text: "blocked" }), isCode("TIMEOUT"));
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.equal(await Notes.count(), 0);
    await Notes.create({ text: "after" });
    assert.equal(await Notes.count(), 1);
    await manager.close();
  }));

Deno.test("sqlite: config errors, closed provider, read-only writes", () =>
  withDir(async (dir) => {
    await assert.rejects(
      createProvider({ type: "sqlite" } as never),
      isCode("INVALID_CONFIGURATION"),
    );
    await assert.rejects(
      createProvider({ type: "sqlite", filePath: "x.db", busyTimeoutMs: -1 }),
      isCode("INVALID_CONFIGURATION"),
    );
    const provider = await createProvider({ type: "sqlite", filePath: ":memory:" });
    await provider.connect();
    await provider.ping();
    await provider.close();
    await assert.rejects(provider.ping(), isCode("CLOSED"));

    const filePath = join(dir, "ro.db");
    const setup = new DatabaseSync(filePath);
    setup.exec('CREATE TABLE "Notes" ("id" INTEGER PRIMARY KEY, "text" TEXT)');
    setup.close();
    const manager = new EntityNamespaceManager();
    const ns = manager.createNamespace("ro", {
      provider: { type: "sqlite", filePath, readOnly: true },
    });
    const Notes = ns.registerEntity("Notes", NOTES);
    assert.equal(await Notes.count(), 0);
    await assert.rejects(Notes.create({ text: "x" }), isCode("PROVIDER_ERROR"));
    await manager.close();
  }));

Deno.test("sqlite: a small statement cache still serves many distinct queries", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("c", {
    provider: { type: "sqlite", filePath: ":memory:", statementCacheSize: 2 },
  });
  const Notes = ns.registerEntity("Notes", NOTES);
  await ns.sync();
  await Notes.createMany(Array.from({ length: 20 }, (_, i) => ({ text: `n${i}` })));
  for (let i = 0; i < 20; i++) {
    assert.equal(await Notes.filter(`id le ${i + 1}`).limit(i + 1).count(), i + 1);
    assert.equal(
      (await Notes.where("id", i + 1).select(i % 2 ? ["id"] : ["text"]).find()).data.length,
      1,
    );
  }
  await manager.close();
});

Deno.test("sqlite: the namespace's own models inside its transaction take part in it", async () => {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("tx", {
    provider: { type: "sqlite", filePath: ":memory:", busyTimeoutMs: 50 },
  });
  const Notes = ns.registerEntity("Notes", NOTES);
  await ns.sync();
  await assert.rejects(
    ns.transaction(async (tx) => {
      await tx.getEntity("Notes").create({ text: "inside" });
      await Notes.create({ text: "ambient" });
      assert.equal(await Notes.count(), 2); // sees the transaction's writes, no lock wait
      throw new Error("roll back");
    }),
    /roll back/,
  );
  assert.equal(await Notes.count(), 0); // both were rolled back
  await ns.transaction(async (tx) => {
    await tx.getEntity("Notes").create({ text: "queue keeps moving" });
  });
  assert.equal(await Notes.count(), 1);
  await manager.close();
});
