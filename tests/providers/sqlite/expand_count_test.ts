/**
 * `$expand=Nav($count=true)`, `$expand=Nav/$count` and `$levels=max` on SQLite: counts come
 * from one batched `GROUP BY` query per level (restricted by the nested `$filter`/`$search`,
 * not by the nested paging) and sit on the parent rows; `$levels=max` expands until a level is
 * empty, one query per level, and fails with QUERY_LIMIT_EXCEEDED past `maxLevels`.
 */
import assert from "node:assert/strict";
import type { Row } from "../../../src/provider/provider.ts";
import { expandedCount } from "../../../src/provider/expanded_counts.ts";
import { compileInsert } from "../../../providers/sqlite/compiler.ts";
import { DEFAULT_QUERY_LIMITS } from "../../../src/odata/limits.ts";
import {
  assertCode,
  CATEGORIES,
  entity,
  openFixture,
  ORDER_DETAILS,
  PRODUCTS,
} from "./compiler_fixture.ts";

Deno.test("$expand=Nav($count=true): per-parent counts of the filtered rows, one more query", () => {
  using fx = openFixture();
  fx.resetCalls();
  const rows = fx.read(
    "Categories",
    "$select=CategoryID&$orderby=CategoryID&$expand=Products($count=true;$filter=UnitPrice gt 10;$top=1;$select=ProductID)",
  ).rows;
  assert.equal(fx.calls.length, 3, fx.calls.join("\n")); // parents, counts, related rows
  assert.ok(fx.calls.some((sql) => /GROUP BY 1/.test(sql)), fx.calls.join("\n"));
  assert.equal(rows.length, CATEGORIES.length);
  for (const row of rows) {
    const matching = PRODUCTS.filter((p) =>
      p.CategoryID === row.CategoryID && Number(p.UnitPrice) > 10
    );
    assert.equal(expandedCount(row, "Products"), matching.length, `category ${row.CategoryID}`);
    assert.equal((row.Products as Row[]).length, Math.min(1, matching.length));
  }
  // The count stays out of the row's keys and its JSON.
  assert.deepEqual(Object.keys(rows[0]!), ["CategoryID", "Products"]);
  assert.ok(!JSON.stringify(rows).includes("count"));
});

Deno.test("$expand=Nav/$count: only the counts, composite links, nested levels", () => {
  using fx = openFixture();
  fx.resetCalls();
  const orders = fx.read(
    "Orders",
    "$select=OrderID&$filter=OrderID le 4&$expand=Order_Details/$count($filter=Quantity gt 5)",
  ).rows;
  assert.equal(fx.calls.length, 2, fx.calls.join("\n")); // no query for the related rows
  for (const order of orders) {
    assert.deepEqual(Object.keys(order), ["OrderID"]);
    const lines = ORDER_DETAILS.filter((d) =>
      d.OrderID === order.OrderID && (d.Quantity as number) > 5
    );
    assert.equal(expandedCount(order, "Order_Details"), lines.length);
  }
  // Counts at a nested level, and parents without related rows count 0.
  const [boss] = fx.read(
    "Employees",
    "$filter=EmployeeID eq 1&$select=Name&$expand=Reports($select=Name;$expand=Reports($count=true;$select=Name))",
  ).rows;
  const reports = boss!.Reports as Row[];
  assert.deepEqual(reports.map((r) => [r.Name, expandedCount(r, "Reports")]), [
    ["Anna", 1],
    ["Bert", 0],
  ]);
  assert.equal(expandedCount(boss!, "Reports"), undefined);
});

Deno.test("$expand counts: refused forms", () => {
  using fx = openFixture();
  assertCode(() => fx.read("Products", "$expand=Category($count=true)"), "INVALID_ARGUMENT");
  assertCode(() => fx.read("Products", "$expand=Category/$count"), "INVALID_ARGUMENT");
  assertCode(
    () =>
      fx.read("Categories", { expand: [{ path: ["Products"], count: true, options: { top: 1 } }] }),
    "INVALID_ARGUMENT",
    /only \$filter and \$search/,
  );
  assertCode(
    () =>
      fx.read("Categories", {
        expand: [{ path: ["Products"], ref: true, options: { select: [] } }],
      }),
    "INVALID_ARGUMENT",
  );
});

Deno.test("$expand=Nav/$ref: the related rows' keys only, with their options and count", () => {
  using fx = openFixture();
  fx.resetCalls();
  const rows = fx.read(
    "Categories",
    "$select=CategoryID&$filter=CategoryID le 2&$expand=Products/$ref($filter=UnitPrice gt 10;$orderby=UnitPrice desc;$top=2;$count=true)",
  ).rows;
  assert.equal(fx.calls.length, 3, fx.calls.join("\n"));
  for (const row of rows) {
    const matching = PRODUCTS.filter((p) =>
      p.CategoryID === row.CategoryID && Number(p.UnitPrice) > 10
    ).sort((a, b) => Number(b.UnitPrice) - Number(a.UnitPrice));
    assert.deepEqual(
      row.Products,
      matching.slice(0, 2).map((p) => ({ ProductID: p.ProductID })),
    );
    assert.equal(expandedCount(row, "Products"), matching.length);
  }
  const [detail] = fx.read(
    "Order_Details",
    "$filter=OrderID eq 1&$top=1&$select=Quantity&$expand=Order/$ref",
  ).rows;
  assert.deepEqual(detail, { Quantity: (detail as Row).Quantity, Order: { OrderID: 1 } });
});

Deno.test("$levels=max: expands until no more rows, one query per level", () => {
  using fx = openFixture();
  fx.resetCalls();
  const [boss] = fx.read(
    "Employees",
    "$filter=EmployeeID eq 1&$select=Name&$expand=Reports($levels=max;$select=Name)",
  ).rows;
  assert.deepEqual(boss, {
    Name: "Boss",
    Reports: [
      { Name: "Anna", Reports: [{ Name: "Cleo", Reports: [{ Name: "Dan", Reports: [] }] }] },
      { Name: "Bert", Reports: [] },
    ],
  });
  // The root, three levels with rows, one that finds none; no query for levels below.
  assert.equal(fx.calls.length, 5, fx.calls.join("\n"));
  const [dan] = fx.read(
    "Employees",
    "$filter=EmployeeID eq 5&$select=Name&$expand=Manager($levels=max;$select=Name)",
  ).rows;
  assert.deepEqual(dan, {
    Name: "Dan",
    Manager: { Name: "Cleo", Manager: { Name: "Anna", Manager: { Name: "Boss", Manager: null } } },
  });
  assertCode(() => fx.read("Products", "$expand=Category($levels=max)"), "NOT_SUPPORTED");
});

Deno.test("$levels=max: deeper data than maxLevels fails with QUERY_LIMIT_EXCEEDED", () => {
  using fx = openFixture();
  // A chain below Dan (5): Boss, Anna, Cleo, Dan and the chain are one level too many.
  const limit = DEFAULT_QUERY_LIMITS.maxLevels;
  for (let i = 0; i < limit - 1; i++) {
    const row = { EmployeeID: 100 + i, Name: `E${i}`, ManagerID: i === 0 ? 5 : 99 + i };
    fx.run(compileInsert(entity("Employees"), [row]));
  }
  assertCode(
    () => fx.read("Employees", "$filter=EmployeeID eq 1&$expand=Reports($levels=max)"),
    "QUERY_LIMIT_EXCEEDED",
    /maxLevels/,
  );
  // From Cleo, Dan and the chain are exactly the limit's levels.
  const [cleo] = fx.read(
    "Employees",
    "$filter=EmployeeID eq 4&$select=EmployeeID&$expand=Reports($levels=max;$select=EmployeeID)",
  ).rows;
  let depth = 0;
  for (let row: Row | undefined = cleo; row !== undefined; depth++) {
    row = (row.Reports as Row[] | undefined)?.[0];
  }
  assert.equal(depth, 1 + limit); // Cleo, then one row per level
});
