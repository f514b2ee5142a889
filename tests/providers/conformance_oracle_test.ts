/**
 * The independent oracle of the provider conformance suite: every data-dependent case of
 * tests/providers/conformance.ts carries hand-written PostgreSQL (`oracle`), run here on a
 * temporary database loaded from the dump we ship (examples/northwind/data/northwind.sql, the
 * original PostgreSQL dump), and its result must equal the case's stored `expect`. Cases that
 * check the library's own behaviour say so (`library`) instead.
 *
 * Needs PostgreSQL at 127.0.0.1:5432 with trust authentication for user postgres and `psql`
 * (as on the development and CI machines); the database is created and dropped by the test.
 * Run alone: deno test -A tests/providers/conformance_oracle_test.ts
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CASES } from "./conformance.ts";

const DUMP = fileURLToPath(
  new URL("../../examples/northwind/data/northwind.sql", import.meta.url),
);
const CONNECTION = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-X", "-q"];

async function psql(database: string, args: string[]): Promise<string> {
  const output = await new Deno.Command("psql", {
    args: [...CONNECTION, "-d", database, "-v", "ON_ERROR_STOP=1", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`psql ${args.join(" ")} failed: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

/** One value from psql's unaligned output: JSON, or a PostgreSQL boolean. */
function value(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "t" || trimmed === "f") return trimmed === "t";
  return JSON.parse(trimmed);
}

Deno.test("every conformance case is either recomputed by PostgreSQL or marked as library behaviour", () => {
  for (const testCase of CASES) {
    const marks = [testCase.oracle, testCase.library].filter((m) => m !== undefined);
    assert.equal(marks.length, 1, `${testCase.name}: exactly one of oracle / library`);
    if (testCase.write) {
      assert.ok(testCase.library !== undefined, `${testCase.name}: writes check the library`);
    }
  }
  assert.equal(CASES.length, 51);
});

Deno.test("conformance expectations equal hand-written SQL on PostgreSQL over the shipped dump", async (t) => {
  const database = `oar_conformance_${Deno.pid}_${Date.now()}`;
  await psql("postgres", ["-c", `CREATE DATABASE ${database}`]);
  try {
    await psql(database, ["-f", DUMP]);
    for (const testCase of CASES) {
      if (testCase.oracle === undefined) continue;
      await t.step(testCase.name, async () => {
        const result = value(await psql(database, ["-A", "-t", "-c", testCase.oracle!]));
        assert.deepStrictEqual(result, testCase.expect);
      });
    }
  } finally {
    await psql("postgres", ["-c", `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
  }
});
