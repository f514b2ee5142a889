/**
 * The builders: nodes they make print and read back unchanged, and every name and literal text
 * is checked where it is given, so that a value reaching a builder (`prop(userInput)`) cannot
 * change the structure of the printed query. Bad input throws `INVALID_ARGUMENT` naming it.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { fcParams } from "./fc_params.ts";
import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import type { Expression, LiteralType } from "../../src/odata/ast.ts";
import {
  and,
  arithmetic,
  call,
  eq,
  gt,
  inList,
  lambda,
  list,
  literal,
  ne,
  not,
  or,
  prop,
  typedLiteral,
  variable,
} from "../../src/odata/builders.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { serializeFilter } from "../../src/odata/serializer/expression.ts";

/** Runs `fn`, asserts an `INVALID_ARGUMENT` error whose message contains `part`, returns it. */
function invalid(fn: () => unknown, part?: string): ODataActiveRecordError {
  try {
    fn();
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
  throw new assert.AssertionError({ message: "expected INVALID_ARGUMENT, nothing was thrown" });
}

function roundTrips(ast: Expression): void {
  const text = serializeFilter(ast);
  assert.deepStrictEqual(parseFilter(text), ast, text);
}

Deno.test("builders: the reviewer's injection through a property name is refused", () => {
  const error = invalid(
    () =>
      and(eq(prop("TenantId"), literal(7)), eq(prop("Name eq 'y' or true or Name"), literal("y"))),
    "\"Name eq 'y' or true or Name\"",
  );
  assert.equal(error.context.value, JSON.stringify("Name eq 'y' or true or Name"));
  invalid(
    () => typedLiteral("guid", "01234567-89ab-cdef-0123-456789abcdef or true"),
    '"01234567-89ab-cdef-0123-456789abcdef or true"',
  );
});

Deno.test("builders: prop() takes OData identifiers and qualified type casts", () => {
  for (const name of ["Name", "_x1", "Größe", "名前", "a".repeat(128), "Order_Details"]) {
    roundTrips(eq(prop(name), 1));
  }
  roundTrips(eq(prop("Category/Model.Special/Name"), "x"));
  assert.deepStrictEqual(prop("Model.Vip/Name").segments, [
    { kind: "TypeCast", type: "Model.Vip" },
    { kind: "Property", name: "Name" },
  ]);
  const bad = [
    "Name eq 1",
    "1Name",
    "Na-me",
    "Na'me",
    "a\u00a0b", // a no-break space is no letter
    "a".repeat(129),
    "Name)",
    "@p",
    "$it",
    "Model.",
    ".Vip",
    "Model..Vip",
    "Name,x",
    "x:y",
    "",
  ];
  for (const name of bad) invalid(() => prop(name), name === "" ? "empty segment" : undefined);
  invalid(() => prop("A//B"), "empty segment");
  invalid(() => prop(5 as never), "prop() takes a path");
  invalid(() => prop("Items/Name eq 'y' or true"), "\"Name eq 'y' or true\"");
});

Deno.test("builders: variable() and lambda() check variable names and operators", () => {
  roundTrips(lambda("any", "Items", "d", gt(variable("d", "Quantity"), 10)));
  roundTrips(lambda("all", prop("Orders/Items"), "o", ne(variable("o", "Name"), null)));
  roundTrips(lambda("any", "Items"));
  invalid(() => variable("d or true", "Quantity"), '"d or true"');
  invalid(() => variable("d", "Quantity eq 1"), '"Quantity eq 1"');
  invalid(() => lambda("any", "Items", "d:true", gt(variable("d", "Q"), 1)), '"d:true"');
  invalid(() => lambda("some" as never, "Items"), '"some"');
  invalid(() => lambda("all", "Items"), "all needs a predicate");
  invalid(() => lambda("any", literal(1) as never), "must be a path");
  invalid(() => lambda("any", "Items", "d", "x" as never), "expected an expression node");
});

Deno.test("builders: call() takes canonical function names only", () => {
  roundTrips(call("contains", prop("Name"), "Ch"));
  roundTrips(call("geo.distance", prop("Location"), prop("Other")));
  roundTrips(eq(call("now"), prop("When")));
  for (const name of ["CONTAINS", "x) or true or contains(", "cast", "foo", ""]) {
    invalid(() => call(name as never, prop("Name")), "unknown canonical function");
  }
});

Deno.test("builders: typedLiteral() accepts one valid literal of each type", () => {
  const good: [LiteralType, string | number | bigint | boolean | null, string?][] = [
    ["null", null],
    ["boolean", true],
    ["int", 42],
    ["int", 9007199254740993n],
    ["decimal", "18.50"],
    ["decimal", "-0.5"],
    ["double", 1.5],
    ["double", NaN],
    ["string", "O'Neil) or (true"],
    ["date", "1997-01-01"],
    ["datetimeoffset", "2024-01-31T10:00:00.123+02:00"],
    ["timeofday", "23:59:59.999"],
    ["duration", "P1DT2H30M"],
    ["duration", "-PT0.5S"],
    ["guid", "01234567-89ab-cdef-0123-456789ABCDEF"],
    ["binary", "T0RhdGE"],
    ["enum", "Red,Blue", "Model.Color"],
    ["enum", "1", "NS.Sub.Pattern"],
    ["geography", "SRID=4326;Point(1 2)"],
    ["geometry", "SRID=0;LineString(1 2,3 4)"],
  ];
  for (const [type, value, enumType] of good) {
    roundTrips(eq(prop("X"), typedLiteral(type, value, enumType)));
  }
});

Deno.test("builders: typedLiteral() refuses texts that are not one literal of the type", () => {
  const bad: [LiteralType, unknown, string?][] = [
    ["guid", "01234567-89ab-cdef-0123-456789abcdef or true"],
    ["guid", "01234567-89ab-cdef-0123-456789abcdeg"],
    ["guid", 5],
    ["date", "2024-13-01"],
    ["date", "2024-01-01 or true"],
    ["date", "2024-01-01T10:00:00Z"], // a datetimeoffset
    ["datetimeoffset", "2024-01-01T10:00:00"], // no time zone
    ["datetimeoffset", "2024-01-01T10:00:00Z) or (true"],
    ["datetimeoffset", "+010000-01-01T00:00:00.000Z"],
    ["timeofday", "24:00"],
    ["timeofday", "10:00 or true"],
    ["duration", "P1D' or true or duration'P1D"],
    ["duration", "1D"],
    ["decimal", "1.5 or true"],
    ["decimal", "1e5"],
    ["decimal", 1e21],
    ["decimal", Infinity],
    ["int", "5"],
    ["int", 1.5],
    ["int", 2 ** 60],
    ["int", 2n ** 64n],
    ["double", "1.5"],
    ["boolean", "true"],
    ["null", 0],
    ["string", 5],
    ["binary", "T0RhdGE' or true or binary'AA"],
    ["binary", "not base64!"],
    ["enum", "Red' or true or Model.Color'Blue", "Model.Color"],
    ["enum", "Red", "Color"], // not qualified
    ["enum", "Red", "Model.Color' or true or Model.Color"],
    ["geography", "SRID=4326;Point(1 2)') or (true"],
    ["geography", "Point(1 2)"],
  ];
  for (const [type, value, enumType] of bad) {
    const error = invalid(() => typedLiteral(type, value as never, enumType));
    if (typeof value === "string" && enumType === undefined) {
      assert.ok(error.message.includes(JSON.stringify(value)), error.message);
    }
  }
  invalid(() => typedLiteral("uuid" as never, "x"), '"uuid"');
  invalid(() => typedLiteral("string", "Red", "Model.Color"), "only enum literals");
});

Deno.test("builders: literal() makes Dates and big integers that read back", () => {
  roundTrips(eq(prop("When"), literal(new Date(Date.UTC(2024, 0, 31, 10)))));
  roundTrips(eq(prop("Big"), literal(2n ** 63n - 1n)));
  // Beyond 64 bits an integer is a decimal, as the parser reads it.
  assert.deepStrictEqual(literal(2n ** 64n), {
    kind: "Literal",
    type: "decimal",
    value: "18446744073709551616",
  });
  roundTrips(eq(prop("Big"), literal(2n ** 64n)));
  invalid(() => literal(new Date(Date.UTC(10000, 0, 1))), "outside the years");
  invalid(() => literal(new Date(NaN)), "invalid Date");
  invalid(() => literal(Symbol("x") as never), "unsupported value");
});

Deno.test("builders: operands must be expression nodes or literal values", () => {
  roundTrips(inList(prop("Country"), ["Germany", "France"]));
  roundTrips(or(eq(prop("A"), 1), not(eq(prop("B"), list([1, 2])))));
  roundTrips(gt(arithmetic("mul", prop("Price"), prop("Quantity")), 100));
  invalid(() => eq(prop("A"), { kind: "Nope" } as never), "eq(): expected an expression node");
  invalid(() => eq([1, 2] as never, 1), "expected an expression node");
  invalid(() => and(eq(prop("A"), 1), null as never), "and(): expected an expression node");
  invalid(() => not("x" as never), "not(): expected an expression node");
  invalid(() => arithmetic("pow" as never, 1, 2), '"pow"');
  invalid(() => inList(prop("A"), "ab" as never), "takes an array");
  invalid(() => and(), "needs at least one expression");
});

// Minimum shares of accepted inputs (about 11% and 46% with the default seed): a builder that
// refused everything would otherwise pass the "accepts → reads back" properties trivially.
const SHARE_NAMES = 0.05;
const SHARE_TEXTS = 0.3;

Deno.test("property: any name a builder accepts reads back as the same single property", () => {
  let tried = 0;
  let accepted = 0;
  const names = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_ ()'=,/:.@$-]{0,10}$/),
  );
  fc.assert(
    fc.property(names, (name) => {
      let ast: Expression;
      tried++;
      try {
        ast = and(eq(prop("TenantId"), 7), eq(prop(name), "y"));
      } catch (error) {
        assert.ok(error instanceof ODataActiveRecordError && error.code === "INVALID_ARGUMENT");
        return;
      }
      accepted++;
      const text = serializeFilter(ast);
      assert.deepStrictEqual(parseFilter(text), ast, text);
    }),
    fcParams(3000),
  );
  // A builder that refused every name would pass trivially: require real acceptances.
  assert.ok(accepted / tried >= SHARE_NAMES, `names accepted: ${accepted}/${tried}`);
});

Deno.test("property: any text typedLiteral accepts reads back as the same literal", () => {
  let tried = 0;
  let accepted = 0;
  const types = fc.constantFrom<LiteralType>(
    "date",
    "datetimeoffset",
    "timeofday",
    "duration",
    "guid",
    "binary",
    "decimal",
    "geography",
  );
  const texts = fc.oneof(
    fc.string({ maxLength: 24 }),
    fc.stringMatching(/^[0-9TZ:+.\-]{1,26}$/),
    fc.stringMatching(/^[0-9a-f-]{36}( or true)?$/),
    fc.stringMatching(/^-?P[0-9DTHMS.]{1,10}$/),
  );
  // Texts shaped like valid literals of their type (near misses included).
  const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
  const date = fc.tuple(fc.integer({ min: 0, max: 9999 }), two(13), two(31)).map(([y, m, d]) =>
    `${String(y).padStart(4, "0")}-${m}-${d}`
  );
  const shaped = fc.oneof(
    fc.tuple(fc.constant<LiteralType>("date"), date),
    fc.tuple(
      fc.constant<LiteralType>("datetimeoffset"),
      fc.tuple(date, two(24), two(59)).map(([d, h, m]) => `${d}T${h}:${m}Z`),
    ),
    fc.tuple(
      fc.constant<LiteralType>("timeofday"),
      fc.tuple(two(24), two(60)).map((t) => t.join(":")),
    ),
    fc.tuple(fc.constant<LiteralType>("guid"), fc.uuid()),
    fc.tuple(
      fc.constant<LiteralType>("decimal"),
      fc.tuple(fc.integer(), fc.option(fc.nat(999), { nil: undefined })).map(([i, f]) =>
        f === undefined ? String(i) : `${i}.${f}`
      ),
    ),
    fc.tuple(
      fc.constant<LiteralType>("duration"),
      fc.tuple(fc.nat(99), fc.nat(23)).map(([d, h]) => `P${d}DT${h}H`),
    ),
  );
  fc.assert(
    fc.property(fc.oneof(fc.tuple(types, texts), shaped), ([type, text]) => {
      let node;
      tried++;
      try {
        node = typedLiteral(type, text);
      } catch (error) {
        assert.ok(error instanceof ODataActiveRecordError && error.code === "INVALID_ARGUMENT");
        return;
      }
      accepted++;
      const ast = and(eq(prop("TenantId"), 7), eq(prop("X"), node));
      const printed = serializeFilter(ast);
      assert.deepStrictEqual(parseFilter(printed), ast, printed);
    }),
    fcParams(3000),
  );
  assert.ok(accepted / tried >= SHARE_TEXTS, `texts accepted: ${accepted}/${tried}`);
});
