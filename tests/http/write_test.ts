/**
 * The endpoint's write side on the Northwind sample in SQLite: create, update, replace, delete,
 * deep insert in one transaction, ETag preconditions, hooks, and the error statuses of writes.
 */
import assert from "node:assert/strict";
import { BASE, json, northwind } from "./helpers.ts";
import { ODataActiveRecordError } from "../../mod.ts";

type Entity = Record<string, unknown>;
const jsonInit = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

const logged: unknown[] = [];
const fixture = await northwind({
  requireIfMatch: ["Shippers"],
  logger: (error) => logged.push(error),
  hooks: {
    Regions: {
      // A caller sees regions 1-3 only, and may not write region names starting with "X".
      beforeRead: ({ request }) =>
        request.headers.get("x-tenant") === "limited" ? "RegionID le 3" : undefined,
      beforeWrite: ({ data }) => {
        if (typeof data?.RegionDescription === "string" && data.RegionDescription.startsWith("X")) {
          throw new ODataActiveRecordError(
            "VALIDATION_FAILED",
            "Region names may not start with X",
          );
        }
      },
    },
  },
});
const { call } = fixture;

Deno.test("POST creates: 201 with Location, ETag and the entity; return=minimal gives 204", async () => {
  const response = await call(
    "Categories",
    jsonInit("POST", { CategoryID: 100, CategoryName: "Snacks", Description: "Crunchy" }),
  );
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("location"), `http://localhost${BASE}Categories(100)`);
  assert.match(response.headers.get("etag")!, /^W\//);
  const body = await json(response);
  assert.equal(body.CategoryName, "Snacks");
  assert.equal(body["@odata.context"], `http://localhost${BASE}$metadata#Categories/$entity`);
  const minimal = await call(
    "Categories",
    jsonInit("POST", { CategoryID: 101, CategoryName: "Soups" }, { prefer: "return=minimal" }),
  );
  assert.equal(minimal.status, 204);
  assert.equal(minimal.headers.get("preference-applied"), "return=minimal");
  assert.equal(minimal.headers.get("odata-entityid"), `http://localhost${BASE}Categories(101)`);
  assert.equal((await json(await call("Categories(101)"))).CategoryName, "Soups");
  // A string key is quoted in the Location.
  const customer = await call(
    "Customers",
    jsonInit("POST", { CustomerID: "ZZ'Z", CompanyName: "Quote Co" }),
  );
  assert.equal(customer.headers.get("location"), `http://localhost${BASE}Customers('ZZ''Z')`);
  assert.equal((await call("Customers('ZZ''Z')")).status, 200);
});

Deno.test("POST to a navigation sets the link; @odata.bind links an existing entity", async () => {
  const created = await call(
    "Categories(100)/Products",
    jsonInit("POST", { ProductID: 500, ProductName: "Crisps", Discontinued: false }),
  );
  assert.equal(created.status, 201);
  assert.equal((await json(created)).CategoryID, 100);
  const bound = await call(
    "Products",
    jsonInit("POST", {
      ProductID: 501,
      ProductName: "Pretzels",
      Discontinued: false,
      "Category@odata.bind": "Categories(100)",
    }),
  );
  assert.equal(bound.status, 201);
  assert.equal((await json(bound)).CategoryID, 100);
  assert.equal(await (await call("Categories(100)/Products/$count")).text(), "2");
});

Deno.test("PATCH: 204 by default, 200 with return=representation; PUT replaces", async () => {
  const patched = await call("Products(500)", jsonInit("PATCH", { UnitPrice: 2.5 }));
  assert.equal(patched.status, 204);
  assert.match(patched.headers.get("etag")!, /^W\//);
  assert.equal((await json(await call("Products(500)"))).UnitPrice, 2.5);
  const represented = await call(
    "Products(500)",
    jsonInit("PATCH", { UnitsInStock: 7 }, { prefer: "return=representation" }),
  );
  assert.equal(represented.status, 200);
  assert.equal(represented.headers.get("preference-applied"), "return=representation");
  const body = await json(represented);
  assert.deepEqual([body.UnitsInStock, body.UnitPrice], [7, 2.5]);
  // PUT: properties not given go back to null (or their default).
  const replaced = await call(
    "Products(500)",
    jsonInit("PUT", { ProductID: 500, ProductName: "Crisps II", Discontinued: true }),
  );
  assert.equal(replaced.status, 204);
  const after = await json(await call("Products(500)"));
  assert.deepEqual([after.ProductName, after.UnitPrice, after.UnitsInStock, after.CategoryID], [
    "Crisps II",
    null,
    null,
    null,
  ]);
  // The key cannot change; unknown properties and bad values are 400s.
  assert.equal((await call("Products(500)", jsonInit("PATCH", { ProductID: 9 }))).status, 400);
  const unknown = await call("Products(500)", jsonInit("PATCH", { Nope: 1 }));
  assert.equal(unknown.status, 400);
  const invalid = await call("Products(500)", jsonInit("PATCH", { UnitPrice: "lots" }));
  assert.equal(invalid.status, 400);
  const error = (await json(invalid)).error as Entity;
  assert.equal(error.code, "VALIDATION_FAILED");
  assert.equal((error.details as Entity[])[0]!.target, "UnitPrice");
  assert.equal((await call("Products(9999)", jsonInit("PATCH", { UnitPrice: 1 }))).status, 404);
});

Deno.test("DELETE: 204, then 404", async () => {
  assert.equal((await call("Products(501)", { method: "DELETE" })).status, 204);
  assert.equal((await call("Products(501)")).status, 404);
  assert.equal((await call("Products(501)", { method: "DELETE" })).status, 404);
  assert.equal((await call("Products", { method: "DELETE" })).status, 405);
});

Deno.test("deep insert: an order with its lines in one transaction, all or nothing", async () => {
  const created = await call(
    "Orders",
    jsonInit("POST", {
      OrderID: 20000,
      CustomerID: "ALFKI",
      Freight: 1.5,
      Order_Details: [
        { ProductID: 1, UnitPrice: 18, Quantity: 2, Discount: 0 },
        { ProductID: 2, UnitPrice: 19, Quantity: 1, Discount: 0.1 },
      ],
    }),
  );
  assert.equal(created.status, 201);
  const body = await json(created);
  assert.equal((body.Order_Details as Entity[]).length, 2);
  assert.equal(await (await call("Orders(20000)/Order_Details/$count")).text(), "2");
  // The second line duplicates the first: nothing of the order may remain.
  const failed = await call(
    "Orders",
    jsonInit("POST", {
      OrderID: 20001,
      CustomerID: "ALFKI",
      Order_Details: [
        { ProductID: 1, UnitPrice: 18, Quantity: 2, Discount: 0 },
        { ProductID: 1, UnitPrice: 18, Quantity: 2, Discount: 0 },
      ],
    }),
  );
  assert.equal(failed.status, 409);
  assert.equal(((await json(failed)).error as Entity).code, "CONSTRAINT_UNIQUE");
  assert.equal((await call("Orders(20001)")).status, 404);
  assert.equal(await (await call("Order_Details/$count?$filter=OrderID eq 20001")).text(), "0");
  // A to-one nested entity is created first and linked.
  const withCategory = await call(
    "Products",
    jsonInit("POST", {
      ProductID: 502,
      ProductName: "Nested",
      Discontinued: false,
      Category: { CategoryID: 102, CategoryName: "Nested category" },
    }),
  );
  assert.equal(withCategory.status, 201);
  assert.equal((await json(await call("Products(502)/Category"))).CategoryName, "Nested category");
});

Deno.test("ETags: If-Match mismatch 412, match writes, If-None-Match * on update 412, 428 when required", async () => {
  const etag = (await call("Products(502)")).headers.get("etag")!;
  const stale = await call(
    "Products(502)",
    jsonInit("PATCH", { UnitPrice: 3 }, { "if-match": 'W/"stale"' }),
  );
  assert.equal(stale.status, 412);
  assert.equal(((await json(stale)).error as Entity).code, "PRECONDITION_FAILED");
  const ok = await call("Products(502)", jsonInit("PATCH", { UnitPrice: 3 }, { "if-match": etag }));
  assert.equal(ok.status, 204);
  const newEtag = ok.headers.get("etag")!;
  assert.notEqual(newEtag, etag);
  // The old ETag no longer matches: a lost update is refused.
  assert.equal(
    (await call("Products(502)", jsonInit("PATCH", { UnitPrice: 4 }, { "if-match": etag }))).status,
    412,
  );
  assert.equal(
    (await call("Products(502)", jsonInit("PATCH", { UnitPrice: 4 }, { "if-none-match": "*" })))
      .status,
    412,
  );
  assert.equal(
    (await call("Products(502)", { method: "DELETE", headers: { "if-match": 'W/"x"' } })).status,
    412,
  );
  // Shippers require If-Match.
  const required = await call("Shippers(1)", jsonInit("PATCH", { Phone: "1" }));
  assert.equal(required.status, 428);
  assert.equal(((await json(required)).error as Entity).code, "PRECONDITION_REQUIRED");
  assert.equal((await call("Shippers(1)", { method: "DELETE" })).status, 428);
  const shipperTag = (await call("Shippers(1)")).headers.get("etag")!;
  assert.equal(
    (await call("Shippers(1)", jsonInit("PATCH", { Phone: "1" }, { "if-match": shipperTag })))
      .status,
    204,
  );
  assert.equal(
    (await call("Shippers(1)", jsonInit("PATCH", { Phone: "2" }, { "if-match": "*" }))).status,
    204,
  );
});

Deno.test("hooks: beforeRead restricts rows per caller (also navigation and writes); beforeWrite refuses", async () => {
  const limited = { "x-tenant": "limited" };
  const all = (await json(await call("Regions"))).value as Entity[];
  assert.equal(all.length, 4);
  const some = (await json(await call("Regions", { headers: limited }))).value as Entity[];
  assert.deepEqual(some.map((r) => r.RegionID), [1, 2, 3]);
  assert.equal((await call("Regions(4)", { headers: limited })).status, 404);
  assert.equal((await call("Regions(4)/Territories", { headers: limited })).status, 404);
  assert.equal(await (await call("Regions/$count", { headers: limited })).text(), "3");
  // Expansions of Regions follow the same rule: a hidden region expands as null.
  const eastern = await json(
    await call("Territories('01581')?$expand=Region", { headers: limited }),
  );
  assert.equal((eastern.Region as Entity).RegionDescription, "Eastern");
  const southern = await json(
    await call("Territories('29202')?$expand=Region", { headers: limited }),
  );
  assert.equal(southern.Region, null);
  const lists = await json(
    await call("Territories?$expand=Region&$filter=RegionID eq 4", { headers: limited }),
  );
  assert.ok((lists.value as Entity[]).every((t) => t.Region === null));
  assert.equal(
    (await call("Regions(4)", { method: "DELETE", headers: limited })).status,
    404,
  );
  const refused = await call(
    "Regions",
    jsonInit("POST", { RegionID: 9, RegionDescription: "Xland" }),
  );
  assert.equal(refused.status, 400);
  assert.equal((await call("Regions(9)")).status, 404);
});

Deno.test("write errors: 409 unique, 415 body type, 400 bad JSON, 413 too large, 500 generic + logger", async () => {
  const duplicate = await call(
    "Categories",
    jsonInit("POST", { CategoryID: 1, CategoryName: "Dup" }),
  );
  assert.equal(duplicate.status, 409);
  const xml = await call("Categories", {
    method: "POST",
    headers: { "content-type": "application/xml" },
    body: "<Category/>",
  });
  assert.equal(xml.status, 415);
  assert.equal(((await json(xml)).error as Entity).code, "UNSUPPORTED_MEDIA_TYPE");
  const broken = await call("Categories", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{ nope",
  });
  assert.equal(broken.status, 400);
  const array = await call("Categories", jsonInit("POST", [1, 2]));
  assert.equal(array.status, 400);
  // No Content-Type at all: read as JSON (some clients omit it).
  const untyped = await call("Categories", {
    method: "POST",
    body: JSON.stringify({ CategoryID: 103, CategoryName: "Untyped" }),
  });
  assert.equal(untyped.status, 201);
  const small = await northwindSmall();
  try {
    const large = await small.call(
      "Categories",
      jsonInit("POST", { CategoryID: 104, CategoryName: "x".repeat(300) }),
    );
    assert.equal(large.status, 413);
    assert.equal(((await json(large)).error as Entity).code, "PAYLOAD_TOO_LARGE");
  } finally {
    await small.close();
  }
  // An unexpected fault: the hook throws a plain Error. Clients get a generic 500.
  const faulty = await northwind({
    logger: (error) => logged.push(error),
    hooks: {
      Regions: {
        beforeRead: () => {
          throw new Error("secret detail");
        },
      },
    },
  });
  try {
    const response = await faulty.call("Regions");
    assert.equal(response.status, 500);
    const text = await response.text();
    assert.doesNotMatch(text, /secret detail/);
    assert.doesNotMatch(text, /at .*\.ts/);
    assert.equal(((JSON.parse(text)).error as Entity).code, "INTERNAL");
    assert.ok(logged.some((e) => e instanceof Error && e.message === "secret detail"));
  } finally {
    await faulty.close();
  }
});

Deno.test("a closed namespace answers 503", async () => {
  const closing = await northwind();
  await closing.close();
  const response = await closing.call("Products(1)");
  assert.equal(response.status, 503);
  assert.equal(((await json(response)).error as Entity).code, "CLOSED");
});

function northwindSmall() {
  return northwind({ maxBodyBytes: 200 });
}

Deno.test({
  name: "close the Northwind fixture",
  fn: () => fixture.close(),
});
