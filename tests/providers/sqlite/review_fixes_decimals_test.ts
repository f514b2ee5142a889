/**
 * Review fixes, decimals on SQLite: values a 64-bit float cannot hold are refused instead of
 * silently rounded (writes and filter literals), created rows read back as stored, and decimal
 * arithmetic and aggregates have decimal results (no float noise). Through the public API on
 * real database files.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type EntityNamespace,
  EntityNamespaceManager,
  NotSupportedError,
  ValidationError,
} from "../../../mod.ts";
import { isCode } from "./helpers.ts";

async function withNamespace(
  fn: (ns: EntityNamespace) => Promise<void>,
  filePath?: string,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "oar-sqlite-decimals-"));
  const manager = new EntityNamespaceManager();
  try {
    const ns = manager.createNamespace("d", {
      provider: { type: "sqlite", filePath: filePath ?? join(dir, "d.db") },
    });
    await fn(ns);
  } finally {
    await manager.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const AMOUNTS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    s: { type: "decimal", precision: 38, scale: 10 },
    d: { type: "decimal", scale: 2 },
    u: { type: "decimal" },
    i: { type: "integer" },
  },
} as const;

const TOO_PRECISE = "12345678901234567890.1234567890";

function refusesDecimal(field: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.code, "VALIDATION_FAILED");
    assert.equal(error.issues[0]!.field, field);
    assert.match(
      error.issues[0]!.reason,
      /SQLite stores decimals as 64-bit floats: at most 15 significant digits/,
    );
    assert.match(error.issues[0]!.suggestion, /15 significant digits/);
    return true;
  };
}

Deno.test("decimals: a value a float cannot hold is refused, nothing is written", () =>
  withNamespace(async (ns) => {
    const T = ns.registerEntity("Amounts", AMOUNTS);
    await ns.sync();
    await assert.rejects(T.create({ s: TOO_PRECISE }), refusesDecimal("s"));
    // 16 significant digits: the float would hold a neighbour, not this value.
    await assert.rejects(T.create({ u: "1234567890123456" }), refusesDecimal("u"));
    // Out of the float range: no digit count helps.
    await assert.rejects(T.create({ u: "1e400" }), refusesDecimal("u"));
    assert.equal(await T.count(), 0);
    // createMany: a bad row anywhere means none of the rows is written.
    await assert.rejects(
      T.createMany([{ id: 1, s: "1.5" }, { id: 2, s: TOO_PRECISE }, { id: 3, s: "2" }]),
      refusesDecimal("s"),
    );
    assert.equal(await T.count(), 0);
    // Updates too, whichever way they come.
    const row = await T.create({ id: 5, s: "123456789012345", u: "0.000000000000001" });
    assert.equal(row.get("s"), "123456789012345.0000000000"); // 15 digits: fine
    await assert.rejects(T.updateById(5, { s: TOO_PRECISE }), refusesDecimal("s"));
    await assert.rejects(T.where("id", "eq", 5).update({ u: TOO_PRECISE }), refusesDecimal("u"));
    row.set("s", TOO_PRECISE);
    await assert.rejects(row.save(), refusesDecimal("s"));
    const stored = await T.findById(5);
    assert.equal(stored!.get("s"), "123456789012345.0000000000");
    assert.equal(stored!.get("u"), "0.000000000000001");
  }));

Deno.test("decimals: create() returns the text findById() returns", () =>
  withNamespace(async (ns) => {
    const T = ns.registerEntity("Amounts", AMOUNTS);
    await ns.sync();
    const created = await T.create({ id: 1, u: "1.50", s: "123456789.1", d: "7" });
    const found = await T.findById(1);
    for (const field of ["u", "s", "d"] as const) {
      assert.equal(created.get(field), found!.get(field), field);
    }
    assert.equal(found!.get("u"), "1.5");
    // The float's binary expansion (123456789.0999999940) never shows.
    assert.equal(found!.get("s"), "123456789.1000000000");
    assert.equal(found!.get("d"), "7.00");
    const [many] = await T.createMany([{ id: 2, u: "2.50" }, { id: 3, u: "3" }]);
    assert.equal(many!.get("u"), (await T.findById(2))!.get("u"));
  }));

Deno.test("decimals: a literal a float cannot hold, met by a decimal, is NOT_SUPPORTED", () =>
  withNamespace(async (ns) => {
    const T = ns.registerEntity("Amounts", AMOUNTS);
    await ns.sync();
    await T.create({ id: 1, s: "1.5" });
    // The same shape first, so the second query is served from the plan cache.
    assert.equal(await T.filter("s eq 1.5").count(), 1);
    assert.equal((await T.filter("s eq 1.5").find()).data.length, 1);
    for (const query of [T.filter(`s eq ${TOO_PRECISE}`), T.where("s", "eq", TOO_PRECISE)]) {
      await assert.rejects(query.find(), (error: unknown) => {
        assert.ok(error instanceof NotSupportedError, String(error));
        assert.match(error.suggestion, /15 significant digits/);
        return true;
      });
    }
    await assert.rejects(T.filter(`s add ${TOO_PRECISE} gt 0`).count(), isCode("NOT_SUPPORTED"));
    // Compared with a double (number) nothing is promised beyond float semantics: allowed.
    assert.equal(await T.filter("id eq 1").count(), 1);
  }));

Deno.test("decimal arithmetic: results are rounded to the operands' scale", () =>
  withNamespace(async (ns) => {
    const T = ns.registerEntity("Amounts", AMOUNTS);
    await ns.sync();
    await T.create({ id: 1, d: "0.1", u: "0.3", i: 1 });
    await T.create({ id: 2, u: "1000000.1" });
    const count = (filter: string) => T.filter(filter).count();
    assert.equal(await count("d add 0.2 eq 0.3"), 1);
    assert.equal(await count("0.2 add d eq 0.3"), 1);
    assert.equal(await count("d sub 0.3 eq -0.2"), 1);
    assert.equal(await count("d mul 3 eq 0.3"), 1);
    assert.equal(await count("(d add 0.2) mul 3 eq 0.9"), 1);
    // Without a declared scale the result keeps at most 15 significant digits.
    assert.equal(await count("u sub 0.1 eq 0.2"), 1);
    assert.equal(await count("u div 0.1 eq 3"), 1);
    assert.equal(await count("u mod 0.1 eq 0"), 2); // 0.3 and 1000000.1
    assert.equal(await count("0.1 add 0.2 eq 0.3"), 2);
    // After a cancellation the noise is relative to the operands, not to the result.
    assert.equal(await count("u sub 1000000 eq 0.1"), 1);
    // Doubles keep float semantics.
    assert.equal(await count("d add 0.2e0 eq 0.3e0"), 0);
    const { data } = await T.query("$compute=d add 0.2 as x,u sub 0.1 as y&$select=x,y").find();
    // The scale of the exact result is kept when known: d has scale 2 (SQL: 0.10 + 0.2 = 0.30).
    assert.deepEqual(data[0]!.toJSON(), { x: "0.30", y: "0.2" });
  }));

Deno.test("decimal arithmetic: the plan cache does not reuse one literal's scale for another", () =>
  withNamespace(async (ns) => {
    const T = ns.registerEntity("Amounts", AMOUNTS);
    await ns.sync();
    await T.create({ id: 1, i: 1 });
    // Same shape; the first rounds to 1 fraction digit, the second must round to 2.
    assert.equal(await T.filter("i add 0.5 eq 1.5").count(), 1);
    assert.equal((await T.filter("i add 0.5 eq 1.5").find()).data.length, 1);
    assert.equal((await T.filter("i add 0.25 eq 1.25").find()).data.length, 1);
    assert.equal((await T.filter("i add 0.25 eq 1.3").find()).data.length, 0);
  }));

Deno.test("decimal aggregates: sum and average have no float noise", () =>
  withNamespace(async (ns) => {
    const T = ns.registerEntity("Amounts", AMOUNTS);
    await ns.sync();
    await T.createMany(["0.1", "0.2", "0.3", "0.8"].map((u, n) => ({ id: n + 1, u, d: u })));
    const aggregate = async (apply: string) =>
      (await T.query(`$apply=${apply}`).find()).data.map((r) => r.toJSON());
    assert.deepEqual(await aggregate("aggregate(u with sum as S)"), [{ S: "1.4" }]);
    assert.deepEqual(await aggregate("aggregate(u with average as A)"), [{ A: "0.35" }]);
    assert.deepEqual(await aggregate("aggregate(d with sum as S)"), [{ S: "1.40" }]);
    await T.create({ id: 5, u: "0.1" });
    // 1.5 / 5 = 0.3; 2 / 3 keeps 15 significant digits, not 17.
    assert.deepEqual(await aggregate("aggregate(u with average as A)"), [{ A: "0.3" }]);
    await T.where("id", "in", [1, 2, 3]).delete();
    await T.create({ id: 6, u: "0.1" });
    assert.deepEqual(await aggregate("aggregate(u with average as A)"), [{
      A: "0.333333333333333",
    }]);
    // An aggregated value compares as the decimal it stands for.
    assert.deepEqual(
      await aggregate("aggregate(u with sum as S)/filter(S eq 1)"),
      [{ S: "1" }],
    );
  }));
