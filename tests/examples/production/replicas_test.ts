/**
 * Two replicas of the production service (issue 11 §3): two service processes on ports the OS
 * picks, each with its own SQLite files in its own temporary folder, share one PostgreSQL
 * database (`postgres_prod`, created for this test on the run's server and dropped after):
 * - a write through one is read through the other, over HTTP;
 * - 2 × 200 concurrent atomic increments, 200 in each replica at once, give +400. OData has no
 *   increment and the endpoint serves no actions, so each replica runs them through its own
 *   runtime (see replica_service.ts, which is the service of main.ts plus that trigger);
 * - concurrent read-modify-write PATCHes with If-Match (the ETag is the users' version field)
 *   through both replicas: a conflict (412) for every client that read a stale version, never a
 *   lost update.
 * Every wait polls an observed state or line with a deadline; the processes are killed in
 * `finally`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  type ChildService,
  SERVICE_PERMISSIONS,
  spawnService,
} from "../../../examples/production-ready/harness.ts";
import { available, createDatabase } from "../../providers/postgres/server.ts";

const REPLICA = fileURLToPath(new URL("./replica_service.ts", import.meta.url));
/** The user whose `loginCount` the replicas increment (created through replica A). */
const COUNTER_USER = "counter";
const INCREMENTS_PER_REPLICA = 200;
/** Clients of the read-modify-write check, alternating between the replicas. */
const CLIENTS = 12;

interface Reply {
  readonly status: number;
  readonly etag: string | null;
  readonly body: Record<string, unknown>;
}

/** A request that must answer (never hang): bounded by a generous deadline. */
async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  return {
    status: response.status,
    etag: response.headers.get("etag"),
    body: text === "" ? {} : JSON.parse(text),
  };
}

function users(replica: ChildService, rest = ""): string {
  return `${replica.url}/odata/postgres_prod/users${rest}`;
}

function postUser(replica: ChildService, id: string, name: string, isActive = true) {
  return request(users(replica), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, name, email: `${id}@example.com`, isActive }),
  });
}

async function getUser(replica: ChildService, id: string): Promise<Reply> {
  const reply = await request(users(replica, `('${id}')`));
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply;
}

/** One PATCH of `loginCount` guarded by `etag`. */
function patchLoginCount(replica: ChildService, id: string, etag: string, loginCount: number) {
  return request(users(replica, `('${id}')`), {
    method: "PATCH",
    headers: { "content-type": "application/json", "if-match": etag },
    body: JSON.stringify({ loginCount }),
  });
}

/** Starts one replica: its own folder, the shared database. */
async function startReplica(dir: string, postgresUrl: string): Promise<ChildService> {
  return await spawnService({
    args: ["run", ...SERVICE_PERMISSIONS, REPLICA, COUNTER_USER, String(INCREMENTS_PER_REPLICA)],
    env: {
      PORT: "0",
      NORTHWIND_PATH: `${dir}/northwind.db`,
      SQLITE_PATH: `${dir}/production.db`,
      METRICS_LOG_INTERVAL: "0",
      POSTGRES_URL: postgresUrl,
    },
    startTimeoutMs: 60_000,
  });
}

/** The replica's outcome line after SIGUSR1: `increments {"done":n,"failed":[...]}`. */
async function increments(replica: ChildService): Promise<{ done: number; failed: string[] }> {
  const line = await replica.waitForLine(/^increments \{/, 60_000);
  return JSON.parse(line.slice("increments ".length));
}

/** SIGTERM (drain, exit 0); killed if it has not exited within a minute. */
async function stopReplica(replica: ChildService): Promise<Deno.CommandStatus> {
  replica.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 60_000));
  const status = await Promise.race([replica.status, late]);
  clearTimeout(timer);
  return status === "late" ? await replica.stop() : status;
}

Deno.test({
  name: "two service replicas share postgres_prod: reads across, +400 increments, no lost update",
  ignore: !available,
  async fn() {
    const database = await createDatabase();
    const dirs = [
      await Deno.makeTempDir({ prefix: "oar-replicas-a-" }),
      await Deno.makeTempDir({ prefix: "oar-replicas-b-" }),
    ];
    const replicas: ChildService[] = [];
    try {
      // Started together, as a deployment starts its replicas: both sync the same database.
      const started = await Promise.allSettled(dirs.map((dir) => startReplica(dir, database.url)));
      for (const result of started) if (result.status === "fulfilled") replicas.push(result.value);
      for (const result of started) if (result.status === "rejected") throw result.reason;
      const [a, b] = replicas as [ChildService, ChildService];
      for (const replica of replicas) {
        await replica.waitForLine(/Service ready/, 60_000);
        const health = await request(`${replica.url}/health`);
        assert.equal(health.body.status, "healthy", JSON.stringify(health.body));
      }
      assert.notEqual(a.port, b.port);

      // 1. A write through A is read through B (by key and in a filtered list), and back.
      const created = await postUser(a, "u1", "Ada");
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal((await postUser(a, "u2", "Bob", false)).status, 201);
      const read = await getUser(b, "u1");
      assert.equal(read.body.name, "Ada");
      assert.equal(read.body.loginCount, 0);
      assert.equal(read.body.version, 1);
      assert.equal(read.etag, created.etag);
      const active = await request(
        users(b, "?$filter=isActive%20eq%20true&$select=id,name&$orderby=id"),
      );
      assert.equal(active.status, 200, JSON.stringify(active.body));
      assert.deepEqual(active.body.value, [{ id: "u1", name: "Ada" }]);
      const renamed = await request(users(b, "('u2')"), {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "Bea" }),
      });
      assert.equal(renamed.status, 204, JSON.stringify(renamed.body));
      assert.equal((await getUser(a, "u2")).body.name, "Bea");

      // 2. 200 increments in each replica at once: +400, and the version moved with each.
      assert.equal((await postUser(a, COUNTER_USER, "Counter")).status, 201);
      for (const replica of replicas) replica.kill("SIGUSR1");
      const outcomes = await Promise.all(replicas.map(increments));
      assert.deepEqual(outcomes, [
        { done: INCREMENTS_PER_REPLICA, failed: [] },
        { done: INCREMENTS_PER_REPLICA, failed: [] },
      ]);
      for (const replica of replicas) {
        const counter = await getUser(replica, COUNTER_USER);
        assert.equal(counter.body.loginCount, 2 * INCREMENTS_PER_REPLICA);
        assert.equal(counter.body.version, 1 + 2 * INCREMENTS_PER_REPLICA);
      }

      // 3. Read-modify-write with If-Match through both replicas. Every client reads before
      // any writes (a barrier), so all hold the same ETag: exactly one PATCH can succeed and
      // every other one must get 412. The losers then re-read and retry until they succeed
      // (each failure means another client's success, so this ends within CLIENTS rounds).
      const clientReplica = (client: number) => replicas[client % 2]!;
      const before = await getUser(a, "u1");
      const reads = await Promise.all(
        Array.from({ length: CLIENTS }, (_, client) => getUser(clientReplica(client), "u1")),
      );
      for (const reply of reads) assert.equal(reply.etag, before.etag);
      const first = await Promise.all(reads.map((reply, client) =>
        patchLoginCount(
          clientReplica(client),
          "u1",
          reply.etag!,
          (reply.body.loginCount as number) + 1,
        )
      ));
      const statuses = first.map((reply) => reply.status);
      assert.deepEqual(
        statuses.filter((status) => status !== 204 && status !== 412),
        [],
        JSON.stringify(first.map((reply) => reply.body)),
      );
      assert.equal(statuses.filter((status) => status === 204).length, 1, String(statuses));
      for (const reply of first.filter((reply) => reply.status === 412)) {
        assert.equal((reply.body.error as { code: string }).code, "PRECONDITION_FAILED");
      }

      let conflicts = CLIENTS - 1;
      let successes = 1;
      await Promise.all(first.map(async (reply, client) => {
        if (reply.status === 204) return;
        const replica = clientReplica(client);
        for (let attempt = 1; attempt <= CLIENTS; attempt++) {
          const current = await getUser(replica, "u1");
          const written = await patchLoginCount(
            replica,
            "u1",
            current.etag!,
            (current.body.loginCount as number) + 1,
          );
          assert.ok([204, 412].includes(written.status), JSON.stringify(written.body));
          if (written.status === 204) {
            successes++;
            return;
          }
          conflicts++;
        }
        assert.fail(`client ${client} did not succeed within ${CLIENTS} attempts`);
      }));
      assert.equal(successes, CLIENTS);
      assert.ok(conflicts >= CLIENTS - 1);
      // Every successful PATCH is in the value: none was lost to a concurrent one.
      for (const replica of replicas) {
        const after = await getUser(replica, "u1");
        assert.equal(after.body.loginCount, (before.body.loginCount as number) + CLIENTS);
        assert.equal(after.body.version, (before.body.version as number) + CLIENTS);
      }
    } finally {
      const statuses = await Promise.all(replicas.map(stopReplica));
      for (const dir of dirs) await Deno.remove(dir, { recursive: true });
      await database.drop();
      for (const [index, status] of statuses.entries()) {
        assert.equal(status.code, 0, replicas[index]!.lines.join("\n"));
      }
    }
  },
});
