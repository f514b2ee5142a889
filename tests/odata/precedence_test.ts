/**
 * Pins every row of the operator precedence table (OData URL Conventions §5.1.1.17) with fixed
 * examples: each input's tree, written as an s-expression, must be exactly the expected one, and
 * the serializer must print a tree that reads back the same. (`not A eq B` once parsed as
 * `not (A eq B)` without any deterministic test noticing.)
 */
import assert from "node:assert/strict";
import type { Expression } from "../../src/odata/ast.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { serializeFilter } from "../../src/odata/serializer/expression.ts";

/** The tree as an s-expression: `(op left right)`, `(not x)`, paths `A/B`, calls `f(x)`. */
function sx(e: Expression): string {
  switch (e.kind) {
    case "Binary":
      return `(${e.operator} ${sx(e.left)} ${sx(e.right)})`;
    case "Unary":
      return `(${e.operator} ${sx(e.operand)})`;
    case "Path":
      return e.segments.map((s) =>
        s.kind === "Property" ? s.name : s.kind === "TypeCast" ? s.type : s.kind
      ).join("/");
    case "Literal":
      return e.type === "enum" ? `${e.enumType}'${e.value}'` : JSON.stringify(e.value);
    case "Call":
      return `${e.name}(${e.args.map(sx).join(",")})`;
    case "TypeFunction":
      return `${e.name}(${e.operand === null ? "" : sx(e.operand) + ","}${e.type})`;
    case "List":
      return `[${e.items.map(sx).join(",")}]`;
    default:
      return e.kind;
  }
}

function pin(examples: readonly (readonly [string, string])[]): void {
  for (const [input, tree] of examples) {
    const ast = parseFilter(input);
    assert.equal(sx(ast), tree, input);
    const printed = serializeFilter(ast);
    assert.deepStrictEqual(parseFilter(printed), ast, `${input} → ${printed}`);
  }
}

Deno.test("precedence: grouping ( ) overrides every other row", () => {
  pin([
    ["(A add B) mul C", "(mul (add A B) C)"],
    ["A add (B mul C)", "(add A (mul B C))"],
    ["(A or B) and C", "(and (or A B) C)"],
    ["not (A eq B)", "(not (eq A B))"],
    ["-(A add B)", "(negate (add A B))"],
  ]);
});

Deno.test("precedence: primary / (navigation) binds tighter than unary and arithmetic", () => {
  pin([
    ["A/B add 1", "(add A/B 1)"],
    ["-A/B", "(negate A/B)"],
    ["not A/B", "(not A/B)"],
  ]);
});

Deno.test("precedence: primary has binds tighter than unary, arithmetic and eq", () => {
  pin([
    ["A has Model.Color'Red' eq true", "(eq (has A Model.Color'Red') true)"],
    ["A add B has C", "(add A (has B C))"],
    ["not A has B", "(not (has A B))"],
  ]);
});

Deno.test("precedence: primary in binds tighter than unary, arithmetic and eq", () => {
  pin([
    ["A in (1,2) eq true", "(eq (in A [1,2]) true)"],
    ["A add B in (1)", "(add A (in B [1]))"],
    ["not A in (1)", "(not (in A [1]))"],
  ]);
});

Deno.test("precedence: primary method calls bind tighter than unary and arithmetic", () => {
  pin([
    ["length(A) add 1", "(add length(A) 1)"],
    ["-length(A) add 1", "(add (negate length(A)) 1)"],
    ["not contains(A,'x') and B", '(and (not contains(A,"x")) B)'],
  ]);
});

Deno.test("precedence: unary -, not and cast bind tighter than mul and eq (not A eq B)", () => {
  pin([
    ["not A eq B", "(eq (not A) B)"],
    ["not A and B", "(and (not A) B)"],
    ["not A or B", "(or (not A) B)"],
    ["-A mul B", "(mul (negate A) B)"],
    ["A add -B mul C", "(add A (mul (negate B) C))"],
    ["not not A", "(not (not A))"],
    ["- -A", "(negate (negate A))"],
    ["cast(A,Edm.Int32) add 1", "(add cast(A,Edm.Int32) 1)"],
  ]);
});

Deno.test("precedence: multiplicative mul div divby mod, left to right, over additive", () => {
  pin([
    ["A add B mul C", "(add A (mul B C))"],
    ["A mul B add C", "(add (mul A B) C)"],
    ["A mul B div C mod D divby E", "(divby (mod (div (mul A B) C) D) E)"],
    ["A sub B mod C", "(sub A (mod B C))"],
  ]);
});

Deno.test("precedence: additive add sub, left to right, over relational", () => {
  pin([
    ["A gt B add C", "(gt A (add B C))"],
    ["A sub B add C", "(add (sub A B) C)"],
    ["A add B sub C", "(sub (add A B) C)"],
    ["A sub (B add C)", "(sub A (add B C))"],
  ]);
});

Deno.test("precedence: relational gt ge lt le isof over equality", () => {
  pin([
    ["A eq B gt C", "(eq A (gt B C))"],
    ["A gt B eq C", "(eq (gt A B) C)"],
    ["A ne B le C", "(ne A (le B C))"],
    ["A lt B ge C", "(ge (lt A B) C)"],
    ["isof(A,Edm.String) eq true", "(eq isof(A,Edm.String) true)"],
  ]);
});

Deno.test("precedence: equality eq ne, left to right, over and", () => {
  pin([
    ["A and B eq C", "(and A (eq B C))"],
    ["A eq B and C", "(and (eq A B) C)"],
    ["A eq B ne C", "(ne (eq A B) C)"],
    ["A ne B eq C", "(eq (ne A B) C)"],
  ]);
});

Deno.test("precedence: conditional and over or, left to right", () => {
  pin([
    ["A or B and C", "(or A (and B C))"],
    ["A and B and C", "(and (and A B) C)"],
  ]);
});

Deno.test("precedence: conditional or is the loosest, left to right", () => {
  pin([
    ["A and B or C", "(or (and A B) C)"],
    ["A or B or C", "(or (or A B) C)"],
    ["A eq 1 or not B and C gt 2", "(or (eq A 1) (and (not B) (gt C 2)))"],
  ]);
});
