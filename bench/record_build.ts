// deno-lint-ignore-file no-console
/**
 * Micro-benchmark of record construction on the SQLite read path: one Northwind `Products` row
 * (10 fields, as the stored column values node:sqlite returns) decoded
 *
 * - into a plain object (what a read returned before records became values),
 * - into a plain object then wrapped by `model.wrap()` (records built from decoded rows),
 * - straight into a record by the model's row builder (what reads do now).
 *
 * Prints CPU nanoseconds per row, the median of interleaved rounds (CPU time: on a shared machine
 * wall time mostly measures the neighbours).
 *
 *   deno run -A bench/record_build.ts [rounds=9]
 */

import process from "node:process";
import { EntityNamespaceManager } from "../mod.ts";
import { NORTHWIND_ENTITIES } from "../examples/northwind/schema.ts";
import { builtRowDecoder, rowDecoder } from "../providers/sqlite/decode.ts";
import type { ResultColumn } from "../src/sql/mod.ts";

const ROUNDS = Number(Deno.args[0] ?? 9);
const ROWS = 200_000;

const manager = new EntityNamespaceManager();
const northwind = manager.createNamespace("northwind", {
  provider: { type: "sqlite", filePath: ":memory:" },
});
for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
  northwind.registerEntity(name, definition);
}
const Product = northwind.getEntity("Products");
const columns: ResultColumn[] = Product.metadata.fieldList.map((field) => ({
  alias: field.name,
  path: [field.name],
  type: field.type,
  scale: field.definition.scale,
  hidden: false,
}));
const plain = rowDecoder(columns);
const built = builtRowDecoder(columns, Product.metadata.fields, Product.rowBuilder()!)!;

/** Fresh stored rows (column values in SELECT order), as node:sqlite returns them. */
function rows(): unknown[][] {
  return Array.from({ length: ROWS }, (_, i) => [
    i,
    `Product ${i}`,
    i % 29,
    i % 8,
    "10 boxes x 20 bags",
    18,
    39,
    0,
    10,
    i % 2,
  ]);
}

function cpu(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000; // ns
}

const sink: unknown[] = new Array(ROWS);
const cases: Record<string, (input: unknown[][]) => void> = {
  "plain row (before records)": (input) => {
    for (let i = 0; i < ROWS; i++) sink[i] = plain(input[i]!);
  },
  "plain row + model.wrap()": (input) => {
    for (let i = 0; i < ROWS; i++) sink[i] = Product.wrap(plain(input[i]!));
  },
  "decoded into the record": (input) => {
    for (let i = 0; i < ROWS; i++) sink[i] = built(input[i]!);
  },
};

const results = new Map<string, number[]>();
for (let round = -1; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const input = rows();
    const start = cpu();
    run(input);
    const perRow = (cpu() - start) / ROWS;
    if (round >= 0) results.set(name, [...(results.get(name) ?? []), perRow]);
  }
}
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [name, values] of results) console.log(`${name}: ${median(values).toFixed(0)} ns/row`);
await manager.close();
