/**
 * `$apply` and `$compute` on PostgreSQL checked answer for answer against SQLite: each query
 * string runs on Northwind in both providers and the rows must be equal (decimals as exact
 * texts with the same scale; doubles to 6 decimals, since float sums may differ in the last bit).
 */

import assert from "node:assert/strict";
import { EntityNamespaceManager } from "../../../mod.ts";
import { loadNorthwind } from "../../../examples/northwind/load.ts";
import { openNorthwind } from "../../fixtures/northwind.ts";
import { createDatabase } from "./server.ts";
import { answer, pgTest } from "./helpers.ts";

/** Entity set and query string pairs, answered by both providers. */
export const APPLY_CROSS_CHECK_QUERIES: readonly (readonly [string, string])[] = [
  [
    "Products",
    "$apply=groupby((CategoryID),aggregate(UnitsInStock with sum as Stock))&$orderby=CategoryID",
  ],
  ["Products", "$apply=aggregate(UnitPrice with max as Top,UnitPrice with min as Low)"],
  [
    "Products",
    "$apply=groupby((SupplierID),aggregate($count as N))&$orderby=N desc,SupplierID&$top=5",
  ],
  ["Products", "$apply=filter(UnitPrice gt 50)/groupby((CategoryID))&$orderby=CategoryID"],
  [
    "Products",
    "$apply=groupby((CategoryID),aggregate(UnitPrice with sum as S,UnitPrice with average as A,UnitPrice with min as Mi,$count as N,SupplierID with countdistinct as D))&$orderby=CategoryID",
  ],
  [
    "Order_Details",
    "$apply=aggregate(UnitPrice with sum as S,Discount with sum as DS,Quantity with average as QA,Quantity with sum as Q)",
  ],
  [
    "Order_Details",
    "$apply=groupby((OrderID),aggregate(UnitPrice with average as A))&$orderby=A desc,OrderID&$top=20",
  ],
  ["Products", "$apply=aggregate(UnitPrice with average as A)"],
  ["Products", "$apply=filter(ProductID eq 1)/aggregate(UnitPrice with average as A)"],
  ["Products", "$apply=filter(ProductID lt 3)/aggregate(UnitPrice with average as A)"],
  ["Products", "$apply=filter(ProductID gt 1000)/aggregate(UnitPrice with sum as S,$count as N)"],
  [
    "Products",
    "$apply=groupby((Category/CategoryName),aggregate($count as N))&$orderby=N desc,Category/CategoryName",
  ],
  [
    "Products",
    "$apply=compute(UnitPrice mul UnitsInStock as V)/groupby((CategoryID),aggregate(V with sum as T))&$orderby=CategoryID",
  ],
  ["Products", "$apply=search(chef)/aggregate($count as N)"],
  ["Products", "$apply=orderby(UnitPrice desc)/top(3)/identity"],
  ["Products", "$apply=orderby(UnitPrice desc,ProductID)/skip(5)/top(4)"],
  ["Products", "$apply=top(10)/aggregate(UnitPrice with sum as S)"],
  [
    "Orders",
    "$apply=groupby((ShipCountry,EmployeeID),aggregate(Freight with sum as F,$count as N))&$filter=N gt 5&$orderby=F desc,ShipCountry,EmployeeID&$top=10",
  ],
  ["Orders", "$apply=groupby((ShipCountry))&$count=true&$orderby=ShipCountry&$skip=3&$top=4"],
  [
    "Customers",
    "$apply=groupby((Country),aggregate(CustomerID with countdistinct as C))&$orderby=C desc,Country&$top=5",
  ],
  ["Employees", "$apply=aggregate(LastName with min as First,LastName with max as Last)"],
  [
    "Products",
    "$compute=UnitPrice mul 2 as Double,UnitPrice add 1.5 as P,UnitPrice mul 1.25 as M,UnitPrice sub UnitPrice as Z,UnitPrice mod 7 as Mo&$select=ProductID,Double,P,M,Z,Mo&$orderby=ProductID&$top=10",
  ],
  ["Products", "$compute=UnitPrice mul 2 as Double&$filter=Double gt 100&$select=ProductID,Double"],
  [
    "Products",
    "$compute=UnitsInStock add UnitsOnOrder as Total&$orderby=Total desc,ProductID&$top=5&$select=ProductName,Total",
  ],
  [
    "Order_Details",
    "$compute=UnitPrice mul Quantity as Line&$orderby=Line desc,OrderID,ProductID&$top=5&$select=OrderID,ProductID,Line",
  ],
  [
    "Order_Details",
    "$compute=UnitPrice mul Discount as X&$filter=X gt 0&$select=X&$orderby=OrderID,ProductID&$top=5",
  ],
  [
    "Products",
    "$compute=UnitPrice div 3 as X,UnitPrice divby 7 as Y,UnitPrice add 2.25 as Z&$select=X,Y,Z&$orderby=ProductID&$top=8",
  ],
  ["Products", "$compute=round(UnitPrice mul 1.1) as Y&$select=Y&$orderby=ProductID&$top=5"],
  [
    "Orders",
    "$apply=groupby((EmployeeID),aggregate(OrderDate with max as Last))&$orderby=EmployeeID",
  ],
  [
    "Products",
    "$apply=groupby((Discontinued),aggregate(UnitsInStock with average as A))&$orderby=Discontinued",
  ],
  // Refusals give the same error codes.
  ["Products", "$apply=groupby((rollup(CategoryID,SupplierID)),aggregate($count as N))"],
  ["Products", "$apply=groupby((CategoryID),aggregate($count as CategoryID))"],
  ["Products", "$apply=aggregate(ProductName with sum as S)"],
  ["Products", "$apply=aggregate(UnitPrice with median as M)"],
  ["Products", "$apply=concat(identity,identity)"],
  ["Products", "$apply=groupby((CategoryID))&$filter=ProductName eq 'Chai'"],
];

pgTest("$apply and $compute answer as on SQLite (Northwind)", async () => {
  await using sqlite = await openNorthwind({ memory: true });
  const database = await createDatabase();
  const manager = new EntityNamespaceManager();
  try {
    const postgres = manager.createNamespace("northwind", {
      provider: { type: "postgres", url: database.url },
    });
    await loadNorthwind(postgres);
    const failures: string[] = [];
    for (const [entitySet, text] of APPLY_CROSS_CHECK_QUERIES) {
      const expected = await answer(sqlite.namespace, entitySet, text);
      const actual = await answer(postgres, entitySet, text);
      if (!text.includes("ProductID gt 1000")) {
        assert.ok(JSON.stringify(expected).length > 20, `${text}: the SQLite answer is empty`);
      }
      try {
        assert.deepStrictEqual(actual, expected);
      } catch {
        failures.push(
          `${entitySet}?${text}\n  sqlite:   ${JSON.stringify(expected)}\n  postgres: ${
            JSON.stringify(actual)
          }`,
        );
      }
    }
    assert.deepStrictEqual(failures, []);
  } finally {
    await manager.close();
    await database.drop();
  }
});
