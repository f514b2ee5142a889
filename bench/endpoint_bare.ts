/**
 * The bare handler of the endpoint benchmark: the five benchmark requests answered with
 * hand-written SQL through `node:sqlite` and hand-written JSON, byte-identical to the endpoint's
 * answers (`bench/endpoint_ratio.ts` checks that before measuring).
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";

const BASE = "/odata/northwind/";

/** A request handler over the Northwind database file at `filePath` (opened read-only). */
export function createBareHandler(filePath: string): (request: Request) => Response {
  const db = new DatabaseSync(filePath, { readOnly: true });
  const cache = new Map<string, StatementSync>();
  const prepare = (sql: string): StatementSync => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };

  /** The same 53-bit hash the endpoint's ETags use, over the same value texts. */
  function hash53(text: string): number {
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }

  type Kind = "int" | "text" | "money" | "bool" | "date" | "double";
  type Columns = readonly (readonly [string, Kind])[];

  const PRODUCT: Columns = [
    ["ProductID", "int"],
    ["ProductName", "text"],
    ["SupplierID", "int"],
    ["CategoryID", "int"],
    ["QuantityPerUnit", "text"],
    ["UnitPrice", "money"],
    ["UnitsInStock", "int"],
    ["UnitsOnOrder", "int"],
    ["ReorderLevel", "int"],
    ["Discontinued", "bool"],
  ];
  const ORDER: Columns = [
    ["OrderID", "int"],
    ["CustomerID", "text"],
    ["EmployeeID", "int"],
    ["OrderDate", "date"],
    ["RequiredDate", "date"],
    ["ShippedDate", "date"],
    ["ShipVia", "int"],
    ["Freight", "money"],
    ["ShipName", "text"],
    ["ShipAddress", "text"],
    ["ShipCity", "text"],
    ["ShipRegion", "text"],
    ["ShipPostalCode", "text"],
    ["ShipCountry", "text"],
  ];
  const DETAIL: Columns = [
    ["OrderID", "int"],
    ["ProductID", "int"],
    ["UnitPrice", "money"],
    ["Quantity", "int"],
    ["Discount", "double"],
  ];

  /** One entity object: ETag from every column, then the columns. */
  function entity(columns: Columns, row: Record<string, unknown>, extra = ""): string {
    let hashText = "";
    let out = "";
    for (const [name, kind] of columns) {
      const value = row[name];
      let json: string;
      let text: string;
      if (value === null) {
        json = "null";
        text = "\u0000";
      } else if (kind === "money") {
        text = (value as number).toFixed(4);
        json = text;
      } else if (kind === "bool") {
        text = value ? "true" : "false";
        json = text;
      } else if (kind === "date") {
        text = String(Date.parse(value as string));
        json = JSON.stringify(value);
      } else if (kind === "text") {
        text = value as string;
        json = JSON.stringify(value);
      } else {
        text = String(value);
        json = text;
      }
      hashText += text + "\u0001";
      out += `,"${name}":${json}`;
    }
    return `{"@odata.etag":${
      JSON.stringify(`W/"${hash53(hashText).toString(36)}"`)
    }${out}${extra}}`;
  }

  function json(body: string): Response {
    return new Response(body, {
      headers: {
        "content-type": "application/json;odata.metadata=minimal",
        "odata-version": "4.0",
      },
    });
  }

  function bare(request: Request): Response {
    const url = new URL(request.url);
    const root = `${url.origin}${BASE}`;
    const path = decodeURIComponent(url.pathname.slice(BASE.length) + url.search);
    if (path === "Products(7)") {
      const row = prepare(`SELECT * FROM "Products" WHERE "ProductID" = ?`).get(7) as Record<
        string,
        unknown
      >;
      const body = entity(PRODUCT, row);
      return json(`{"@odata.context":"${root}$metadata#Products/$entity",${body.slice(1)}`);
    }
    if (path === "Products?$filter=UnitPrice gt 20&$orderby=ProductName&$top=20") {
      const rows = prepare(
        `SELECT * FROM "Products" WHERE "UnitPrice" > ? ORDER BY "ProductName", "ProductID" LIMIT 20`,
      ).all(20) as Record<string, unknown>[];
      return json(
        `{"@odata.context":"${root}$metadata#Products","value":[${
          rows.map((row) => entity(PRODUCT, row)).join(",")
        }]}`,
      );
    }
    if (path === "Orders?$expand=Order_Details($expand=Product)&$top=50") {
      const orders = prepare(`SELECT * FROM "Orders" ORDER BY "OrderID" LIMIT 50`).all() as Record<
        string,
        unknown
      >[];
      const ids = orders.map((o) => o.OrderID as number);
      const details = prepare(
        `SELECT * FROM "Order_Details" WHERE "OrderID" IN (${
          ids.map(() => "?").join(",")
        }) ORDER BY "OrderID", "ProductID"`,
      ).all(...ids) as Record<string, unknown>[];
      const productIds = [...new Set(details.map((d) => d.ProductID as number))];
      const products = new Map(
        (prepare(
          `SELECT * FROM "Products" WHERE "ProductID" IN (${productIds.map(() => "?").join(",")})`,
        ).all(...productIds) as Record<string, unknown>[]).map((p) => [p.ProductID, p]),
      );
      const byOrder = new Map<unknown, string[]>();
      for (const detail of details) {
        const product = products.get(detail.ProductID);
        const text = entity(
          DETAIL,
          detail,
          `,"Product":${product === undefined ? "null" : entity(PRODUCT, product)}`,
        );
        let list = byOrder.get(detail.OrderID);
        if (list === undefined) byOrder.set(detail.OrderID, list = []);
        list.push(text);
      }
      return json(
        `{"@odata.context":"${root}$metadata#Orders","value":[${
          orders.map((order) =>
            entity(
              ORDER,
              order,
              `,"Order_Details":[${(byOrder.get(order.OrderID) ?? []).join(",")}]`,
            )
          ).join(",")
        }]}`,
      );
    }
    if (path === "Orders?$filter=ShipCountry eq 'Germany'&$count=true&$top=10") {
      const count = (prepare(`SELECT count(*) AS n FROM "Orders" WHERE "ShipCountry" = ?`).get(
        "Germany",
      ) as { n: number }).n;
      const rows = prepare(
        `SELECT * FROM "Orders" WHERE "ShipCountry" = ? ORDER BY "OrderID" LIMIT 10`,
      ).all("Germany") as Record<string, unknown>[];
      return json(
        `{"@odata.context":"${root}$metadata#Orders","@odata.count":${count},"value":[${
          rows.map((row) => entity(ORDER, row)).join(",")
        }]}`,
      );
    }
    if (path === "Customers?$filter=contains(CompanyName,'a')&$select=CustomerID,CompanyName") {
      const rows = prepare(
        `SELECT "CustomerID", "CompanyName" FROM "Customers" WHERE instr("CompanyName", ?) > 0 ORDER BY "CustomerID" LIMIT 1001`,
      ).all("a") as { CustomerID: string; CompanyName: string }[];
      return json(
        `{"@odata.context":"${root}$metadata#Customers(CustomerID,CompanyName)","value":[${
          rows.map((row) =>
            `{"CustomerID":${JSON.stringify(row.CustomerID)},"CompanyName":${
              JSON.stringify(row.CompanyName)
            }}`
          ).join(",")
        }]}`,
      );
    }
    return new Response("not found", { status: 404 });
  }
  return bare;
}
