/**
 * The plan cache with the PostgreSQL dialect, whose lists travel as one array parameter: a
 * cached statement must bind the new request's keys and literals, never the first one's.
 */

import assert from "node:assert/strict";
import { compileKeyedRead, compileRead, PlanCache } from "../../src/sql/mod.ts";
import { POSTGRES_DIALECT } from "../../providers/postgres/dialect.ts";
import { SQLITE_DIALECT } from "../../providers/sqlite/dialect.ts";
import { parseFilter, parseQuery } from "../../mod.ts";
import { resolveEntity } from "../../src/model/schema.ts";

const entity = resolveEntity("Line", {
  fields: {
    Id: { type: "integer", primaryKey: true },
    OrderId: { type: "integer" },
    Qty: { type: "integer" },
  },
});
const schema = { getEntityMetadata: () => entity };

for (const dialect of [POSTGRES_DIALECT, SQLITE_DIALECT]) {
  Deno.test(`${dialect.name}: a cached keyed read binds the keys of each request`, () => {
    const plans = new PlanCache(8, dialect);
    const request = { entity, schema, query: parseQuery("$filter=Qty gt 1&$top=2") };
    const keyed = (keys: number[][], qty: number) => ({
      request: { ...request, query: { ...request.query, filter: parseFilter(`Qty gt ${qty}`) } },
      linkFields: ["OrderId"],
      keys,
    });
    const first = plans.keyed(keyed([[1], [2]], 1));
    const second = plans.keyed(keyed([[7], [9]], 5));
    assert.equal(plans.size, 1);
    assert.equal(second.sql, first.sql);
    assert.deepStrictEqual(second.params, compileKeyedRead(dialect, keyed([[7], [9]], 5)).params);
    assert.notDeepStrictEqual(second.params, first.params);
  });

  Deno.test(`${dialect.name}: a long in-list is never taken from the cache`, () => {
    const plans = new PlanCache(8, dialect);
    const list = (from: number) => ({
      entity,
      schema,
      query: {
        filter: parseFilter(`Id in (${Array.from({ length: 80 }, (_, i) => from + i).join(",")})`),
      },
    });
    plans.read(list(1), []);
    const second = plans.read(list(500), []);
    assert.deepStrictEqual(second.params, compileRead(dialect, list(500)).params);
  });
}
