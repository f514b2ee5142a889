// deno-lint-ignore-file no-console
/**
 * Streams 1,000,000 rows through `Model.stream()` and reports how much the resident memory
 * grows meanwhile. Target (issue 3): less than 50 MB.
 *
 *   deno run -A --v8-flags=--expose-gc bench/stream_memory.ts [rows]
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DatabaseSync } from "node:sqlite";
import { EntityNamespaceManager } from "../mod.ts";

const rows = Number(process.argv[2] ?? Deno.args[0] ?? 1_000_000);
const dir = await mkdtemp(join(tmpdir(), "oar-stream-"));
const filePath = join(dir, "stream.db");

// Fill the table directly: the measurement is about reading.
const manager = new EntityNamespaceManager();
const ns = manager.createNamespace("stream", { provider: { type: "sqlite", filePath } });
const Event = ns.registerEntity("Events", {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string" },
    amount: { type: "decimal", scale: 2 },
    happenedAt: { type: "datetime" },
    flag: { type: "boolean" },
  },
});
await ns.sync();
const writer = new DatabaseSync(filePath);
writer.exec("BEGIN");
const insert = writer.prepare(
  'INSERT INTO "Events" ("id", "name", "amount", "happenedAt", "flag") VALUES (?, ?, ?, ?, ?)',
);
for (let i = 1; i <= rows; i++) {
  insert.run(
    i,
    `event number ${i} with some text to make rows realistic`,
    i / 100,
    new Date(1e12 + i * 1000).toISOString(),
    i % 2,
  );
}
writer.exec("COMMIT");
writer.close();

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage().rss;
let peak = before;
let seen = 0;
let checksum = 0;
for await (const event of Event.stream()) {
  seen++;
  checksum += (event.get("id") as number) % 7;
  if (seen % 50_000 === 0) {
    peak = Math.max(peak, process.memoryUsage().rss);
  }
}
peak = Math.max(peak, process.memoryUsage().rss);
const growthMb = (peak - before) / 1024 / 1024;
console.log(
  `streamed ${seen} rows (checksum ${checksum}); RSS before ${
    (before / 1048576).toFixed(1)
  } MB, peak ${(peak / 1048576).toFixed(1)} MB, growth ${growthMb.toFixed(1)} MB (target < 50 MB) ${
    growthMb < 50 ? "ok" : "MISSED"
  }`,
);

await manager.close();
await rm(dir, { recursive: true, force: true });
if (seen !== rows) throw new Error(`expected ${rows} rows, streamed ${seen}`);
