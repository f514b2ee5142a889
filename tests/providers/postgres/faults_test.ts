/**
 * Faults on a PRIVATE PostgreSQL server that this test starts (initdb + pg_ctl on a free port in
 * a temporary folder) and stops: never the machine's own server. A server killed during a query
 * gives a coded, retryable PROVIDER_UNAVAILABLE error, never a hang; restarted, the pool
 * reconnects and queries succeed again; a terminated backend (admin shutdown) is unavailable too.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { EntityNamespaceManager, ODataActiveRecordError } from "../../../mod.ts";
import { createDatabase, PrivateServer } from "./server.ts";

const server = await PrivateServer.create();
if (server === undefined) {
  // deno-lint-ignore no-console
  console.log("PostgreSQL fault tests ignored: install initdb and pg_ctl to enable them.");
}

function unavailable(error: unknown): boolean {
  if (!(error instanceof ODataActiveRecordError)) throw error;
  assert.equal(error.code, "PROVIDER_UNAVAILABLE", error.message);
  assert.equal(error.context.retryable, true);
  return true;
}

Deno.test({
  name: "postgres faults: killed during a query → unavailable; restarted → the pool reconnects",
  ignore: server === undefined,
  async fn() {
    const database = await createDatabase(server!);
    const manager = new EntityNamespaceManager();
    const ns = manager.createNamespace("faults", {
      provider: { type: "postgres", url: database.url, poolSize: 3, connectTimeout: 3000 },
    });
    const Items = ns.registerEntity("Items", {
      fields: { id: { type: "integer", primaryKey: true }, name: { type: "string" } },
    });
    const blocker = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await ns.sync();
      await Items.create({ name: "before" });

      // A read that waits on a lock, running when the server dies.
      let locked!: () => void;
      const haveLock = new Promise<void>((resolve) => (locked = resolve));
      const holder = blocker.begin(async (sql) => {
        await sql.unsafe('LOCK TABLE "Items" IN ACCESS EXCLUSIVE MODE');
        locked();
        await sql.unsafe("SELECT pg_sleep(60)");
      }).catch(() => "cut off");
      await haveLock;
      const running = Items.find().then(() => "answered", (error) => error);
      // The read is in flight on the server before the crash.
      const check = postgres(database.url, { max: 1, onnotice: () => {} });
      for (let i = 0; i < 100; i++) {
        const [row] = await check.unsafe(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
        );
        if (row!.n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await check.end({ timeout: 1 });
      assert.ok(await server!.stop(), "pg_ctl stop");
      const outcome = await running;
      assert.ok(unavailable(outcome));
      assert.equal(await holder, "cut off");

      // While it is down: refused at once, coded, retryable.
      await assert.rejects(() => Items.count(), unavailable);
      await assert.rejects(() => ns.ping(), unavailable);

      // Back up: the same pool reconnects by itself.
      assert.ok(await server!.start(), "pg_ctl start");
      await ns.ping();
      assert.equal(await Items.count(), 1);
      await Items.create({ name: "after" });
      assert.equal(await Items.count(), 2);
    } finally {
      await blocker.end({ timeout: 1 }).catch(() => {});
      await manager.close();
      await database.drop();
    }
  },
});

Deno.test({
  name: "postgres faults: a backend terminated by the admin (57P01) is unavailable, then recovers",
  ignore: server === undefined,
  async fn() {
    const database = await createDatabase(server!);
    const manager = new EntityNamespaceManager();
    const ns = manager.createNamespace("terminated", {
      provider: { type: "postgres", url: database.url, poolSize: 1 },
    });
    const Items = ns.registerEntity("Items", {
      fields: { id: { type: "integer", primaryKey: true }, name: { type: "string" } },
    });
    const admin = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await ns.sync();
      let locked!: () => void;
      const haveLock = new Promise<void>((resolve) => (locked = resolve));
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      const holder = admin.begin(async (sql) => {
        await sql.unsafe('LOCK TABLE "Items" IN ACCESS EXCLUSIVE MODE');
        locked();
        await done;
      });
      await haveLock;
      const running = Items.count().then(() => "answered", (error) => error);
      const killer = postgres(database.url, { max: 1, onnotice: () => {} });
      try {
        let terminated = 0;
        for (let i = 0; i < 100 && terminated === 0; i++) {
          const rows = await killer.unsafe(
            `SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity
             WHERE application_name = 'odata-active-record' AND wait_event_type = 'Lock'`,
          );
          terminated = rows.length;
          if (terminated === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(terminated, 1);
      } finally {
        await killer.end({ timeout: 1 });
      }
      const outcome = await running;
      assert.ok(unavailable(outcome));
      assert.equal((outcome as ODataActiveRecordError).context.sqlState, "57P01");
      release();
      await holder;
      assert.equal(await Items.count(), 0); // a new connection serves the next query
    } finally {
      await admin.end({ timeout: 1 });
      await manager.close();
      await database.drop();
    }
  },
});

Deno.test({
  name: "postgres faults: the private server is removed at the end",
  ignore: server === undefined,
  async fn() {
    await server!.destroy();
  },
});
