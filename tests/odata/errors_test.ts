/**
 * Syntax error reporting (message, caret excerpt, `position`, `expected`) and the query limits of
 * `QueryLimits` for `parseFilter` and `parseQuery`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ODataActiveRecordError,
  ODataSyntaxError,
  QueryLimitError,
} from "../../src/errors/errors.ts";
import {
  DEFAULT_QUERY_LIMITS,
  type ParseOptions,
  type QueryLimits,
} from "../../src/odata/limits.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";

/** Runs `fn`, asserts it throws an `ODataSyntaxError`, and returns the error. */
function syntaxError(fn: () => unknown): ODataSyntaxError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ODataSyntaxError) return error;
    throw new assert.AssertionError({
      message: `expected ODataSyntaxError, got ${
        error instanceof Error ? error.name : typeof error
      }: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  throw new assert.AssertionError({ message: "expected ODataSyntaxError, nothing was thrown" });
}

/** Runs `fn`, asserts it throws a `QueryLimitError`, and returns the error. */
function limitError(fn: () => unknown): QueryLimitError {
  try {
    fn();
  } catch (error) {
    if (error instanceof QueryLimitError) return error;
    throw new assert.AssertionError({
      message: `expected QueryLimitError, got ${
        error instanceof Error ? error.name : typeof error
      }: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  throw new assert.AssertionError({ message: "expected QueryLimitError, nothing was thrown" });
}

/** Asserts the two-line message layout: `<what> at position N: <excerpt>` and a caret line. */
function assertCaret(error: ODataSyntaxError): void {
  const [first, caretLine, ...rest] = error.message.split("\n");
  assert.equal(rest.length, 0, "message has exactly two lines");
  assert.ok(first !== undefined && caretLine !== undefined);
  const marker = `at position ${error.position}: `;
  const at = first.indexOf(marker);
  assert.ok(at > 0, `first line names the position: ${first}`);
  const excerptStart = at + marker.length;
  assert.match(caretLine, /^ *\^$/, "second line is spaces and one caret");
  const caret = caretLine.length - 1;
  // The caret points at the failing character of the excerpt (or just past its end).
  const start = Math.max(0, error.position - 40);
  const lead = start > 0 ? 3 : 0; // "..."
  assert.equal(caret, excerptStart + lead + (error.position - start), "caret column");
  if (error.position < error.text.length) {
    assert.equal(first[caret], error.text[error.position]?.replace(/[\r\n\t]/, " "));
  }
}

Deno.test("syntax error: missing closing parenthesis names ')' with a caret excerpt", () => {
  const text = "contains(Name,'a' and Price gt 1";
  const error = syntaxError(() => parseFilter(text));
  assert.ok(error instanceof ODataActiveRecordError);
  assert.equal(error.name, "ODataSyntaxError");
  assert.equal(error.code, "ODATA_SYNTAX");
  assert.equal(error.status, 400);
  assert.ok(error.message.startsWith('Expected ")" at position '), error.message);
  // `'a' and Price gt 1` is one (boolean) argument; the ")" is missing at the very end.
  assert.equal(error.position, text.length);
  assert.deepEqual([...error.expected], [")"]);
  assert.equal(error.text, text);
  assert.equal(error.message.split("\n")[0], `Expected ")" at position ${text.length}: ${text}`);
  assertCaret(error);
  assert.deepEqual(error.context.position, text.length);
  assert.equal(error.toJSON().code, "ODATA_SYNTAX");
});

Deno.test("syntax error: long input is excerpted around the position", () => {
  const text = `${"Name eq 'x' and ".repeat(8)}Price gt`;
  const error = syntaxError(() => parseFilter(text));
  assert.equal(error.position, text.length);
  const first = error.message.split("\n")[0] ?? "";
  assert.ok(first.includes(": ..."), `excerpt starts with an ellipsis: ${first}`);
  assertCaret(error);
});

/**
 * Malformed filters: [text, position, one of the expected entries (or undefined: any)]. A stray
 * token is reported at its first character, an unterminated string where the closing quote is
 * missing, a surplus argument at its comma.
 */
const MALFORMED_FILTERS: readonly [string, number, string | undefined][] = [
  ["Price gt", 8, undefined],
  ["Price gt 5 and", 14, undefined],
  ["(Price gt 5", 11, ")"],
  ["Price gt 5)", 10, undefined],
  ["Price gt 5 5", 11, undefined],
  ["Name eq 'abc", 12, "'"],
  ["", 0, undefined],
  ["Price gt ,5", 9, undefined],
  ["Orders/any(o:o/Total gt 5", 25, ")"],
  ["Name in ('a','b'", 16, ")"],
  ["contains(Name,'a',)", 17, undefined],
  ["tolower(Name", 12, ")"],
];

for (const [text, position, expected] of MALFORMED_FILTERS) {
  Deno.test(`syntax error position: ${JSON.stringify(text)} fails at ${position}`, () => {
    const error = syntaxError(() => parseFilter(text));
    assert.equal(error.position, position, error.message);
    if (expected !== undefined) {
      assert.ok(
        error.expected.includes(expected),
        `expected ${JSON.stringify(error.expected)} to include ${expected}`,
      );
    }
    assert.equal(error.context.position, position);
    assertCaret(error);
  });
}

Deno.test("syntax error: unknown function and wrong arity are syntax errors", () => {
  syntaxError(() => parseFilter("nosuchfunction(Name) eq 1"));
  syntaxError(() => parseFilter("substring(Name)"));
  syntaxError(() => parseFilter("contains(Name)"));
  syntaxError(() => parseFilter("now(1)"));
});

/** Malformed query strings: [query, position] (positions index the query string as given). */
const MALFORMED_QUERIES: readonly [string, number][] = [
  ["$top=abc", 5],
  ["$top=-1", 5],
  ["$skip=1.5", 7],
  ["$count=maybe", 7],
  ["$filter=Price gt", 16],
  ["$orderby=Name up", 14],
];

for (const [query, position] of MALFORMED_QUERIES) {
  Deno.test(`syntax error position: query ${JSON.stringify(query)} fails at ${position}`, () => {
    const error = syntaxError(() => parseQuery(query));
    assert.equal(error.position, position, error.message);
    assertCaret(error);
  });
}

Deno.test("syntax error positions index the raw, percent-encoded query string", () => {
  const cases: [string, number, string][] = [
    ["$filter=Price%20gt", 18, "expression"],
    ["$filter=Name%20eq%20%27abc", 26, "'"],
    ["$top=5&$filter=Price%20gt%20%20x%20y", 35, "end of input"],
    ["$filter=%E2%82%AC%20eq%201%20and", 32, "expression"],
  ];
  for (const [query, position, expected] of cases) {
    const error = syntaxError(() => parseQuery(query));
    assert.equal(error.text, query, "the error shows the raw query");
    assert.equal(error.position, position, error.message);
    assert.ok(
      error.expected.includes(expected),
      `${JSON.stringify(error.expected)} includes ${expected}`,
    );
    assertCaret(error);
  }
  // A malformed escape is reported at its "%".
  const error = syntaxError(() => parseQuery("$filter=Name%2 eq 'a'"));
  assert.equal(error.position, 12);
});

Deno.test("syntax error: unknown system query option and duplicate options are rejected", () => {
  syntaxError(() => parseQuery("$fitler=Price gt 5"));
  syntaxError(() => parseQuery("$top=1&$top=2"));
});

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

function limits(partial: Partial<QueryLimits>): ParseOptions {
  return { limits: partial };
}

function assertLimit(error: QueryLimitError, limit: keyof QueryLimits, value: number): void {
  assert.ok(error instanceof ODataActiveRecordError);
  assert.equal(error.name, "QueryLimitError");
  assert.equal(error.code, "QUERY_LIMIT_EXCEEDED");
  assert.equal(error.limit, limit);
  assert.equal(error.value, value);
  assert.ok(error.message.includes(limit), error.message);
}

Deno.test("limit maxLength: filter and query text", () => {
  const filter = `Name eq '${"x".repeat(100)}'`;
  assertLimit(limitError(() => parseFilter(filter, limits({ maxLength: 100 }))), "maxLength", 100);
  parseFilter(filter, limits({ maxLength: filter.length }));
  const query = `$filter=${filter}`;
  assertLimit(limitError(() => parseQuery(query, limits({ maxLength: 100 }))), "maxLength", 100);
  parseQuery(query, limits({ maxLength: query.length }));
});

Deno.test("limit maxNodes", () => {
  const filter = Array.from({ length: 20 }, (_, i) => `P${i} eq ${i}`).join(" and ");
  assertLimit(limitError(() => parseFilter(filter, limits({ maxNodes: 10 }))), "maxNodes", 10);
  assertLimit(
    limitError(() => parseQuery(`$filter=${filter}`, limits({ maxNodes: 10 }))),
    "maxNodes",
    10,
  );
  parseFilter(filter); // 20 comparisons are far below the default
});

Deno.test("limit maxDepth: parentheses, calls, lambdas", () => {
  const nested = (n: number) => `${"(".repeat(n)}Price gt 5${")".repeat(n)}`;
  assertLimit(limitError(() => parseFilter(nested(10), limits({ maxDepth: 5 }))), "maxDepth", 5);
  const calls = (n: number) => `${"tolower(".repeat(n)}Name${")".repeat(n)} eq 'a'`;
  assertLimit(limitError(() => parseFilter(calls(10), limits({ maxDepth: 5 }))), "maxDepth", 5);
  const lambdas = (n: number) =>
    Array.from({ length: n }, (_, i) => `${i === 0 ? "" : `x${i - 1}/`}C${i}/any(x${i}:`).join("") +
    "true" + ")".repeat(n);
  assertLimit(limitError(() => parseFilter(lambdas(10), limits({ maxDepth: 5 }))), "maxDepth", 5);
  // Deep input (within maxLength) with the default limits fails with a limit error, never with a
  // stack overflow.
  assertLimit(
    limitError(() => parseFilter(nested(8_000))),
    "maxDepth",
    DEFAULT_QUERY_LIMITS.maxDepth,
  );
  assertLimit(
    limitError(() => parseFilter(`${"not ".repeat(4_000)}true`)),
    "maxDepth",
    DEFAULT_QUERY_LIMITS.maxDepth,
  );
  assertLimit(
    limitError(() => parseFilter(`${"-".repeat(16_000)}Price gt 0`)),
    "maxDepth",
    DEFAULT_QUERY_LIMITS.maxDepth,
  );
  parseFilter(nested(20));
});

Deno.test("limit maxExpandDepth", () => {
  const expand = (n: number): string => n === 1 ? "N1" : `N${n}($expand=${expand(n - 1)})`;
  assertLimit(
    limitError(() => parseQuery(`$expand=${expand(3)}`, limits({ maxExpandDepth: 2 }))),
    "maxExpandDepth",
    2,
  );
  parseQuery(`$expand=${expand(2)}`, limits({ maxExpandDepth: 2 }));
  parseQuery(`$expand=${expand(DEFAULT_QUERY_LIMITS.maxExpandDepth)}`);
  assertLimit(
    limitError(() => parseQuery(`$expand=${expand(DEFAULT_QUERY_LIMITS.maxExpandDepth + 1)}`)),
    "maxExpandDepth",
    DEFAULT_QUERY_LIMITS.maxExpandDepth,
  );
});

Deno.test("limit maxInListLength", () => {
  const list = (n: number) => `ID in (${Array.from({ length: n }, (_, i) => i).join(",")})`;
  assertLimit(
    limitError(() => parseFilter(list(3), limits({ maxInListLength: 2 }))),
    "maxInListLength",
    2,
  );
  parseFilter(list(2), limits({ maxInListLength: 2 }));
  const json = `ID in [${Array.from({ length: 3 }, (_, i) => i).join(",")}]`;
  assertLimit(
    limitError(() => parseFilter(json, limits({ maxInListLength: 2 }))),
    "maxInListLength",
    2,
  );
  assertLimit(
    limitError(() => parseQuery(`$filter=${list(3)}`, limits({ maxInListLength: 2 }))),
    "maxInListLength",
    2,
  );
});

Deno.test("limit maxTop: $top and top() in $apply", () => {
  assertLimit(limitError(() => parseQuery("$top=101", limits({ maxTop: 100 }))), "maxTop", 100);
  assert.equal(parseQuery("$top=100", limits({ maxTop: 100 })).top, 100);
  assertLimit(
    limitError(() => parseQuery("$apply=top(101)", limits({ maxTop: 100 }))),
    "maxTop",
    100,
  );
  assertLimit(
    limitError(() => parseQuery("$expand=Orders($top=101)", limits({ maxTop: 100 }))),
    "maxTop",
    100,
  );
  assertLimit(
    limitError(() => parseQuery(`$top=${DEFAULT_QUERY_LIMITS.maxTop + 1}`)),
    "maxTop",
    DEFAULT_QUERY_LIMITS.maxTop,
  );
  // Far beyond 2^53: still a limit error, not a silent precision loss.
  assertLimit(
    limitError(() => parseQuery("$top=99999999999999999999999")),
    "maxTop",
    DEFAULT_QUERY_LIMITS.maxTop,
  );
});

Deno.test("default limits allow realistic queries", () => {
  const inList = `CustomerID in (${Array.from({ length: 500 }, (_, i) => `'C${i}'`).join(",")})`;
  assert.equal(parseFilter(inList).kind, "Binary");
  const q = parseQuery(
    [
      "$filter=" + encodeURIComponent(
        "(ShipCountry eq 'Germany' or ShipCountry eq 'France') and OrderDate ge 1997-01-01T00:00:00Z" +
          " and OrderDate lt 1998-01-01T00:00:00Z and Order_Details/any(d:d/Quantity gt 10 and " +
          "d/UnitPrice mul (1 sub d/Discount) gt 15) and not startswith(tolower(ShipName),'vins')",
      ),
      "$select=OrderID,OrderDate,ShipName,ShipCountry,Freight",
      "$expand=" + encodeURIComponent(
        "Customer($select=CompanyName,Country),Employee($select=FirstName,LastName)," +
          "Order_Details($select=Quantity,UnitPrice;$filter=Quantity gt 5;$orderby=UnitPrice desc;" +
          "$expand=Product($select=ProductName;$expand=Category($select=CategoryName),Supplier))",
      ),
      "$orderby=" + encodeURIComponent("OrderDate desc,Freight"),
      "$top=100",
      "$skip=200",
      "$count=true",
      "$search=" + encodeURIComponent("bread OR cheese"),
      "$compute=" + encodeURIComponent("Freight mul 1.19 as GrossFreight"),
    ].join("&"),
  );
  assert.equal(q.top, 100);
  assert.equal(q.expand?.length, 3);
  const deep = Array.from({ length: 30 }, (_, i) => `P${i} eq ${i}`).reduce((acc, part) =>
    `(${acc} or ${part})`
  );
  parseFilter(deep);
  assert.equal(parseQuery(`$top=${DEFAULT_QUERY_LIMITS.maxTop}`).top, DEFAULT_QUERY_LIMITS.maxTop);
});

Deno.test("invalid limit configuration is an INVALID_ARGUMENT error, not a parse error", () => {
  // resolveLimits raises the module's own INVALID_ARGUMENT for bad configuration (commit 80fbf79).
  for (const bad of [{ maxDepth: -1 }, { maxNodes: 1.5 }]) {
    assert.throws(
      () => parseFilter("a eq 1", limits(bad)),
      (error: unknown) =>
        error instanceof ODataActiveRecordError && !(error instanceof ODataSyntaxError) &&
        error.code === "INVALID_ARGUMENT",
    );
  }
});
