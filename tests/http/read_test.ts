/**
 * The endpoint's read side against the Northwind sample in SQLite: service document, $metadata
 * in XML and JSON, entity sets with query options, keys (single and composite), navigation,
 * /$count, /$value, server-driven paging, the JSON format variants, negotiation and headers.
 */
import assert from "node:assert/strict";
import { BASE, json, northwind } from "./helpers.ts";

const fixture = await northwind({ maxPageSize: 50 });
const { call } = fixture;

type Entity = Record<string, unknown>;
const values = async (response: Response): Promise<Entity[]> =>
  (await json(response)).value as Entity[];

Deno.test({
  name: "service document lists every entity set with its URL",
  async fn() {
    const response = await call("");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("odata-version"), "4.0");
    const body = await json(response);
    assert.equal(body["@odata.context"], `http://localhost${BASE}$metadata`);
    const sets = body.value as { name: string; kind: string; url: string }[];
    assert.equal(sets.length, 11);
    assert.deepEqual(sets.find((s) => s.name === "Order_Details"), {
      name: "Order_Details",
      kind: "EntitySet",
      url: "Order_Details",
    });
    // Without the trailing slash too.
    assert.equal((await call(`http://localhost${BASE.slice(0, -1)}`)).status, 200);
  },
});

Deno.test("$metadata as CSDL XML: types, facets, keys, navigation with partners and constraints", async () => {
  const response = await call("$metadata");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^application\/xml/);
  const xml = await response.text();
  assert.match(xml, /<Schema Namespace="NorthwindModel"/);
  assert.match(xml, /<EntityType Name="Product">\n<Key><PropertyRef Name="ProductID"\/><\/Key>/);
  assert.match(xml, /<Property Name="UnitPrice" Type="Edm.Decimal" Precision="19" Scale="4"\/>/);
  assert.match(
    xml,
    /<Property Name="ProductName" Type="Edm.String" Nullable="false" MaxLength="40"\/>/,
  );
  assert.match(
    xml,
    /<EntityType Name="Order_Detail">\n<Key><PropertyRef Name="OrderID"\/><PropertyRef Name="ProductID"\/><\/Key>/,
  );
  assert.match(
    xml,
    /<NavigationProperty Name="Category" Type="NorthwindModel.Category" Partner="Products"><ReferentialConstraint Property="CategoryID" ReferencedProperty="CategoryID"\/><\/NavigationProperty>/,
  );
  assert.match(
    xml,
    /<NavigationProperty Name="Products" Type="Collection\(NorthwindModel.Product\)" Partner="Category"\/>/,
  );
  // The self reference pairs the manager with the direct reports.
  assert.match(
    xml,
    /<NavigationProperty Name="Employee1" Type="NorthwindModel.Employee" Partner="Employees1">/,
  );
  assert.match(xml, /<EntityContainer Name="NorthwindEntities">/);
  assert.match(
    xml,
    /<EntitySet Name="Products" EntityType="NorthwindModel.Product"><NavigationPropertyBinding Path="Category" Target="Categories"\/>/,
  );
});

Deno.test("$metadata as CSDL JSON by $format=json and by Accept", async () => {
  for (
    const response of [
      await call("$metadata?$format=json"),
      await call("$metadata", { headers: { accept: "application/json" } }),
    ]
  ) {
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^application\/json/);
    const csdl = await json(response);
    assert.equal(csdl.$EntityContainer, "NorthwindModel.NorthwindEntities");
    const model = csdl.NorthwindModel as Record<string, Record<string, unknown>>;
    const product = model.Product!;
    assert.deepEqual(product.$Key, ["ProductID"]);
    assert.deepEqual(product.UnitPrice, {
      $Type: "Edm.Decimal",
      $Nullable: true,
      $Precision: 19,
      $Scale: 4,
    });
    assert.deepEqual(product.ProductName, { $MaxLength: 40 });
    assert.deepEqual(product.Category, {
      $Kind: "NavigationProperty",
      $Type: "NorthwindModel.Category",
      $Nullable: true,
      $Partner: "Products",
      $ReferentialConstraint: { CategoryID: "CategoryID" },
    });
    const container = model.NorthwindEntities as Record<string, Record<string, unknown>>;
    assert.equal(container.Products!.$Type, "NorthwindModel.Product");
  }
});

Deno.test("entity set with $filter, $orderby, $top, $skip, $select, $count", async () => {
  const response = await call(
    "Products?$filter=UnitPrice gt 20&$orderby=UnitPrice desc,ProductName&$top=3&$skip=1&$select=ProductName,UnitPrice&$count=true",
  );
  assert.equal(response.status, 200);
  const body = await json(response);
  assert.equal(
    body["@odata.context"],
    `http://localhost${BASE}$metadata#Products(ProductName,UnitPrice)`,
  );
  assert.equal(body["@odata.count"], 37);
  assert.deepEqual(body.value, [
    { ProductName: "Thüringer Rostbratwurst", UnitPrice: 123.79 },
    { ProductName: "Mishi Kobe Niku", UnitPrice: 97 },
    { ProductName: "Sir Rodney's Marmalade", UnitPrice: 81 },
  ]);
  assert.equal(body["@odata.nextLink"], undefined);
});

Deno.test("decimals keep their digits on the wire; IEEE754Compatible makes Int64 and Decimal strings", async () => {
  const text = await (await call("Products(1)?$select=ProductID,UnitPrice")).text();
  assert.match(text, /"ProductID":1,"UnitPrice":18\.0000/);
  const response = await call("Products(1)?$select=ProductID,UnitPrice", {
    headers: { accept: "application/json;IEEE754Compatible=true" },
  });
  assert.match(response.headers.get("content-type")!, /IEEE754Compatible=true/);
  assert.match(await response.text(), /"ProductID":"1","UnitPrice":"18\.0000"/);
  const counted = await json(
    await call("Products?$top=1&$count=true", {
      headers: { accept: "application/json;odata.metadata=minimal;IEEE754Compatible=true" },
    }),
  );
  assert.equal(counted["@odata.count"], "77");
});

Deno.test("$expand nested with options, $search, $compute, $apply run through the provider", async () => {
  const order = await json(
    await call(
      "Orders(10248)?$select=OrderID&$expand=Order_Details($orderby=ProductID;$expand=Product($select=ProductName)),Customer($select=CompanyName)",
    ),
  );
  assert.equal(order.OrderID, 10248);
  assert.deepEqual((order.Customer as Entity).CompanyName, "Vins et alcools Chevalier");
  const lines = order.Order_Details as Entity[];
  assert.deepEqual(lines.map((l) => (l.Product as Entity).ProductName), [
    "Queso Cabrales",
    "Singaporean Hokkien Fried Mee",
    "Mozzarella di Giovanni",
  ]);
  const starred = await json(await call("Products(1)?$expand=*"));
  assert.equal((starred.Category as Entity).CategoryName, "Beverages");
  assert.equal((starred.Supplier as Entity).SupplierID, 8);
  assert.ok(Array.isArray(starred.Order_Details));
  const searched = await values(await call("Customers?$search=Futterkiste&$select=CustomerID"));
  assert.deepEqual(searched, [{ CustomerID: "ALFKI" }]);
  const grouped = await values(
    await call("Products?$apply=groupby((CategoryID),aggregate($count as N))&$orderby=CategoryID"),
  );
  assert.equal(grouped.length, 8);
  assert.deepEqual(grouped[0], { CategoryID: 1, N: 12 });
  const computed = await values(
    await call("Products?$compute=UnitPrice mul 2 as Double&$select=ProductID,Double&$top=1"),
  );
  // Computed decimals keep their exact digits as text (their type is not declared anywhere).
  assert.deepEqual(computed, [{ ProductID: 1, Double: "36.0000" }]); // mul keeps the scale (4 + 0)
});

Deno.test("key lookups: single, string, composite; 404 for a missing key; 400 for a wrong shape", async () => {
  const product = await call("Products(7)");
  assert.equal(product.status, 200);
  assert.match(product.headers.get("etag")!, /^W\/"/);
  const body = await json(product);
  assert.equal(body["@odata.context"], `http://localhost${BASE}$metadata#Products/$entity`);
  assert.equal(body.ProductName, "Uncle Bob's Organic Dried Pears");
  assert.equal(body["@odata.etag"], product.headers.get("etag"));
  assert.equal((await json(await call("Customers('ALFKI')"))).CompanyName, "Alfreds Futterkiste");
  const line = await json(await call("Order_Details(OrderID=10248,ProductID=11)"));
  assert.deepEqual([line.Quantity, line.UnitPrice], [12, 14]);
  const reversed = await json(await call("Order_Details(ProductID=11,OrderID=10248)"));
  assert.equal(reversed.Quantity, 12);
  assert.equal((await call("Products(999)")).status, 404);
  assert.equal((await call("Order_Details(OrderID=1,ProductID=1)")).status, 404);
  const wrong = await call("Order_Details(10248)");
  assert.equal(wrong.status, 400);
  assert.equal(((await json(wrong)).error as Entity).code, "INVALID_ARGUMENT");
  assert.equal((await call("Products('x')")).status, 400);
});

Deno.test("navigation: to-many, to-one, chained, with key, null link, $count", async () => {
  const products = await values(
    await call("Categories(1)/Products?$select=ProductID&$orderby=ProductID"),
  );
  assert.deepEqual(products.slice(0, 3).map((p) => p.ProductID), [1, 2, 24]);
  const category = await json(await call("Products(1)/Category"));
  assert.equal(category.CategoryName, "Beverages");
  const chained = await json(
    await call("Order_Details(OrderID=10248,ProductID=11)/Product/Category"),
  );
  assert.equal(chained.CategoryName, "Dairy Products");
  const keyed = await json(await call("Categories(1)/Products(2)"));
  assert.equal(keyed.ProductName, "Chang");
  assert.equal((await call("Categories(1)/Products(5)")).status, 404);
  const count = await call("Categories(1)/Products/$count");
  assert.equal(count.status, 200);
  assert.match(count.headers.get("content-type")!, /^text\/plain/);
  assert.equal(await count.text(), "12");
  assert.equal(await (await call("Products/$count?$filter=UnitPrice gt 20")).text(), "37");
  // Employee 2 reports to nobody: its manager is null.
  assert.equal((await call("Employees(2)/Employee1")).status, 204);
  assert.equal((await call("Categories(1)/Nope")).status, 404);
  assert.equal((await call("Categories(99)/Products")).status, 404);
  assert.equal((await call("Categories/Products")).status, 404);
});

Deno.test("properties and /$value", async () => {
  const property = await json(await call("Products(1)/ProductName"));
  assert.equal(property.value, "Chai");
  assert.equal(
    property["@odata.context"],
    `http://localhost${BASE}$metadata#Products(1)/ProductName`,
  );
  const raw = await call("Products(1)/ProductName/$value");
  assert.match(raw.headers.get("content-type")!, /^text\/plain/);
  assert.equal(await raw.text(), "Chai");
  assert.equal(await (await call("Products(1)/UnitPrice/$value")).text(), "18.0000");
  assert.equal((await call("Customers('ALFKI')/Region")).status, 204);
  assert.equal((await call("Products(1)/ProductName/$value/x")).status, 404);
});

Deno.test("server-driven paging: key-based $skiptoken keeps every option incl. nested $expand", async () => {
  const seen: unknown[] = [];
  let url: string | undefined =
    `http://localhost${BASE}Orders?$filter=ShipCountry eq 'Germany'&$orderby=Freight desc&$expand=Order_Details($select=ProductID;$orderby=ProductID)&$select=OrderID,Freight&$count=true`;
  let pages = 0;
  while (url !== undefined) {
    const response = await call(url, { headers: { prefer: "odata.maxpagesize=40" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("preference-applied"), "odata.maxpagesize=40");
    const body = await json(response);
    assert.equal(body["@odata.count"], 122);
    const page = body.value as Entity[];
    for (const order of page) {
      assert.deepEqual(Object.keys(order), ["OrderID", "Freight", "Order_Details"]);
      assert.ok((order.Order_Details as Entity[]).length > 0);
    }
    seen.push(...page.map((o) => o.OrderID));
    url = body["@odata.nextLink"] as string | undefined;
    if (url !== undefined) {
      assert.match(url, /\$expand=Order_Details\(\$select=ProductID;\$orderby=ProductID\)/);
      assert.match(url, /\$skiptoken=/);
    }
    pages++;
  }
  assert.equal(pages, 4);
  assert.equal(new Set(seen).size, 122);
  const all = await values(
    await call(
      "Orders?$filter=ShipCountry eq 'Germany'&$orderby=Freight desc&$select=OrderID&$top=200",
      {
        headers: { prefer: "odata.maxpagesize=1000" },
      },
    ),
  );
  // maxpagesize above the service's maximum (50) is capped at it.
  assert.equal(all.length, 50);
  const ordered: unknown[] = [];
  let next: string | undefined =
    `http://localhost${BASE}Orders?$filter=ShipCountry eq 'Germany'&$orderby=Freight desc&$select=OrderID`;
  while (next !== undefined) {
    const body = await json(await call(next));
    ordered.push(...(body.value as Entity[]).map((o) => o.OrderID));
    next = body["@odata.nextLink"] as string | undefined;
  }
  assert.deepEqual(ordered, seen);
});

Deno.test("paging honours $top across pages and rows added between pages are not repeated", async () => {
  const first = await json(
    await call("Products?$orderby=ProductName&$top=45&$select=ProductName", {
      headers: { prefer: "odata.maxpagesize=20" },
    }),
  );
  const names = (first.value as Entity[]).map((p) => p.ProductName);
  assert.equal(names.length, 20);
  assert.match(first["@odata.nextLink"] as string, /\$top=25/);
  const second = await json(
    await call(first["@odata.nextLink"] as string, {
      headers: { prefer: "odata.maxpagesize=20" },
    }),
  );
  const third = await json(
    await call(second["@odata.nextLink"] as string, {
      headers: { prefer: "odata.maxpagesize=20" },
    }),
  );
  assert.equal((third.value as Entity[]).length, 5);
  assert.equal(third["@odata.nextLink"], undefined);
  // An $apply result pages by offset.
  const grouped = await json(
    await call("Products?$apply=groupby((CategoryID))", { headers: { prefer: "maxpagesize=5" } }),
  );
  assert.equal((grouped.value as Entity[]).length, 5);
  const rest = await json(await call(grouped["@odata.nextLink"] as string));
  assert.equal((rest.value as Entity[]).length, 3);
});

Deno.test("bad maxpagesize and bad $skiptoken are 400s, never an unbounded page", async () => {
  for (const prefer of ["odata.maxpagesize=0", "odata.maxpagesize=-3", "maxpagesize=ten"]) {
    const response = await call("Products", { headers: { prefer } });
    assert.equal(response.status, 400, prefer);
    assert.equal(((await json(response)).error as Entity).target, "Prefer");
  }
  for (const token of ["garbage", "eyJrIjpbMSwyLDNdfQ", "eyJrIjpbeyJhIjoxfV19"]) {
    assert.equal((await call(`Products?$skiptoken=${token}`)).status, 400, token);
  }
});

Deno.test("odata.metadata=none|full, 4.01 annotations when the client accepts 4.01", async () => {
  const none = await json(
    await call("Products(1)?$select=ProductID", {
      headers: { accept: "application/json;odata.metadata=none" },
    }),
  );
  assert.deepEqual(none, { ProductID: 1 });
  const full = await json(
    await call("Products(1)", { headers: { accept: "application/json;odata.metadata=full" } }),
  );
  assert.equal(full["@odata.type"], "#NorthwindModel.Product");
  assert.equal(full["@odata.id"], "Products(1)");
  assert.equal(full["@odata.editLink"], "Products(1)");
  assert.equal(full["UnitPrice@odata.type"], "#Decimal");
  assert.equal(full["Category@odata.navigationLink"], "Products(1)/Category");
  const formatted = await json(
    await call("Products(1)?$format=application/json;odata.metadata=full"),
  );
  assert.equal(formatted["@odata.type"], "#NorthwindModel.Product");
  const v401 = await call("Products?$top=1&$count=true", {
    headers: { "odata-maxversion": "4.01" },
  });
  assert.equal(v401.headers.get("odata-version"), "4.01");
  const body = await json(v401);
  assert.ok("@context" in body && "@count" in body && !("@odata.context" in body));
  assert.equal((await call("Products", { headers: { "odata-version": "5.0" } })).status, 400);
});

Deno.test("formats: $format=json, Accept */*, no Accept; 406 for formats it cannot produce", async () => {
  assert.equal((await call("Products(1)?$format=json")).status, 200);
  assert.equal((await call("Products(1)", { headers: { accept: "*/*" } })).status, 200);
  assert.equal(
    (await call("Products(1)", { headers: { accept: "application/json, text/plain" } })).status,
    200,
  );
  for (
    const [path, accept] of [
      ["Products(1)?$format=xml", undefined],
      ["Products(1)?$format=atom", undefined],
      ["Products(1)", "application/atom+xml"],
      ["$metadata", "text/html"],
      ["Products", "application/json;odata.metadata=everything"],
    ] as const
  ) {
    const response = await call(path, accept === undefined ? undefined : { headers: { accept } });
    assert.equal(response.status, 406, `${path} ${accept}`);
    assert.equal(((await json(response)).error as Entity).code, "NOT_ACCEPTABLE");
  }
  // A Content-Type on a GET (some clients send one) is ignored.
  assert.equal(
    (await call("Products(1)", { headers: { "content-type": "application/json" } })).status,
    200,
  );
});

Deno.test("case-insensitive system options, optional $, parameter aliases, POST $query", async () => {
  const a = await values(await call("Products?$FILTER=UnitPrice gt 100&$Select=ProductID"));
  const b = await values(await call("Products?filter=UnitPrice gt 100&select=ProductID"));
  const c = await values(await call("Products?$filter=UnitPrice gt @p&$select=ProductID&@p=100"));
  assert.deepEqual(a, [{ ProductID: 29 }, { ProductID: 38 }]);
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  // Spaces sent as "+" (form encoding) are read as spaces when the query fails otherwise...
  const plus = await values(await call("Products?$filter=UnitPrice+gt+100&$select=ProductID"));
  assert.deepEqual(plus, a);
  // ...while a "+" that parses stays a "+" (a time zone offset).
  const offset = await values(
    await call("Orders?$filter=OrderDate eq 1996-07-04T02:00:00+02:00&$select=OrderID"),
  );
  assert.deepEqual(offset, [{ OrderID: 10248 }]);
  const posted = await call("Products/$query", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "$filter=UnitPrice gt 100&$select=ProductID",
  });
  assert.equal(posted.status, 200);
  assert.deepEqual((await json(posted)).value, a);
  const wrongType = await call("Products/$query", {
    method: "POST",
    headers: { "content-type": "application/xml" },
    body: "<x/>",
  });
  assert.equal(wrongType.status, 415);
});

Deno.test("errors: OData shape with catalogue statuses; syntax errors carry the position", async () => {
  const syntax = await call("Products?$filter=UnitPrice gt");
  assert.equal(syntax.status, 400);
  const error = (await json(syntax)).error as Entity;
  assert.equal(error.code, "ODATA_SYNTAX");
  assert.match(error.message as string, /position \d+/);
  assert.equal(typeof (error.innererror as Entity).position, "number");
  const unknownField = await call("Products?$filter=Nope eq 1");
  assert.equal(unknownField.status, 400);
  assert.equal(((await json(unknownField)).error as Entity).code, "UNKNOWN_FIELD");
  const unknownSet = await call("Prodcts");
  assert.equal(unknownSet.status, 404);
  assert.equal((await call("$crossjoin(Products,Categories)")).status, 501);
  assert.equal((await call("Products(1)/Category/$ref")).status, 501);
  assert.equal((await call("Products?$expand=Category/$levels")).status, 400);
  const method = await call("Products(1)/ProductName", { method: "DELETE" });
  assert.equal(method.status, 405);
  assert.equal(method.headers.get("allow"), "GET, HEAD");
  assert.equal((await call("", { method: "POST" })).status, 405);
  assert.equal((await call("Products?$top=-1")).status, 400);
  assert.equal((await call("Products?$filter=%E0%A4%A")).status, 400);
  assert.equal((await call("Products(%ZZ)")).status, 400);
  assert.equal((await call("http://localhost/elsewhere/Products")).status, 404);
});

Deno.test("HEAD answers like GET without a body (clients fetch a CSRF token this way)", async () => {
  const response = await call("", { method: "HEAD", headers: { "x-csrf-token": "fetch" } });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "");
});

Deno.test("If-None-Match on a read gives 304; If-Match mismatch on a read gives 412", async () => {
  const etag = (await call("Products(3)")).headers.get("etag")!;
  const cached = await call("Products(3)", { headers: { "if-none-match": etag } });
  assert.equal(cached.status, 304);
  assert.equal(cached.headers.get("etag"), etag);
  assert.equal(
    (await call("Products(3)", { headers: { "if-none-match": 'W/"other"' } })).status,
    200,
  );
  assert.equal((await call("Products(3)", { headers: { "if-match": 'W/"other"' } })).status, 412);
  assert.equal((await call("Products(3)", { headers: { "if-match": "*" } })).status, 200);
});

Deno.test("$expand=Nav($count=true) writes Nav@odata.count before Nav; Nav/$count the count alone", async () => {
  const body = await json(
    await call(
      "Orders?$filter=OrderID le 10250&$orderby=OrderID&$select=OrderID&$expand=Order_Details($count=true;$top=1;$select=ProductID)",
    ),
  );
  const text = JSON.stringify(body);
  assert.ok(text.indexOf("Order_Details@odata.count") < text.indexOf('"Order_Details":'), text);
  assert.deepEqual(body.value, [
    { OrderID: 10248, "Order_Details@odata.count": 3, Order_Details: [{ ProductID: 11 }] },
    { OrderID: 10249, "Order_Details@odata.count": 2, Order_Details: [{ ProductID: 14 }] },
    { OrderID: 10250, "Order_Details@odata.count": 3, Order_Details: [{ ProductID: 41 }] },
  ]);
  assert.equal(
    body["@odata.context"],
    `http://localhost${BASE}$metadata#Orders(OrderID,Order_Details(ProductID))`,
  );
  const counted = await values(
    await call(
      "Orders?$filter=OrderID le 10249&$select=OrderID&$expand=Order_Details/$count($filter=Quantity gt 10)",
    ),
  );
  assert.deepEqual(counted, [
    { OrderID: 10248, "Order_Details@odata.count": 1 }, // quantities 12, 10, 5
    { OrderID: 10249, "Order_Details@odata.count": 1 }, // 9, 40
  ]);
  const v401 = await json(
    await call("Orders(10248)?$select=OrderID&$expand=Order_Details/$count", {
      headers: { "odata-maxversion": "4.01", "prefer": "odata.include-annotations=*" },
    }),
  );
  assert.equal(v401["Order_Details@count"], 3);
  // Entity references: only the related entities' ids (4.01: @id), with their count if asked.
  const refs = await json(
    await call(
      "Orders(10248)?$select=OrderID&$expand=Order_Details/$ref($orderby=ProductID desc;$top=2;$count=true),Customer/$ref",
    ),
  );
  assert.deepEqual(refs, {
    "@odata.context": `http://localhost${BASE}$metadata#Orders(OrderID)/$entity`,
    OrderID: 10248,
    "Order_Details@odata.count": 3,
    Order_Details: [
      { "@odata.id": "Order_Details(OrderID=10248,ProductID=72)" },
      { "@odata.id": "Order_Details(OrderID=10248,ProductID=42)" },
    ],
    Customer: { "@odata.id": "Customers('VINET')" },
  });
  const refused = await call("Orders?$expand=Customer($count=true)");
  assert.equal(refused.status, 400);
});

Deno.test({
  name: "close the Northwind fixture",
  fn: () => fixture.close(),
});
