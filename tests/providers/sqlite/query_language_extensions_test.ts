/**
 * The SQLite compiler refuses the query-language extensions it has no SQL form for (annotation
 * values, the `$filter(...)` and `aggregate(...)` path segments, `$these`, `isdefined`) with a
 * `NOT_SUPPORTED` error naming the feature, never a wrong result or a generic failure.
 */
import { assertCode, openFixture } from "./compiler_fixture.ts";

Deno.test("sqlite refuses annotation values, $filter/aggregate segments, $these, isdefined", () => {
  using fx = openFixture();
  const cases: [string, RegExp][] = [
    ["$filter=UnitPrice/@Measures.Currency eq 'EUR'", /annotation values/],
    ["$filter=@Core.Messages/any(m:true)", /annotation values/],
    ["$filter=Category/Products/$filter(UnitPrice gt 3)/$count gt 1", /\$filter\(\.\.\.\)/],
    ["$filter=Category/Products/aggregate(UnitPrice with sum) gt 1", /aggregate\(\.\.\.\)/],
    ["$compute=$these/aggregate($count) as N", /\$these/],
    ["$filter=isdefined(ProductName)", /isdefined/],
  ];
  for (const [query, message] of cases) {
    assertCode(() => fx.read("Products", query), "NOT_SUPPORTED", message);
  }
});
