/** `$search` → `$text` when the collection has a text index, only where `$text` means the same. */

import assert from "node:assert/strict";
import { parseSearchText, resolveEntity } from "../../../mod.ts";
import { textSearch } from "../../../providers/mongodb/compiler/search.ts";
import { compileRead } from "../../../providers/mongodb/compiler/read.ts";
import { parseQuery } from "../../../mod.ts";

const text = (search: string) => textSearch(parseSearchText(search));

Deno.test("search expressions with a $text form", () => {
  assert.deepEqual(text("tea"), { $text: { $search: "tea" } });
  assert.deepEqual(text("tea OR coffee"), { $text: { $search: "tea coffee" } });
  assert.deepEqual(text("tea coffee"), { $text: { $search: '"tea" "coffee"' } }); // AND: all
  assert.deepEqual(text('"green tea"'), { $text: { $search: '"green tea"' } });
  assert.deepEqual(text("tea AND NOT green"), { $text: { $search: '"tea" -green' } });
});

Deno.test("search expressions $text would change fall back to regular expressions", () => {
  for (
    const search of [
      "NOT tea", // only a negation
      "tea OR NOT green", // $text's negation excludes, whatever the OR says
      '"green tea" OR coffee', // $text ANDs phrases but ORs words
      "(tea OR coffee) AND milk", // an OR inside an AND
    ]
  ) {
    assert.equal(text(search), undefined, search);
  }
});

Deno.test("the plan uses $text only with an index and a plain filter", () => {
  const e = resolveEntity("P", {
    fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } },
  });
  const schema = { getEntityMetadata: () => e };
  const storage = { decimal: "double" } as const;
  const q = parseQuery("$search=tea&$filter=Id gt 1");
  assert.deepEqual(compileRead(schema, e, q, storage, true).filter, {
    $and: [{ Id: { $gt: 1 } }, { $text: { $search: "tea" } }],
  });
  const withoutIndex = JSON.stringify(compileRead(schema, e, q, storage, false).filter);
  assert.ok(!withoutIndex.includes("$text") && withoutIndex.includes("$regex"), withoutIndex);
});
