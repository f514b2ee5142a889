/**
 * Transactions that cannot leak (issue 7 §4): models and records of an ended transaction refuse
 * to run; a failed write among concurrent ones keeps nothing; the namespace's own models and
 * records join the transaction of their async context; writers of one file in this process
 * queue without blocking the event loop; nested transactions are savepoints. Real SQLite files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type EntityModel,
  type EntityNamespace,
  EntityNamespaceManager,
  type Row,
} from "../../mod.ts";
import { isCode, NOTES, withDir } from "../providers/sqlite/helpers.ts";

function rawTexts(filePath: string): string[] {
  const db = new DatabaseSync(filePath, { readOnly: true });
  try {
    return (db.prepare('SELECT "text" FROM "Notes" ORDER BY "id"').all() as { text: string }[])
      .map((row) => row.text);
  } finally {
    db.close();
  }
}

async function notes(
  dir: string,
  busyTimeoutMs = 2000,
): Promise<{
  manager: EntityNamespaceManager;
  ns: EntityNamespace;
  Notes: EntityModel;
  filePath: string;
}> {
  const filePath = join(dir, "tx.db");
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("tx", {
    provider: { type: "sqlite", filePath, busyTimeoutMs },
  });
  const Notes = ns.registerEntity("Notes", NOTES);
  await ns.sync();
  return { manager, ns, Notes, filePath };
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

Deno.test("tx: models and records of an ended transaction refuse to run", () =>
  withDir(async (dir) => {
    const { manager, ns, Notes, filePath } = await notes(dir);
    await Notes.create({ id: 1, text: "before" });
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
    await assert.rejects(model!.updateById(1, { text: "leak" }), isCode("TRANSACTION_CLOSED"));
    record!.text = "leak";
    await assert.rejects(record!.save(), isCode("TRANSACTION_CLOSED"));
    // After a commit alike.
    const committed = await ns.transaction((tx) => Promise.resolve(tx.getEntity("Notes")));
    await assert.rejects(committed.deleteById(1), isCode("TRANSACTION_CLOSED"));
    await assert.rejects(committed.where("id", 1).increment("id"), isCode("INVALID_ARGUMENT"));
    assert.deepEqual(rawTexts(filePath), ["before"]);
    // The namespace's own models are not bound to any transaction.
    await Notes.create({ text: "after" });
    assert.deepEqual(rawTexts(filePath), ["before", "after"]);
    await manager.close();
  }));

Deno.test("tx: a failed write among concurrent ones keeps nothing, also writes started later", () =>
  withDir(async (dir) => {
    const { manager, ns, Notes, filePath } = await notes(dir);
    await Notes.create({ id: 1, text: "existing" });
    const late: Promise<unknown>[] = [];
    await assert.rejects(
      ns.transaction(async (tx) => {
        const T = tx.getEntity("Notes");
        const failing = T.create({ id: 1, text: "duplicate" });
        // Writes that start once the failure is known: in a microtask, and in a later task.
        late.push(failing.catch(() => T.create({ text: "right after" })));
        late.push(failing.catch(() => T.createMany([{ text: "many 1" }, { text: "many 2" }])));
        late.push(
          new Promise((resolve) => setTimeout(resolve, 0)).then(() => T.create({ text: "timer" })),
        );
        late.push(tick().then(() => Notes.create({ text: "ambient timer" })));
        await Promise.all([
          T.create({ text: "a" }),
          failing,
          T.createMany([{ text: "b" }, { text: "c" }]),
          Notes.create({ text: "ambient" }),
        ]);
      }),
      isCode("CONSTRAINT_UNIQUE"),
    );
    const settled = await Promise.allSettled(late);
    for (const result of settled) {
      if (result.status === "rejected") {
        assert.ok(
          isCode("TRANSACTION_CLOSED")(result.reason),
          `late write failed with ${result.reason}`,
        );
      }
    }
    assert.ok(settled.some((result) => result.status === "rejected"));
    assert.deepEqual(rawTexts(filePath), ["existing"]);
    await manager.close();
  }));

Deno.test("tx: SQLite rolling a transaction back itself stops it; nothing is kept", () =>
  withDir(async (dir) => {
    const { manager, ns, filePath } = await notes(dir);
    const db = new DatabaseSync(filePath);
    db.exec(
      `CREATE TRIGGER "boom" BEFORE INSERT ON "Notes" WHEN NEW."text" = 'boom'
       BEGIN SELECT RAISE(ROLLBACK, 'boom'); END`,
    );
    db.close();
    await assert.rejects(
      ns.transaction(async (tx) => {
        const T = tx.getEntity("Notes");
        await T.create({ text: "first" });
        await T.create({ text: "boom" }).catch(() => undefined); // caught: the code goes on
        await T.create({ text: "after the rollback" });
      }),
      isCode("TRANSACTION_FAILED"),
    );
    assert.deepEqual(rawTexts(filePath), []);
    await manager.close();
  }));

Deno.test("tx: the namespace's models and records join the transaction of their context", () =>
  withDir(async (dir) => {
    // A short lock wait: before ambient transactions these writes waited for it and failed.
    const { manager, ns, Notes, filePath } = await notes(dir, 100);
    const loaded = await Notes.create({ id: 1, text: "loaded before" });
    const helper = async (text: string) => await Notes.create({ text }); // deeper in the call tree
    await assert.rejects(
      ns.transaction(async () => {
        loaded.text = "changed inside";
        await loaded.save();
        await helper("through a helper");
        assert.equal(await Notes.count(), 2); // reads see the transaction's writes
        assert.equal((await Notes.findByIdOrFail(1)).text, "changed inside");
        throw new Error("roll back");
      }),
      /roll back/,
    );
    assert.deepEqual(rawTexts(filePath), ["loaded before"]);
    await ns.transaction(async () => {
      await helper("committed");
      await loaded.reload();
      await loaded.destroy();
    });
    assert.deepEqual(rawTexts(filePath), ["committed"]);
    await manager.close();
  }));

Deno.test("tx: code outside the transaction's context waits for it and sees it only committed", () =>
  withDir(async (dir) => {
    const { manager, ns, Notes } = await notes(dir);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const transaction = ns.transaction(async () => {
      await Notes.create({ text: "inside" });
      await gate;
    });
    await tick();
    const outside = Notes.count(); // started outside: waits for the transaction to end
    const write = Notes.create({ text: "outside" });
    release();
    await transaction;
    assert.equal(await outside, 1);
    await write;
    assert.equal(await Notes.count(), 2);
    await manager.close();
  }));

Deno.test("tx: writers of one file in this process wait asynchronously, then succeed", () =>
  withDir(async (dir) => {
    const { manager, ns, filePath } = await notes(dir);
    const other = new EntityNamespaceManager();
    // Another namespace (another connection) on the same file.
    const second = other.createNamespace("second", {
      provider: { type: "sqlite", filePath, busyTimeoutMs: 2000 },
    });
    const Second = second.registerEntity("Notes", NOTES);
    await second.ping();
    let settled = false;
    let waiting: Promise<unknown> | undefined;
    await ns.transaction(async (tx) => {
      await tx.getEntity("Notes").create({ text: "first writer" });
      // Readers of another connection do not wait, and see only what is committed (WAL).
      assert.equal(await Second.count(), 0);
      waiting = Second.create({ text: "second writer" }).finally(() => (settled = true));
      let fired = false;
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          fired = true;
          resolve();
        }, 1)
      );
      assert.equal(fired, true); // the event loop ran while the second writer waited
      assert.equal(settled, false); // it is still waiting for this transaction
      await tx.getEntity("Notes").create({ text: "first writer again" });
    });
    await waiting;
    assert.deepEqual(rawTexts(filePath), ["first writer", "first writer again", "second writer"]);
    // A transaction of the second namespace queues the same way.
    await Promise.all([
      second.transaction(async (tx) => {
        await tick();
        await tx.getEntity("Notes").create({ text: "tx 2" });
      }),
      ns.transaction(async (tx) => {
        await tick();
        await tx.getEntity("Notes").create({ text: "tx 1" });
      }),
    ]);
    assert.equal(rawTexts(filePath).length, 5);
    await other.close();
    await manager.close();
  }));

Deno.test("tx: a writer waiting longer than busyTimeoutMs gets TIMEOUT; the queue moves on", () =>
  withDir(async (dir) => {
    const { manager, ns, filePath } = await notes(dir);
    const other = new EntityNamespaceManager();
    const second = other.createNamespace("impatient", {
      provider: { type: "sqlite", filePath, busyTimeoutMs: 30 },
    });
    const Second = second.registerEntity("Notes", NOTES);
    await ns.transaction(async (tx) => {
      await tx.getEntity("Notes").create({ text: "holder" });
      const error = await Second.create({ text: "gave up" }).catch((e: unknown) => e);
      assert.ok(isCode("TIMEOUT")(error), String(error));
      assert.match((error as Error).message, /another writer/);
    });
    await Second.create({ text: "later" });
    assert.deepEqual(rawTexts(filePath), ["holder", "later"]);
    await other.close();
    await manager.close();
  }));

Deno.test("tx: nested transactions are savepoints", () =>
  withDir(async (dir) => {
    const { manager, ns, Notes, filePath } = await notes(dir);
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
        // Two levels deep, caught in the middle.
        await inner.transaction(() => Promise.reject(new Error("deep"))).catch(() => undefined);
      });
      assert.equal(await Notes.count(), 2);
      await assert.rejects(ns.sync(), isCode("INVALID_ARGUMENT")); // it would wait for itself
    });
    assert.deepEqual(rawTexts(filePath), ["outer", "inner, kept"]);
    // An inner success is still undone when the outer transaction fails.
    await assert.rejects(
      ns.transaction(async () => {
        await ns.transaction(async () => {
          await Notes.create({ text: "inner of a failed outer" });
        });
        throw new Error("outer fails");
      }),
      /outer fails/,
    );
    assert.deepEqual(rawTexts(filePath), ["outer", "inner, kept"]);
    // Concurrent nested transactions run one at a time, each undone alone.
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
    assert.deepEqual(rawTexts(filePath), ["outer", "inner, kept", "sibling 2"]);
    await manager.close();
  }));
