/**
 * Error messages a user learns from (issue 6): for the typos users make most, the message says
 * what was probably meant and the caret points at the spot to fix. The same inputs are compared
 * with `@odata/parser` by tests/odata/error_table.ts.
 */
import assert from "node:assert/strict";
import { ODataSyntaxError } from "../../src/errors/errors.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";

/** One typo: the input, where the caret must be, and what message and suggestion must say. */
export interface Hint {
  readonly input: string;
  readonly query?: boolean;
  readonly position: number;
  readonly message: string;
  readonly suggestion: string;
}

/** The typos, shared with the comparison table. */
export const HINTS: readonly Hint[] = [
  {
    input: "Name = 'Milk'",
    position: 5,
    message: 'Unknown operator "="; OData writes "eq"',
    suggestion: "Write eq instead of =",
  },
  {
    input: "Price > 20",
    position: 6,
    message: 'Unknown operator ">"; OData writes "gt"',
    suggestion: "Write gt instead of >",
  },
  {
    input: "Price >= 20",
    position: 6,
    message: 'Unknown operator ">="; OData writes "ge"',
    suggestion: "Write ge",
  },
  {
    input: "Name != 'Milk'",
    position: 5,
    message: 'Unknown operator "!="; OData writes "ne"',
    suggestion: "Write ne",
  },
  {
    input: "Price gt 20 && Qty lt 5",
    position: 12,
    message: 'Unknown operator "&&"; OData writes "and"',
    suggestion: "Write and instead of &&",
  },
  {
    input: "Price gt 20 || Qty lt 5",
    position: 12,
    message: 'Unknown operator "||"; OData writes "or"',
    suggestion: "Write or",
  },
  {
    input: 'Name eq "Milk"',
    position: 8,
    message: "Strings take single quotes in OData: 'Milk'",
    suggestion: "'Milk'",
  },
  {
    input: "Name eq 'O'Brien'",
    position: 10,
    message: "a quote inside a string is written twice: 'O''Brien'",
    suggestion: "'O''Brien'",
  },
  {
    input: "$fitler=Price gt 20",
    query: true,
    position: 0,
    message: "Unknown system query option $fitler; did you mean $filter?",
    suggestion: "Did you mean $filter?",
  },
  {
    input: "contans(Name,'Ch')",
    position: 0,
    message: 'Unknown function "contans"; did you mean "contains"?',
    suggestion: "Did you mean contains?",
  },
  {
    input: "Price gt 1 and tolowr(Name) eq 'x'",
    position: 15,
    message: 'Unknown function "tolowr"; did you mean "tolower"?',
    suggestion: "Did you mean tolower?",
  },
  {
    input: "Id eq guid'01234567-89ab-cdef-0123-456789abcdef'",
    position: 6,
    message: "OData 4 writes guids bare: 01234567-89ab-cdef-0123-456789abcdef",
    suggestion: "Write 01234567-89ab-cdef-0123-456789abcdef without the guid'...' wrapper.",
  },
  {
    input: "OrderDate gt datetime'2020-01-01T00:00:00'",
    position: 13,
    message: "OData 4 writes date-times (Edm.DateTimeOffset, with a time zone) bare: " +
      "2020-01-01T00:00:00Z",
    suggestion: "Write 2020-01-01T00:00:00Z",
  },
  {
    input: "Items/any(d => d/Qty gt 1)",
    position: 12,
    message: "A lambda names its variable with a colon, not =>: any(d:d/Qty gt 1)",
    suggestion: "Write any(d:...) instead of any(d => ...).",
  },
];

function syntaxError(hint: Hint): ODataSyntaxError {
  try {
    if (hint.query) parseQuery(hint.input);
    else parseFilter(hint.input);
  } catch (error) {
    assert.ok(error instanceof ODataSyntaxError, String(error));
    return error;
  }
  assert.fail(`${hint.input} was accepted`);
}

for (const hint of HINTS) {
  Deno.test(`error hint: ${hint.input} → ${hint.message.slice(0, 48)}`, () => {
    const error = syntaxError(hint);
    assert.ok(error.message.includes(hint.message), error.message);
    assert.equal(error.position, hint.position, error.message);
    assert.ok(error.suggestion.includes(hint.suggestion), error.suggestion);
    // The caret line points at the position.
    const [first, caret] = error.message.split("\n") as [string, string];
    const excerptStart = first.indexOf(": ", first.indexOf(" at position ")) + 2;
    assert.equal(caret.indexOf("^") - excerptStart, hint.position, error.message);
  });
}

Deno.test("error hint: in a query string the caret still points into the raw text", () => {
  const error = syntaxError({
    input: "$filter=Name%20eq%20'O'Brien'",
    query: true,
    position: 22,
    message: "",
    suggestion: "",
  });
  assert.equal(error.position, 22);
  assert.match(error.message, /'O''Brien'/);
  assert.throws(() => parseQuery("$filter=A eq 1 || B eq 2"), /OData writes "or"/);
  // Trailing whitespace after a filter is still fine.
  parseQuery("$filter=A eq 1%20%20&$top=1");
});
