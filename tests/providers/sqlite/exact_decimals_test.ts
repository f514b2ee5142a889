/**
 * Exact decimals (issue 7 §3): sums, averages, arithmetic, comparisons and order of decimals
 * are exact within the declared precision, checked against a BigInt oracle over random data
 * (fixed seed) at the limits of decimal(15, 2). Each case was wrong with float arithmetic.
 */
import assert from "node:assert/strict";
import { EntityNamespaceManager } from "../../../mod.ts";
import { isCode } from "./helpers.ts";

const MONEY = {
  fields: {
    id: { type: "integer", primaryKey: true },
    amt: { type: "decimal", precision: 15, scale: 2 },
    g: { type: "integer" },
  },
} as const;

async function open(rows: { amt: string | null; g: number }[]) {
  const manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("money", {
    provider: { type: "sqlite", filePath: ":memory:" },
  });
  const Money = ns.registerEntity("Money", MONEY);
  await ns.sync();
  await Money.createMany(rows, { returning: false });
  const rowsOf = async (query: string) =>
    (await Money.query(query).find()).data.map((r) => r.toJSON() as Record<string, unknown>);
  return { Money, rowsOf, [Symbol.asyncDispose]: () => manager.close() };
}

/** Cents as decimal(15, 2) text. */
function text(cents: bigint): string {
  const negative = cents < 0n;
  const digits = (negative ? -cents : cents).toString().padStart(3, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** mulberry32: a small deterministic generator. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIMIT = 999_999_999_999_999n; // decimal(15, 2): ±9999999999999.99

/** Random cents up to the limit, many of them close to it. */
function randomCents(next: () => number): bigint {
  const magnitude = next() < 0.5
    ? LIMIT - BigInt(Math.floor(next() * 1_000_000))
    : BigInt(Math.floor(next() * 1e9)) * 1_000_000n + BigInt(Math.floor(next() * 1e6));
  const cents = magnitude > LIMIT ? LIMIT : magnitude;
  return next() < 0.3 ? -cents : cents;
}

Deno.test("decimal sum: 9999999999999.99 + 9999999999999.99 + 0.03 is 20000000000000.01", async () => {
  await using f = await open([
    { amt: "9999999999999.99", g: 1 },
    { amt: "9999999999999.99", g: 1 },
    { amt: "0.03", g: 2 },
  ]);
  assert.deepEqual(await f.rowsOf("$apply=aggregate(amt with sum as S)"), [{
    S: "20000000000000.01",
  }]);
  assert.deepEqual(
    await f.rowsOf("$apply=aggregate(amt with average as A,amt with min as Lo,amt with max as Hi)"),
    [{ A: "6666666666666.67", Lo: "0.03", Hi: "9999999999999.99" }],
  );
  // The exact sum compares exactly, whatever its SQL type.
  assert.deepEqual(
    await f.rowsOf("$apply=aggregate(amt with sum as S)/filter(S gt 20000000000000)"),
    [{ S: "20000000000000.01" }],
  );
  assert.deepEqual(
    await f.rowsOf("$apply=aggregate(amt with sum as S)/filter(S lt 20000000000000.1)"),
    [{ S: "20000000000000.01" }],
  );
});

Deno.test("decimal arithmetic in $compute and $filter keeps every digit and the scale", async () => {
  await using f = await open([
    { amt: "9999999999999.99", g: 1 },
    { amt: "5.10", g: 1 },
    { amt: "-9999999999999.99", g: 2 },
  ]);
  assert.deepEqual(await f.rowsOf("$compute=amt mul 3 as x&$select=id,x&$orderby=id"), [
    { id: 1, x: "29999999999999.97" },
    { id: 2, x: "15.30" },
    { id: 3, x: "-29999999999999.97" },
  ]);
  assert.deepEqual(
    await f.rowsOf(
      "$compute=amt add amt add 0.02 as x,amt sub 0.01 mul 2 as y&$select=x,y&$orderby=id",
    ),
    [
      { x: "20000000000000.00", y: "9999999999999.97" },
      { x: "10.22", y: "5.08" },
      { x: "-19999999999999.96", y: "-10000000000000.01" },
    ],
  );
  // Equal exact values are equal; SQLite's = would tell REAL from TEXT apart.
  assert.equal(await f.Money.filter("amt mul 3 eq amt add amt add amt").count(), 3);
  assert.equal(await f.Money.filter("amt mul 3 gt amt add amt add amt").count(), 0);
  assert.equal(await f.Money.filter("amt mul 3 sub 0.01 lt amt add amt add amt").count(), 3);
  // Ordered numerically, not REAL before TEXT.
  assert.deepEqual(
    (await f.rowsOf("$compute=amt mul 3 as x&$orderby=x desc&$select=id")).map((r) => r.id),
    [1, 2, 3],
  );
  assert.deepEqual(
    (await f.rowsOf("$compute=amt mul 3 as x&$orderby=x&$select=id")).map((r) => r.id),
    [3, 2, 1],
  );
  // round/floor/ceiling and cast of exact results stay exact (SQLite's would use floats).
  assert.deepEqual(
    await f.rowsOf(
      "$compute=round(amt mul 3 add 0.5) as r,floor(amt mul 3 add 0.5) as fl," +
        "ceiling(amt mul 3 add 0.5) as c,cast(amt mul 3,Edm.Decimal) as d&$select=r,fl,c,d&$orderby=id",
    ),
    [
      { r: "30000000000000", fl: "30000000000000", c: "30000000000001", d: "29999999999999.97" },
      { r: "16", fl: "15", c: "16", d: "15.30" },
      {
        r: "-29999999999999",
        fl: "-30000000000000",
        c: "-29999999999999",
        d: "-29999999999999.97",
      },
    ],
  );
  // A literal beyond 15 digits is still refused rather than compared as a float.
  await assert.rejects(
    f.Money.filter("amt eq 12345678901234567.1").count(),
    isCode("NOT_SUPPORTED"),
  );
});

Deno.test("decimal group sums over 20,000 random money rows match a BigInt oracle", async () => {
  const next = random(20_240_131);
  const data = Array.from({ length: 20_000 }, () => {
    const empty = next() < 0.02;
    return { cents: empty ? null : randomCents(next), g: Math.floor(next() * 7) };
  });
  await using f = await open(
    data.map(({ cents, g }) => ({ amt: cents === null ? null : text(cents), g })),
  );
  const groups = new Map<number, bigint[]>();
  for (const { cents, g } of data) {
    if (!groups.has(g)) groups.set(g, []);
    if (cents !== null) groups.get(g)!.push(cents);
  }
  const expected = [...groups.keys()].sort((a, b) => a - b).map((g) => {
    const values = groups.get(g)!;
    const sum = values.reduce((a, b) => a + b, 0n);
    const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      g,
      S: text(sum),
      N: values.length,
      Lo: text(sorted[0]!),
      Hi: text(sorted[sorted.length - 1]!),
      Tripled: text(sum * 3n),
    };
  });
  const actual = await f.rowsOf(
    "$apply=compute(amt mul 3 as t)/groupby((g),aggregate(amt with sum as S,amt with countdistinct as D," +
      "amt with min as Lo,amt with max as Hi,t with sum as Tripled))&$orderby=g",
  );
  assert.deepEqual(
    actual.map(({ g, S, Lo, Hi, Tripled }) => ({ g, S, Lo, Hi, Tripled })),
    expected.map(({ g, S, Lo, Hi, Tripled }) => ({ g, S, Lo, Hi, Tripled })),
  );
  // Averages: the exact quotient, rounded half away from zero to 15 significant digits or
  // 2 fraction digits, whichever keeps more.
  const averages = await f.rowsOf(
    "$apply=groupby((g),aggregate(amt with average as A))&$orderby=g",
  );
  for (const [i, { A }] of averages.entries()) {
    const values = groups.get(expected[i]!.g)!;
    const sum = values.reduce((a, b) => a + b, 0n);
    assert.equal(A, oracleAverage(sum, BigInt(values.length)), `group ${expected[i]!.g}`);
  }
  // Ordering by the exact sums, and a total across groups beyond 15 digits.
  const bySum = await f.rowsOf("$apply=groupby((g),aggregate(amt with sum as S))&$orderby=S desc");
  const sums = expected.map((e) => ({ g: e.g, cents: BigInt(e.S.replace(".", "")) }))
    .sort((a, b) => (a.cents > b.cents ? -1 : a.cents < b.cents ? 1 : 0));
  assert.deepEqual(bySum.map((r) => r.g), sums.map((s) => s.g));
  const total = data.reduce((a, { cents }) => a + (cents ?? 0n), 0n);
  assert.deepEqual(await f.rowsOf("$apply=aggregate(amt with sum as S)"), [{ S: text(total) }]);
});

/** sum / count as the provider rounds a decimal quotient (see providers/sqlite/exact.ts). */
function oracleAverage(sumCents: bigint, count: bigint): string {
  // Fraction digits: 15 significant digits, at least 2 (the column's scale).
  const magnitude = (sumCents < 0n ? -sumCents : sumCents) / count / 100n;
  const integerDigits = magnitude === 0n ? 0 : magnitude.toString().length;
  let scale = Math.max(2, 15 - integerDigits);
  if (magnitude === 0n) {
    // Below 1: leading zero fraction digits do not count as significant.
    const abs = sumCents < 0n ? -sumCents : sumCents;
    let zeros = 0;
    while (zeros < 40 && abs * 10n ** BigInt(zeros + 1) < count * 100n) zeros++;
    scale = Math.max(2, 15 + zeros);
  }
  const numerator = sumCents * 10n ** BigInt(scale);
  const denominator = count * 100n;
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  let q = abs / denominator;
  if ((abs % denominator) * 2n >= denominator) q += 1n;
  const digits = q.toString().padStart(scale + 1, "0");
  let out = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`.replace(/0+$/, "");
  if (out.endsWith(".")) out = out.slice(0, -1);
  return negative && /[1-9]/.test(out) ? `-${out}` : out;
}
