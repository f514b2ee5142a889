/**
 * Two replicas sharing one PostgreSQL database (issue 11 §3), at the library level: two
 * separate Deno processes using the Active Record API directly, each with its own pool. A write
 * through one is read through the other; 2 × 200 concurrent increments give +400; concurrent
 * version-checked `record.save()` calls through both give conflicts, never lost updates.
 * The same through two production service processes over HTTP (If-Match instead of `save()`):
 * tests/examples/production/replicas_test.ts.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { pgTest, withDatabase } from "./helpers.ts";

const WORKER = fileURLToPath(new URL("./replica_worker.ts", import.meta.url));

async function replica(task: Record<string, unknown>): Promise<unknown> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, JSON.stringify(task)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return JSON.parse(text);
}

pgTest(
  "two replica processes share one database: reads, +400 increments, no lost updates",
  () =>
    withDatabase(async ({ url, raw }) => {
      await replica({ url, action: "sync" });
      // A write through one replica is read through the other.
      await replica({ url, action: "create", id: 1, name: "shared" });
      const read = await replica({ url, action: "read", id: 1 }) as Record<string, unknown>;
      assert.equal(read.name, "shared");
      assert.equal(read.value, 0);

      // 2 × 200 concurrent increments through both replicas at once.
      await Promise.all([
        replica({ url, action: "increment", id: 1, times: 200 }),
        replica({ url, action: "increment", id: 1, times: 200 }),
      ]);
      const [after] = await raw`SELECT value, version FROM "Counters" WHERE id = 1`;
      assert.equal(Number(after!.value), 400);

      // Read-modify-write saves with a version field through both replicas at once.
      const outcomes = await Promise.all([
        replica({ url, action: "save", id: 1, times: 25 }),
        replica({ url, action: "save", id: 1, times: 25 }),
      ]) as { codes: string[] }[];
      const codes = outcomes.flatMap((o) => o.codes);
      const saved = codes.filter((code) => code === "saved").length;
      assert.deepEqual(codes.filter((code) => code !== "saved" && code !== "CONFLICT"), []);
      assert.ok(saved >= 1);
      const [final] = await raw`SELECT value FROM "Counters" WHERE id = 1`;
      // Every successful save is in the value: none was lost to a concurrent one.
      assert.equal(Number(final!.value), 400 + saved);
    }),
);
