/**
 * Limits that always hold (issue 6): `$levels` has a limit, a configured depth is one the parser
 * can hold (and a stack overflow is reported as what it is), a repeated parameter alias is an
 * error, and whitespace follows the ABNF in `$filter=` and in option lists alike.
 */
import assert from "node:assert/strict";
import {
  ODataActiveRecordError,
  ODataSyntaxError,
  QueryLimitError,
} from "../../src/errors/errors.ts";
import {
  DEFAULT_QUERY_LIMITS,
  MAX_SUPPORTED_DEPTH,
  resolveLimits,
} from "../../src/odata/limits.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";

function limitError(fn: () => unknown): QueryLimitError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof QueryLimitError, String(error));
    return error;
  }
  assert.fail("expected a QueryLimitError");
}

function syntaxErrorAt(fn: () => unknown, position: number, part?: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ODataSyntaxError, String(error));
    assert.equal(error.position, position, error.message);
    if (part !== undefined) assert.ok(error.message.includes(part), error.message);
    return true;
  });
}

Deno.test("limits: $levels is limited by maxLevels (default like maxExpandDepth)", () => {
  assert.equal(DEFAULT_QUERY_LIMITS.maxLevels, DEFAULT_QUERY_LIMITS.maxExpandDepth);
  assert.deepStrictEqual(parseQuery("$expand=A($levels=6)").expand, [
    { path: ["A"], options: { levels: 6 } },
  ]);
  assert.deepStrictEqual(parseQuery("$expand=A($levels=max)").expand, [
    { path: ["A"], options: { levels: "max" } },
  ]);
  // Once: $levels=1000000 was accepted.
  const error = limitError(() => parseQuery("$expand=A($levels=1000000)"));
  assert.equal(error.limit, "maxLevels");
  assert.equal(error.value, 6);
  // However many digits: a limit error, not a syntax error or a rounded value.
  assert.equal(
    limitError(() => parseQuery(`$expand=A($levels=${"9".repeat(400)})`)).limit,
    "maxLevels",
  );
  assert.equal(
    limitError(() => parseQuery("$expand=A($levels=3)", { limits: { maxLevels: 2 } })).limit,
    "maxLevels",
  );
  parseQuery("$expand=A($levels=20)", { limits: { maxLevels: 20 } });
});

Deno.test("limits: maxDepth is capped at what the parser holds; deep input hits maxDepth", () => {
  // Once: maxDepth 100000 with a nesting of 3000 overflowed the stack and was reported as
  // "maxDepth = 100000 exceeded", a limit that was not reached.
  assert.throws(
    () => resolveLimits({ maxDepth: 100000 }),
    (error) =>
      error instanceof ODataActiveRecordError && error.code === "INVALID_ARGUMENT" &&
      error.message.includes(`at most ${MAX_SUPPORTED_DEPTH}`),
  );
  assert.throws(() => parseFilter("a", { limits: { maxDepth: MAX_SUPPORTED_DEPTH + 1 } }));
  const limits = { maxDepth: MAX_SUPPORTED_DEPTH, maxLength: 1e6, maxNodes: 1e6 };
  const n = MAX_SUPPORTED_DEPTH + 1;
  for (
    const opener of [
      "(",
      "not ",
      "-",
      "tolower(",
      "Items/any(x:",
      "[",
      '{"a":',
      "cast(",
      "case(true:",
      "A/$count($filter=",
      "A/$filter(",
      "A/any(d:d/B/any(e:",
    ]
  ) {
    const error = limitError(() => parseFilter(opener.repeat(n) + "x", { limits }));
    assert.equal(error.limit, "maxDepth", opener);
    assert.equal(error.value, MAX_SUPPORTED_DEPTH, opener);
  }
  assert.equal(
    limitError(() => parseFilter("(".repeat(3000) + "a" + ")".repeat(3000), { limits })).limit,
    "maxDepth",
  );
  assert.equal(
    limitError(() => parseQuery("$filter=" + "(".repeat(3000) + "a", { limits })).limit,
    "maxDepth",
  );
  // Exactly at the cap, the nesting parses.
  parseFilter("(".repeat(MAX_SUPPORTED_DEPTH - 1) + "a" + ")".repeat(MAX_SUPPORTED_DEPTH - 1), {
    limits,
  });
});

Deno.test("limits: a stack overflow below maxDepth is reported as what it is", async () => {
  // A real process with a small stack: the nesting exhausts it before maxDepth is reached.
  const script = `
    import { parseFilter, parseQuery } from "${new URL("../../mod.ts", import.meta.url).href}";
    const deep = "(".repeat(256) + "a" + ")".repeat(256);
    for (const parse of [() => parseFilter(deep, { limits: { maxDepth: 256 } }),
                         () => parseQuery("$filter=" + deep, { limits: { maxDepth: 256 } })]) {
      try { parse(); console.log("parsed"); }
      catch (e) { console.log(JSON.stringify([e.constructor.name, e.limit, e.message])); }
    }`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--stack-size=100", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  assert.equal(lines.length, 2, new TextDecoder().decode(output.stderr));
  for (const line of lines) {
    const [name, limit, message] = JSON.parse(line);
    assert.equal(name, "QueryLimitError");
    assert.equal(limit, "callStack");
    assert.match(
      message,
      /^Query nesting at depth \d+ exhausted the call stack before maxDepth = 256 was reached$/,
    );
  }
});

Deno.test("limits: a repeated parameter alias is an error, like a repeated option", () => {
  // Once: @x=1&@x=2 silently took the last value.
  syntaxErrorAt(() => parseQuery("$filter=A eq @x&@x=1&@x=2"), 21, "Duplicate parameter alias @x");
  syntaxErrorAt(
    () => parseQuery("$expand=Items($filter=A eq @a;@a=1;@a=2)"),
    35,
    "Duplicate parameter alias @a",
  );
  // Distinct names, and the same name in different option lists, are fine.
  parseQuery("$filter=A eq @x and B eq @y&@x=1&@y=2");
  parseQuery("$expand=Items($filter=A eq @a;@a=1),Orders($filter=B eq @a;@a=2)");
});

Deno.test("whitespace: no whitespace after = or around the commas of option lists (ABNF)", () => {
  // Once: `$filter= Name` was refused while `$select=Name, Price` was accepted. (The ABNF test
  // cases put the `$filter= true` failure at the value, 9.)
  syntaxErrorAt(() => parseQuery("$filter= Name"), 9, "No whitespace is allowed between $filter=");
  syntaxErrorAt(() => parseQuery("$select= Name"), 9, "No whitespace is allowed between $select=");
  syntaxErrorAt(() => parseQuery("$select=Name, Price"), 13, 'after the "," between $select items');
  syntaxErrorAt(() => parseQuery("$select=Name ,Price"), 12, 'before the "," between $select');
  syntaxErrorAt(() => parseQuery("$select=Name,%20Price"), 13, "after the");
  syntaxErrorAt(() => parseQuery("$expand=A, B"), 10, "$expand items");
  syntaxErrorAt(() => parseQuery("$orderby=A desc, B"), 16, "$orderby items");
  syntaxErrorAt(() => parseQuery("$compute=1 as A, 2 as B"), 16, "$compute items");
  syntaxErrorAt(() => parseQuery("$select=F(A, B)"), 12, "parameter names");
  syntaxErrorAt(() => parseQuery("$expand=Items($select=A, B)"), 24, "$select items");
  // Nested option lists: `OPEN option *( SEMI option ) CLOSE`, no whitespace either.
  syntaxErrorAt(() => parseQuery("$expand=A( $top=1)"), 10, "before an option");
  syntaxErrorAt(() => parseQuery("$expand=A($top=1; $skip=2)"), 17, "before an option");
  syntaxErrorAt(() => parseQuery("$expand=A($top=1 ;$skip=2)"), 16, 'before the ";"');
  syntaxErrorAt(() => parseQuery("$expand=A($filter=B eq 1 )"), 24, 'before the ")"');
  // Where the ABNF has BWS, whitespace stays allowed: $search after "=", inside common
  // expressions, and in $apply (aggregation ABNF).
  parseQuery("$search= blue");
  parseQuery("$filter=contains(Name, 'a') and B in (1, 2)");
  parseQuery("$apply=compute(1 as A, 2 as B)/groupby((A, B))");
  parseQuery("$select=Name,Price&$orderby=A desc,B");
});
