/**
 * Module-level promises of the query language: `mod.ts` re-exports every AST type by name, the
 * README's syntax error example is the real message, and the parsers keep no module-level
 * mutable state (the operator memo and lambda scopes live in the parser state).
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ODataSyntaxError } from "../../src/errors/errors.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";
import { ParserState } from "../../src/odata/parser/state.ts";
import { parseExpression } from "../../src/odata/parser/expression.ts";
import { DEFAULT_QUERY_LIMITS } from "../../src/odata/limits.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFile(new URL(path, root), "utf8");

/** Names declared `export interface X` / `export type X` in a file. */
function declaredTypes(text: string): string[] {
  return [...text.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]!);
}

/** Names in the `export type { ... } from "<from>"` block of a file. */
function reexported(text: string, from: string): string[] {
  const block = [...text.matchAll(/export type \{([^}]*)\} from "([^"]+)";/g)]
    .find((m) => m[2] === from);
  assert.ok(block !== undefined, `an export type { ... } block from ${from}`);
  return block[1]!.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

Deno.test("mod.ts re-exports every AST type by name (no export type *)", async () => {
  const mod = await read("mod.ts");
  const ast = await read("src/odata/ast.ts");
  const apply = await read("src/odata/ast_apply.ts");
  for (const [file, text] of [["mod.ts", mod], ["ast.ts", ast]] as const) {
    assert.ok(!/export\s+(type\s+)?\*/.test(text), `${file} uses a wildcard re-export`);
  }
  const exported = new Set(reexported(mod, "./src/odata/ast.ts"));
  for (const name of [...declaredTypes(ast), ...declaredTypes(apply)]) {
    assert.ok(exported.has(name), `mod.ts does not re-export ${name}`);
  }
  // ast.ts passes the $apply types on by name too.
  assert.deepStrictEqual(
    new Set(reexported(ast, "./ast_apply.ts")),
    new Set(declaredTypes(apply)),
  );
});

Deno.test("README: the syntax error example is the message parseFilter gives", async () => {
  const readme = await read("README.md");
  const input = "contains(Name,'a' and Price gt 1";
  let message = "";
  try {
    parseFilter(input);
  } catch (error) {
    assert.ok(error instanceof ODataSyntaxError);
    message = error.message;
  }
  assert.ok(readme.includes("```\n" + message + "\n```"), `README shows:\n${message}`);
});

Deno.test("the parsers keep no module-level mutable state", async () => {
  const files = [
    "src/odata/parser/aggregate.ts",
    "src/odata/parser/apply.ts",
    "src/odata/parser/decode.ts",
    "src/odata/parser/expression.ts",
    "src/odata/parser/functions.ts",
    "src/odata/parser/geo.ts",
    "src/odata/parser/json.ts",
    "src/odata/parser/literal.ts",
    "src/odata/parser/nested.ts",
    "src/odata/parser/options.ts",
    "src/odata/parser/path.ts",
    "src/odata/parser/query.ts",
    "src/odata/parser/search.ts",
    "src/odata/parser/state.ts",
    "src/odata/serializer/expression.ts",
    "src/odata/serializer/path.ts",
    "src/odata/serializer/query.ts",
    "src/odata/serializer/search.ts",
    "src/odata/builders.ts",
    "src/odata/validate.ts",
    "src/odata/arguments.ts",
  ];
  for (const file of files) {
    const text = await read(file);
    assert.ok(!/^(export\s+)?(let|var)\s/m.test(text), `${file} declares a module-level let/var`);
    assert.ok(!/^const \w+(: [\w.]+\[\])? = \[\];/m.test(text), `${file} has a module-level array`);
  }
});

Deno.test("parser states are independent: interleaved parses and alias values", () => {
  // Two states over different texts, advanced in turns: each memo belongs to its own state.
  const a = new ParserState("A eq 1 and B eq 2", DEFAULT_QUERY_LIMITS);
  const b = new ParserState("X add 1 mul Y", DEFAULT_QUERY_LIMITS);
  const left = parseExpression(a);
  const right = parseExpression(b);
  assert.deepStrictEqual(left, parseFilter("A eq 1 and B eq 2"));
  assert.deepStrictEqual(right, parseFilter("X add 1 mul Y"));
  // An alias value does not depend on where it is first used: a lambda variable in scope there
  // does not leak into it (its value is the same whichever alias is defined first).
  const first = parseQuery("$filter=@a&@a=Items/any(d:@b eq 1)&@b=d/Y");
  const second = parseQuery("$filter=@a&@b=d/Y&@a=Items/any(d:@b eq 1)");
  assert.deepStrictEqual(first, second);
  // Nested option lists that define aliases parse with a child state over the same text.
  assert.deepStrictEqual(
    parseQuery("$expand=Items($filter=X eq @a and Y eq 2;@a=1)").expand,
    parseQuery("$expand=Items($filter=X eq 1 and Y eq 2)").expand,
  );
});
