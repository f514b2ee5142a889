// deno-lint-ignore-file no-console
/**
 * Active Record on PostgreSQL against raw postgres.js running the same SQL (the statements the
 * provider compiles, taken from its compiler), in a database it creates and drops:
 *
 *   POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres deno run -A bench/postgres_ratio.ts [rounds=201] [case]
 *
 * Targets (issue 11 §4): key lookup and a 20-row filtered list ≤ 1.2×; 50 orders with expanded
 * details ≤ 1.5× a hand-written two-query version; createMany of 100,000 rows ≤ 1.3× the
 * driver's own bulk insert (its `sql(rows)` helper, chunked under the protocol's 65,535-parameter
 * limit, in one transaction).
 *
 * Made for a small shared machine (2 cores, neighbours running): the two sides run in many short
 * alternating rounds (default 201 of a few milliseconds each; raw first in even rounds, ours first
 * in odd ones), and the ratio is the MEDIAN of the rounds' own ratios, printed with its quartiles,
 * so a neighbour's burst spoils a few rounds, not the result. Each round measures wall time and
 * CPU time: this process's (user + system) plus, when the server runs on this machine and its
 * /proc is readable, the CPU time of the server backends serving that side (found by
 * application_name, read from /proc/<pid>/schedstat). The verdict uses CPU time: a neighbour
 * inflates it far less than wall time, and it is the stricter measure (the wall time of both
 * sides shares the same network and scheduling latency). Wall ratios are printed next to it.
 * createMany runs fewer, longer rounds (`rounds / 20`, 3 to 9), the tables emptied before each.
 * The raw side prepares its statements (as the driver's tagged templates do), like the provider.
 *
 * A second argument runs only the cases whose name contains it (`key`, `list`, `expand`,
 * `createMany`).
 */

import postgres from "postgres";
import process from "node:process";
import { EntityNamespaceManager, parseFilter } from "../mod.ts";
import { compileExpansion, compileRead } from "../providers/postgres/compiler.ts";

const ROUNDS = Number(Deno.args[0] ?? 201);
/** Only the cases whose name contains this text (all by default). */
const ONLY = Deno.args[1] ?? "";
const adminUrl = Deno.env.get("POSTGRES_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const name = `oar_bench_${Deno.pid}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE DATABASE "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;

const manager = new EntityNamespaceManager();
const ns = manager.createNamespace("bench", {
  provider: { type: "postgres", url: url.toString(), poolSize: 4 },
});
const FIELDS = {
  ProductID: { type: "integer", primaryKey: true },
  ProductName: { type: "string", required: true },
  UnitPrice: { type: "decimal", precision: 12, scale: 2 },
  UnitsInStock: { type: "integer" },
  Discontinued: { type: "boolean" },
} as const;
const Product = ns.registerEntity("Products", { fields: FIELDS });
const Bulk = ns.registerEntity("Bulk", { fields: FIELDS });
const Order = ns.registerEntity("Orders", {
  fields: { OrderID: { type: "integer", primaryKey: true }, Customer: { type: "string" } },
  relations: { Details: { type: "many", entity: "Details", foreignKey: "OrderID" } },
});
const Detail = ns.registerEntity("Details", {
  fields: {
    OrderID: { type: "integer", primaryKey: true },
    Line: { type: "integer", primaryKey: true },
    Quantity: { type: "integer" },
    UnitPrice: { type: "decimal", precision: 12, scale: 2 },
  },
  relations: { Order: { type: "one", entity: "Orders", foreignKey: "OrderID" } },
});
ns.registerEntity("RawBulk", { fields: FIELDS });
await ns.sync();
await Product.createMany(
  Array.from({ length: 1000 }, (_, i) => ({
    ProductName: `Product ${String(i).padStart(4, "0")}`,
    UnitPrice: `${(i * 7) % 100}.${String(i % 100).padStart(2, "0")}`,
    UnitsInStock: i % 50,
    Discontinued: i % 3 === 0,
  })),
);
await Order.createMany(
  Array.from({ length: 800 }, (_, i) => ({ OrderID: 10_000 + i, Customer: `C${i % 90}` })),
);
await Detail.createMany(
  Array.from({ length: 2400 }, (_, i) => ({
    OrderID: 10_000 + Math.floor(i / 3),
    Line: i % 3,
    Quantity: i % 40,
    UnitPrice: `${i % 70}.50`,
  })),
);
await admin.end();

const raw = postgres(url.toString(), {
  max: 4,
  onnotice: () => {},
  connection: { search_path: "public", TimeZone: "UTC" },
});
/** Prepared, as the driver's tagged templates are (`unsafe()` alone would parse every time). */
const PREPARED = { prepare: true };
const byKeySql = compileRead(Product.metadata, { filter: parseFilter("ProductID eq 1") });
const listSql = compileRead(Product.metadata, {
  filter: parseFilter("UnitPrice gt 10"),
  orderby: [{ expression: parseFilter("ProductName"), direction: "asc" }],
  top: 20,
});

const ordersSql = compileRead(Order.metadata, {
  orderby: [{ expression: parseFilter("OrderID"), direction: "asc" }],
  top: 50,
});
const detailsSql = compileExpansion({
  schema: { getEntityMetadata: (name) => name === "Details" ? Detail.metadata : undefined },
  parent: Order.metadata,
  navigation: "Details",
  query: {},
  keys: [[0]],
});

/** The hand-written two-query version of 50 orders with their details. */
async function ordersByHand(): Promise<unknown> {
  const orders = await raw.unsafe(ordersSql.text, [], PREPARED);
  const ids = orders.map((o) => o.OrderID);
  const details = await raw.unsafe(detailsSql.text, [ids], PREPARED);
  const byOrder = new Map<unknown, unknown[]>();
  for (const d of details) {
    let list = byOrder.get(d.OrderID);
    if (list === undefined) byOrder.set(d.OrderID, list = []);
    list.push(d);
  }
  return orders.map((o) => ({ ...o, Details: byOrder.get(o.OrderID) ?? [] }));
}

interface Case {
  name: string;
  target: number;
  /** Operations per side per round (a few milliseconds' worth). */
  perRound: number;
  raw: (i: number) => Promise<unknown>;
  ours: (i: number) => Promise<unknown>;
}

const cases: Case[] = [
  {
    name: "key lookup (findById)",
    target: 1.2,
    perRound: 40,
    raw: (i) => raw.unsafe(byKeySql.text, [(i % 1000) + 1], PREPARED),
    ours: (i) => Product.findById((i % 1000) + 1),
  },
  {
    name: "filtered, ordered 20-row list",
    target: 1.2,
    perRound: 10,
    raw: (i) => raw.unsafe(listSql.text, [String(10 + (i % 10))], PREPARED),
    ours: (i) =>
      Product.where("UnitPrice", "gt", String(10 + (i % 10))).orderBy("ProductName").limit(20)
        .find(),
  },
  {
    name: "50 orders with expanded details",
    target: 1.5,
    perRound: 6,
    raw: () => ordersByHand(),
    ours: () => Order.orderBy("OrderID").limit(50).expand("Details").find(),
  },
];

/** Finds the server backends of each side by application_name. */
const monitor = postgres(url.toString(), {
  max: 1,
  onnotice: () => {},
  connection: { application_name: "oar-bench-monitor" },
});
const RAW_APP = "postgres.js";
const OURS_APP = "odata-active-record";
async function backends(application: string): Promise<number[]> {
  const rows = await monitor.unsafe(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
    [name, application],
  );
  return rows.map((row) => Number(row.pid));
}
/** Nanoseconds on CPU of these processes (/proc/<pid>/schedstat), or NaN when unreadable. */
function serverCpuNs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += Number(Deno.readTextFileSync(`/proc/${pid}/schedstat`).split(" ")[0]);
    } catch {
      return NaN;
    }
  }
  return pids.length === 0 ? NaN : total;
}
let serverMeasured = true;

/** One side of the comparison: its work, and its server backends (looked up again when gone). */
class Side {
  readonly application: string;
  #pids: number[] = [];
  constructor(application: string) {
    this.application = application;
  }
  async refresh(): Promise<void> {
    this.#pids = await backends(this.application);
  }
  /** Runs `work`: wall time and CPU time (this process + its backends), in ms. */
  async measure(work: () => Promise<void>): Promise<Sample> {
    let server0 = serverCpuNs(this.#pids);
    if (Number.isNaN(server0)) {
      await this.refresh(); // a connection was replaced: not inside the measured interval
      server0 = serverCpuNs(this.#pids);
    }
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await work();
    const wall = performance.now() - wall0;
    const cpu = process.cpuUsage(cpu0);
    const server = serverCpuNs(this.#pids) - server0;
    if (Number.isNaN(server)) serverMeasured = false;
    const serverMs = Number.isNaN(server) ? 0 : server / 1e6;
    return { wall, cpu: (cpu.user + cpu.system) / 1000 + serverMs, server: serverMs };
  }
}
const rawSide = new Side(RAW_APP);
const oursSide = new Side(OURS_APP);

interface Sample {
  wall: number;
  cpu: number;
  server: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The first and third quartiles. */
function quartiles(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  return [sorted[Math.floor(sorted.length / 4)]!, sorted[Math.floor((sorted.length * 3) / 4)]!];
}

interface Outcome {
  rawWall: number;
  oursWall: number;
  rawCpu: number;
  oursCpu: number;
  rawServer: number;
  oursServer: number;
  wallRatio: number;
  cpuRatio: number;
  cpuQ1: number;
  cpuQ3: number;
  /** Ratio of the sides' own first-quartile CPU times (their least disturbed rounds). */
  lowRatio: number;
}

/**
 * Alternating rounds of both sides (raw first in even rounds, ours first in odd ones); medians
 * of the per-round ratios, so a neighbour's burst spoils rounds, not the result.
 */
async function compare(
  rounds: number,
  rawWork: () => Promise<void>,
  oursWork: () => Promise<void>,
  between?: () => Promise<void>,
): Promise<Outcome> {
  await rawSide.refresh();
  await oursSide.refresh();
  const raws: Sample[] = [];
  const ourss: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    let rawSample: Sample;
    let oursSample: Sample;
    // Long rounds (bulk inserts) look up the backends before each one: pools may have changed.
    const prepare = async (side: Side) => {
      if (between === undefined) return;
      await between();
      await side.refresh();
    };
    if (round % 2 === 0) {
      await prepare(rawSide);
      rawSample = await rawSide.measure(rawWork);
      await prepare(oursSide);
      oursSample = await oursSide.measure(oursWork);
    } else {
      await prepare(oursSide);
      oursSample = await oursSide.measure(oursWork);
      await prepare(rawSide);
      rawSample = await rawSide.measure(rawWork);
    }
    raws.push(rawSample);
    ourss.push(oursSample);
  }
  const cpuRatios = raws.map((r, i) => ourss[i]!.cpu / r.cpu);
  const [cpuQ1, cpuQ3] = quartiles(cpuRatios);
  return {
    rawWall: median(raws.map((r) => r.wall)),
    oursWall: median(ourss.map((r) => r.wall)),
    rawCpu: median(raws.map((r) => r.cpu)),
    oursCpu: median(ourss.map((r) => r.cpu)),
    rawServer: median(raws.map((r) => r.server)),
    oursServer: median(ourss.map((r) => r.server)),
    wallRatio: median(raws.map((r, i) => ourss[i]!.wall / r.wall)),
    cpuRatio: median(cpuRatios),
    cpuQ1,
    cpuQ3,
    lowRatio: quartiles(ourss.map((r) => r.cpu))[0] / quartiles(raws.map((r) => r.cpu))[0],
  };
}

const verdicts: string[] = [];
function report(label: string, unit: string, scale: number, target: number, o: Outcome): void {
  const pass = o.cpuRatio <= target;
  const f = (ms: number) => (ms * scale).toFixed(1);
  verdicts.push(
    `${pass ? "PASS" : "FAIL"} ${label}: ${o.cpuRatio.toFixed(2)}× (target ≤ ${target}×)`,
  );
  console.log(
    `${label}: CPU ours ${f(o.oursCpu)} ${unit} (server ${f(o.oursServer)}), raw ${
      f(o.rawCpu)
    } ${unit} (server ${f(o.rawServer)}); wall ours ${f(o.oursWall)}, raw ${f(o.rawWall)} ${unit}` +
      `\n  ratio CPU ${o.cpuRatio.toFixed(2)}× [quartiles ${o.cpuQ1.toFixed(2)}–${
        o.cpuQ3.toFixed(2)
      }], least disturbed rounds ${o.lowRatio.toFixed(2)}×, wall ${o.wallRatio.toFixed(2)}×: ${
        pass ? "PASS" : "FAIL"
      } (target ≤ ${target}×)`,
  );
}

for (const c of cases.filter((c) => c.name.includes(ONLY))) {
  const loop = (fn: (i: number) => Promise<unknown>) => {
    let i = 0;
    return async () => {
      for (const end = i + c.perRound; i < end; i++) await fn(i);
    };
  };
  const rawLoop = loop(c.raw);
  const oursLoop = loop(c.ours);
  // Warm-up: pools open, statements prepared, code optimized.
  for (let i = 0; i < 30; i++) {
    await rawLoop();
    await oursLoop();
  }
  const outcome = await compare(ROUNDS, rawLoop, oursLoop);
  report(c.name, "µs", 1000 / c.perRound, c.target, outcome);
}

// createMany of 100,000 rows against the driver's own bulk insert, same rows, one transaction.
const ROWS = 100_000;
const rows = Array.from({ length: ROWS }, (_, i) => ({
  ProductName: `Bulk ${i}`,
  UnitPrice: `${i % 1000}.${String(i % 100).padStart(2, "0")}`,
  UnitsInStock: i % 50,
  Discontinued: i % 2 === 0,
}));
const columns = ["ProductName", "UnitPrice", "UnitsInStock", "Discontinued"] as const;
const perStatement = Math.floor(65_535 / columns.length);
async function rawBulk(): Promise<void> {
  await raw.begin(async (sql) => {
    for (let start = 0; start < rows.length; start += perStatement) {
      await sql`INSERT INTO "RawBulk" ${sql(rows.slice(start, start + perStatement), ...columns)}
        RETURNING *`;
    }
  });
}
const bulkRounds = Math.max(3, Math.min(9, Math.round(ROUNDS / 20)));
const bulk = !"createMany".includes(ONLY) ? undefined : await compare(
  bulkRounds,
  rawBulk,
  async () => {
    await Bulk.createMany(rows);
  },
  () => raw.unsafe('TRUNCATE "RawBulk", "Bulk"').then(() => undefined),
);
if (bulk !== undefined) report(`createMany ${ROWS} rows`, "ms", 1, 1.3, bulk);

console.log(
  `\n${ROUNDS} rounds (createMany ${bulkRounds}); CPU = this process${
    serverMeasured ? " + its server backends" : " only (server CPU not readable)"
  }; ratio = median of the rounds' ratios [first–third quartile]`,
);
for (const line of verdicts) console.log(line);

await monitor.end();
await raw.end();
await manager.close();
const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
await cleanup.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
await cleanup.end();
