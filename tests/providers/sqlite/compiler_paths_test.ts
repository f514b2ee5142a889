import assert from "node:assert/strict";
import type { Expression } from "../../../src/odata/ast.ts";
import { parseFilter } from "../../../src/odata/parser/expression.ts";
import type { Row } from "../../../src/provider/provider.ts";
import { quoteIdentifier } from "../../../providers/sqlite/compiler.ts";
import { compileDelete, compileInsert, compileUpdate } from "../../../providers/sqlite/compiler.ts";
import { compileRead } from "../../../providers/sqlite/compiler.ts";
import {
  assertCode,
  CATEGORIES,
  entity,
  expected,
  filterIds,
  lit,
  openFixture,
  ORDER_DETAILS,
  ORDERS,
  path,
  PRODUCTS,
  SCHEMA,
} from "./compiler_fixture.ts";

const P = PRODUCTS;

function products(predicate: (row: Row) => boolean): unknown[] {
  return expected(P, "ProductID", predicate);
}

const stock = (row: Row) => row.UnitsInStock as number | null;
const price = (row: Row) => Number(row.UnitPrice);

Deno.test("to-one navigation paths are null-correct", () => {
  using fx = openFixture();
  const category = (r: Row) => CATEGORIES.find((c) => c.CategoryID === r.CategoryID);
  assert.deepEqual(filterIds(fx, "Products", "Category/CategoryName eq 'Beverages'"), [1, 2, 7]);
  // A product without category has a null Category/CategoryName, and null ne 'Beverages' is true.
  assert.deepEqual(
    filterIds(fx, "Products", "Category/CategoryName ne 'Beverages'"),
    products((r) => category(r)?.CategoryName !== "Beverages"),
  );
  assert.deepEqual(
    filterIds(fx, "Products", "Category/Description eq null"),
    products((r) => (category(r)?.Description ?? null) === null),
  );
  assert.deepEqual(
    filterIds(
      fx,
      "Order_Details",
      "Product/Category/CategoryName eq 'Seafood' and Order/CustomerName eq 'Centro'",
    ),
    expected(ORDER_DETAILS, "OrderID", (d) => {
      const p = P.find((x) => x.ProductID === d.ProductID)!;
      const o = ORDERS.find((x) => x.OrderID === d.OrderID)!;
      return p.CategoryID === 3 && o.CustomerName === "Centro";
    }),
  );
  assertCode(() => filterIds(fx, "Products", "Category eq null"), "NOT_SUPPORTED");
  assertCode(
    () => filterIds(fx, "Products", "Categry/CategoryName eq 'x'"),
    "UNKNOWN_FIELD",
    /Did you mean 'Category'/,
  );
  assertCode(
    () => filterIds(fx, "Products", "Category/Nme eq 'x'"),
    "UNKNOWN_FIELD",
    /on Categories/,
  );
  assertCode(() => filterIds(fx, "Products", "ProductName/Length eq 1"), "INVALID_ARGUMENT");
  assertCode(() => filterIds(fx, "Products", "Category/Model.Special/X eq 1"), "NOT_SUPPORTED");
});

function detailsOf(order: Row): Row[] {
  return ORDER_DETAILS.filter((d) => d.OrderID === order.OrderID);
}

Deno.test("any/all lambdas, nested, with $it and empty collections", () => {
  using fx = openFixture();
  const productsOf = (c: Row) => P.filter((p) => p.CategoryID === c.CategoryID);
  const categories = (pred: (c: Row) => boolean) => expected(CATEGORIES, "CategoryID", pred);
  assert.deepEqual(filterIds(fx, "Categories", "Products/any(p: p/UnitPrice gt 30)"), [3]);
  assert.deepEqual(filterIds(fx, "Categories", "Products/any()"), [1, 2, 3]);
  assert.deepEqual(filterIds(fx, "Categories", "not Products/any()"), [4]);
  assert.deepEqual(
    filterIds(fx, "Categories", "Products/all(p: p/UnitPrice lt 20)"),
    categories((c) => productsOf(c).every((p) => price(p) < 20)),
  );
  // all: a null predicate value (null stock) is not true, so Condiments fails; empty → true.
  assert.deepEqual(
    filterIds(fx, "Categories", "Products/all(p: p/UnitsInStock gt 0)"),
    categories((c) => productsOf(c).every((p) => (stock(p) ?? 0) > 0)),
  );
  assert.deepEqual(filterIds(fx, "Categories", "not Products/all(p: p/UnitsInStock gt 0)"), [1, 2]);
  assert.deepEqual(
    filterIds(fx, "Orders", "Order_Details/any(d: d/Product/Category/CategoryName eq 'Seafood')"),
    expected(
      ORDERS,
      "OrderID",
      (o) => detailsOf(o).some((d) => [6, 9, 10].includes(d.ProductID as number)),
    ),
  );
  // Nested lambdas: d is the inner variable, p the outer, $it the category being filtered.
  assert.deepEqual(
    filterIds(
      fx,
      "Categories",
      "Products/any(p: p/Order_Details/any(d: d/Quantity gt 10 and p/UnitPrice lt 20 and $it/CategoryID ne 2))",
    ),
    categories((c) =>
      c.CategoryID !== 2 &&
      productsOf(c).some((p) =>
        price(p) < 20 &&
        ORDER_DETAILS.some((d) => d.ProductID === p.ProductID && (d.Quantity as number) > 10)
      )
    ),
  );
  // An unqualified path inside a lambda refers to $it.
  assert.deepEqual(filterIds(fx, "Categories", "Products/any(p: CategoryName eq 'Seafood')"), [3]);
  // The same variable name shadows the outer one.
  assert.deepEqual(
    filterIds(fx, "Categories", "Products/any(x: x/Order_Details/any(x: x/Quantity eq 12))"),
    categories((c) =>
      productsOf(c).some((p) =>
        ORDER_DETAILS.some((d) => d.ProductID === p.ProductID && d.Quantity === 12)
      )
    ),
  );
  assertCode(
    () => filterIds(fx, "Categories", "Products/any(p: $this/UnitPrice gt 1)"),
    "NOT_SUPPORTED",
  );
  assertCode(
    () => filterIds(fx, "Categories", "Products/any(p: q/UnitPrice gt 1)"),
    "UNKNOWN_FIELD",
  );
  const unknownVariable: Expression = {
    kind: "Path",
    root: "variable",
    variable: "q",
    segments: [{ kind: "Property", name: "X" }],
  };
  assertCode(
    () => filterIds(fx, "Categories", unknownVariable),
    "INVALID_ARGUMENT",
    /lambda variable/,
  );
  assertCode(
    () => filterIds(fx, "Categories", "Products/UnitPrice gt 1"),
    "INVALID_ARGUMENT",
    /collection/,
  );
  assertCode(() => filterIds(fx, "Products", "ProductName/any(p: p eq 'x')"), "INVALID_ARGUMENT");
  assertCode(() => filterIds(fx, "Categories", "Products eq null"), "NOT_SUPPORTED");
});

Deno.test("$count paths with and without options", () => {
  using fx = openFixture();
  assert.deepEqual(filterIds(fx, "Categories", "Products/$count eq 0"), [4]);
  assert.deepEqual(filterIds(fx, "Categories", "Products/$count($filter=UnitPrice gt 20) ge 1"), [
    2,
    3,
  ]);
  assert.deepEqual(filterIds(fx, "Categories", "Products/$count($search=chai) eq 2"), [1]);
  assert.deepEqual(
    filterIds(fx, "Orders", "Order_Details/$count eq 2"),
    expected(ORDERS, "OrderID", (o) => detailsOf(o).length === 2),
  );
  assert.deepEqual(
    filterIds(fx, "Orders", "Order_Details/$count($filter=Quantity gt 6) gt 1 and Freight ne null"),
    expected(
      ORDERS,
      "OrderID",
      (o) =>
        detailsOf(o).filter((d) => (d.Quantity as number) > 6).length > 1 && o.Freight !== null,
    ),
  );
  assertCode(() => filterIds(fx, "Categories", "CategoryName/$count eq 1"), "INVALID_ARGUMENT");
});

Deno.test("type and operator checks, unknown fields with suggestions", () => {
  using fx = openFixture();
  const ids = (f: string | Expression) => filterIds(fx, "Products", f);
  assertCode(
    () => ids("ProductNam eq 'Chai'"),
    "UNKNOWN_FIELD",
    /^Unknown field 'ProductNam' on Products\. Did you mean 'ProductName'\?$/,
  );
  assertCode(() => ids("UnitPrice eq 'abc'"), "TYPE_MISMATCH");
  assertCode(() => ids("ProductName eq 1"), "TYPE_MISMATCH");
  assertCode(() => ids("Discontinued eq 1"), "TYPE_MISMATCH");
  assertCode(() => ids("ProductName eq UnitPrice"), "TYPE_MISMATCH");
  assertCode(() => ids("UnitPrice"), "TYPE_MISMATCH", /boolean/);
  assertCode(() => ids("not UnitPrice"), "INVALID_OPERATOR");
  assertCode(() => ids("UnitPrice and true"), "INVALID_OPERATOR");
  assertCode(() => ids("Released eq 'yesterday'"), "TYPE_MISMATCH");
});

Deno.test("features that cannot be translated faithfully are NOT_SUPPORTED", () => {
  using fx = openFixture();
  const ids = (f: string | Expression) => filterIds(fx, "Products", f);
  const notSupported = [
    "$root/Products(1)/ProductName eq 'x'",
    "ProductName has Model.Color'Red'",
    "matchesPattern(ProductName,'^C')",
    "hassubset(Tags,[1])",
    "hassubsequence(Tags,[1])",
    "geo.distance(Tags, geography'SRID=4326;Point(1 2)') lt 1",
    "geo.intersects(Tags, geography'SRID=4326;Point(1 2)')",
    "geo.length(Tags) lt 1",
    "Tags eq [1,2]",
    'Tags eq {"a":1}',
    "Weight eq INF or Weight eq NaN",
    "ProductName in Tags",
  ];
  for (const filter of notSupported) assertCode(() => ids(filter), "NOT_SUPPORTED", undefined);
  assertCode(() => ids("ProductName eq @p"), "INVALID_ARGUMENT", /@p/);
  assertCode(() => ids("ProductName in @list"), "INVALID_ARGUMENT");
  const keyPath: Expression = {
    kind: "Binary",
    operator: "eq",
    left: {
      kind: "Path",
      root: "implicit",
      segments: [{ kind: "Property", name: "Order_Details" }, {
        kind: "Key",
        values: [{ value: lit("int", 1) }],
      }, {
        kind: "Property",
        name: "Quantity",
      }],
    },
    right: lit("int", 1),
  };
  assertCode(() => ids(keyPath), "NOT_SUPPORTED");
});

Deno.test("injection attempts: values stay values, names must be known", () => {
  using fx = openFixture();
  assert.deepEqual(filterIds(fx, "Products", "ProductName eq 'x'' OR ''1''=''1'"), []);
  assert.deepEqual(filterIds(fx, "Products", "contains(ProductName, ''')--')"), []);
  assert.deepEqual(filterIds(fx, "Products", "ProductName eq 'Chef Anton''s Cajun Seasoning'"), [
    4,
  ]);
  const evil = 'ProductName" OR 1=1 --';
  assertCode(
    () =>
      filterIds(fx, "Products", {
        kind: "Binary",
        operator: "eq",
        left: path(evil),
        right: lit("string", "x"),
      }),
    "UNKNOWN_FIELD",
  );
  assert.equal(quoteIdentifier('a"b'), '"a""b"');
  assertCode(() => quoteIdentifier("a\0b"), "INVALID_ARGUMENT");
  assertCode(() => quoteIdentifier(""), "INVALID_ARGUMENT");
  const { sql, params } = compileRead({
    entity: entity("Products"),
    schema: SCHEMA,
    query: { filter: parseFilter("ProductName eq 'x'' OR ''1''=''1'") },
  });
  assert.ok(!sql.includes("OR '1'"), sql);
  assert.deepEqual(params, ["x' OR '1'='1"]);
  // ASTs built in code are checked too: unknown tags are errors, never SQL text.
  const bogus = {
    kind: "Binary",
    operator: "eq; DROP TABLE products",
    left: path("ProductID"),
    right: lit("int", 1),
  };
  assertCode(() => filterIds(fx, "Products", bogus as unknown as Expression), "INVALID_ARGUMENT");
  assertCode(
    () => filterIds(fx, "Products", { kind: "Nope" } as unknown as Expression),
    "INVALID_ARGUMENT",
  );
  const search = {
    kind: "SearchBinary",
    operator: "OR 1=1 --",
    left: { kind: "SearchTerm", text: "a", phrase: false },
    right: { kind: "SearchTerm", text: "b", phrase: false },
  };
  assertCode(() => fx.read("Products", { search } as never), "INVALID_ARGUMENT");
  assertCode(
    () =>
      fx.read("Products", {
        select: [{
          segments: [{ kind: "TypeCast", type: "Model.Special" }, { kind: "Property", name: "X" }],
        }],
      }),
    "NOT_SUPPORTED",
  );
});

Deno.test("writes: insert, update and delete with filters", () => {
  using fx = openFixture();
  const products = entity("Products");
  const insert = compileInsert(products, [
    { ProductID: 20, ProductName: "New", UnitPrice: "1.00", Discontinued: false },
    { ProductName: "Newer", UnitPrice: "2.00", ProductID: 21, Discontinued: true },
  ]);
  assert.equal(fx.run(insert), 2);
  assert.deepEqual(
    fx.read("Products", "$filter=ProductID ge 20&$select=ProductID,ProductName,UnitPrice").rows,
    [
      { ProductID: 20, ProductName: "New", UnitPrice: "1.00" },
      { ProductID: 21, ProductName: "Newer", UnitPrice: "2.00" },
    ],
  );
  const changed = fx.run(compileUpdate(
    {
      entity: products,
      schema: SCHEMA,
      filter: parseFilter("Order_Details/any(d: d/Quantity eq 12)"),
    },
    { Discontinued: true, UnitsInStock: 0 },
  ));
  const expectedIds = expected(
    P,
    "ProductID",
    (p) => ORDER_DETAILS.some((d) => d.ProductID === p.ProductID && d.Quantity === 12),
  );
  assert.equal(changed, expectedIds.length);
  assert.deepEqual(
    fx.ids("Products", "$filter=UnitsInStock eq 0 and ProductID lt 20"),
    [...new Set([...expectedIds, 7])].sort((a, b) => Number(a) - Number(b)),
  );
  assert.equal(
    fx.run(
      compileDelete({
        entity: entity("Order_Details"),
        schema: SCHEMA,
        filter: parseFilter("Order/OrderID gt 45"),
      }),
    ),
    ORDER_DETAILS.filter((d) => (d.OrderID as number) > 45).length,
  );
  assert.equal(
    fx.run(compileDelete({ entity: entity("Employees"), schema: SCHEMA, filter: undefined })),
    5,
  );
  assertCode(() => compileInsert(products, [{ ProductNme: "x" }]), "UNKNOWN_FIELD", /ProductName/);
  assertCode(
    () => compileInsert(products, [{ ProductID: 1 }, { ProductName: "x" }]),
    "INVALID_ARGUMENT",
  );
  assertCode(() => compileInsert(products, [{ UnitPrice: "abc" }]), "TYPE_MISMATCH");
  assertCode(
    () => compileUpdate({ entity: products, schema: SCHEMA, filter: undefined }, {}),
    "INVALID_ARGUMENT",
  );
  const { sql } = compileInsert(entity("Employees"), [{}]);
  assert.match(sql, /DEFAULT VALUES/);
});
