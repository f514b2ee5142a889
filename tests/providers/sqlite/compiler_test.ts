import assert from "node:assert/strict";
import type { Expression } from "../../../src/odata/ast.ts";
import { parseFilter } from "../../../src/odata/parser/expression.ts";
import type { Row } from "../../../src/provider/provider.ts";
import {
  assertCode,
  expected,
  filterIds,
  lit,
  openFixture,
  path,
  PRODUCTS,
} from "./compiler_fixture.ts";

const P = PRODUCTS;

function products(predicate: (row: Row) => boolean): unknown[] {
  return expected(P, "ProductID", predicate);
}

const stock = (row: Row) => row.UnitsInStock as number | null;
const price = (row: Row) => Number(row.UnitPrice);
const name = (row: Row) => row.ProductName as string | null;

Deno.test("comparison operators on integers, decimals and strings", () => {
  using fx = openFixture();
  assert.deepEqual(filterIds(fx, "Products", "UnitsInStock eq 39"), [1]);
  assert.deepEqual(filterIds(fx, "Products", "UnitPrice gt 20"), products((r) => price(r) > 20));
  assert.deepEqual(filterIds(fx, "Products", "UnitPrice ge 22"), products((r) => price(r) >= 22));
  assert.deepEqual(filterIds(fx, "Products", "UnitPrice lt 6"), products((r) => price(r) < 6));
  assert.deepEqual(filterIds(fx, "Products", "UnitPrice le 6.00"), products((r) => price(r) <= 6));
  assert.deepEqual(filterIds(fx, "Products", "ProductName lt 'C'"), [3]);
  assert.deepEqual(filterIds(fx, "Products", "5 lt UnitsInStock and 20 ge UnitsInStock"), [2, 3]);
  assert.deepEqual(filterIds(fx, "Products", "UnitPrice eq 18"), [1]);
  assert.deepEqual(filterIds(fx, "Products", "Weight lt 0"), [7]);
  assert.deepEqual(filterIds(fx, "Products", "Weight lt INF and Weight gt -INF"), [1, 2, 7]);
});

Deno.test("null semantics: eq/ne null, ne includes nulls, relational with null is false, not", () => {
  using fx = openFixture();
  assert.deepEqual(filterIds(fx, "Products", "UnitsInStock eq null"), [5]);
  assert.deepEqual(
    filterIds(fx, "Products", "UnitsInStock ne null"),
    products((r) => stock(r) !== null),
  );
  assert.deepEqual(filterIds(fx, "Products", "null eq ProductName"), [10]);
  // OData: null ne 'Chai' is true.
  assert.deepEqual(
    filterIds(fx, "Products", "ProductName ne 'Chai'"),
    products((r) => name(r) !== "Chai"),
  );
  assert.deepEqual(
    filterIds(fx, "Products", "UnitsInStock gt 20"),
    products((r) => (stock(r) ?? -Infinity) > 20),
  );
  // null gt 20 is false in OData, so its negation is true: product 5 (null stock) is included.
  assert.deepEqual(
    filterIds(fx, "Products", "not (UnitsInStock gt 20)"),
    products((r) => !(stock(r) !== null && stock(r)! > 20)),
  );
  assert.deepEqual(filterIds(fx, "Products", "not (UnitsInStock lt null)"), products(() => true));
  // Functions of null are null and not(null) is null: product 10 (null name) is excluded.
  assert.deepEqual(
    filterIds(fx, "Products", "not contains(ProductName,'a')"),
    products((r) => name(r) !== null && !name(r)!.includes("a")),
  );
  // Kleene and/or under not: not(null-ish or true) is false; not(false or false) is true.
  assert.deepEqual(
    filterIds(fx, "Products", "not (UnitsInStock gt 20 or ProductName eq 'Konbu')"),
    products((r) => !((stock(r) !== null && stock(r)! > 20) || name(r) === "Konbu")),
  );
  assert.deepEqual(filterIds(fx, "Categories", "Description eq null"), [3]);
  assert.deepEqual(filterIds(fx, "Products", "null eq null and ProductID eq 1"), [1]);
  assert.deepEqual(filterIds(fx, "Products", "UnitsInStock ne UnitsInStock"), []);
  assert.deepEqual(filterIds(fx, "Products", "not (UnitsInStock eq UnitsInStock)"), []);
});

Deno.test("boolean fields and literals", () => {
  using fx = openFixture();
  assert.deepEqual(filterIds(fx, "Products", "Discontinued"), [4, 6]);
  assert.deepEqual(filterIds(fx, "Products", "Discontinued eq true"), [4, 6]);
  assert.deepEqual(filterIds(fx, "Products", "not Discontinued"), products((r) => !r.Discontinued));
  assert.deepEqual(filterIds(fx, "Products", "Discontinued eq false and UnitsInStock gt 30"), [1]);
  assert.deepEqual(filterIds(fx, "Products", "true"), products(() => true));
  assert.deepEqual(filterIds(fx, "Products", "false or ProductID eq 2"), [2]);
  assert.deepEqual(
    filterIds(fx, "Products", "(UnitsInStock gt 30) eq true"),
    products((r) => (stock(r) ?? 0) > 30),
  );
  assert.deepEqual(filterIds(fx, "Products", "Discontinued gt false"), [4, 6]);
});

Deno.test("in lists, including nulls and the empty list", () => {
  using fx = openFixture();
  assert.deepEqual(filterIds(fx, "Products", "ProductID in (1,3,99)"), [1, 3]);
  assert.deepEqual(filterIds(fx, "Products", "ProductID in ()"), []);
  assert.deepEqual(filterIds(fx, "Products", "not (ProductID in ())"), products(() => true));
  assert.deepEqual(filterIds(fx, "Products", "ProductName in ('Chai', null)"), [1, 10]);
  assert.deepEqual(filterIds(fx, "Products", "ProductName in ['Ikura','Konbu']"), [6, 9]);
  assert.deepEqual(
    filterIds(fx, "Products", "not (UnitsInStock in (39, 17))"),
    products((r) => stock(r) !== 39 && stock(r) !== 17),
  );
  // Non-literal items follow the definition (a chain of eq, null-safe): null in (null) is true.
  const selfIn: Expression = {
    kind: "Binary",
    operator: "in",
    left: path("UnitsInStock"),
    right: { kind: "List", items: [path("UnitsInStock"), lit("int", 1)] },
  };
  assert.deepEqual(filterIds(fx, "Products", selfIn), products(() => true));
  assert.deepEqual(filterIds(fx, "Products", "CreatedAt in (2024-01-01)"), [1, 2]);
});

Deno.test("arithmetic: integer div truncates, divby and div on decimals, mod, negate", () => {
  using fx = openFixture();
  assert.deepEqual(filterIds(fx, "Products", "UnitsInStock div 2 eq 19"), [1]);
  assert.deepEqual(
    filterIds(fx, "Products", "(UnitsInStock sub 40) div 3 eq -7"),
    products((r) => stock(r) !== null && Math.trunc((stock(r)! - 40) / 3) === -7),
  );
  assert.deepEqual(
    filterIds(fx, "Products", "UnitsInStock mod 5 eq 4"),
    products((r) => stock(r) !== null && stock(r)! % 5 === 4),
  );
  assert.deepEqual(
    filterIds(fx, "Products", "(UnitsInStock sub 40) mod 3 eq -2"),
    products((r) => stock(r) !== null && (stock(r)! - 40) % 3 === -2),
  );
  assert.deepEqual(filterIds(fx, "Products", "UnitPrice div 4 eq 4.5"), [1]);
  assert.deepEqual(filterIds(fx, "Products", "UnitPrice divby 2 eq 9"), [1]);
  assert.deepEqual(filterIds(fx, "Products", "UnitsInStock divby 2 eq 19.5"), [1]);
  assert.deepEqual(
    filterIds(fx, "Products", "UnitPrice mod 5 eq 2.5"),
    products((r) => price(r) % 5 === 2.5),
  );
  assert.deepEqual(
    filterIds(fx, "Products", "UnitPrice mul -1 mod 5 eq -2.5"),
    products((r) => price(r) % 5 === 2.5),
  );
  assert.deepEqual(filterIds(fx, "Products", "-UnitsInStock lt -50"), [4]);
  assert.deepEqual(
    filterIds(fx, "Products", "UnitsInStock add 1 eq 40 and UnitPrice sub 1 eq 17"),
    [1],
  );
  assert.deepEqual(filterIds(fx, "Products", "UnitsInStock mul UnitPrice gt 1000"), [4]);
  assert.deepEqual(
    filterIds(fx, "Products", "UnitsInStock add null eq null"),
    products(() => true),
  );
  // A zero divisor at run time yields null (no row), a literal zero is refused.
  assert.deepEqual(
    filterIds(fx, "Products", "10 div UnitsInStock eq 0"),
    products((r) => (stock(r) ?? 0) > 10),
  );
  assertCode(
    () => filterIds(fx, "Products", "UnitsInStock div 0 eq 1"),
    "INVALID_ARGUMENT",
    /Division by zero/,
  );
  assertCode(() => filterIds(fx, "Products", "UnitPrice mod 0 eq 1"), "INVALID_ARGUMENT");
  assertCode(() => filterIds(fx, "Products", "Weight div 0.0e0 eq 1"), "NOT_SUPPORTED");
  assertCode(() => filterIds(fx, "Products", "ProductName add 1 eq 2"), "INVALID_OPERATOR");
  assertCode(
    () => filterIds(fx, "Products", "CreatedAt add duration'P1D' gt now()"),
    "NOT_SUPPORTED",
  );
});

Deno.test("string functions: case-sensitive matching, 0-based indexof/substring, Unicode case folding", () => {
  using fx = openFixture();
  const ids = (f: string) => filterIds(fx, "Products", f);
  const has = (pred: (s: string) => boolean) => products((r) => name(r) !== null && pred(name(r)!));
  assert.deepEqual(ids("contains(ProductName,'chai')"), [7]);
  assert.deepEqual(ids("contains(ProductName,'Chai')"), [1]);
  assert.deepEqual(ids("contains(ProductName,'')"), has(() => true));
  assert.deepEqual(ids("startswith(ProductName,'Ch')"), [1, 2, 4]);
  assert.deepEqual(ids("startswith(ProductName,'ch')"), [7]);
  assert.deepEqual(ids("endswith(ProductName,'Spread')"), [5]);
  assert.deepEqual(ids("endswith(ProductName,'spread')"), []);
  assert.deepEqual(ids("endswith(ProductName,'')"), has(() => true));
  assert.deepEqual(ids("not endswith(ProductName,'')"), []);
  assert.deepEqual(ids("endswith(ProductName,'a very long suffix that is longer')"), []);
  assert.deepEqual(ids("indexof(ProductName,'ai') eq 2"), has((s) => s.indexOf("ai") === 2));
  assert.deepEqual(ids("indexof(ProductName,'zz') eq -1"), has(() => true));
  assert.deepEqual(ids("indexof(ProductName,'C') eq 0"), has((s) => s.startsWith("C")));
  assert.deepEqual(ids("substring(ProductName,1) eq 'hai'"), [1]);
  assert.deepEqual(
    ids("substring(ProductName,1,2) eq 'ha'"),
    has((s) => s.substring(1, 3) === "ha"),
  );
  assert.deepEqual(ids("substring(ProductName,-1,2) eq 'Ch'"), [1, 2, 4]);
  assert.deepEqual(ids("substring(ProductName,2,-1) eq ''"), has(() => true));
  assert.deepEqual(ids("length(ProductName) eq 10"), has((s) => [...s].length === 10));
  assert.deepEqual(ids("tolower(ProductName) eq 'ärger bräu'"), [8]);
  assert.deepEqual(ids("toupper(ProductName) eq 'ÄRGER BRÄU'"), [8]);
  assert.deepEqual(ids("toupper(ProductName) eq 'CHAI'"), [1]);
  assert.deepEqual(ids("concat(ProductName,'!') eq 'Chai!'"), [1]);
  assert.deepEqual(ids("concat(concat(ProductName,' '),'x') eq 'Ikura x'"), [6]);
  const padded: Expression = {
    kind: "Binary",
    operator: "eq",
    left: {
      kind: "Call",
      name: "trim",
      args: [{
        kind: "Call",
        name: "concat",
        args: [{
          kind: "Call",
          name: "concat",
          args: [lit("string", "\t\u00a0 "), path("ProductName")],
        }, lit("string", "\n")],
      }],
    },
    right: lit("string", "Chai"),
  };
  assert.deepEqual(filterIds(fx, "Products", padded), [1]);
  assertCode(() => ids("contains(UnitsInStock,'1')"), "INVALID_OPERATOR", /contains/);
  const twoArgs: Expression = {
    kind: "Call",
    name: "length",
    args: [path("ProductName"), lit("string", "x")],
  };
  assertCode(
    () =>
      filterIds(fx, "Products", {
        kind: "Binary",
        operator: "eq",
        left: twoArgs,
        right: lit("int", 1),
      }),
    "INVALID_ARGUMENT",
  );
  assertCode(() => ids("substring(ProductName, 1.5) eq 'x'"), "INVALID_OPERATOR");
});

Deno.test("date and time functions on the storage forms", () => {
  using fx = openFixture();
  const ids = (f: string) => filterIds(fx, "Products", f);
  assert.deepEqual(ids("year(CreatedAt) eq 2023"), [3]);
  assert.deepEqual(
    ids("month(CreatedAt) eq 12 and day(CreatedAt) eq 31 and hour(CreatedAt) eq 22"),
    [3],
  );
  assert.deepEqual(ids("minute(CreatedAt) eq 59 and second(CreatedAt) eq 59"), [2]);
  assert.deepEqual(ids("fractionalseconds(CreatedAt) eq 0.999"), [2]);
  assert.deepEqual(ids("year(Released) eq 2020 and month(Released) eq 2 and day(Released) eq 29"), [
    2,
  ]);
  assert.deepEqual(ids("date(CreatedAt) eq 2024-01-01"), [1, 2]);
  assert.deepEqual(ids("time(CreatedAt) eq 23:59:59.999"), [2]);
  assert.deepEqual(
    ids("hour(OpensAt) eq 9 and minute(OpensAt) eq 30 and fractionalseconds(OpensAt) eq 0.25"),
    [2],
  );
  assert.deepEqual(ids("OpensAt gt 08:00:00"), [2]);
  assert.deepEqual(ids("OpensAt eq 08:00"), [1]);
  assert.deepEqual(ids("totaloffsetminutes(CreatedAt) eq 0"), [1, 2, 3]);
  assert.deepEqual(
    ids("CreatedAt lt now() and CreatedAt gt mindatetime() and CreatedAt lt maxdatetime()"),
    [1, 2, 3],
  );
  assert.deepEqual(ids("Released lt 2021-01-01"), [1, 2]);
  // A datetimeoffset literal is normalised to UTC: 00:00+02:00 is 22:00Z the day before.
  assert.deepEqual(ids("CreatedAt eq 2024-01-01T00:00:00+02:00"), [3]);
  assert.deepEqual(ids("CreatedAt ge 2024-01-01T00:00:00Z"), [1, 2]);
  assert.deepEqual(ids("CreatedAt gt 2024-01-01T23:59:59.998Z"), [2]);
  assert.deepEqual(ids("CreatedAt eq 2024-01-01T00:00:00.0000000Z"), [1]);
  // Whole-day rule for a date literal against a datetime.
  assert.deepEqual(ids("CreatedAt eq 2024-01-01"), [1, 2]);
  assert.deepEqual(ids("CreatedAt gt 2023-12-31"), [1, 2]);
  assert.deepEqual(ids("CreatedAt le 2023-12-31"), [3]);
  assert.deepEqual(ids("CreatedAt lt 2024-01-01"), [3]);
  assert.deepEqual(ids("2024-01-01 eq CreatedAt"), [1, 2]);
  assert.deepEqual(
    ids("CreatedAt ne 2024-01-01"),
    products((r) => r.ProductID !== 1 && r.ProductID !== 2),
  );
  assert.deepEqual(
    ids("not (CreatedAt eq 2024-01-01)"),
    products((r) => r.ProductID !== 1 && r.ProductID !== 2),
  );
  assert.deepEqual(ids("CreatedAt eq '2023-12-31T22:00:00Z'"), [3]);
  assertCode(
    () => ids("CreatedAt eq 2024-01-01T00:00:00.0001Z"),
    "NOT_SUPPORTED",
    /sub-millisecond/,
  );
  assertCode(() => ids("year(ProductName) eq 1"), "INVALID_OPERATOR");
  assertCode(() => ids("Released gt 2024-01-01T00:00:00Z"), "TYPE_MISMATCH");
  assertCode(() => ids("totalseconds(CreatedAt) eq 1"), "NOT_SUPPORTED");
});

Deno.test("round half away from zero, floor, ceiling", () => {
  using fx = openFixture();
  const ids = (f: string) => filterIds(fx, "Products", f);
  assert.deepEqual(ids("round(UnitPrice) eq 13"), [8]);
  assert.deepEqual(ids("round(UnitPrice) eq 5"), [7]);
  assert.deepEqual(ids("round(UnitPrice mul -1) eq -13"), [8]);
  assert.deepEqual(ids("round(Weight) eq -1"), [7]);
  assert.deepEqual(ids("round(Weight) eq 3"), [2]);
  assert.deepEqual(ids("floor(UnitPrice) eq 12"), [8]);
  assert.deepEqual(ids("floor(UnitPrice mul -1) eq -5"), [7]);
  assert.deepEqual(ids("ceiling(UnitPrice) eq 5"), [7]);
  assert.deepEqual(ids("ceiling(UnitPrice mul -1) eq -4"), [7]);
  assert.deepEqual(ids("floor(UnitPrice) eq UnitPrice and UnitPrice gt 20"), [4, 5, 6]);
  assert.deepEqual(ids("floor(UnitPrice) div 4 eq 3"), [8]);
  assert.deepEqual(ids("round(UnitsInStock) eq 39"), [1]);
  assertCode(() => ids("round(ProductName) eq 1"), "INVALID_OPERATOR");
});

Deno.test("cast, case and type functions", () => {
  using fx = openFixture();
  const ids = (f: string | Expression) => filterIds(fx, "Products", f);
  assert.deepEqual(ids("cast(UnitsInStock, Edm.String) eq '39'"), [1]);
  assert.deepEqual(ids("cast(Discontinued, Edm.String) eq 'true'"), [4, 6]);
  assert.deepEqual(ids("cast(UnitsInStock, Edm.Double) divby 2 eq 19.5"), [1]);
  assert.deepEqual(ids("cast(UnitsInStock, Edm.Byte) eq null"), [5]);
  assert.deepEqual(ids("cast(null, Edm.String) eq null and ProductID eq 1"), [1]);
  const level: Expression = {
    kind: "Case",
    branches: [
      { when: parseFilter("UnitPrice gt 20"), then: lit("string", "high") },
      { when: parseFilter("UnitPrice gt 10"), then: lit("string", "mid") },
      { when: { kind: "Literal", type: "boolean", value: true }, then: lit("string", "low") },
    ],
  };
  assert.deepEqual(
    ids({ kind: "Binary", operator: "eq", left: level, right: lit("string", "mid") }),
    products((r) => price(r) > 10 && price(r) <= 20),
  );
  const partial: Expression = {
    kind: "Case",
    branches: [{ when: parseFilter("UnitPrice gt 30"), then: lit("int", 1) }],
  };
  assert.deepEqual(
    ids({ kind: "Binary", operator: "eq", left: partial, right: lit("null", null) }),
    products((r) => price(r) <= 30),
  );
  assertCode(() => ids("cast(ProductName, Edm.Int32) eq 1"), "NOT_SUPPORTED");
  assertCode(() => ids("cast(Weight, Edm.String) eq '1'"), "NOT_SUPPORTED");
  assertCode(() => ids("cast(ProductName, Model.Special) eq null"), "NOT_SUPPORTED");
  assertCode(() => ids("isof(ProductName, Edm.String)"), "NOT_SUPPORTED");
  assertCode(() => ids("isof(Edm.String)"), "NOT_SUPPORTED");
});

Deno.test("guid, binary, json and time values", () => {
  using fx = openFixture();
  const ids = (f: string) => filterIds(fx, "Products", f);
  assert.deepEqual(ids("Code eq 0F8FAD5B-D9CB-469F-A165-70867728950E"), [1]);
  assert.deepEqual(ids("Code eq '0F8FAD5B-D9CB-469F-A165-70867728950E'"), [1]);
  assert.deepEqual(ids("Photo eq binary'AQID'"), [1]);
  assert.deepEqual(ids("Tags eq null"), products((r) => r.Tags === null));
  assertCode(() => ids("Tags eq 'x'"), "TYPE_MISMATCH");
  assertCode(() => ids("Tags eq Tags"), "INVALID_OPERATOR");
  assertCode(() => ids("Code gt 0F8FAD5B-D9CB-469F-A165-70867728950E"), "NOT_SUPPORTED");
  assertCode(() => ids("Photo gt binary'AQID'"), "INVALID_OPERATOR");
  assertCode(() => ids("Code eq 'not-a-guid'"), "TYPE_MISMATCH");
});
