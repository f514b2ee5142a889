/**
 * A real OData client written elsewhere, o.js (npm `odata`), against the endpoint over a real
 * socket: reads, filters, expands, pages (following `@odata.nextLink`), writes and a multipart
 * `$batch`. o.js has quirks the endpoint must tolerate: a `Content-Type: application/json` on
 * every request (GET and DELETE too), option names percent-encoded (`%24filter`), quotes and
 * parentheses percent-encoded, absolute URLs inside `$batch` parts.
 */
import assert from "node:assert/strict";
import { o } from "odata";
import { listen, northwind } from "./helpers.ts";

type Entity = Record<string, unknown>;

Deno.test("o.js reads, filters, expands, pages and writes against the endpoint", async (t) => {
  const fixture = await northwind({ maxPageSize: 25 });
  const { root, server } = listen(fixture.handler);
  try {
    await t.step("reads and filters an entity set", async () => {
      const expensive = await o(root).get("Products").query({
        $filter: "UnitPrice gt 50 and Discontinued eq false",
        $select: "ProductName,UnitPrice",
        $orderby: "UnitPrice desc",
      }) as Entity[];
      assert.deepEqual(expensive.map((p) => p.ProductName), [
        "Côte de Blaye",
        "Sir Rodney's Marmalade",
        "Carnarvon Tigers",
        "Raclette Courdavault",
        "Manjimup Dried Apples",
      ]);
      const germans = await o(root).get("Customers").query({
        $filter: "Country eq 'Germany' and startswith(CompanyName,'A')",
        $select: "CustomerID",
      }) as Entity[];
      assert.deepEqual(germans, [{ CustomerID: "ALFKI" }]);
      assert.equal(await o(root).get("Products/$count").query({ $filter: "UnitPrice lt 10" }), 11);
    });

    await t.step("looks up keys, composite keys and navigation", async () => {
      const product = await o(root).get("Products(7)").query() as Entity;
      assert.equal(product.ProductName, "Uncle Bob's Organic Dried Pears");
      const line = await o(root).get("Order_Details(OrderID=10248,ProductID=11)").query() as Entity;
      assert.equal(line.Quantity, 12);
      const customer = await o(root).get("Customers('ALFKI')").query() as Entity;
      assert.equal(customer.City, "Berlin");
      const category = await o(root).get("Products(1)/Category").query({ $select: "CategoryName" });
      assert.equal((category as Entity).CategoryName, "Beverages");
    });

    await t.step("expands nested navigation", async () => {
      const [order] = await o(root).get("Orders").query({
        $filter: "OrderID eq 10248",
        $expand:
          "Order_Details($expand=Product($select=ProductName)),Customer($select=CompanyName)",
      }) as Entity[];
      assert.equal((order!.Customer as Entity).CompanyName, "Vins et alcools Chevalier");
      assert.deepEqual(
        (order!.Order_Details as Entity[]).map((d) => (d.Product as Entity).ProductName).sort(),
        ["Mozzarella di Giovanni", "Queso Cabrales", "Singaporean Hokkien Fried Mee"],
      );
    });

    await t.step("pages through server-driven paging with nextLink", async () => {
      const ids: number[] = [];
      let response = await o(root).get("Orders").fetch({
        $filter: "ShipCountry eq 'France'",
        $orderby: "OrderDate desc",
        $select: "OrderID,OrderDate",
        $count: true,
      }) as Response;
      let pages = 0;
      for (;;) {
        assert.equal(response.status, 200);
        const body = await response.json() as Entity;
        assert.equal(body["@odata.count"], 77);
        ids.push(...(body.value as Entity[]).map((order) => order.OrderID as number));
        pages++;
        const next = body["@odata.nextLink"] as string | undefined;
        if (next === undefined) break;
        response = await o(next).get().fetch() as Response;
      }
      assert.equal(pages, 4);
      assert.equal(ids.length, 77);
      assert.equal(new Set(ids).size, 77);
    });

    await t.step("creates, updates and deletes", async () => {
      const created = await o(root).post("Shippers", {
        ShipperID: 10,
        CompanyName: "o.js Express",
        Phone: "555",
      }).query() as Entity;
      assert.equal(created.CompanyName, "o.js Express");
      const patched = await o(root).patch("Shippers(10)", { Phone: "556" }).query() as Response;
      assert.equal(patched.status, 204);
      await patched.body?.cancel();
      assert.equal((await o(root).get("Shippers(10)").query() as Entity).Phone, "556");
      const replaced = await o(root).put("Shippers(10)", { CompanyName: "o.js Freight" })
        .query() as Response;
      assert.equal(replaced.status, 204);
      await replaced.body?.cancel();
      const after = await o(root).get("Shippers(10)").query() as Entity;
      assert.deepEqual([after.CompanyName, after.Phone], ["o.js Freight", null]);
      const deleted = await o(root).delete("Shippers(10)").query() as Response;
      assert.equal(deleted.status, 204);
      await deleted.body?.cancel();
      await assert.rejects(
        o(root).get("Shippers(10)").query(),
        (error: unknown) => {
          void (error as Response).body?.cancel();
          return error instanceof Response && error.status === 404;
        },
      );
    });

    await t.step("batches reads in one multipart $batch", async () => {
      const results = await o(root)
        .get("Products(1)")
        .get("Order_Details(OrderID=10248,ProductID=11)")
        .get("Categories(2)")
        .batch() as { status: number; body: Entity }[];
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
      assert.equal(results[0]!.body.ProductName, "Chai");
      assert.equal(results[1]!.body.Quantity, 12);
      assert.equal(results[2]!.body.CategoryName, "Condiments");
    });
  } finally {
    await server.shutdown();
    await fixture.close();
  }
});
