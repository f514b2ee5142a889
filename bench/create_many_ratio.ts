// deno-lint-ignore-file no-console
/**
 * `createMany` of 100,000 rows against raw prepared inserts through node:sqlite in one
 * transaction (the physical floor), on a database file with the provider's own settings (WAL,
 * synchronous NORMAL). Prints the process CPU time (user + system) per 100,000 rows and the
 * ratio ours / raw, the median of interleaved rounds — CPU time, because on a shared machine
 * wall time mostly measures the neighbours (wall time is printed too); also the longest time
 * the event loop was blocked during createMany (a 1 ms interval timer's largest gap).
 *
 *   deno run -A bench/create_many_ratio.ts [rows=100000] [rounds=5]
 *
 * Targets (issue 7 §5): ≤ 1.5× raw with returned records, ≤ 1.2× with `{ returning: false }`;
 * the event loop gets a turn at least every 50 ms.
 */

import { DatabaseSync } from "node:sqlite";
import process from "node:process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntityNamespaceManager } from "../mod.ts";

const ROWS = Number(Deno.args[0] ?? 100_000);
const ROUNDS = Number(Deno.args[1] ?? 5);

const ITEMS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string", required: true, maxLength: 80 },
    quantity: { type: "integer" },
    price: { type: "decimal", precision: 12, scale: 2 },
    added: { type: "datetime" },
    active: { type: "boolean" },
  },
} as const;

const base = Date.UTC(2024, 0, 1);
const data = Array.from({ length: ROWS }, (_, i) => ({
  name: `item ${i}`,
  quantity: i % 1000,
  price: `${i % 10000}.${String(i % 100).padStart(2, "0")}`,
  added: new Date(base + i * 1000),
  active: i % 3 === 0,
}));

const dir = await mkdtemp(join(tmpdir(), "oar-bulk-"));
let n = 0;

/** CPU milliseconds of this process so far. */
function cpu(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

interface Timing {
  readonly cpu: number;
  readonly wall: number;
}

async function ours(
  returning: boolean,
): Promise<Timing & { blocked: number; blockedCpu: number }> {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace(`b${n}`, {
    provider: { type: "sqlite", filePath: join(dir, `ours${n++}.db`) },
  });
  const Items = ns.registerEntity("Items", ITEMS);
  await ns.sync();
  let last = performance.now();
  let lastCpu = cpu();
  let blocked = 0;
  let blockedCpu = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const nowCpu = cpu();
    blocked = Math.max(blocked, now - last);
    blockedCpu = Math.max(blockedCpu, nowCpu - lastCpu);
    last = now;
    lastCpu = nowCpu;
  }, 1);
  const start = performance.now();
  const cpuStart = cpu();
  last = start;
  lastCpu = cpuStart;
  const result = returning
    ? (await Items.createMany(data)).length
    : await Items.createMany(data, { returning: false });
  const cpuMs = cpu() - cpuStart;
  const ms = performance.now() - start;
  clearInterval(timer);
  blocked = Math.max(blocked, performance.now() - last);
  blockedCpu = Math.max(blockedCpu, cpu() - lastCpu);
  if (result !== ROWS) throw new Error(`wrote ${result} rows`);
  await manager.close();
  return { cpu: cpuMs, wall: ms, blocked, blockedCpu };
}

function raw(): Timing {
  const db = new DatabaseSync(join(dir, `raw${n++}.db`));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec(
    'CREATE TABLE "Items" ("id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL, "quantity" INTEGER, ' +
      '"price" REAL, "added" TEXT, "active" INTEGER)',
  );
  const start = performance.now();
  const cpuStart = cpu();
  const insert = db.prepare(
    'INSERT INTO "Items" ("name", "quantity", "price", "added", "active") VALUES (?, ?, ?, ?, ?)',
  );
  db.exec("BEGIN IMMEDIATE");
  for (const row of data) {
    insert.run(
      row.name,
      row.quantity,
      Number(row.price),
      row.added.toISOString(),
      row.active ? 1 : 0,
    );
  }
  db.exec("COMMIT");
  const timing = { cpu: cpu() - cpuStart, wall: performance.now() - start };
  db.close();
  return timing;
}

raw();
await ours(true);
const rawTimes: Timing[] = [];
const withRecords: Timing[] = [];
const without: Timing[] = [];
let blocked = 0;
let blockedCpu = 0;
for (let round = 0; round < ROUNDS; round++) {
  rawTimes.push(raw());
  const a = await ours(true);
  withRecords.push(a);
  const b = await ours(false);
  without.push(b);
  blocked = Math.max(blocked, a.blocked, b.blocked);
  blockedCpu = Math.max(blockedCpu, a.blockedCpu, b.blockedCpu);
}
await rm(dir, { recursive: true, force: true });

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const cpuOf = (timings: Timing[]) => median(timings.map((t) => t.cpu));
const wallOf = (timings: Timing[]) => median(timings.map((t) => t.wall));

const r = cpuOf(rawTimes);
const cases: [string, Timing[], number][] = [
  ["createMany, records returned", withRecords, 1.5],
  ["createMany, { returning: false }", without, 1.2],
];
console.log(`${ROWS} rows | raw cpu ms | ours cpu ms | ratio | target | (wall: raw, ours, ratio)`);
let failures = 0;
for (const [name, timings, target] of cases) {
  const ratio = cpuOf(timings) / r;
  if (ratio > target) failures++;
  const wall = wallOf(timings) / wallOf(rawTimes);
  console.log(
    `${name} | ${r.toFixed(0)} | ${cpuOf(timings).toFixed(0)} | ${ratio.toFixed(2)}× | ` +
      `≤ ${target}× ${ratio <= target ? "ok" : "MISSED"} | (${wallOf(rawTimes).toFixed(0)}, ` +
      `${wallOf(timings).toFixed(0)}, ${wall.toFixed(2)}×)`,
  );
}
// Wall gaps between ticks include time the OS ran other processes; the CPU time this process
// spent between two ticks is the block itself (on a busy machine the two differ widely).
console.log(
  `longest event-loop block during createMany: ${blockedCpu.toFixed(1)} ms of CPU ` +
    `(target ≤ 50; wall gap ${blocked.toFixed(1)} ms)`,
);
if (blockedCpu > 50) failures++;
if (failures > 0) console.log(`${failures} target(s) missed`);
