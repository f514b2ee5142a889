/**
 * The shared provider conformance suite: one table of reads and writes over the Northwind
 * sample with expected results, run against every provider. Expected values were computed
 * independently with PostgreSQL on the original dump. A provider lists its known gaps with a
 * reason; a gap case must then fail (so a gap that got fixed is noticed), never be skipped.
 */

import assert from "node:assert/strict";
import type { EntityNamespace } from "../../mod.ts";
import { ODataActiveRecordError } from "../../mod.ts";

/** One conformance case. */
export interface ConformanceCase {
  readonly name: string;
  /** Writes change the data: they run after all reads, in order. */
  readonly write?: boolean;
  readonly run: (ns: EntityNamespace) => Promise<unknown>;
  /** The expected value (deep-equal), or a checker. */
  readonly expect: unknown;
}

const names = (rows: { data: { toJSON(): Record<string, unknown> }[] }, field: string) =>
  rows.data.map((r) => r.toJSON()[field]);

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError, `expected a module error, got ${error}`);
    assert.equal(error.code, code, error.message);
    return code;
  }
  assert.fail(`expected an error with code ${code}`);
}

/** The cases. */
export const CASES: readonly ConformanceCase[] = [
  { name: "count all products", run: (ns) => ns.getEntity("Products").count(), expect: 77 },
  {
    name: "where gt on decimal",
    run: (ns) => ns.getEntity("Products").where("UnitPrice", "gt", 20).count(),
    expect: 37,
  },
  {
    name: "not of a comparison",
    run: (ns) => ns.getEntity("Products").filter("not (UnitPrice gt 20)").count(),
    expect: 40,
  },
  {
    name: "contains is case-sensitive",
    run: async (ns) =>
      names(
        await ns.getEntity("Products").where("ProductName", "contains", "Ch").orderBy("ProductName")
          .find(),
        "ProductName",
      ),
    expect: [
      "Chai",
      "Chang",
      "Chartreuse verte",
      "Chef Anton's Cajun Seasoning",
      "Chef Anton's Gumbo Mix",
      "Chocolade",
      "Jack's New England Clam Chowder",
      "Teatime Chocolate Biscuits",
    ],
  },
  {
    name: "contains lower-case differs",
    run: (ns) => ns.getEntity("Products").where("ProductName", "contains", "ch").count(),
    expect: 6,
  },
  {
    name: "startswith",
    run: (ns) => ns.getEntity("Products").where("ProductName", "startswith", "Ch").count(),
    expect: 6,
  },
  {
    name: "endswith",
    run: async (ns) =>
      names(
        await ns.getEntity("Products").filter("endswith(ProductName,'Sauce')").orderBy(
          "ProductName",
        ).find(),
        "ProductName",
      ),
    expect: ["Louisiana Fiery Hot Pepper Sauce", "Northwoods Cranberry Sauce"],
  },
  {
    name: "datetime range",
    run: (ns) =>
      ns.getEntity("Orders").filter(
        "OrderDate ge 1997-01-01T00:00:00Z and OrderDate lt 1998-01-01T00:00:00Z",
      ).count(),
    expect: 408,
  },
  {
    name: "orderBy desc with limit",
    run: async (ns) =>
      names(
        await ns.getEntity("Products").orderBy("UnitPrice", "desc").orderBy("ProductName").limit(3)
          .find(),
        "ProductName",
      ),
    expect: ["Côte de Blaye", "Thüringer Rostbratwurst", "Mishi Kobe Niku"],
  },
  {
    name: "offset and limit",
    run: async (ns) =>
      names(
        await ns.getEntity("Products").orderBy("ProductID").offset(10).limit(5).find(),
        "ProductID",
      ),
    expect: [11, 12, 13, 14, 15],
  },
  {
    name: "in list",
    run: (ns) => ns.getEntity("Customers").where("Country", "in", ["Germany", "France"]).count(),
    expect: 22,
  },
  {
    name: "eq null",
    run: (ns) => ns.getEntity("Orders").where("ShippedDate", "eq", null).count(),
    expect: 21,
  },
  {
    name: "ne includes nulls (OData semantics)",
    run: (ns) => ns.getEntity("Customers").filter("Region ne 'SP'").count(),
    expect: 85,
  },
  {
    name: "to-one navigation in filter",
    run: (ns) => ns.getEntity("Products").where("Category/CategoryName", "eq", "Beverages").count(),
    expect: 12,
  },
  {
    name: "any lambda",
    run: (ns) => ns.getEntity("Orders").filter("Order_Details/any(d:d/Quantity gt 100)").count(),
    expect: 13,
  },
  {
    name: "all lambda",
    run: (ns) => ns.getEntity("Orders").filter("Order_Details/all(d:d/Quantity ge 10)").count(),
    expect: 506,
  },
  {
    name: "$count path",
    run: (ns) => ns.getEntity("Customers").filter("Orders/$count gt 20").count(),
    expect: 3,
  },
  {
    name: "arithmetic",
    run: (ns) => ns.getEntity("Order_Details").filter("UnitPrice mul Quantity gt 10000").count(),
    expect: 6,
  },
  {
    name: "mod",
    run: (ns) => ns.getEntity("Order_Details").filter("Quantity mod 7 eq 0").count(),
    expect: 273,
  },
  {
    name: "year()",
    run: (ns) => ns.getEntity("Orders").filter("year(OrderDate) eq 1996").count(),
    expect: 152,
  },
  {
    name: "tolower()",
    run: (ns) => ns.getEntity("Customers").filter("tolower(Country) eq 'germany'").count(),
    expect: 11,
  },
  {
    name: "length()",
    run: (ns) => ns.getEntity("Products").filter("length(ProductName) gt 20").count(),
    expect: 22,
  },
  {
    name: "substring() is 0-based",
    run: (ns) => ns.getEntity("Customers").filter("substring(CustomerID,1,2) eq 'LF'").count(),
    expect: 1,
  },
  {
    name: "indexof() is 0-based",
    run: async (ns) =>
      names(
        await ns.getEntity("Customers").filter("indexof(CompanyName,'Alfreds') eq 0").find(),
        "CustomerID",
      ),
    expect: ["ALFKI"],
  },
  {
    name: "or group",
    run: (ns) =>
      ns.getEntity("Products").where((q) => q.where("CategoryID", 1).or("CategoryID", 2)).count(),
    expect: 24,
  },
  {
    name: "where object with boolean",
    run: (ns) => ns.getEntity("Products").where({ Discontinued: true }).count(),
    expect: 10,
  },
  {
    name: "find with count and limit",
    run: async (ns) => {
      const result = await ns.getEntity("Products").where("UnitPrice", "gt", 20).limit(5)
        .withCount().find();
      return [result.data.length, result.count];
    },
    expect: [5, 37],
  },
  {
    name: "query string",
    run: async (ns) => {
      const result = await ns.getEntity("Customers").query(
        "$filter=Country eq 'Germany'&$orderby=CompanyName&$top=2&$count=true",
      ).find();
      return [names(result, "CompanyName"), result.count];
    },
    expect: [["Alfreds Futterkiste", "Blauer See Delikatessen"], 11],
  },
  {
    name: "search",
    run: async (ns) =>
      names(
        await ns.getEntity("Products").search("Chef").orderBy("ProductID").find(),
        "ProductName",
      ),
    expect: ["Chef Anton's Cajun Seasoning", "Chef Anton's Gumbo Mix"],
  },
  {
    name: "findById",
    run: async (ns) => (await ns.getEntity("Products").findById(1))?.toJSON().ProductName,
    expect: "Chai",
  },
  {
    name: "findById composite key",
    run: async (ns) => {
      const row = (await ns.getEntity("Order_Details").findById({ OrderID: 10248, ProductID: 11 }))!
        .toJSON();
      return [Number(row.UnitPrice), row.Quantity, row.Discount];
    },
    expect: [14, 12, 0],
  },
  {
    name: "findByIdOrFail throws NOT_FOUND",
    run: (ns) => rejectsWith(ns.getEntity("Products").findByIdOrFail(9999), "NOT_FOUND"),
    expect: "NOT_FOUND",
  },
  {
    name: "expand to-many",
    run: async (ns) => {
      const order = await ns.getEntity("Orders").where("OrderID", 10248).expand(
        "Order_Details",
        (q) => q.orderBy("ProductID"),
      ).findOne();
      return (order!.toJSON().Order_Details as Record<string, unknown>[]).map((d) => d.Quantity);
    },
    expect: [12, 10, 5],
  },
  {
    name: "expand to-one",
    run: async (ns) => {
      const product = await ns.getEntity("Products").where("ProductID", 1).expand("Category")
        .findOne();
      return (product!.toJSON().Category as Record<string, unknown>).CategoryName;
    },
    expect: "Beverages",
  },
  {
    name: "nested expand with filter",
    run: async (ns) => {
      const customer = await ns.getEntity("Customers").where("CustomerID", "ALFKI")
        .expand(
          "Orders",
          (q) => q.select(["OrderID"]).orderBy("OrderID").where("OrderID", "gt", 10700),
        ).findOne();
      return (customer!.toJSON().Orders as Record<string, unknown>[]).map((o) => o.OrderID);
    },
    expect: [10702, 10835, 10952, 11011],
  },
  {
    name: "$apply groupby aggregate",
    run: async (ns) => {
      const result = await ns.getEntity("Products").query(
        "$apply=groupby((CategoryID),aggregate(UnitsInStock with sum as Stock))&$orderby=CategoryID",
      ).find();
      return result.data.map((r) => [r.toJSON().CategoryID, Number(r.toJSON().Stock)]);
    },
    expect: [[1, 559], [2, 507], [3, 386], [4, 393], [5, 308], [6, 165], [7, 100], [8, 701]],
  },
  {
    name: "exists",
    run: (ns) => ns.getEntity("Employees").where("ReportsTo", 2).exists(),
    expect: true,
  },
  {
    name: "stream",
    run: async (ns) => {
      let n = 0;
      for await (const _ of ns.getEntity("Order_Details").stream()) n++;
      return n;
    },
    expect: 2155,
  },
  {
    name: "unknown field suggests the closest",
    run: async (ns) => {
      try {
        await ns.getEntity("Products").where("ProductNam", "eq", "x").find();
      } catch (error) {
        return (error as Error).message;
      }
      return "no error";
    },
    expect: "Unknown field 'ProductNam' on Products. Did you mean 'ProductName'?",
  },
  {
    name: "injection attempt as a value matches nothing",
    run: (ns) => ns.getEntity("Customers").where("CustomerID", "eq", "x' OR '1'='1").count(),
    expect: 0,
  },
  // Writes: run in order after the reads.
  {
    name: "create and read back",
    write: true,
    run: async (ns) => {
      await ns.getEntity("Shippers").create({
        ShipperID: 100,
        CompanyName: "Conformance Express",
        Phone: "555",
      });
      return (await ns.getEntity("Shippers").findById(100))?.toJSON().CompanyName;
    },
    expect: "Conformance Express",
  },
  {
    name: "update by filter",
    write: true,
    run: async (ns) => {
      const affected = await ns.getEntity("Shippers").where("ShipperID", 100).update({
        Phone: "556",
      });
      return [affected, (await ns.getEntity("Shippers").findById(100))?.toJSON().Phone];
    },
    expect: [1, "556"],
  },
  {
    name: "record save and reload",
    write: true,
    run: async (ns) => {
      const shipper = await ns.getEntity("Shippers").findByIdOrFail(100);
      shipper.set("Phone", "557");
      const dirty = shipper.isDirty;
      await shipper.save();
      await shipper.reload();
      return [dirty, shipper.isDirty, shipper.get("Phone")];
    },
    expect: [true, false, "557"],
  },
  {
    name: "delete without filter is refused",
    write: true,
    run: (ns) => rejectsWith(ns.getEntity("Shippers").delete(), "UNSAFE_OPERATION"),
    expect: "UNSAFE_OPERATION",
  },
  {
    name: "duplicate key is CONSTRAINT_UNIQUE",
    write: true,
    run: (ns) =>
      rejectsWith(
        ns.getEntity("Shippers").create({ ShipperID: 100, CompanyName: "Dup" }),
        "CONSTRAINT_UNIQUE",
      ),
    expect: "CONSTRAINT_UNIQUE",
  },
  {
    name: "createMany is all or nothing",
    write: true,
    run: async (ns) => {
      const Shippers = ns.getEntity("Shippers");
      await rejectsWith(
        Shippers.createMany([{ ShipperID: 101, CompanyName: "A" }, {
          ShipperID: 100,
          CompanyName: "Dup",
        }]),
        "CONSTRAINT_UNIQUE",
      );
      return await Shippers.where("ShipperID", 101).count();
    },
    expect: 0,
  },
  {
    name: "transaction rolls back",
    write: true,
    run: async (ns) => {
      await assert.rejects(
        ns.transaction(async (tx) => {
          await tx.getEntity("Shippers").create({ ShipperID: 102, CompanyName: "In tx" });
          throw new Error("boom");
        }),
        /boom/,
      );
      return await ns.getEntity("Shippers").where("ShipperID", 102).count();
    },
    expect: 0,
  },
  {
    name: "validation error lists every field, writes nothing",
    write: true,
    run: async (ns) => {
      try {
        await ns.getEntity("Products").create({
          ProductID: 500,
          UnitPrice: "abc",
          Discontinued: "maybe",
        });
      } catch (error) {
        const fields = (error as { issues?: { field: string }[] }).issues?.map((i) => i.field)
          .sort();
        return [
          (error as ODataActiveRecordError).code,
          fields,
          await ns.getEntity("Products").count(),
        ];
      }
      return "no error";
    },
    expect: ["VALIDATION_FAILED", ["Discontinued", "ProductName", "UnitPrice"], 77],
  },
  {
    name: "delete by id",
    write: true,
    run: async (
      ns,
    ) => [await ns.getEntity("Shippers").deleteById(100), await ns.getEntity("Shippers").count()],
    expect: [1, 6],
  },
];

/**
 * Registers the suite for one provider. `gaps` names cases the provider cannot pass, with the
 * reason; such a case is expected to fail, and the suite fails if it passes (update the list).
 */
export function conformanceSuite(
  provider: string,
  open: () => Promise<{ namespace: EntityNamespace; close(): Promise<void> }>,
  gaps: Readonly<Record<string, string>> = {},
): void {
  Deno.test(`provider conformance: ${provider}`, async (t) => {
    const fixture = await open();
    try {
      const ordered = [...CASES.filter((c) => !c.write), ...CASES.filter((c) => c.write)];
      for (const testCase of ordered) {
        const gap = gaps[testCase.name];
        await t.step(gap ? `${testCase.name} (known gap: ${gap})` : testCase.name, async () => {
          let outcome: unknown;
          let failure: unknown;
          try {
            outcome = await testCase.run(fixture.namespace);
            assert.deepStrictEqual(outcome, testCase.expect);
          } catch (error) {
            failure = error;
          }
          if (gap === undefined && failure !== undefined) throw failure;
          if (gap !== undefined && failure === undefined) {
            assert.fail(`case passes now: remove it from the ${provider} gap list`);
          }
        });
      }
    } finally {
      await fixture.close();
    }
  });
}
