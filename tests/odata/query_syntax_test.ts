/**
 * Query-string syntax rules of the ABNF that sit between the options rather than inside them:
 * where whitespace may follow `=`, and that every option has a name.
 */
import assert from "node:assert/strict";
import { ODataSyntaxError } from "../../src/errors/errors.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";

function syntaxErrorAt(fn: () => unknown, position: number): void {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ODataSyntaxError, `expected ODataSyntaxError, got ${error}`);
    assert.equal(error.position, position, error.message);
    return;
  }
  assert.fail("expected an ODataSyntaxError");
}

Deno.test("parseQuery: whitespace after = only where the ABNF allows it ($search)", () => {
  // Reported where the value starts, as the OASIS test cases do.
  syntaxErrorAt(() => parseQuery("$filter= true"), 9);
  syntaxErrorAt(() => parseQuery("$filter=%20true"), 11);
  syntaxErrorAt(() => parseQuery("$orderby= Name"), 10);
  syntaxErrorAt(() => parseQuery("$top= 1"), 6);
  syntaxErrorAt(() => parseQuery("$filter=X eq @a&@a= 1"), 19);
  assert.deepStrictEqual(parseQuery("$search= blue").search, {
    kind: "SearchTerm",
    text: "blue",
    phrase: false,
  });
  assert.equal(parseQuery("$skiptoken= a").skiptoken, " a");
  assert.equal(parseQuery("$skiptoken=%20a").skiptoken, " a");
});

Deno.test("parseQuery: an option needs a name", () => {
  syntaxErrorAt(() => parseQuery("="), 0);
  syntaxErrorAt(() => parseQuery("=x"), 0);
  syntaxErrorAt(() => parseQuery("$top=1&=x"), 7);
  assert.deepStrictEqual(parseQuery("$top=1&&"), { top: 1 });
});
