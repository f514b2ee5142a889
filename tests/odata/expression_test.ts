/**
 * The common-expression parser (`parseFilter`, `parseExpression`) and its serializer:
 * precedence, every literal type, every canonical function, paths, lambdas, casts, `$root`,
 * `$count`, `in` lists and JSON, aliases, error positions and limits. The serializer and round
 * trips are in `expression_serializer_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ODataSyntaxError, QueryLimitError } from "../../src/errors/errors.ts";
import type {
  BinaryOperator,
  Expression,
  LiteralNode,
  LiteralType,
  PathExpression,
  PathSegment,
} from "../../src/odata/ast.ts";
import { MAX_SUPPORTED_DEPTH, resolveLimits } from "../../src/odata/limits.ts";
import { parseExpression, parseFilter } from "../../src/odata/parser/expression.ts";
import { parseLiteral } from "../../src/odata/parser/literal.ts";
import { parsePathExpression } from "../../src/odata/parser/path.ts";
import { ParserState } from "../../src/odata/parser/state.ts";
import { serializeFilter } from "../../src/odata/serializer/expression.ts";
import { FUNCTION_ARITY } from "./helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const lit = (type: LiteralType, value: LiteralNode["value"]): LiteralNode => ({
  kind: "Literal",
  type,
  value,
});
const int = (value: number | bigint) => lit("int", value);
const str = (value: string) => lit("string", value);
const seg = (name: string): PathSegment => ({ kind: "Property", name });
const path = (...names: string[]): PathExpression => ({
  kind: "Path",
  root: "implicit",
  segments: names.map(seg),
});
const v = (variable: string, ...names: string[]): PathExpression => ({
  kind: "Path",
  root: "variable",
  variable,
  segments: names.map(seg),
});
const bin = (operator: BinaryOperator, left: Expression, right: Expression): Expression => ({
  kind: "Binary",
  operator,
  left,
  right,
});
const call = (name: string, ...args: Expression[]) => ({ kind: "Call", name, args }) as Expression;

function syntaxError(fn: () => unknown): ODataSyntaxError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ODataSyntaxError) return error;
    throw error;
  }
  throw new assert.AssertionError({ message: "expected an ODataSyntaxError" });
}

function limitError(fn: () => unknown): QueryLimitError {
  try {
    fn();
  } catch (error) {
    if (error instanceof QueryLimitError) return error;
    throw error;
  }
  throw new assert.AssertionError({ message: "expected a QueryLimitError" });
}

// ---------------------------------------------------------------------------------------------
// Precedence and associativity
// ---------------------------------------------------------------------------------------------

Deno.test("precedence: and binds tighter than or, comparisons tighter than and", () => {
  const [a, b, c] = [path("a"), path("b"), path("c")];
  assert.deepStrictEqual(
    parseFilter("a eq 1 or b eq 2 and c eq 3"),
    bin("or", bin("eq", a, int(1)), bin("and", bin("eq", b, int(2)), bin("eq", c, int(3)))),
  );
  assert.deepStrictEqual(parseFilter("(a or b) and c"), bin("and", bin("or", a, b), c));
});

Deno.test("precedence: mul > add > relational > equality, all left-associative", () => {
  const [a, b, c] = [path("a"), path("b"), path("c")];
  assert.deepStrictEqual(parseFilter("a add b mul c"), bin("add", a, bin("mul", b, c)));
  assert.deepStrictEqual(parseFilter("a sub b sub c"), bin("sub", bin("sub", a, b), c));
  assert.deepStrictEqual(
    parseFilter("a div b divby c mod 2"),
    bin("mod", bin("divby", bin("div", a, b), c), int(2)),
  );
  assert.deepStrictEqual(parseFilter("a add 1 gt b"), bin("gt", bin("add", a, int(1)), b));
  // URL Conventions §5.1.1.17: relational (gt ge lt le) binds tighter than equality (eq ne).
  assert.deepStrictEqual(parseFilter("a eq b lt c"), bin("eq", a, bin("lt", b, c)));
  assert.deepStrictEqual(
    parseFilter("a ne b ge c ne true"),
    bin("ne", bin("ne", a, bin("ge", b, c)), lit("boolean", true)),
  );
});

Deno.test("precedence: unary operators, and has/in binding to primaries", () => {
  const [a, b] = [path("a"), path("b")];
  assert.deepStrictEqual(
    parseFilter("not a and b"),
    bin("and", { kind: "Unary", operator: "not", operand: a }, b),
  );
  assert.deepStrictEqual(
    parseFilter("-a mul b"),
    bin("mul", { kind: "Unary", operator: "negate", operand: a }, b),
  );
  assert.deepStrictEqual(parseFilter("not Name in ('x')"), {
    kind: "Unary",
    operator: "not",
    operand: bin("in", path("Name"), { kind: "List", items: [str("x")] }),
  });
  assert.deepStrictEqual(parseFilter("-5"), int(-5));
  assert.deepStrictEqual(parseFilter("- 5"), {
    kind: "Unary",
    operator: "negate",
    operand: int(5),
  });
  assert.deepStrictEqual(parseFilter("not(a)"), { kind: "Unary", operator: "not", operand: a });
  assert.deepStrictEqual(parseFilter("( ( a ) )"), a);
});

Deno.test("parseExpression stops cleanly before text it does not own", () => {
  const limits = resolveLimits(undefined);
  for (
    const [text, end] of [
      ["Name desc", 4],
      ["Price mul 2 as Total", 11],
      ["a eq 1,b", 6],
      ["x)", 1],
      ["A with sum", 1],
      ["a;b", 1],
    ] as const
  ) {
    const state = new ParserState(text, limits);
    parseExpression(state);
    assert.equal(state.pos, end, text);
  }
  const state = new ParserState("Sales/Amount,x", limits);
  assert.deepStrictEqual(parsePathExpression(state), path("Sales", "Amount"));
  assert.equal(state.pos, 12);
});

// ---------------------------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------------------------

Deno.test("literals: every type with its value representation", () => {
  const cases: [string, LiteralNode][] = [
    ["null", lit("null", null)],
    ["true", lit("boolean", true)],
    ["FALSE", lit("boolean", false)],
    ["42", int(42)],
    ["+42", int(42)],
    ["-0", int(0)],
    ["9007199254740993", int(9007199254740993n)],
    ["-9223372036854775808", int(-9223372036854775808n)],
    ["92233720368547758070", lit("decimal", "92233720368547758070")],
    ["1.50", lit("decimal", "1.50")],
    ["-0.5", lit("decimal", "-0.5")],
    ["1e5", lit("double", 1e5)],
    ["-0.314e1", lit("double", -3.14)],
    ["2.0E-3", lit("double", 0.002)],
    ["INF", lit("double", Infinity)],
    ["-INF", lit("double", -Infinity)],
    ["NaN", lit("double", NaN)],
    ["'O''Neil'", str("O'Neil")],
    ["''", str("")],
    ["2024-01-31", lit("date", "2024-01-31")],
    ["-10000-04-01", lit("date", "-10000-04-01")],
    ["2024-01-31T10:00:00Z", lit("datetimeoffset", "2024-01-31T10:00:00Z")],
    ["2012-09-03T14:53+02:00", lit("datetimeoffset", "2012-09-03T14:53+02:00")],
    ["2012-08-31T18:19:22.1234567Z", lit("datetimeoffset", "2012-08-31T18:19:22.1234567Z")],
    ["10:00:00.123", lit("timeofday", "10:00:00.123")],
    ["23:59", lit("timeofday", "23:59")],
    ["duration'P1DT2H'", lit("duration", "P1DT2H")],
    ["duration'-PT0.5S'", lit("duration", "-PT0.5S")],
    ["01234567-89ab-cdef-0123-456789abcdef", lit("guid", "01234567-89ab-cdef-0123-456789abcdef")],
    ["abcdef01-2345-6789-ABCD-ef0123456789", lit("guid", "abcdef01-2345-6789-ABCD-ef0123456789")],
    ["binary'Zm9v'", lit("binary", "Zm9v")],
    ["binary'Zg=='", lit("binary", "Zg==")],
    ["binary'Zm8'", lit("binary", "Zm8")],
    ["binary''", lit("binary", "")],
    ["geography'SRID=4326;Point(1 2)'", lit("geography", "SRID=4326;Point(1 2)")],
    [
      "geometry'SRID=0;Polygon((1 1,1 1),(1 1,2 2,3 3,1 1))'",
      lit("geometry", "SRID=0;Polygon((1 1,1 1),(1 1,2 2,3 3,1 1))"),
    ],
    [
      "geography'SRID=0;GeometryCollection(LineString(142.1 64.1,3.14 2.78),MultiPoint())'",
      lit("geography", "SRID=0;GeometryCollection(LineString(142.1 64.1,3.14 2.78),MultiPoint())"),
    ],
  ];
  for (const [text, expected] of cases) {
    assert.deepStrictEqual(parseFilter(text), expected, text);
    assert.deepStrictEqual(parseLiteral(text), expected, text);
  }
  assert.deepStrictEqual(parseFilter("Model.Color'Red,Blue'"), {
    kind: "Literal",
    type: "enum",
    value: "Red,Blue",
    enumType: "Model.Color",
  });
  assert.deepStrictEqual(parseFilter("NS.Sub.Flags'1,-2'"), {
    kind: "Literal",
    type: "enum",
    value: "1,-2",
    enumType: "NS.Sub.Flags",
  });
  // Without a prefix, durations and enums are lexically strings (only the model can tell).
  assert.deepStrictEqual(parseFilter("'P1D'"), str("P1D"));
});

Deno.test("literals: malformed literals fail at the offending character", () => {
  const cases: [string, number][] = [
    ["2024-13-01", 6],
    ["2024-00-01", 6],
    ["2024-01-32", 9],
    ["2011-12-31T24:00Z", 12],
    ["2024-01-01T10:00", 16],
    ["10:60", 3],
    ["42.", 3],
    ["1e", 2],
    ["-0.314e1e2", 8],
    ["12abc", 2],
    ["01234g67-89ab-cdef-0123-456789abcdef", 5],
    ["01234567-89ab-cdef-0123-456789abcdeg", 35],
    ["X'1a2B'", 0],
    ["binary'Zm9='", 9],
    ["binary'Z'", 8],
    ["duration'P1Y'", 11],
    ["duration'+P1D'", 9],
    ["duration'P'", 10],
    ["geography'SRID=4326;Point(1)'", 27],
    ["geography'Point(1 2)'", 10],
    ["Pattern'Red'", 0],
    ["Model.Color'Red Blue'", 15],
    ["'abc", 4],
  ];
  for (const [text, position] of cases) {
    assert.equal(syntaxError(() => parseFilter(text)).position, position, text);
  }
});

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

Deno.test("functions: every canonical function with its arity", () => {
  // isdefined takes a member path, not any expression: its own test covers it.
  const arities = Object.entries(FUNCTION_ARITY).filter(([name]) => name !== "isdefined");
  for (const [name, counts] of arities) {
    for (const n of counts) {
      const args = Array.from({ length: n }, (_, i) => path(`A${i}`));
      const text = `${name}(${args.map((_, i) => `A${i}`).join(", ")})`;
      assert.deepStrictEqual(parseFilter(text), call(name, ...args), text);
    }
    const wrong = Math.max(...counts) + 1;
    const error = syntaxError(() => parseFilter(`${name}(${Array(wrong).fill("1").join(",")})`));
    assert.match(error.message, /^Too many arguments/, name);
    if (Math.min(...counts) > 0) {
      assert.match(syntaxError(() => parseFilter(`${name}()`)).message, /^Too few/);
    }
  }
  assert.deepStrictEqual(
    parseFilter("matchespattern(A,'^x')"),
    call("matchesPattern", path("A"), str("^x")),
  );
  assert.deepStrictEqual(
    parseFilter("hassubsequence([4,1,3],[4,3])"),
    call(
      "hassubsequence",
      { kind: "List", items: [int(4), int(1), int(3)] },
      { kind: "List", items: [int(4), int(3)] },
    ),
  );
});

Deno.test("functions: cast/isof with 1 or 2 arguments, case, unknown names", () => {
  assert.deepStrictEqual(parseFilter("cast(Model.Customer)"), {
    kind: "TypeFunction",
    name: "cast",
    operand: null,
    type: "Model.Customer",
  });
  assert.deepStrictEqual(parseFilter("isof(Category, Customer)"), {
    kind: "TypeFunction",
    name: "isof",
    operand: path("Category"),
    type: "Customer",
  });
  assert.deepStrictEqual(parseFilter("cast(Tags,Collection(Edm.String))"), {
    kind: "TypeFunction",
    name: "cast",
    operand: path("Tags"),
    type: "Collection(Edm.String)",
  });
  assert.deepStrictEqual(parseFilter("case(X gt 0:1,X lt 0:-1,true:0)"), {
    kind: "Case",
    branches: [
      { when: bin("gt", path("X"), int(0)), then: int(1) },
      { when: bin("lt", path("X"), int(0)), then: int(-1) },
      { when: lit("boolean", true), then: int(0) },
    ],
  });
  assert.match(
    syntaxError(() => parseFilter("contans(Name,'x')")).message,
    /Unknown function "contans"; did you mean "contains"/,
  );
  const unknown = syntaxError(() => parseFilter("Contans(Name,'x')"));
  assert.match(unknown.message, /did you mean "contains"/);
  assert.equal(unknown.position, 0, "the caret is on the unknown name, not on the (");
  const lambda = syntaxError(() => parseFilter("any(d:true)"));
  assert.match(lambda.message, /needs a collection path/);
  assert.equal(lambda.position, 3);
  assert.match(
    syntaxError(() => parseFilter("aggregate(Amount with sum) gt 1")).message,
    /needs a collection path/,
  );
});

Deno.test("case-insensitive: operators, canonical functions, type functions and lambdas", () => {
  // OData 4.01: "services MUST support case-insensitive operator names"; the ABNF's function
  // names and any/all are case-insensitive strings. The AST holds the canonical spellings.
  assert.deepStrictEqual(
    parseFilter("Name EQ 'Milk' AND Price LT 2.55"),
    parseFilter("Name eq 'Milk' and Price lt 2.55"),
  );
  assert.deepStrictEqual(
    parseFilter("Name Eq 'Milk' OR NOT (Price Lt 2.55) oR X DivBy 2 Ge Y mOd 3"),
    parseFilter("Name eq 'Milk' or not (Price lt 2.55) or X divby 2 ge Y mod 3"),
  );
  assert.deepStrictEqual(
    parseFilter("Tags HAS Model.Color'Red' And Id IN (1,2)"),
    parseFilter("Tags has Model.Color'Red' and Id in (1,2)"),
  );
  assert.deepStrictEqual(parseFilter("TOLOWER(Name) eq 'a'"), parseFilter("tolower(Name) eq 'a'"));
  assert.deepStrictEqual(
    parseFilter("MatchesPattern(Name,'^A') and GEO.LENGTH(Route) gt 1 and Now() ne null"),
    parseFilter("matchesPattern(Name,'^A') and geo.length(Route) gt 1 and now() ne null"),
  );
  assert.deepStrictEqual(
    parseFilter("CAST(Model.Vip) ne null and IsOf(Model.Vip) and CASE(true:1) eq 1"),
    parseFilter("cast(Model.Vip) ne null and isof(Model.Vip) and case(true:1) eq 1"),
  );
  assert.deepStrictEqual(parseFilter("Items/ANY(d:true)"), parseFilter("Items/any(d:true)"));
  assert.deepStrictEqual(
    parseFilter("Items/All(d:d/Qty gt 1)"),
    parseFilter("Items/all(d:d/Qty gt 1)"),
  );
  // The aggregation extension's `%s"isdefined"` is case-sensitive.
  assert.match(syntaxError(() => parseFilter("IsDefined(Name)")).message, /Unknown function/);
  // A name that only looks like an operator is still a name.
  assert.deepStrictEqual(parseFilter("EQ eq ANDY"), bin("eq", path("EQ"), path("ANDY")));
});

// ---------------------------------------------------------------------------------------------
// Paths, lambdas, $root, $count
// ---------------------------------------------------------------------------------------------

Deno.test("paths: navigation, casts, keys, bound functions, $it/$this/$root", () => {
  assert.deepStrictEqual(parseFilter("Category/CategoryName"), path("Category", "CategoryName"));
  assert.deepStrictEqual(parseFilter("Model.Vip/Address/Model.Special"), {
    kind: "Path",
    root: "implicit",
    segments: [{ kind: "TypeCast", type: "Model.Vip" }, seg("Address"), {
      kind: "TypeCast",
      type: "Model.Special",
    }],
  });
  assert.deepStrictEqual(parseFilter("$root/Employees('A1245')/LastName"), {
    kind: "Path",
    root: "$root",
    segments: [
      seg("Employees"),
      { kind: "Key", values: [{ value: str("A1245") }] },
      seg("LastName"),
    ],
  });
  assert.deepStrictEqual(parseFilter("$root/Order_Details(OrderID=1,ProductID=@p)"), {
    kind: "Path",
    root: "$root",
    segments: [seg("Order_Details"), {
      kind: "Key",
      values: [{ name: "OrderID", value: int(1) }, {
        name: "ProductID",
        value: { kind: "Alias", name: "p" },
      }],
    }],
  });
  assert.deepStrictEqual(parseFilter("$it/Model.Reviews(Min=4,Tags=['a'])/$count"), {
    kind: "Path",
    root: "$it",
    segments: [
      {
        kind: "Function",
        name: "Model.Reviews",
        args: [{ name: "Min", value: int(4) }, {
          name: "Tags",
          value: { kind: "List", items: [str("a")] },
        }],
      },
      { kind: "Count" },
    ],
  });
  assert.deepStrictEqual(
    parseFilter("endswith($this,'.com')"),
    call("endswith", { kind: "Path", root: "$this", segments: [] }, str(".com")),
  );
  assert.equal(syntaxError(() => parseFilter("Model.Available")).position, 15);
  assert.equal(syntaxError(() => parseFilter("$root")).position, 5);
});

Deno.test("lambdas: any/all, any(), nested variables and scoping", () => {
  assert.deepStrictEqual(parseFilter("Items/any()"), {
    kind: "Path",
    root: "implicit",
    segments: [seg("Items"), { kind: "Lambda", operator: "any" }],
  });
  const nested = parseFilter("Orders/any(o:o/Items/all(i:i/Qty gt o/Min and $it/X eq Y))");
  assert.deepStrictEqual(nested, {
    kind: "Path",
    root: "implicit",
    segments: [seg("Orders"), {
      kind: "Lambda",
      operator: "any",
      variable: "o",
      predicate: {
        kind: "Path",
        root: "variable",
        variable: "o",
        segments: [seg("Items"), {
          kind: "Lambda",
          operator: "all",
          variable: "i",
          predicate: bin(
            "and",
            bin("gt", v("i", "Qty"), v("o", "Min")),
            bin("eq", { kind: "Path", root: "$it", segments: [seg("X")] }, path("Y")),
          ),
        }],
      },
    }],
  });
  // Outside the lambda `o` is a property again, also after a failed parse.
  syntaxError(() => parseFilter("A/any(o:o/x eq"));
  assert.deepStrictEqual(parseFilter("o/x"), path("o", "x"));
  assert.deepStrictEqual(parseFilter("Emails/any(e:e eq 'a')"), {
    kind: "Path",
    root: "implicit",
    segments: [seg("Emails"), {
      kind: "Lambda",
      operator: "any",
      variable: "e",
      predicate: bin("eq", v("e"), str("a")),
    }],
  });
  assert.equal(syntaxError(() => parseFilter("Items/all()")).position, 10);
});

Deno.test("$count with the 4.01 $filter/$search options", () => {
  assert.deepStrictEqual(
    parseFilter("Products/$count($filter=Price gt 5.00) gt 2"),
    bin("gt", {
      kind: "Path",
      root: "implicit",
      segments: [seg("Products"), {
        kind: "Count",
        filter: bin("gt", path("Price"), lit("decimal", "5.00")),
      }],
    }, int(2)),
  );
  const withSearch = parseFilter("Items/$count($search=blue;$filter=A eq 1)");
  assert.ok(withSearch.kind === "Path" && withSearch.segments[1]?.kind === "Count");
  const count = withSearch.segments[1];
  assert.deepStrictEqual(count.search, { kind: "SearchTerm", text: "blue", phrase: false });
  assert.equal(serializeFilter(withSearch), "Items/$count($filter=A eq 1;$search=blue)");
});

// ---------------------------------------------------------------------------------------------
// in, JSON, aliases
// ---------------------------------------------------------------------------------------------

Deno.test("in: parenthesized lists, JSON arrays, paths; JSON objects and nested arrays", () => {
  const list = { kind: "List", items: [str("Milk"), str("Cheese")] } as const;
  assert.deepStrictEqual(parseFilter("Name in ('Milk', 'Cheese')"), bin("in", path("Name"), list));
  assert.deepStrictEqual(parseFilter('Name in ["Milk","Cheese"]'), bin("in", path("Name"), list));
  assert.deepStrictEqual(
    parseFilter("Name in ()"),
    bin("in", path("Name"), { kind: "List", items: [] }),
  );
  assert.deepStrictEqual(parseFilter("Name in (Other)"), bin("in", path("Name"), path("Other")));
  assert.deepStrictEqual(
    parseFilter("Name in $root/Names"),
    bin("in", path("Name"), { kind: "Path", root: "$root", segments: [seg("Names")] }),
  );
  assert.deepStrictEqual(
    parseFilter('[FirstName,LastName] in [["John","Doe"]]'),
    bin(
      "in",
      {
        kind: "Json",
        value: [null, null],
        expressions: [{ path: [0], expression: path("FirstName") }, {
          path: [1],
          expression: path("LastName"),
        }],
      },
      { kind: "Json", value: [["John", "Doe"]] },
    ),
  );
  assert.deepStrictEqual(parseFilter('{"a":1.5,"b":[null,true],"c":2024-01-01,"d":X add 1}'), {
    kind: "Json",
    value: { a: 1.5, b: [null, true], c: null, d: null },
    expressions: [
      { path: ["c"], expression: lit("date", "2024-01-01") },
      { path: ["d"], expression: bin("add", path("X"), int(1)) },
    ],
  });
  // JSON data that looks like an AST node stays data, and prints back as the same JSON.
  const data = '{"a":[{"kind":"Literal","name":"x"}],"b":{"kind":"Alias","name":"x"}}';
  assert.deepStrictEqual(parseFilter(data), { kind: "Json", value: JSON.parse(data) });
  assert.equal(serializeFilter(parseFilter(data)), data);
  // Embedded expressions are listed in the printed order (integer-like keys enumerate first),
  // and a repeated key keeps only its last member.
  const ordered = parseFilter('{"b":[1,Name],"1":Price,"b":{"c":Id}}');
  assert.deepStrictEqual(ordered, {
    kind: "Json",
    value: { "1": null, b: { c: null } },
    expressions: [
      { path: ["1"], expression: path("Price") },
      { path: ["b", "c"], expression: path("Id") },
    ],
  });
  assert.equal(serializeFilter(ordered), '{"1":Price,"b":{"c":Id}}');
  assert.equal(syntaxError(() => parseFilter("FirstName in (FirstName,LastName)")).position, 23);
  assert.equal(syntaxError(() => parseFilter("EmailAddresses eq ('Miller','Smith')")).position, 27);
});

Deno.test("aliases: substituted from options, Alias nodes without, null when missing", () => {
  assert.deepStrictEqual(
    parseFilter("Name eq @p"),
    bin("eq", path("Name"), { kind: "Alias", name: "p" }),
  );
  assert.deepStrictEqual(
    parseFilter("Name eq @p and Id in @ids and X eq @none", {
      aliases: { p: "'Chai'", "@ids": "[1,2]" },
    }),
    bin(
      "and",
      bin(
        "and",
        bin("eq", path("Name"), str("Chai")),
        bin("in", path("Id"), { kind: "List", items: [int(1), int(2)] }),
      ),
      bin("eq", path("X"), lit("null", null)),
    ),
  );
  assert.equal(syntaxError(() => parseFilter("X eq @p", { aliases: { p: "'open" } })).position, 5);
  // A path continues after an annotation, never after a defined alias.
  assert.match(
    syntaxError(() => parseFilter("@p/Name eq 1", { aliases: { p: "1" } })).message,
    /path after a parameter alias/,
  );
});

Deno.test("annotations: annotation values as path segments and at the start of a path", () => {
  const annotation = (term: string, qualifier?: string): PathSegment =>
    qualifier === undefined
      ? { kind: "Annotation", term }
      : { kind: "Annotation", term, qualifier };
  assert.deepStrictEqual(
    parseFilter("Price/@Measures.Currency eq 'EUR'"),
    bin("eq", {
      kind: "Path",
      root: "implicit",
      segments: [seg("Price"), annotation("Measures.Currency")],
    }, str("EUR")),
  );
  assert.deepStrictEqual(parseFilter("Price/@Currency#Reporting"), {
    kind: "Path",
    root: "implicit",
    segments: [seg("Price"), annotation("Currency", "Reporting")],
  });
  const messages = parseFilter("@Core.Messages/any(m:m/severity eq 'error')");
  assert.ok(messages.kind === "Path" && messages.root === "implicit");
  assert.deepStrictEqual(messages.segments[0], annotation("Core.Messages"));
  assert.equal(messages.segments[1]?.kind, "Lambda");
  // Without namespace: an annotation when a path follows, otherwise a parameter alias.
  const bare = parseFilter("@Messages/any(m:true)");
  assert.ok(bare.kind === "Path" && bare.segments[0]?.kind === "Annotation");
  assert.deepStrictEqual(parseFilter("@Messages"), { kind: "Alias", name: "Messages" });
  assert.deepStrictEqual(parseFilter("@Core.Messages#Q"), {
    kind: "Path",
    root: "implicit",
    segments: [annotation("Core.Messages", "Q")],
  });
  for (const text of ["Price/@Measures.Currency", "@Core.Messages#Q/any(m:true)", "A/@T/B"]) {
    assert.equal(serializeFilter(parseFilter(text)), text);
  }
  assert.equal(syntaxError(() => parseFilter("Price/@")).position, 7);
  assert.equal(syntaxError(() => parseFilter("Price/@T#")).position, 9);
});

Deno.test("path segments: $filter(...), aggregate(...), $these, isdefined", () => {
  const filtered = parseFilter("Addresses/$filter(endswith(Street,'St'))/$count lt 10");
  assert.deepStrictEqual(
    filtered,
    bin("lt", {
      kind: "Path",
      root: "implicit",
      segments: [
        seg("Addresses"),
        {
          kind: "FilterSegment",
          predicate: call("endswith", path("Street"), str("St")),
        },
        { kind: "Count" },
      ],
    }, int(10)),
  );
  assert.deepStrictEqual(parseFilter("Products/$filter(Age gt 3)(ID='Sugar')"), {
    kind: "Path",
    root: "implicit",
    segments: [
      seg("Products"),
      { kind: "FilterSegment", predicate: bin("gt", path("Age"), int(3)) },
      { kind: "Key", values: [{ name: "ID", value: str("Sugar") }] },
    ],
  });
  // `filterExpr = %s"/$filter" OPEN boolCommonExpr CLOSE`: no whitespace inside.
  assert.equal(syntaxError(() => parseFilter("A/$filter( true)")).position, 10);
  assert.deepStrictEqual(parseFilter("Sales/aggregate(Amount with sum from Time with max)"), {
    kind: "Path",
    root: "implicit",
    segments: [seg("Sales"), {
      kind: "AggregateSegment",
      aggregate: {
        kind: "AggregateExpression",
        expression: path("Amount"),
        method: "sum",
        from: [{ path: path("Time"), method: "max" }],
      },
    }],
  });
  assert.deepStrictEqual(
    parseFilter("$these/aggregate($count) div 10"),
    bin("div", {
      kind: "Path",
      root: "$these",
      segments: [{ kind: "AggregateSegment", aggregate: { kind: "AggregateCount" } }],
    }, int(10)),
  );
  assert.deepStrictEqual(parseFilter("$these/aggregate(Product/Budget)"), {
    kind: "Path",
    root: "$these",
    segments: [{
      kind: "AggregateSegment",
      aggregate: { kind: "AggregateCustom", path: path("Product", "Budget") },
    }],
  });
  assert.deepStrictEqual(
    parseFilter("isdefined(Customer/Name)"),
    call("isdefined", path("Customer", "Name")),
  );
  assert.match(syntaxError(() => parseFilter("isdefined(1)")).message, /takes a property path/);
  assert.equal(syntaxError(() => parseFilter("$these")).position, 6);
  assert.match(
    syntaxError(() => parseFilter("$these/aggregate(A from B,C with sum)")).message,
    /not supported/,
  );
  for (
    const text of [
      "Self.TopProduct()/Sales/aggregate(Amount with sum)",
      "p/Sales/aggregate($it/TaxRate mul Amount with countdistinct from T with max)",
      "Products/$filter(Age gt 3)(ID='Sugar')/Name",
      "$these/$count",
      "isdefined(Forecast)",
    ]
  ) {
    const ast = parseFilter(text);
    assert.deepStrictEqual(parseFilter(serializeFilter(ast)), ast, text);
  }
});

// ---------------------------------------------------------------------------------------------
// Errors and limits
// ---------------------------------------------------------------------------------------------

Deno.test("errors: positions and expected lists of malformed input", () => {
  const cases: [string, number, readonly string[]][] = [
    ["contains(Name,'a' and Price gt 1", 32, [")"]],
    ["", 0, ["expression"]],
    ["Price gt", 8, ["expression"]],
    ["Price gt 5 and", 14, ["expression"]],
    ["(Price gt 5", 11, [")"]],
    ["Price gt 5)", 10, ["operator", "end of input"]],
    ["Price gt 5 5", 11, ["operator", "end of input"]],
    ["Name eq 'x' ", 11, ["operator", "end of input"]],
    ["substring(Name,1", 16, [",", ")"]],
    ["tolower(Name", 12, [")"]],
    ["Items/any(d:d/Qty gt 1", 22, [")"]],
    ["Items/any(d d/Qty)", 12, [":"]],
    ["Name in ('a','b'", 16, [",", ")"]],
    ["Name/", 5, ["property name"]],
    ["cast(Name,)", 10, ["type name"]],
    ["case(true 1)", 10, [":"]],
    ["Name eq(5)", 7, [" "]],
  ];
  for (const [text, position, expected] of cases) {
    const error = syntaxError(() => parseFilter(text));
    assert.equal(error.position, position, text);
    assert.deepEqual([...error.expected], expected, text);
  }
  assert.ok(
    syntaxError(() => parseFilter("contains(Name,'a' and Price gt 1")).message.startsWith(
      'Expected ")" at position 32',
    ),
  );
  assert.match(syntaxError(() => parseFilter("Name eqq 'x'")).message, /did you mean "eq"/);
  assert.match(syntaxError(() => parseFilter("Name EQQ 'x'")).message, /did you mean "eq"/);
});

Deno.test("limits: maxLength, maxNodes, maxDepth, maxInListLength", () => {
  assert.equal(
    limitError(() => parseFilter("a eq 1", { limits: { maxLength: 5 } })).limit,
    "maxLength",
  );
  assert.equal(
    limitError(() => parseFilter("a eq 1 and b eq 2", { limits: { maxNodes: 6 } })).limit,
    "maxNodes",
  );
  parseFilter("a eq 1", { limits: { maxNodes: 4 } });
  for (
    const deep of [
      "(".repeat(65) + "a" + ")".repeat(65),
      "not ".repeat(65) + "a",
      "-".repeat(65) + "a",
      "[".repeat(65) + "]".repeat(65),
      "tolower(".repeat(65) + "a" + ")".repeat(65),
      "A/any(x:".repeat(65) + "true" + ")".repeat(65),
    ]
  ) {
    assert.equal(limitError(() => parseFilter(deep)).limit, "maxDepth", deep.slice(0, 10));
  }
  // With the largest maxDepth, deep input ends in a limit error, never a stack overflow.
  const huge = { maxDepth: MAX_SUPPORTED_DEPTH, maxLength: 1e9, maxNodes: 1e9 };
  assert.equal(
    limitError(() => parseFilter("(".repeat(300000) + "a" + ")".repeat(300000), { limits: huge }))
      .limit,
    "maxDepth",
  );
  assert.equal(
    limitError(() => parseFilter("a in (1,2,3)", { limits: { maxInListLength: 2 } })).limit,
    "maxInListLength",
  );
  assert.equal(
    limitError(() => parseFilter("a in [1,2,3]", { limits: { maxInListLength: 2 } })).limit,
    "maxInListLength",
  );
  parseFilter("a in (1,2)", { limits: { maxInListLength: 2 } });
});

Deno.test("robustness: random text throws only syntax or limit errors", () => {
  const pieces = [
    "(",
    ")",
    "'",
    "''",
    "[",
    "]",
    "{",
    "}",
    '"',
    ",",
    ":",
    "/",
    "-",
    "@",
    "$it",
    "$root/",
    "$count(",
    " eq ",
    " in ",
    " and ",
    "not ",
    "any(",
    "x",
    "1",
    "1.5e",
    "2024-01-",
    "10:",
    "duration'",
    "binary'",
    "geography'SRID=0;",
    "Point(",
    "M.C'",
    "cast(",
    "case(",
    "\\",
    "\u00e9",
    "\ud800",
    ";",
    "=",
    "$filter=",
  ];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 20000; i++) {
    let text = "";
    const n = Math.floor(next() * 16);
    for (let k = 0; k < n; k++) text += pieces[Math.floor(next() * pieces.length)];
    try {
      parseFilter(text);
    } catch (error) {
      if (!(error instanceof ODataSyntaxError || error instanceof QueryLimitError)) throw error;
    }
  }
});
