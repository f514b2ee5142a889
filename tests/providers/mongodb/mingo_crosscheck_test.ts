/**
 * The MongoDB compiler checked result for result against SQLite on the whole Northwind data,
 * without a server: each query is compiled to an aggregation pipeline, which mingo (an
 * in-memory implementation of MongoDB's query and aggregation language) runs over the Northwind
 * rows stored as the provider stores them. The answers must equal what the SQLite provider
 * returns for the same query string.
 */

import assert from "node:assert/strict";
import { Aggregator } from "mingo";
import { parseQuery } from "../../../mod.ts";
import type { EntityMetadata } from "../../../mod.ts";
import { openNorthwind } from "../../fixtures/northwind.ts";
import { readNorthwindRows } from "../../../examples/northwind/data.ts";
import { compileRead } from "../../../providers/mongodb/compiler/read.ts";
import { fromStored, toDocument } from "../../../providers/mongodb/values.ts";

/** Entity set and query string pairs: every read of the conformance suite, and more. */
export const CROSS_CHECK_QUERIES: readonly (readonly [string, string])[] = [
  ["Products", "$filter=UnitPrice gt 20"],
  ["Products", "$filter=not (UnitPrice gt 20)"],
  ["Products", "$filter=contains(ProductName,'Ch')&$orderby=ProductName"],
  ["Products", "$filter=contains(ProductName,'ch')"],
  ["Products", "$filter=startswith(ProductName,'Ch')"],
  ["Products", "$filter=endswith(ProductName,'Sauce')&$orderby=ProductName"],
  ["Orders", "$filter=OrderDate ge 1997-01-01T00:00:00Z and OrderDate lt 1998-01-01T00:00:00Z"],
  ["Products", "$orderby=UnitPrice desc,ProductName&$top=3"],
  ["Products", "$orderby=ProductID&$skip=10&$top=5"],
  ["Customers", "$filter=Country in ('Germany','France')"],
  ["Orders", "$filter=ShippedDate eq null"],
  ["Customers", "$filter=Region ne 'SP'"],
  ["Products", "$filter=Category/CategoryName eq 'Beverages'"],
  ["Orders", "$filter=Order_Details/any(d:d/Quantity gt 100)"],
  ["Orders", "$filter=Order_Details/all(d:d/Quantity ge 10)"],
  ["Customers", "$filter=Orders/$count gt 20"],
  ["Order_Details", "$filter=UnitPrice mul Quantity gt 10000"],
  ["Order_Details", "$filter=Quantity mod 7 eq 0"],
  ["Orders", "$filter=year(OrderDate) eq 1996"],
  ["Orders", "$filter=month(OrderDate) eq 7 and day(OrderDate) le 10"],
  ["Customers", "$filter=tolower(Country) eq 'germany'"],
  ["Customers", "$filter=toupper(City) eq 'BERLIN'"],
  ["Products", "$filter=length(ProductName) gt 20"],
  ["Customers", "$filter=substring(CustomerID,1,2) eq 'LF'"],
  ["Customers", "$filter=indexof(CompanyName,'Alfreds') eq 0"],
  ["Customers", "$filter=indexof(CompanyName,'a') eq 3"],
  ["Products", "$filter=CategoryID eq 1 or CategoryID eq 2"],
  ["Products", "$filter=Discontinued"],
  ["Products", "$filter=not Discontinued and UnitsInStock lt 10"],
  ["Customers", "$filter=Country eq 'Germany'&$orderby=CompanyName&$top=2"],
  ["Products", "$search=Chef&$orderby=ProductID"],
  ["Products", "$search=chef OR tofu&$orderby=ProductID"],
  ["Products", "$search=NOT chef&$orderby=ProductID&$top=5"],
  ["Products", "$filter=ProductID eq 1"],
  ["Order_Details", "$filter=OrderID eq 10248 and ProductID eq 11"],
  ["Employees", "$filter=ReportsTo eq 2"],
  ["Customers", "$filter=CustomerID eq 'x'' OR ''1''=''1'"],
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
  ["Products", "$compute=UnitPrice mul 2 as Double&$filter=Double gt 100&$select=ProductID,Double"],
  ["Products", "$filter=round(UnitPrice) eq 18"],
  ["Products", "$filter=floor(UnitPrice) eq 18 or ceiling(UnitPrice) eq 10"],
  ["Customers", "$filter=concat(City,Country) eq 'BerlinGermany'"],
  ["Customers", "$filter=trim(concat(' ',City)) eq 'Berlin'"],
  ["Orders", "$filter=Freight gt 100 and ShipCountry ne 'USA'&$orderby=Freight desc&$top=7"],
  ["Orders", "$filter=ShipRegion eq null and ShipCountry eq 'France'"],
  ["Orders", "$filter=EmployeeID in (1,2,3) and not (ShipVia eq 1)&$orderby=OrderID&$top=20"],
  ["Products", "$filter=UnitsInStock add UnitsOnOrder lt ReorderLevel"],
  ["Products", "$filter=UnitPrice div 2 gt 30"],
  ["Products", "$filter=UnitsInStock div 7 eq 2"],
  ["Products", "$select=ProductName,UnitPrice&$orderby=UnitPrice desc&$top=4"],
  ["Employees", "$filter=startswith(tolower(LastName),'d')&$orderby=LastName"],
  ["Suppliers", "$filter=Fax ne null and contains(Fax,'(')&$orderby=SupplierID"],
];

Deno.test("mongodb compiler matches SQLite on Northwind (through mingo)", async (t) => {
  await using fixture = await openNorthwind({ memory: true });
  const rows = await readNorthwindRows();
  const schema = {
    getEntityMetadata: (name: string) => fixture.namespace.schema.getEntityMetadata(name),
  };
  const storage = { decimal: "double" } as const;
  const documents = new Map<string, Record<string, unknown>[]>();
  const documentsOf = (entity: EntityMetadata) => {
    let list = documents.get(entity.table);
    if (list === undefined) {
      const source = rows[entity.name] ?? [];
      const coerced = source.map((row) => toDocument(entity, canonical(entity, row), storage));
      documents.set(entity.table, list = coerced);
    }
    return list;
  };
  const collectionResolver = (name: string) => {
    const entity = [...entityNames()].map((n) => schema.getEntityMetadata(n)!).find((e) =>
      e.table === name
    );
    return entity === undefined ? [] : documentsOf(entity);
  };
  const entityNames = () => Object.keys(rows);
  for (const [entitySet, text] of CROSS_CHECK_QUERIES) {
    await t.step(`${entitySet}?${text}`, async () => {
      const entity = schema.getEntityMetadata(entitySet)!;
      const query = parseQuery(text);
      const expected = (await fixture.namespace.getEntity(entitySet).query(text).find()).data.map(
        (r) => r.toJSON(),
      );
      // Every query but the injection attempt selects rows, so that an empty answer cannot pass.
      if (!text.includes("OR ''1''")) assert.ok(expected.length > 0, "the SQLite answer is empty");
      const plan = compileRead(schema, entity, query, storage);
      assertNoServerSideJavaScript(plan);
      const pipeline = plan.kind === "find" ? findAsPipeline(plan) : plan.pipeline;
      const output = new Aggregator(pipeline, { collectionResolver }).run(documentsOf(entity));
      const actual = (output as Record<string, unknown>[]).map((d) => {
        const row: Record<string, unknown> = {};
        for (const c of plan.columns) row[c.name] = fromStored(c.type, d[c.key], c.scale);
        return row;
      });
      const ordered = query.orderby !== undefined;
      assert.deepStrictEqual(
        normalise(actual, entity, ordered),
        normalise(expected, entity, ordered),
      );
    });
  }
});

/** The compiler never produces operators that run JavaScript on the server. */
function assertNoServerSideJavaScript(plan: unknown): void {
  const text = JSON.stringify(plan);
  for (const operator of ["$where", "$function", "$accumulator"]) {
    assert.ok(!text.includes(`"${operator}"`), `the plan uses ${operator}: ${text}`);
  }
}

/** The rows of the sample as the model hands them to providers (canonical values). */
function canonical(entity: EntityMetadata, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of entity.fieldList) {
    const value = row[field.name];
    if (value === undefined || value === null) {
      out[field.name] = null;
    } else if (field.type === "datetime") {
      out[field.name] = value instanceof Date ? value : new Date(String(value));
    } else if (field.type === "decimal") {
      out[field.name] = String(value);
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

function findAsPipeline(plan: ReturnType<typeof compileRead>): Record<string, unknown>[] {
  const pipeline: Record<string, unknown>[] = [{ $match: plan.filter }];
  if (plan.sort !== undefined) pipeline.push({ $sort: plan.sort });
  if (plan.skip !== undefined && plan.skip > 0) pipeline.push({ $skip: plan.skip });
  if (plan.limit !== undefined) pipeline.push({ $limit: plan.limit });
  pipeline.push({ $project: plan.projection });
  return pipeline;
}

/** Rows as comparable JSON; unordered results sorted by their text. */
function normalise(
  rows: Record<string, unknown>[],
  _entity: EntityMetadata,
  ordered: boolean,
): string[] {
  const texts = rows.map((row) =>
    JSON.stringify(row, (_k, v) => (typeof v === "number" ? Number(v.toFixed(6)) : v))
  );
  return ordered ? texts : texts.sort();
}
