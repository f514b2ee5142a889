import assert from "node:assert/strict";
import type { ODataQuery, PathExpression, Transformation } from "../../../src/odata/ast.ts";
import { parseQuery } from "../../../src/odata/parser/query.ts";
import type { Row } from "../../../src/provider/provider.ts";
import { compileExpansion } from "../../../providers/sqlite/compiler.ts";
import {
  executeCount,
  executeRead,
  EXPAND_CHUNK_SIZE,
  streamRows,
} from "../../../providers/sqlite/read.ts";
import { compileInsert } from "../../../providers/sqlite/compiler.ts";
import {
  assertCode,
  CATEGORIES,
  EMPLOYEES,
  entity,
  expected,
  openFixture,
  ORDER_DETAILS,
  ORDERS,
  PRODUCTS,
  SCHEMA,
} from "./compiler_fixture.ts";

const price = (row: Row) => Number(row.UnitPrice);
/** Order details in key order (OrderID, ProductID), as reads return them. */
const DETAILS = [...ORDER_DETAILS].sort((a, b) =>
  (a.OrderID as number) - (b.OrderID as number) || (a.ProductID as number) - (b.ProductID as number)
);

Deno.test("rows come back keyed by field names with canonical values", () => {
  using fx = openFixture();
  const [chai] = fx.read("Products", "$filter=ProductID eq 1").rows;
  assert.deepEqual(chai, {
    ProductID: 1,
    ProductName: "Chai", // stored in column product_name
    UnitPrice: "18.00",
    UnitsInStock: 39,
    Discontinued: false,
    CategoryID: 1,
    Released: "2020-01-15",
    CreatedAt: new Date("2024-01-01T00:00:00.000Z"),
    Weight: 1.5,
    OpensAt: "08:00:00",
    Code: "0f8fad5b-d9cb-469f-a165-70867728950e",
    Tags: ["tea", { strong: true }],
    Photo: new Uint8Array([1, 2, 3]),
  });
  assert.deepEqual(fx.read("Products", "$filter=ProductID eq 2&$select=OpensAt,UnitPrice").rows, [
    { OpensAt: "09:30:00.250", UnitPrice: "19.00" },
  ]);
});

Deno.test("$select: named fields only, * for all, navigation names add no column, unknown names fail", () => {
  using fx = openFixture();
  assert.deepEqual(fx.read("Products", "$select=ProductName,Category&$top=2").rows, [
    { ProductName: "Chai" },
    { ProductName: "Chang" },
  ]);
  assert.equal(Object.keys(fx.read("Products", "$select=*&$top=1").rows[0]!).length, 13);
  assertCode(
    () => fx.read("Products", "$select=ProductNam"),
    "UNKNOWN_FIELD",
    /Did you mean 'ProductName'/,
  );
  assertCode(() => fx.read("Products", "$select=Category/CategoryName"), "NOT_SUPPORTED");
});

Deno.test("$orderby: nulls first ascending, last descending; navigation and $count keys; $top/$skip", () => {
  using fx = openFixture();
  const byStock = fx.ids("Products", "$orderby=UnitsInStock");
  assert.equal(byStock[0], 5); // null stock first
  assert.deepEqual(byStock.slice(1), [7, 10, 8, 3, 2, 9, 6, 1, 4]);
  const desc = fx.ids("Products", "$orderby=UnitsInStock desc");
  assert.equal(desc[desc.length - 1], 5); // null stock last
  assert.deepEqual(desc.slice(0, 2), [4, 1]);
  // Products without category (null name) sort first ascending; ties broken by the key.
  assert.deepEqual(fx.ids("Products", "$orderby=Category/CategoryName,ProductID desc"), [
    8,
    7,
    2,
    1,
    5,
    4,
    3,
    10,
    9,
    6,
  ]);
  assert.deepEqual(fx.ids("Categories", "$orderby=Products/$count($filter=UnitPrice gt 20) desc"), [
    2,
    3,
    1,
    4,
  ]);
  assert.deepEqual(fx.ids("Products", "$orderby=UnitPrice desc&$skip=2&$top=3"), [4, 2, 1]);
  assert.deepEqual(fx.ids("Products", "$skip=8"), [9, 10]);
  assert.deepEqual(fx.ids("Products", "$top=0"), []);
  assertCode(() => fx.read("Products", { top: -1 }), "INVALID_ARGUMENT");
  assertCode(() => fx.read("Products", "$orderby=Tags"), "INVALID_OPERATOR");
});

Deno.test("$count ignores paging; executeCount", () => {
  using fx = openFixture();
  const result = fx.read("Products", "$filter=UnitPrice gt 10&$top=2&$count=true");
  assert.equal(result.rows.length, 2);
  assert.equal(result.count, PRODUCTS.filter((p) => price(p) > 10).length);
  const request = {
    entity: entity("Orders"),
    schema: SCHEMA,
    query: parseQuery("$filter=Freight eq null"),
  };
  assert.equal(executeCount(fx.executor, request), ORDERS.filter((o) => o.Freight === null).length);
});

Deno.test("$search: case-insensitive terms and phrases with AND, OR, NOT", () => {
  using fx = openFixture();
  assert.deepEqual(fx.ids("Products", "$search=chai"), [1, 7]);
  assert.deepEqual(fx.ids("Products", "$search=CHAI latte"), [7]);
  assert.deepEqual(fx.ids("Products", '$search="chai latte"'), [7]);
  assert.deepEqual(fx.ids("Products", '$search="latte chai"'), []);
  assert.deepEqual(fx.ids("Products", "$search=ikura OR konbu"), [6, 9]);
  assert.deepEqual(fx.ids("Products", "$search=ÄRGER"), [8]);
  // A null name contains nothing, so NOT matches it.
  assert.deepEqual(
    fx.ids("Products", "$search=NOT a"),
    expected(
      PRODUCTS,
      "ProductID",
      (p) => !String(p.ProductName ?? "").toLowerCase().includes("a"),
    ),
  );
  assert.deepEqual(fx.ids("Products", "$search=chai&$filter=UnitPrice gt 10"), [1]);
  assert.deepEqual(fx.ids("Products", "$search=%25"), []);
  assert.deepEqual(fx.ids("Orders", "$search=xyz"), []);
});

Deno.test("$compute: usable in $select, $filter and $orderby", () => {
  using fx = openFixture();
  const result = fx.read(
    "Products",
    "$compute=UnitPrice mul 2 as Double,length(ProductName) as Len&$select=ProductID,Double,Len&$filter=Double gt 40&$orderby=Double desc",
  );
  // A product of a scale-2 decimal and an integer keeps scale 2 (SQL's rule; issue 7 §3).
  assert.deepEqual(result.rows, [
    { ProductID: 6, Double: "62.00", Len: 5 },
    { ProductID: 5, Double: "50.00", Len: 28 },
    { ProductID: 4, Double: "44.00", Len: 28 },
  ]);
  const all = fx.read("Products", "$compute=UnitsInStock gt 30 as Plenty&$filter=ProductID eq 5")
    .rows[0]!;
  assert.equal(all.Plenty, false); // null gt 30 is false, not null
  assertCode(
    () => fx.read("Products", "$compute=1 add 1 as ProductName"),
    "INVALID_ARGUMENT",
    /clashes/,
  );
});

Deno.test("$apply: groupby with aggregates, navigation grouping, filters before and after", () => {
  using fx = openFixture();
  const result = fx.read(
    "Products",
    "$apply=groupby((CategoryID),aggregate(UnitPrice with sum as Total,$count as N,UnitPrice with average as Avg," +
      "UnitPrice with min as Min,UnitsInStock with max as Max,UnitsInStock with countdistinct as D))&$orderby=CategoryID",
  );
  const groups = [null, 1, 2, 3].map((id) => PRODUCTS.filter((p) => p.CategoryID === id));
  assert.deepEqual(
    result.rows,
    groups.map((rows) => {
      const stocks = rows.map((r) => r.UnitsInStock).filter((s): s is number => s !== null);
      const total = rows.reduce((sum, r) => sum + price(r), 0);
      return {
        CategoryID: rows[0]!.CategoryID,
        Total: total.toFixed(2),
        N: rows.length,
        // A decimal average has at most 15 significant digits (no float noise).
        Avg: String(Number((total / rows.length).toPrecision(15))),
        Min: Math.min(...rows.map(price)).toFixed(2),
        Max: stocks.length === 0 ? null : Math.max(...stocks),
        D: new Set(stocks).size,
      };
    }),
  );
  assert.deepEqual(
    fx.read(
      "Products",
      "$apply=groupby((Category/CategoryName),aggregate($count as N))&$orderby=N desc,Category/CategoryName",
    )
      .rows,
    [
      { Category: { CategoryName: "Beverages" }, N: 3 },
      { Category: { CategoryName: "Condiments" }, N: 3 },
      { Category: { CategoryName: "Seafood" }, N: 3 },
      { Category: { CategoryName: null }, N: 1 },
    ],
  );
  assert.deepEqual(
    fx.read(
      "Products",
      "$apply=filter(Discontinued eq false)/groupby((CategoryID),aggregate($count as N))/filter(N gt 2)",
    ).rows,
    [{ CategoryID: 1, N: 3 }],
  );
  assert.deepEqual(
    fx.read("Products", "$apply=aggregate(UnitPrice with max as Top,$count as N)").rows,
    [
      { Top: "31.00", N: 10 },
    ],
  );
  assert.deepEqual(fx.read("Products", "$apply=groupby((Discontinued))").rows, [
    { Discontinued: false },
    { Discontinued: true },
  ]);
  const counted = fx.read("Products", "$apply=groupby((CategoryID))&$count=true&$top=1");
  assert.equal(counted.rows.length, 1);
  assert.equal(counted.count, 4);
});

Deno.test("$apply: orderby, top, skip, compute, identity, search in sequences", () => {
  using fx = openFixture();
  assert.deepEqual(
    fx.read(
      "Products",
      "$apply=orderby(UnitPrice desc)/top(3)/aggregate(UnitPrice with sum as Total)",
    ).rows,
    [{ Total: "78.00" }],
  );
  // A filter after top filters the top rows; their order is kept.
  assert.deepEqual(
    fx.ids("Products", "$apply=orderby(UnitPrice desc)/top(4)/filter(UnitPrice lt 30)/skip(1)"),
    [4, 2],
  );
  assert.deepEqual(fx.ids("Products", "$apply=skip(2)/top(3)"), [3, 4, 5]);
  assert.deepEqual(
    fx.read(
      "Products",
      "$apply=identity/compute(UnitPrice mul 10 as Ten)/filter(Ten gt 300)&$select=ProductID,Ten",
    ).rows,
    [{ ProductID: 6, Ten: "310.00" }],
  );
  assert.deepEqual(
    fx.read("Products", "$apply=search(chai)/groupby((CategoryID),aggregate($count as N))").rows,
    [{ CategoryID: 1, N: 2 }],
  );
  assert.deepEqual(
    fx.read(
      "Orders",
      "$apply=groupby((CustomerName),aggregate(Order_Details/$count with sum as Lines))&$orderby=CustomerName",
    ).rows,
    ["Alfreds", "Berglunds", "Centro"].map((name) => ({
      CustomerName: name,
      Lines: ORDERS.filter((o) => o.CustomerName === name)
        .reduce((n, o) => n + ORDER_DETAILS.filter((d) => d.OrderID === o.OrderID).length, 0),
    })),
  );
});

Deno.test("$apply: unsupported transformations and misuse", () => {
  using fx = openFixture();
  const rollup: Transformation = {
    kind: "GroupBy",
    groupings: [{
      kind: "Rollup",
      paths: [{
        kind: "Path",
        root: "implicit",
        segments: [{ kind: "Property", name: "CategoryID" }],
      }],
    }],
    transformations: [],
  };
  assertCode(() => fx.read("Products", { apply: [rollup] }), "NOT_SUPPORTED", /rollup/);
  assertCode(() => fx.read("Products", "$apply=concat(top(1),top(2))"), "NOT_SUPPORTED");
  const price: PathExpression = {
    kind: "Path",
    root: "implicit",
    segments: [{ kind: "Property", name: "UnitPrice" }],
  };
  const from: Transformation = {
    kind: "Aggregate",
    items: [{
      kind: "AggregateExpression",
      expression: price,
      method: "sum",
      alias: "S",
      from: [{ path: price, method: "max" }],
    }],
  };
  assertCode(() => fx.read("Products", { apply: [from] }), "NOT_SUPPORTED", /from/);
  const custom: Transformation = {
    kind: "Aggregate",
    items: [{ kind: "AggregateCustom", path: price, alias: "C" }],
  };
  assertCode(() => fx.read("Products", { apply: [custom] }), "NOT_SUPPORTED", /custom aggregate/);
  assertCode(() => fx.read("Products", { deltatoken: "x" }), "NOT_SUPPORTED");
  assertCode(() => fx.read("Products", { levels: 2 }), "NOT_SUPPORTED");
  assertCode(
    () => fx.read("Products", "$apply=topcount(2,UnitPrice)"),
    "NOT_SUPPORTED",
    /topcount/,
  );
  assertCode(
    () => fx.read("Products", "$apply=aggregate(UnitPrice with Custom.median as M)"),
    "NOT_SUPPORTED",
  );
  assertCode(
    () => fx.read("Products", "$apply=aggregate(ProductName with sum as S)"),
    "INVALID_OPERATOR",
  );
  assertCode(
    () =>
      fx.read(
        "Products",
        "$apply=groupby((CategoryID),filter(UnitPrice gt 1)/aggregate($count as N))",
      ),
    "NOT_SUPPORTED",
  );
  assertCode(
    () => fx.read("Products", "$apply=groupby((CategoryID),aggregate($count as CategoryID))"),
    "INVALID_ARGUMENT",
  );
  assertCode(
    () => fx.read("Products", "$apply=groupby((CategoryID))&$search=chai"),
    "NOT_SUPPORTED",
  );
  assertCode(
    () => fx.read("Products", "$apply=groupby((CategoryID))&$expand=Category"),
    "NOT_SUPPORTED",
  );
  assertCode(
    () => fx.read("Products", "$apply=groupby((CategoryID))&$filter=UnitPrice gt 1"),
    "UNKNOWN_FIELD",
  );
});

Deno.test("$expand: to-one objects or null, to-many arrays, no leaked link columns", () => {
  using fx = openFixture();
  const rows = fx.read(
    "Products",
    "$select=ProductName&$expand=Category($select=CategoryName)&$filter=ProductID in (1,8)",
  ).rows;
  assert.deepEqual(rows, [
    { ProductName: "Chai", Category: { CategoryName: "Beverages" } },
    { ProductName: "Ärger Bräu", Category: null },
  ]);
  const categories = fx.read(
    "Categories",
    "$select=CategoryName&$expand=Products($select=ProductName;$orderby=UnitPrice desc)",
  ).rows;
  assert.deepEqual(
    categories.map((c) => c.Products),
    CATEGORIES.map((c) =>
      PRODUCTS.filter((p) => p.CategoryID === c.CategoryID)
        .sort((a, b) => price(b) - price(a))
        .map((p) => ({ ProductName: p.ProductName }))
    ),
  );
  assert.deepEqual(categories[3], { CategoryName: "Empty", Products: [] });
});

Deno.test("$expand: per-parent $top/$skip with nested $filter and $orderby", () => {
  using fx = openFixture();
  const rows = fx.read(
    "Categories",
    "$select=CategoryID&$expand=Products($filter=UnitPrice gt 3;$orderby=UnitPrice desc;$skip=1;$top=1;$select=ProductID)",
  ).rows;
  assert.deepEqual(
    rows,
    CATEGORIES.map((c) => ({
      CategoryID: c.CategoryID,
      Products: PRODUCTS.filter((p) => p.CategoryID === c.CategoryID && price(p) > 3)
        .sort((a, b) => price(b) - price(a))
        .slice(1, 2)
        .map((p) => ({ ProductID: p.ProductID })),
    })),
  );
  const top2 = fx.read(
    "Orders",
    "$select=OrderID&$expand=Order_Details($top=2;$select=Quantity;$orderby=Quantity desc)",
  ).rows;
  assert.deepEqual(
    top2,
    ORDERS.map((o) => ({
      OrderID: o.OrderID,
      Order_Details: ORDER_DETAILS.filter((d) => d.OrderID === o.OrderID)
        .sort((a, b) =>
          (b.Quantity as number) - (a.Quantity as number) ||
          (a.ProductID as number) - (b.ProductID as number)
        )
        .slice(0, 2)
        .map((d) => ({ Quantity: d.Quantity })),
    })),
  );
});

Deno.test("$expand: nested levels and composite keys, batched: one query per level", () => {
  using fx = openFixture();
  fx.resetCalls();
  const orders = fx.read("Orders", "$expand=Order_Details").rows;
  assert.equal(orders.length, 50);
  assert.equal(fx.calls.length, 2, fx.calls.join("\n"));
  assert.deepEqual(orders.flatMap((o) => o.Order_Details as Row[]), DETAILS);
  fx.resetCalls();
  const nested = fx.read(
    "Orders",
    "$select=OrderID&$filter=OrderID le 3&$expand=Order_Details($select=Quantity;$expand=Product($select=ProductName;$expand=Category($select=CategoryName)))",
  ).rows;
  assert.equal(fx.calls.length, 4);
  assert.deepEqual(
    nested,
    ORDERS.slice(0, 3).map((o) => ({
      OrderID: o.OrderID,
      Order_Details: DETAILS.filter((d) => d.OrderID === o.OrderID).map((d) => {
        const p = PRODUCTS.find((x) => x.ProductID === d.ProductID)!;
        const c = CATEGORIES.find((x) => x.CategoryID === p.CategoryID);
        return {
          Quantity: d.Quantity,
          Product: {
            ProductName: p.ProductName,
            Category: c === undefined ? null : { CategoryName: c.CategoryName },
          },
        };
      }),
    })),
  );
  // A to-one expansion from a composite-key entity, and back down again.
  const details = fx.read(
    "Order_Details",
    "$filter=OrderID eq 7&$select=ProductID&$expand=Order($select=CustomerName;$expand=Order_Details($select=ProductID))",
  ).rows;
  const lines = DETAILS.filter((d) => d.OrderID === 7);
  assert.deepEqual(
    details,
    lines.map((d) => ({
      ProductID: d.ProductID,
      Order: {
        CustomerName: ORDERS[6]!.CustomerName,
        Order_Details: lines.map((l) => ({ ProductID: l.ProductID })),
      },
    })),
  );
});

Deno.test("$expand: parents are chunked, still one query per chunk", () => {
  using fx = openFixture();
  const many = Array.from(
    { length: 1150 },
    (_, i) => ({ EmployeeID: 100 + i, Name: `E${i}`, ManagerID: 1 }),
  );
  for (const row of many) fx.run(compileInsert(entity("Employees"), [row]));
  fx.resetCalls();
  const rows = fx.read("Employees", "$expand=Reports($select=EmployeeID)&$select=EmployeeID").rows;
  assert.equal(fx.calls.length, 1 + Math.ceil(rows.length / EXPAND_CHUNK_SIZE));
  assert.equal((rows[0]!.Reports as Row[]).length, 2 + many.length);
});

Deno.test("$expand=* and $levels", () => {
  using fx = openFixture();
  const [chai] = fx.read("Products", "$filter=ProductID eq 1&$select=ProductID&$expand=*").rows;
  assert.deepEqual(Object.keys(chai!).sort(), ["Category", "Order_Details", "ProductID"]);
  assert.equal((chai!.Category as Row).CategoryName, "Beverages");
  const [dan] = fx.read(
    "Employees",
    "$filter=EmployeeID eq 5&$select=Name&$expand=Manager($levels=3;$select=Name)",
  ).rows;
  assert.deepEqual(dan, {
    Name: "Dan",
    Manager: { Name: "Cleo", Manager: { Name: "Anna", Manager: { Name: "Boss" } } },
  });
  const [boss] = fx.read(
    "Employees",
    "$filter=EmployeeID eq 1&$select=Name&$expand=Reports($levels=2;$select=Name)",
  ).rows;
  assert.deepEqual(boss, {
    Name: "Boss",
    Reports: [
      { Name: "Anna", Reports: [{ Name: "Cleo" }] },
      { Name: "Bert", Reports: [] },
    ],
  });
  assert.equal(EMPLOYEES.length, 5);
});

Deno.test("$expand: unsupported forms and errors", () => {
  using fx = openFixture();
  assertCode(() => fx.read("Categories", "$expand=Products($apply=top(1))"), "NOT_SUPPORTED");
  assertCode(() => fx.read("Employees", "$expand=Manager($levels=20)"), "QUERY_LIMIT_EXCEEDED");
  assertCode(() => fx.read("Products", "$expand=Category($levels=2)"), "NOT_SUPPORTED");
  assertCode(
    () => fx.read("Categories", "$expand=Prodcts"),
    "UNKNOWN_FIELD",
    /Did you mean 'Products'/,
  );
  assertCode(() => fx.read("Categories", "$expand=CategoryName"), "INVALID_ARGUMENT");
  assertCode(
    () => fx.read("Categories", { expand: [{ path: ["Products"] }, { path: ["Products"] }] }),
    "INVALID_ARGUMENT",
  );
  assertCode(
    () => fx.read("Categories", { expand: [{ path: ["Products", "Model.Special"] }] }),
    "NOT_SUPPORTED",
  );
  assertCode(() => fx.read("Categories", "$expand=Products($filter=Nope eq 1)"), "UNKNOWN_FIELD");
  const request = {
    entity: entity("Categories"),
    schema: SCHEMA,
    query: parseQuery("$expand=Products"),
  };
  assertCode(() => [...streamRows(fx.executor, request)], "NOT_SUPPORTED", /stream/);
  assertCode(
    () =>
      compileExpansion({
        schema: SCHEMA,
        parent: entity("Categories"),
        navigation: "Products",
        query: {},
        keys: [],
      }),
    "INVALID_ARGUMENT",
  );
  assertCode(() => fx.read("Products", { skiptoken: "x" }), "NOT_SUPPORTED");
});

Deno.test("streamRows decodes row by row and stops early", () => {
  using fx = openFixture();
  const request = {
    entity: entity("Orders"),
    schema: SCHEMA,
    query: parseQuery("$select=OrderID,OrderDate&$orderby=OrderID desc"),
  };
  const seen: Row[] = [];
  for (const row of streamRows(fx.executor, request)) {
    seen.push(row);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen.map((r) => r.OrderID), [50, 49, 48]);
  assert.ok(seen[0]!.OrderDate instanceof Date);
});

Deno.test("an aborted signal stops reads with ABORTED or TIMEOUT", () => {
  using fx = openFixture();
  const request = { entity: entity("Orders"), schema: SCHEMA, query: {} as ODataQuery };
  assertCode(() => executeRead(fx.executor, request, AbortSignal.abort()), "ABORTED");
  assertCode(
    () =>
      executeCount(fx.executor, request, AbortSignal.abort(new DOMException("t", "TimeoutError"))),
    "TIMEOUT",
  );
  const controller = new AbortController();
  assertCode(() => {
    for (const _ of streamRows(fx.executor, request, controller.signal)) controller.abort();
  }, "ABORTED");
});
