/**
 * The serializers never print text that reads back differently: every name, type name, function
 * name, alias, lambda variable, `$select`/`$expand` step, `as` alias and literal text is checked
 * before it is printed, and hand-made ASTs that would inject OData (a property named
 * `Name eq 'y' or true or Name`, a guid `... or true`) throw `INVALID_ARGUMENT`. Entry points
 * given the wrong types, and unknown node kinds anywhere, throw `INVALID_ARGUMENT` too (never a
 * raw `TypeError`, never a silent `"undefined"`).
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { fcParams } from "./fc_params.ts";
import { selectItem } from "./helpers.ts";
import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import type {
  Expression,
  LiteralNode,
  LiteralType,
  ODataQuery,
  PathExpression,
  PathSegment,
  SearchExpression,
  Transformation,
} from "../../src/odata/ast.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";
import { parseSearchText } from "../../src/odata/parser/search.ts";
import {
  serializeExpression,
  serializeFilter,
  serializeLiteral,
} from "../../src/odata/serializer/expression.ts";
import { serializeQuery } from "../../src/odata/serializer/query.ts";
import { serializeSearch } from "../../src/odata/serializer/search.ts";
import { literalProblem, scannedLiteralProblem } from "../../src/odata/validate.ts";

/** Runs `fn`, asserts an `INVALID_ARGUMENT` error whose message contains `part`, returns it. */
function invalid(fn: () => unknown, part?: string): ODataActiveRecordError {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    assert.ok(
      error instanceof ODataActiveRecordError,
      `expected ODataActiveRecordError, got ${error}`,
    );
    assert.equal(error.code, "INVALID_ARGUMENT", error.message);
    if (part !== undefined) {
      assert.ok(error.message.includes(part), `message names ${part}: ${error.message}`);
    }
    return error;
  }
  throw new assert.AssertionError({
    message: `expected INVALID_ARGUMENT, got ${JSON.stringify(result)}`,
  });
}

const lit = (type: LiteralType, value: LiteralNode["value"], enumType?: string): LiteralNode =>
  enumType === undefined
    ? { kind: "Literal", type, value }
    : { kind: "Literal", type, value, enumType };
const path = (...segments: PathSegment[]): PathExpression => ({
  kind: "Path",
  root: "implicit",
  segments,
});
const property = (name: string): PathSegment => ({ kind: "Property", name });
const name = (n: string) => path(property(n));
const eq = (left: Expression, right: Expression): Expression => ({
  kind: "Binary",
  operator: "eq",
  left,
  right,
});
/** `TenantId eq 7 and <inner>`: what an injection would try to escape from. */
const tenant = (inner: Expression): Expression => ({
  kind: "Binary",
  operator: "and",
  left: eq(name("TenantId"), lit("int", 7)),
  right: inner,
});

function roundTrips(ast: Expression): string {
  const text = serializeFilter(ast);
  assert.deepStrictEqual(parseFilter(text), ast, text);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

Deno.test("entry points: wrong argument types are INVALID_ARGUMENT naming what was expected", () => {
  invalid(() => parseQuery(5 as never), "parseQuery() takes a query string or URLSearchParams");
  invalid(() => parseQuery(null as never), "got null");
  invalid(() => parseFilter(null as never), "parseFilter() takes the $filter text as a string");
  invalid(() => parseFilter(undefined as never), "got undefined");
  invalid(() => parseSearchText(42 as never), "parseSearchText() takes the $search text");
  invalid(() => serializeFilter({ kind: "Nope" } as never), 'Unknown expression node kind "Nope"');
  invalid(() => serializeFilter({ kind: "Nope" } as never), "expected Literal, Path, Alias");
  invalid(() => serializeQuery(null as never), "serializeQuery() takes a query object");
  invalid(() => serializeQuery("$top=1" as never), "serializeQuery() takes a query object");
  invalid(() => serializeExpression(undefined as never), "takes an expression node");
  invalid(() => serializeFilter(42 as never), "takes an expression node");
  invalid(() => serializeSearch(null as never), "serializeSearch() takes a search node");
  invalid(() => serializeLiteral({ kind: "Path" } as never), "takes a literal node");
  invalid(() => parseFilter("a", 5 as never), "parseFilter() takes options");
  invalid(() => parseFilter("a eq @p", { aliases: { p: 1 as never } }), 'alias "p"');
  invalid(() => parseQuery("$top=1", { limits: "x" as never }), "options.limits");
  invalid(() => parseSearchText("a", { aliases: "x" as never }), "options.aliases");
});

Deno.test("serializers: unknown kinds and malformed nodes anywhere are INVALID_ARGUMENT", () => {
  const bad: [() => unknown, string][] = [
    [() => serializeFilter(eq(name("A"), { kind: "Nope" } as never)), '"Nope"'],
    [() => serializeFilter(eq(name("A"), null as never)), "got null"],
    [() => serializeFilter(path({ kind: "Weird" } as never)), 'path segment kind "Weird"'],
    [() => serializeFilter({ kind: "Path", root: "$nope", segments: [] } as never), '"$nope"'],
    [() => serializeFilter({ kind: "Path", root: "implicit", segments: null } as never), "AST"],
    [() => serializeFilter(lit("uuid" as never, "x")), 'unknown literal type "uuid"'],
    [() => serializeFilter({ ...eq(name("A"), name("B")), operator: "xor" } as never), '"xor"'],
    [() => serializeFilter({ ...eq(name("A"), name("B")), operator: "toString" } as never), ""],
    [() => serializeFilter({ kind: "Unary", operator: "minus", operand: name("A") } as never), ""],
    [
      () =>
        serializeFilter(
          { kind: "TypeFunction", name: "convert", operand: null, type: "X" } as never,
        ),
      "",
    ],
    [() => serializeFilter({ kind: "Case", branches: [] }), "at least one"],
    [
      () =>
        serializeFilter(
          path(property("A"), { kind: "AggregateSegment", aggregate: { kind: "Sum" } } as never),
        ),
      '"Sum"',
    ],
    [() => serializeSearch({ kind: "SearchAll" } as never), '"SearchAll"'],
    [
      () =>
        serializeSearch(
          {
            kind: "SearchBinary",
            operator: "XOR",
            left: { kind: "SearchTerm", text: "a", phrase: false },
            right: { kind: "SearchTerm", text: "b", phrase: false },
          } as never,
        ),
      '"XOR"',
    ],
    [
      () =>
        serializeSearch({
          kind: "SearchNot",
          operand: { kind: "SearchTerm", text: "", phrase: true },
        }),
      "empty search term",
    ],
    [() => serializeQuery({ apply: [{ kind: "Pivot" } as never] }), 'transformation kind "Pivot"'],
    [
      () => serializeQuery({ apply: [{ kind: "Aggregate", items: [{ kind: "Max" } as never] }] }),
      '"Max"',
    ],
    [
      () =>
        serializeQuery({
          apply: [{ kind: "GroupBy", groupings: [{ kind: "Cube" } as never], transformations: [] }],
        }),
      '"Cube"',
    ],
    [
      () =>
        serializeQuery({
          apply: [{ kind: "Generic", name: "topcount", args: [{ kind: "Blob" } as never] }],
        }),
      '"Blob"',
    ],
    [
      () => serializeQuery({ orderby: [{ expression: name("A"), direction: "down" as never }] }),
      '"down"',
    ],
  ];
  for (const [fn, part] of bad) invalid(fn, part);
  // A nesting too deep to print is an INVALID_ARGUMENT too, not a stack overflow.
  let deep: Expression = name("A");
  for (let i = 0; i < 200_000; i++) deep = { kind: "Unary", operator: "not", operand: deep };
  invalid(() => serializeFilter(deep), "nested too deeply");
});

// ---------------------------------------------------------------------------------------------
// Injection through names
// ---------------------------------------------------------------------------------------------

Deno.test("injection: the reviewer's examples throw instead of bypassing the tenant filter", () => {
  invalid(
    () => serializeFilter(tenant(eq(name("Name eq 'y' or true or Name"), lit("string", "y")))),
    "\"Name eq 'y' or true or Name\"",
  );
  invalid(
    () =>
      serializeFilter(
        tenant(eq(name("Id"), lit("guid", "01234567-89ab-cdef-0123-456789abcdef or true"))),
      ),
    '"01234567-89ab-cdef-0123-456789abcdef or true"',
  );
  invalid(
    () =>
      serializeQuery({
        filter: tenant(eq(name("Name eq 'y' or true or Name"), lit("string", "y"))),
      }),
    "Invalid property name",
  );
});

Deno.test("injection: every name slot of an expression is checked", () => {
  const evil = "X) or true or (X";
  const predicate = eq({ kind: "Path", root: "variable", variable: "d", segments: [] }, name("B"));
  const cases: [Expression, string][] = [
    [path(property("A"), { kind: "TypeCast", type: evil }), "type cast"],
    [path(property("A"), { kind: "TypeCast", type: "Vip" }), "type cast"], // needs a dot
    [path({ kind: "Function", name: evil, args: [] }), "function name"],
    [
      path({ kind: "Function", name: "M.F", args: [{ name: evil, value: lit("int", 1) }] }),
      "parameter name",
    ],
    [path(property("A"), { kind: "Key", values: [{ name: evil, value: lit("int", 1) }] }), "key"],
    [{ kind: "Alias", name: evil }, "alias"],
    [path(property("A"), { kind: "Lambda", operator: "any", variable: evil, predicate }), "var"],
    [{ kind: "Path", root: "variable", variable: evil, segments: [] }, "variable"],
    [path(property("A"), { kind: "Annotation", term: evil }), "annotation term"],
    [path(property("A"), { kind: "Annotation", term: "C.T", qualifier: evil }), "qualifier"],
    [{ kind: "TypeFunction", name: "cast", operand: null, type: evil }, "type name"],
    [{ kind: "Call", name: evil as never, args: [] }, "canonical function"],
    [{ kind: "Call", name: "CONTAINS" as never, args: [] }, "canonical function"],
    [
      path(property("A"), {
        kind: "AggregateSegment",
        aggregate: { kind: "AggregateExpression", expression: name("B"), method: evil },
      }),
      "aggregation method",
    ],
    [
      path(property("A"), {
        kind: "AggregateSegment",
        aggregate: { kind: "AggregateCount", from: [{ path: name(evil), method: "sum" }] },
      }),
      "property name",
    ],
  ];
  for (const [inner, part] of cases) {
    invalid(() => serializeFilter(tenant(eq(inner, lit("int", 1)))), part);
  }
});

Deno.test("injection: literal texts must be one literal of their type", () => {
  const cases: LiteralNode[] = [
    lit("date", "2024-01-01 or true"),
    lit("datetimeoffset", "2024-01-01T00:00:00Z or true"),
    lit("timeofday", "10:00 or true"),
    lit("duration", "P1D' or true or duration'P1D"),
    lit("binary", "AQ' or true or binary'AQ"),
    lit("geography", "SRID=4326;Point(1 2)') or (true"),
    lit("enum", "Red' or true or M.C'Red", "M.C"),
    lit("enum", "Red", "M.C' or true or M.C"),
    lit("enum", "Red", undefined),
    lit("decimal", "1 or true"),
    lit("int", "1 or true"),
    lit("double", "1 or true"),
    lit("string", 5),
    lit("boolean", "true"),
    lit("null", "x"),
    lit("int", 2 ** 60), // reads back as a bigint
    lit("int", 2n ** 64n), // reads back as a decimal
    lit("date", "2024-01-01T00:00:00Z"), // reads back as a datetimeoffset
    lit("guid", "12345"), // reads back as an int
  ];
  for (const node of cases) {
    invalid(() => serializeFilter(tenant(eq(name("X"), node))), "Invalid");
    invalid(() => serializeLiteral(node), "Invalid");
  }
});

Deno.test("injection: names that read back as something else are refused or protected", () => {
  // Keyword literals at the start of an expression.
  for (const n of ["true", "FALSE", "null", "INF", "NaN"]) {
    invalid(() => serializeFilter(eq(name(n), lit("int", 1))), "reads back as a literal");
    invalid(
      () => serializeFilter({ kind: "Path", root: "variable", variable: n, segments: [] }),
      "reads back as a literal",
    );
  }
  // `Null` and `True1` are ordinary names; so are keywords after a `/` or a root.
  roundTrips(eq(name("Null"), name("True1")));
  roundTrips(eq(path(property("A"), property("true")), { ...name("x"), root: "$it" }));
  // `not` alone is printed in parentheses, as it reads back only there.
  assert.equal(roundTrips(tenant(eq(name("not"), lit("int", 1)))), "TenantId eq 7 and (not) eq 1");
  assert.equal(roundTrips(name("NOT")), "(NOT)");
  roundTrips(path(property("not"), property("x")));
  // Before a key predicate, `not`, function names, lambda operators and `aggregate` read back as
  // calls.
  const key = { kind: "Key", values: [{ value: lit("int", 1) }] } as const;
  for (const n of ["not", "now", "CONTAINS", "cast"]) {
    invalid(() => serializeFilter(path(property(n), key)), "reads back as a function call");
  }
  for (const n of ["any", "All", "aggregate"]) {
    invalid(() => serializeFilter(path(property("A"), property(n), key)), "function call");
  }
  roundTrips(path(property("Orders"), key));
  // A lone unqualified annotation reads as a parameter alias.
  invalid(() => serializeFilter(path({ kind: "Annotation", term: "Currency" })), "alias");
  roundTrips(path({ kind: "Annotation", term: "Core.Messages" }));
  roundTrips(path(property("Price"), { kind: "Annotation", term: "Currency" }));
  // Function segments that read as canonical calls or key predicates.
  invalid(() => serializeFilter(path({ kind: "Function", name: "now", args: [] })), "qualified");
  invalid(() => serializeFilter(path({ kind: "Function", name: "geo.length", args: [] })), "");
  invalid(
    () =>
      serializeFilter(
        path(property("A"), {
          kind: "Function",
          name: "F",
          args: [{ name: "p", value: lit("int", 1) }],
        }),
      ),
    "reads back as a key predicate",
  );
  roundTrips(
    path(property("A"), { kind: "Function", name: "F", args: [{ name: "p", value: name("B") }] }),
  );
  // Key predicates: only after properties, functions and $filter segments; literal or alias
  // values; compound keys named.
  invalid(() => serializeFilter(path(key)), "cannot start a path");
  invalid(
    () => serializeFilter(path(property("A"), { kind: "TypeCast", type: "M.T" }, key)),
    "must follow",
  );
  invalid(
    () => serializeFilter(path(property("A"), { kind: "Key", values: [{ value: name("B") }] })),
    "literal or a parameter alias",
  );
  invalid(
    () =>
      serializeFilter(
        path(property("A"), {
          kind: "Key",
          values: [{ value: lit("int", 1) }, { value: lit("int", 2) }],
        }),
      ),
    "must all be named",
  );
  // Segments after a lambda or $count; lambdas need both a variable and a predicate.
  invalid(
    () => serializeFilter(path(property("A"), { kind: "Count" }, property("B"))),
    "cannot continue",
  );
  invalid(
    () => serializeFilter(path(property("A"), { kind: "Lambda", operator: "all" })),
    "needs both",
  );
});

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

Deno.test("injection: every name and value slot of a query is checked", () => {
  const evil = "X,Secret";
  const cases: [ODataQuery, string][] = [
    [{ select: [{ segments: [{ kind: "Property", name: evil }] }] }, "$select path step"],
    [{ select: [selectItem("Name;$filter=true")] }, "$select path step"],
    [{ select: [selectItem("*", "Name")] }, "$select path step"],
    [{ select: [selectItem("Fn(A)", "Name")] }, "$select path step"],
    [{ select: [selectItem("Model.*", "Name")] }, "$select path step"],
    [{ select: [{ segments: [{ kind: "TypeCast", type: "Name" }] }] }, "$select path step"],
    [{ select: [{ segments: [] }] }, "non-empty array of segments"],
    [{ select: [{ segments: [{ kind: "Path" }] }] as never }, "$select path segment kind"],
    [{ select: [{ ...selectItem("Fn(A)"), options: { top: 1 } }] }, "takes no nested options"],
    [{ expand: [{ path: ["Items($filter=true)"] }] }, "$expand path step"],
    [{ expand: [{ path: ["Items"], ref: true, count: true }] }, "not both"],
    [{ compute: [{ expression: name("A"), alias: "B,C" }] }, "alias"],
    [{ top: "5&$filter=true" as never }, "$top"],
    [{ skip: -1 }, "$skip"],
    [{ count: "true" as never }, "$count"],
    [{ index: 1.5 }, "$index"],
    [{ levels: 2 }, "only allowed in $expand"],
    [{ expand: [{ path: ["A"], options: { levels: 0 } }] }, "$levels"],
    [{ expand: [{ path: ["A"], options: { skiptoken: "x);$filter=true" } }] }, "Nested options"],
    [{ skiptoken: "" }, "non-empty"],
    [{ custom: { $filter: "true" } }, "system query option"],
    [{ custom: { filter: "true" } }, "system query option"],
    [{ custom: { "@p": "1" } }, "parameter alias"],
    [{ custom: { "": "x" } }, "needs a name"],
    [{ custom: { x: 5 as never } }, "string value"],
    [{ apply: [{ kind: "Top", count: "1)/filter(true" as never }] }, "top()"],
    [{ apply: [{ kind: "Concat", sequences: [[{ kind: "Identity" }]] }] }, "at least two"],
    [{ apply: [{ kind: "GroupBy", groupings: [], transformations: [] }] }, "at least one item"],
    [
      { apply: [{ kind: "Aggregate", items: [{ kind: "AggregateCount", alias: "C)/x(" }] }] },
      "alias",
    ],
    [
      {
        apply: [{
          kind: "Aggregate",
          items: [{
            kind: "AggregateExpression",
            expression: name("A"),
            method: "sum)",
            alias: "S",
          }],
        }],
      },
      "aggregation method",
    ],
    [{ apply: [{ kind: "Generic", name: "filter", args: [] }] }, "generic transformation"],
    [{ apply: [{ kind: "Generic", name: "x) or (y", args: [] }] }, "generic transformation"],
    [
      {
        apply: [{
          kind: "Generic",
          name: "M.fn",
          args: [{ kind: "Expression", expression: name("A"), alias: "p=1,q" }],
        }],
      },
      "parameter name",
    ],
    [
      {
        apply: [{
          kind: "Generic",
          name: "traverse",
          args: [{ kind: "Raw", text: "x)/filter(true" }],
        }],
      },
      "unbalanced parentheses",
    ],
    [
      { apply: [{ kind: "Generic", name: "traverse", args: [{ kind: "Raw", text: "'x" }] }] },
      "unterminated quote",
    ],
    [
      {
        apply: [{
          kind: "GroupBy",
          groupings: [{ kind: "GroupProperty", path: name("A/B") }],
          transformations: [],
        }],
      },
      "property name",
    ],
  ];
  for (const [query, part] of cases) invalid(() => serializeQuery(query), part);
});

Deno.test("queries: custom option names, $select steps and aggregation paths that read back", () => {
  const check = (query: ODataQuery, text?: string) => {
    const printed = serializeQuery(query);
    if (text !== undefined) assert.equal(printed, text);
    assert.deepStrictEqual(parseQuery(printed), query, printed);
  };
  // A leading "?" would be dropped as the query string's own.
  check({ custom: { "?filter": "true" } }, "%3Ffilter=true");
  check({ custom: { $id: "x", skiptoken: "y", levels: "2", "a=b": "c&d" } });
  check({
    select: [
      selectItem("Model.*"),
      selectItem("@Core.Messages#Q"),
      selectItem("Fn(P1, P2)"),
      selectItem("Model.F(P1)"),
      { ...selectItem("Model.Vip", "Name"), options: { top: 1 } },
    ],
  });
  check({ expand: [{ path: ["$value"] }] });
  check({ expand: [{ path: ["*"], ref: true }] });
  // Data aggregation paths are names only: `null` and `not` are ordinary properties there.
  check({
    apply: [{
      kind: "GroupBy",
      groupings: [{ kind: "GroupProperty", path: name("null") }, {
        kind: "Rollup",
        paths: [name("not"), path(property("A"), { kind: "TypeCast", type: "M.T" }, property("B"))],
      }],
      transformations: [],
    }],
  });
  check(parseQuery("$apply=join(@Core.Thing as T)/addnested(true,filter(X gt 1) as N)"));
  check(
    parseQuery(
      "$apply=traverse($root/H,Q,Name,preorder,filter(A eq ')')/search(Daniel's),B desc,C)",
    ),
  );
});

Deno.test("search: a word holding an escaped ';' inside $count(...) stays a word (issue 6)", () => {
  // Each of these once came back with `phrase: true`: the word was written as "a;b".
  for (
    const text of [
      "$filter=A/$count($search=a%3Bb) gt 0",
      "$orderby=A/$count($search=a%3Bb) desc",
      "$apply=filter(A/$count($search=a%3Bb) gt 0)",
      "$expand=Items($filter=A/$count($search=x%3By%3Bz) gt 0)",
      "$compute=A/$count($search=a%3Bb AND c) as N",
    ]
  ) {
    const query = parseQuery(text);
    const printed = serializeQuery(query);
    assert.ok(printed.includes("%3B"), printed);
    assert.ok(!printed.includes("%22"), `no phrase quotes: ${printed}`);
    assert.deepStrictEqual(parseQuery(printed), query, printed);
  }
  const word = { kind: "SearchTerm", text: "a;b", phrase: false };
  const ast = parseQuery("$filter=Items/$count($search=a%3Bb) gt 1").filter!;
  assert.deepStrictEqual(
    (ast as unknown as { left: { segments: { search: SearchExpression }[] } }).left.segments[1]!
      .search,
    word,
  );
  // Filter text cannot hold such a word (a raw ";" ends it): refused, not turned into a phrase.
  invalid(() => serializeFilter(ast), "only a query string can hold it");
  // A private-use char in the data (the serializer's internal mark) does not confuse it.
  const marked = parseQuery(
    "$filter=Items/$count($search=a%3Bb) gt 1 and Name eq '%EE%80%80;'&x=%EE%80%80",
  );
  assert.deepStrictEqual(parseQuery(serializeQuery(marked)), marked);
  // In $search itself the ";" is percent-encoded and the word stays a word.
  const query = parseQuery("$search=a%3Bb");
  assert.deepStrictEqual(parseQuery(serializeQuery(query)), query);
});

Deno.test("transformations: hand-made sequences keep their structure", () => {
  const apply: Transformation[] = [
    { kind: "Filter", expression: eq(name("A"), lit("string", "x')/filter(true")) },
    { kind: "Search", search: { kind: "SearchTerm", text: "a)/filter(true", phrase: false } },
  ];
  const printed = serializeQuery({ apply });
  assert.deepStrictEqual(parseQuery(printed).apply, [
    apply[0],
    { kind: "Search", search: { kind: "SearchTerm", text: "a)/filter(true", phrase: true } },
  ]);
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const nameArbitrary = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: "binary", maxLength: 10 }),
  fc.stringMatching(/^[A-Za-z_@$][A-Za-z0-9_ ()'=,;&#/:.@$*-]{0,10}$/),
  fc.constantFrom("true", "null", "not", "NOT", "any", "now", "Model.*", "A.B", "x eq 1"),
);

/** ASTs with `n` in one name slot. */
function filterSlots(n: string): Expression[] {
  const one = lit("int", 1);
  return [
    eq(name(n), one),
    eq(path(property("A"), { kind: "TypeCast", type: n }, property("B")), one),
    eq(
      path(property("A"), { kind: "Function", name: n, args: [{ name: "p", value: name("B") }] }),
      one,
    ),
    eq(
      path(property("A"), {
        kind: "Key",
        values: [{ name: n, value: one }, { name: "k", value: one }],
      }),
      one,
    ),
    eq({ kind: "Alias", name: n }, one),
    path(property("A"), {
      kind: "Lambda",
      operator: "any",
      variable: n,
      predicate: eq(
        { kind: "Path", root: "variable", variable: n, segments: [property("B")] },
        one,
      ),
    }),
    eq(path(property("A"), { kind: "Annotation", term: n }), one),
    eq(path(property("A"), { kind: "Annotation", term: "C.T", qualifier: n }), one),
    { kind: "TypeFunction", name: "isof", operand: name("A"), type: n },
    eq(lit("enum", "Red", n), one),
    eq(name("A"), lit("enum", n, "M.C")),
  ];
}

function querySlots(n: string): ODataQuery[] {
  return [
    { select: [{ segments: [{ kind: "Property", name: n }] }] },
    { select: [{ segments: [{ kind: "Property", name: "A" }, { kind: "Property", name: n }] }] },
    { select: [{ segments: [{ kind: "TypeCast", type: n }, { kind: "Property", name: "A" }] }] },
    { select: [{ segments: [{ kind: "Annotation", term: n }] }] },
    { select: [{ segments: [{ kind: "Operation", name: "F", parameters: [n] }] }] },
    { expand: [{ path: [n] }] },
    { compute: [{ expression: name("A"), alias: n }] },
    { apply: [{ kind: "Aggregate", items: [{ kind: "AggregateCount", alias: n }] }] },
    {
      apply: [{
        kind: "GroupBy",
        groupings: [{ kind: "GroupProperty", path: name(n) }],
        transformations: [],
      }],
    },
    { custom: { [n]: "v" } },
  ];
}

/**
 * Serializes, and when the serializer accepts, asserts that the text reads back unchanged.
 * Returns whether it was accepted, so that a property can require a minimum share of accepted
 * inputs (a serializer that refused everything would pass "throws or reads back" trivially).
 */
function safe<T>(ast: T, serialize: (ast: T) => string, parse: (text: string) => T): boolean {
  let text: string;
  try {
    text = serialize(ast);
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError, String(error));
    assert.equal(error.code, "INVALID_ARGUMENT", error.message);
    return false;
  }
  assert.deepStrictEqual(parse(text), ast, text);
  return true;
}

/** Counts accepted and tried inputs; `atLeast` asserts the accepted share. */
class Share {
  accepted = 0;
  tried = 0;
  add(accepted: boolean): void {
    this.tried++;
    if (accepted) this.accepted++;
  }
  atLeast(minimum: number, what: string): void {
    const share = this.accepted / Math.max(1, this.tried);
    assert.ok(
      share >= minimum,
      `${what}: only ${this.accepted} of ${this.tried} inputs accepted (${
        (100 * share).toFixed(1)
      }%, need ${100 * minimum}%)`,
    );
  }
}

Deno.test("property: any name in any slot either throws or reads back unchanged", () => {
  const filters = new Share();
  const queries = new Share();
  fc.assert(
    fc.property(nameArbitrary, (n) => {
      for (const ast of filterSlots(n)) {
        filters.add(safe(tenant(ast), serializeFilter, (t) => parseFilter(t)));
      }
      for (const q of querySlots(n)) {
        // A URL carries UTF-8: lone surrogates become U+FFFD by design.
        if (n.isWellFormed()) queries.add(safe(q, serializeQuery, (t) => parseQuery(t)));
      }
    }),
    fcParams(3000),
  );
  // About 35% and 44% with the default seed: most random names are no identifiers.
  filters.atLeast(0.25, "filter slots");
  queries.atLeast(0.3, "query slots");
});

Deno.test("property: any literal text either throws or reads back unchanged", () => {
  const literals = new Share();
  const types = fc.constantFrom<LiteralType>(
    "date",
    "datetimeoffset",
    "timeofday",
    "duration",
    "guid",
    "binary",
    "geography",
    "geometry",
  );
  const texts = fc.oneof(
    fc.string({ maxLength: 24 }),
    fc.stringMatching(
      /^-?[0-9]{1,5}(-[0-9]{1,2}){0,2}([Tt][0-9:.]{1,14}([Zz]|[+-][0-9:]{1,5})?)?$/,
    ),
    fc.stringMatching(/^[0-9a-fA-F-]{30,38}$/),
    fc.stringMatching(/^-?[Pp][0-9DTHMS.]{1,10}$/),
    fc.stringMatching(/^SRID=[0-9]{1,5};Point\([0-9 .-]{1,8}\)('.*)?$/),
  );
  // Texts shaped like valid literals of their type, near misses included (leap days, 24:00, ...).
  const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
  const date = fc.tuple(fc.integer({ min: 0, max: 9999 }), two(13), two(31)).map(([y, m, d]) =>
    `${String(y).padStart(4, "0")}-${m}-${d}`
  );
  const time = fc.tuple(two(24), two(59), fc.option(two(60), { nil: undefined })).map((
    [h, m, sec],
  ) => `${h}:${m}${sec === undefined ? "" : ":" + sec}`);
  const shaped = fc.oneof(
    fc.tuple(fc.constant<LiteralType>("date"), date),
    fc.tuple(
      fc.constant<LiteralType>("datetimeoffset"),
      fc.tuple(date, time, fc.constantFrom("Z", "+01:00", "-14:00")).map(([d, t, z]) =>
        `${d}T${t}${z}`
      ),
    ),
    fc.tuple(fc.constant<LiteralType>("timeofday"), time),
    fc.tuple(
      fc.constant<LiteralType>("duration"),
      fc.tuple(fc.boolean(), fc.nat(99), fc.nat(23), fc.nat(59)).map(([neg, d, h, m]) =>
        `${neg ? "-" : ""}P${d}DT${h}H${m}M`
      ),
    ),
    fc.tuple(fc.constant<LiteralType>("guid"), fc.uuid()),
    fc.tuple(
      fc.constant<LiteralType>("binary"),
      fc.base64String({ maxLength: 16 }).map((b) => b.replaceAll("+", "-").replaceAll("/", "_")),
    ),
    fc.tuple(
      fc.constantFrom<LiteralType>("geography", "geometry"),
      fc.tuple(fc.nat(4326), fc.integer({ min: -90, max: 90 }), fc.integer()).map(([srid, x, y]) =>
        `SRID=${srid};Point(${x} ${y})`
      ),
    ),
  );
  fc.assert(
    fc.property(fc.oneof(fc.tuple(types, texts), shaped), ([type, text]) => {
      literals.add(
        safe(tenant(eq(name("X"), lit(type, text))), serializeFilter, (t) => parseFilter(t)),
      );
    }),
    fcParams(5000),
  );
  // About 44% with the default seed.
  literals.atLeast(0.3, "literal texts");
});

Deno.test("property: the char-code checks of dates, times and guids agree with the scanner", () => {
  const texts = fc.oneof(
    fc.stringMatching(/^-?[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}$/),
    fc.stringMatching(
      /^-?[0-9]{3,5}-[01][0-9]-[0-3][0-9][Tt][0-2][0-9]:[0-6][0-9](:[0-6][0-9](\.[0-9]{0,13})?)?([Zz]|[+-][0-2][0-9]:[0-6][0-9])?.?$/,
    ),
    fc.stringMatching(/^[0-2][0-9]:[0-6][0-9](:[0-6]?[0-9]?(\.[0-9]{0,13})?)?$/),
    fc.stringMatching(/^[0-9a-gA-G]{7,9}-[0-9a-f]{4}-[0-9a-f]{3,4}-[0-9a-f]{4}-[0-9a-f]{11,13}$/),
    fc.string({ maxLength: 12 }),
  );
  const types = fc.constantFrom<LiteralType>("date", "datetimeoffset", "timeofday", "guid");
  fc.assert(
    fc.property(types, texts, (type, text) => {
      const fast = literalProblem(type, text) === undefined;
      const scanned = scannedLiteralProblem(type, text) === undefined;
      assert.equal(fast, scanned, `${type} ${JSON.stringify(text)}`);
    }),
    fcParams(20000),
  );
});
