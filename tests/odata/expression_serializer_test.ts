/**
 * The expression serializer: canonical text (minimal parentheses, spacing), literal printing,
 * and round trips `parseFilter(serializeFilter(ast))` deep-equal to `ast` for varied expressions.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { LiteralNode, LiteralType } from "../../src/odata/ast.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { serializeFilter, serializeLiteral } from "../../src/odata/serializer/expression.ts";

const lit = (type: LiteralType, value: LiteralNode["value"]): LiteralNode => ({
  kind: "Literal",
  type,
  value,
});
const str = (value: string) => lit("string", value);

Deno.test("literals: serializeLiteral prints text that reads back as the same literal", () => {
  assert.equal(serializeLiteral(lit("double", 1.5)), "1.5e0");
  assert.equal(serializeLiteral(lit("double", -Infinity)), "-INF");
  assert.equal(serializeLiteral(lit("decimal", "1.50")), "1.50");
  assert.equal(serializeLiteral(str("it's")), "'it''s'");
  assert.equal(serializeLiteral(lit("duration", "P1D")), "duration'P1D'");
  assert.equal(
    serializeLiteral({ kind: "Literal", type: "enum", value: "Red", enumType: "M.C" }),
    "M.C'Red'",
  );
  for (const value of [0.1, -2.5e-300, 1e21, 123456789.125, NaN, Infinity, -0]) {
    assert.deepStrictEqual(
      parseFilter(serializeLiteral(lit("double", value))),
      lit("double", value),
      String(value),
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Serializer round trips
// ---------------------------------------------------------------------------------------------

const ROUND_TRIPS = [
  "UnitPrice gt 20 and contains(ProductName,'Ch') and Category/CategoryName eq 'Beverages'",
  "a eq 1 or b eq 2 and c eq 3",
  "(a or b) and (c or d)",
  "a sub (b sub c)",
  "a eq (b eq c)",
  "(a eq b) gt c",
  "not (a eq b)",
  "not a in (1,2)",
  "(-a) in (1,2)",
  "-(5) add -(INF) add -(2024-01-01)",
  "--5 mul -a",
  "Name in ('Milk','Cheese') and Id in ()",
  "X in (1 add 2) and Y in Z and W in @list",
  "style has Sales.Pattern'Yellow,Red'",
  "Items/any(d:d/Quantity gt 100 and d/Product/Name ne null)",
  "Orders/any(o:o/Items/all(i:i/Qty gt o/Min))",
  "Items/any() and Tags/$count gt 2",
  "Products/$count($filter=Price gt 5.00;$search=blue OR green) ge 1",
  "$root/Employees('A1245')/LastName eq LastName",
  "$it/Model.Reviews(Min=4,Tags=['a','b'])/$count ge 10",
  "Model.Vip/Name eq $this/Name",
  "Order_Details(OrderID=1,ProductID=2)/Quantity",
  "cast(Model.Customer) ne null and isof(Category,Edm.String)",
  "case(X gt 10 :20,X lt 10 :-1,true:0) eq 1",
  "geo.distance(Location,geography'SRID=4326;Point(1.5 -2)') lt 1e3",
  "substring(Name,1,2) eq 'x' and indexof(Name,'y') ge 0 and now() gt maxdatetime()",
  "D eq duration'P1DT2H' and T eq 07:59:59.999 and G eq 01234567-89ab-cdef-0123-456789abcdef",
  "B eq binary'T0RhdGE' and DT eq 2012-12-03T07:16:23+01:00 and Big eq 9223372036854775807",
  "Dec eq 1.50 and Dbl eq 3.5e-7 and N eq NaN and Huge eq 123456789012345678901234567890",
  "hassubset(Names,['Milk','Cheese']) and hassubsequence([4,1,3],[4,3])",
  '[FirstName,LastName] in [["John","Doe"],["Jane","Smith"]]',
  '{"Name":"x","Sizes":[1,2 add 3],"Nested":{"a":[[],{}]},"At":2024-01-01,"Neg":-0.0,"Big":1.2e+21}',
  "'O''Neil' eq Name and '' ne Name",
  "Price mul (1 sub Discount) gt 15",
  "a add b in (1) and not not c",
];

Deno.test("serializer: canonical text reads back as the same AST", () => {
  for (const text of ROUND_TRIPS) {
    const ast = parseFilter(text);
    const printed = serializeFilter(ast);
    assert.deepStrictEqual(parseFilter(printed), ast, `${text}\n  printed: ${printed}`);
    // Canonical text is a fixed point.
    assert.equal(serializeFilter(parseFilter(printed)), printed);
  }
});

Deno.test("serializer: minimal parentheses and canonical spacing", () => {
  const cases: [string, string][] = [
    ["(a  eq 1)  and (b eq 2 or c eq 3)", "a eq 1 and (b eq 2 or c eq 3)"],
    ["((a add b)) mul c", "(a add b) mul c"],
    ["a add (b mul c)", "a add b mul c"],
    ["concat( A , 'b' )", "concat(A,'b')"],
    ["Name in ( 'a' , 'b' )", "Name in ('a','b')"],
    ['Name in ["a"]', "Name in ('a')"],
    ["- 5", "-(5)"],
    ["-(a add b)", "-(a add b)"],
    ["case(X gt 0:1)", "case(X gt 0 :1)"],
    ["1.0 eq 1e0", "1.0 eq 1e0"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(serializeFilter(parseFilter(input)), expected, input);
  }
});

Deno.test("serializer: long left-deep chains print without recursion", () => {
  const text = Array.from({ length: 20000 }, (_, i) => `a${i} eq ${i}`).join(" and ");
  const limits = { maxNodes: 1e6, maxLength: 1e7 };
  assert.equal(serializeFilter(parseFilter(text, { limits })), text);
});
