/**
 * Round trips that once broke (issue 6), each pinned as a fixed example: builder lambda scopes,
 * builder values that read back as other values, and double literals that changed silently.
 */
import assert from "node:assert/strict";
import { ODataActiveRecordError, ODataSyntaxError } from "../../src/errors/errors.ts";
import type { Expression } from "../../src/odata/ast.ts";
import { eq, gt, lambda, literal, prop, typedLiteral, variable } from "../../src/odata/builders.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";
import { serializeFilter } from "../../src/odata/serializer/expression.ts";
import { serializeQuery } from "../../src/odata/serializer/query.ts";

function invalid(fn: () => unknown, part: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ODataActiveRecordError, String(error));
    assert.equal(error.code, "INVALID_ARGUMENT", error.message);
    assert.ok(error.message.includes(part), error.message);
    return true;
  });
}

function roundTrips(ast: Expression): string {
  const text = serializeFilter(ast);
  assert.deepStrictEqual(parseFilter(text), ast, text);
  assert.deepStrictEqual(parseQuery(serializeQuery({ filter: ast })).filter, ast, text);
  return text;
}

// --- lambda scopes ----------------------------------------------------------------------------

Deno.test("builders: a variable no enclosing lambda binds is refused when printed", () => {
  // Printed as `Items/any(d:x/Qty gt 1)`, it read back with `x` as a property.
  const ast = lambda("any", "Items", "d", gt(variable("x", "Qty"), literal(1)));
  invalid(() => serializeFilter(ast), "lambda variable x is not bound");
  invalid(() => serializeQuery({ filter: ast }), "lambda variable x is not bound");
  invalid(() => serializeFilter(variable("d", "Qty")), "not bound");
});

Deno.test("builders: a property path starting with a bound variable's name is refused", () => {
  // `d/Qty` as a property path inside any(d:...) reads back as the variable d.
  invalid(
    () => lambda("any", "Items", "d", gt(prop("d/Qty"), literal(1))),
    'the property path "d" starts with the name of the lambda variable d',
  );
  invalid(() => lambda("all", "Items", "Qty", gt(prop("Qty"), 1)), "lambda variable Qty");
  // Also for a variable of an inner lambda, inside that lambda.
  invalid(
    () =>
      lambda("any", "Orders", "o", lambda("any", variable("o", "Items"), "i", eq(prop("i"), 1))),
    "lambda variable i",
  );
  // The serializer refuses the same shape in a hand-built AST.
  const handBuilt: Expression = {
    kind: "Path",
    root: "implicit",
    segments: [
      { kind: "Property", name: "Items" },
      {
        kind: "Lambda",
        operator: "any",
        variable: "d",
        predicate: {
          kind: "Binary",
          operator: "gt",
          left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "d" }] },
          right: literal(1),
        },
      },
    ],
  };
  invalid(() => serializeFilter(handBuilt), "would read back as that variable");
});

Deno.test("builders: variables of enclosing lambdas and keyed properties are in scope", () => {
  const nested = lambda(
    "any",
    "Orders",
    "o",
    lambda("any", variable("o", "Items"), "i", gt(variable("i", "Price"), variable("o", "Min"))),
  );
  assert.equal(roundTrips(nested), "Orders/any(o:o/Items/any(i:i/Price gt o/Min))");
  // Shadowing: the inner `d` is the inner variable, on both sides of the round trip.
  roundTrips(lambda("any", "A", "d", lambda("any", variable("d", "B"), "d", eq(variable("d"), 1))));
  // `d(1)` is a property with a key, not the variable d (the parser reads it so too).
  const keyed = parseFilter("Items/any(d:d(1)/Qty gt 1)");
  roundTrips(keyed);
});

// --- builder values ---------------------------------------------------------------------------

Deno.test("builders: decimal, bigint and -0 values read back as the same literal", () => {
  // Each of these read back as another value: "5" as 5.0, 5n as 5, -0 as 0.
  assert.deepStrictEqual(typedLiteral("decimal", "5"), {
    kind: "Literal",
    type: "decimal",
    value: "5.0",
  });
  assert.deepStrictEqual(literal(5n), { kind: "Literal", type: "int", value: 5 });
  assert.ok(Object.is(literal(-0).value, 0));
  for (
    const value of [
      typedLiteral("decimal", "5"),
      typedLiteral("decimal", "-12"),
      typedLiteral("decimal", "99999999999999999999"),
      typedLiteral("decimal", "1.50"),
      literal(5n),
      literal(-(2n ** 60n)),
      literal(2n ** 70n),
      literal(-0),
      literal(0.5),
      literal(-1e-7),
    ]
  ) {
    roundTrips(eq(prop("X"), value));
  }
});

// --- double literals --------------------------------------------------------------------------

function syntaxErrorAt(fn: () => unknown, position: number, part: string): void {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof ODataSyntaxError, String(error));
    assert.equal(error.position, position, error.message);
    assert.ok(error.message.includes(part), error.message);
    return true;
  });
}

Deno.test("doubles: a literal that a double cannot hold exactly is an error, not a new value", () => {
  // Once: 1234567890.123456789e0 lost digits, 1.7976931348623157e309 became INF, 0.1e-400 0.
  syntaxErrorAt(
    () => parseFilter("X eq 1234567890.123456789e0"),
    5,
    "more significant digits than Edm.Double holds (it would be 1234567890.1234567e0)",
  );
  syntaxErrorAt(() => parseFilter("X eq 1.7976931348623157e309"), 5, "beyond the range");
  syntaxErrorAt(() => parseFilter("X eq -1.7976931348623157e309"), 5, "beyond the range");
  syntaxErrorAt(() => parseFilter("X eq 0.1e-400"), 5, "would become 0");
  syntaxErrorAt(() => parseQuery("$filter=X eq 0.1e-400"), 13, "would become 0");
  // What a double holds is read as written, whatever the spelling.
  for (
    const [text, value] of [
      ["1.5e0", 1.5],
      ["15E-1", 1.5],
      ["1.50e0", 1.5],
      ["1e5", 100000],
      ["-0e0", -0],
      ["0.000e10", 0],
      ["1.7976931348623157e308", Number.MAX_VALUE],
      ["5e-324", Number.MIN_VALUE],
      ["0.30000000000000004e0", 0.1 + 0.2],
    ] as const
  ) {
    assert.deepStrictEqual(parseFilter(text), { kind: "Literal", type: "double", value }, text);
  }
});
