// deno-lint-ignore-file no-console
/**
 * The Active Record API on the Northwind sample (SQLite in memory).
 *
 *   deno run --allow-read examples/basic-usage/main.ts
 */

import { EntityNamespaceManager, ODataActiveRecordError } from "../../mod.ts";
import { loadNorthwind } from "../northwind/load.ts";

const manager = new EntityNamespaceManager();
const northwind = manager.createNamespace("northwind", {
  provider: { type: "sqlite", filePath: ":memory:" },
});
await loadNorthwind(northwind);

const Product = northwind.getEntity("Products");
const Order = northwind.getEntity("Orders");

// Queries are immutable builders over the OData AST.
const expensive = await Product
  .where("UnitPrice", "gt", 20)
  .where("Discontinued", false)
  .orderBy("UnitPrice", "desc")
  .select(["ProductID", "ProductName", "UnitPrice"])
  .limit(5)
  .withCount()
  .find();
console.log(`${expensive.count} products cost more than 20; the top 5:`);
for (const product of expensive.data) console.log(`  ${product.ProductName}: ${product.UnitPrice}`);

// Groups, navigation paths and OData text side by side.
const beverages = await Product
  .where((q) => q.where("Category/CategoryName", "eq", "Beverages").or("UnitsInStock", "eq", 0))
  .filter("contains(ProductName,'e')")
  .count();
console.log(`beverages or out of stock, with an 'e': ${beverages}`);

// $expand runs one batched query per level.
const order = await Order.where("OrderID", 10248)
  .expand("Order_Details", (q) => q.select(["ProductID", "Quantity"]).expand("Product"))
  .expand("Customer")
  .findOne();
console.log(
  `order 10248 for ${
    order?.toJSON().Customer && (order.toJSON().Customer as { CompanyName: string }).CompanyName
  }:`,
);
for (
  const detail of order?.toJSON().Order_Details as {
    Quantity: number;
    Product: { ProductName: string };
  }[]
) {
  console.log(`  ${detail.Quantity} × ${detail.Product.ProductName}`);
}

// A whole OData query string.
const german = await northwind.getEntity("Customers")
  .query("$filter=Country eq 'Germany'&$orderby=CompanyName&$top=3&$count=true")
  .find();
console.log(`German customers (${german.count}):`, german.data.map((c) => c.CompanyName));

// Writes, records and transactions.
const Shipper = northwind.getEntity("Shippers");
const shipper = await Shipper.create({
  ShipperID: 42,
  CompanyName: "Example Freight",
  Phone: "(555) 0100",
});
shipper.set("Phone", "(555) 0199");
await shipper.save();
await northwind.transaction(async (tx) => {
  await tx.getEntity("Shippers").where("ShipperID", 42).update({
    CompanyName: "Example Freight Ltd",
  });
});
console.log("shipper 42:", (await Shipper.findByIdOrFail(42)).toJSON());

// Errors are coded and say what to do.
try {
  await Product.where("ProductNam", "eq", "Chai").find();
} catch (error) {
  if (error instanceof ODataActiveRecordError) console.log(`${error.code}: ${error.message}`);
}
try {
  await Product.delete();
} catch (error) {
  if (error instanceof ODataActiveRecordError) console.log(`${error.code}: ${error.suggestion}`);
}

await manager.close();
