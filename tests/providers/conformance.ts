/**
 * The shared provider conformance suite: one table of reads and writes over the Northwind
 * sample with expected results, run against every provider. Every data-dependent case carries
 * the PostgreSQL query that recomputes its expected value from the shipped dump (`oracle`,
 * checked by conformance_oracle_test.ts); the others say which library behaviour they check
 * (`library`). A provider lists its known gaps with a
 * reason; a gap case must then fail (so a gap that got fixed is noticed), never be skipped.
 */

import assert from "node:assert/strict";
import type { EntityNamespace } from "../../mod.ts";
import { ODataActiveRecordError } from "../../mod.ts";

/** One conformance case. */
export interface ConformanceCase {
  readonly name: string;
  /**
   * Hand-written PostgreSQL over the shipped dump (examples/northwind/data/northwind.sql) whose
   * one value (JSON) is `expect`: the independent oracle of a data-dependent case, checked by
   * tests/providers/conformance_oracle_test.ts.
   */
  readonly oracle?: string;
  /** Instead of an oracle: what library behaviour the case checks (nothing to recompute). */
  readonly library?: string;
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
  {
    name: "count all products",
    oracle: "SELECT count(*) FROM products",
    run: (ns) => ns.getEntity("Products").count(),
    expect: 77,
  },
  {
    name: "where gt on decimal",
    oracle: "SELECT count(*) FROM products WHERE unit_price > 20",
    run: (ns) => ns.getEntity("Products").where("UnitPrice", "gt", 20).count(),
    expect: 37,
  },
  {
    name: "not of a comparison",
    oracle: "SELECT count(*) FROM products WHERE NOT COALESCE(unit_price > 20, false)",
    run: (ns) => ns.getEntity("Products").filter("not (UnitPrice gt 20)").count(),
    expect: 40,
  },
  {
    name: "contains is case-sensitive",
    oracle:
      "SELECT jsonb_agg(product_name ORDER BY product_name COLLATE \"C\") FROM products WHERE strpos(product_name, 'Ch') > 0",
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
    oracle: "SELECT count(*) FROM products WHERE strpos(product_name, 'ch') > 0",
    run: (ns) => ns.getEntity("Products").where("ProductName", "contains", "ch").count(),
    expect: 6,
  },
  {
    name: "startswith",
    oracle: "SELECT count(*) FROM products WHERE left(product_name, 2) = 'Ch'",
    run: (ns) => ns.getEntity("Products").where("ProductName", "startswith", "Ch").count(),
    expect: 6,
  },
  {
    name: "endswith",
    oracle:
      "SELECT jsonb_agg(product_name ORDER BY product_name COLLATE \"C\") FROM products WHERE right(product_name, 5) = 'Sauce'",
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
    oracle:
      "SELECT count(*) FROM orders WHERE order_date >= '1997-01-01' AND order_date < '1998-01-01'",
    run: (ns) =>
      ns.getEntity("Orders").filter(
        "OrderDate ge 1997-01-01T00:00:00Z and OrderDate lt 1998-01-01T00:00:00Z",
      ).count(),
    expect: 408,
  },
  {
    name: "orderBy desc with limit",
    oracle:
      'SELECT jsonb_agg(product_name ORDER BY unit_price DESC, product_name COLLATE "C") FROM (SELECT product_name, unit_price FROM products ORDER BY unit_price DESC, product_name COLLATE "C" LIMIT 3) AS t',
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
    oracle:
      "SELECT jsonb_agg(product_id ORDER BY product_id) FROM (SELECT product_id FROM products ORDER BY product_id OFFSET 10 LIMIT 5) AS t",
    run: async (ns) =>
      names(
        await ns.getEntity("Products").orderBy("ProductID").offset(10).limit(5).find(),
        "ProductID",
      ),
    expect: [11, 12, 13, 14, 15],
  },
  {
    name: "in list",
    oracle: "SELECT count(*) FROM customers WHERE country IN ('Germany', 'France')",
    run: (ns) => ns.getEntity("Customers").where("Country", "in", ["Germany", "France"]).count(),
    expect: 22,
  },
  {
    name: "eq null",
    oracle: "SELECT count(*) FROM orders WHERE shipped_date IS NULL",
    run: (ns) => ns.getEntity("Orders").where("ShippedDate", "eq", null).count(),
    expect: 21,
  },
  {
    name: "ne includes nulls (OData semantics)",
    oracle: "SELECT count(*) FROM customers WHERE region IS DISTINCT FROM 'SP'",
    run: (ns) => ns.getEntity("Customers").filter("Region ne 'SP'").count(),
    expect: 85,
  },
  {
    name: "to-one navigation in filter",
    oracle:
      "SELECT count(*) FROM products AS p JOIN categories AS c ON c.category_id = p.category_id WHERE c.category_name = 'Beverages'",
    run: (ns) => ns.getEntity("Products").where("Category/CategoryName", "eq", "Beverages").count(),
    expect: 12,
  },
  {
    name: "any lambda",
    oracle:
      "SELECT count(*) FROM orders AS o WHERE EXISTS (SELECT 1 FROM order_details AS d WHERE d.order_id = o.order_id AND d.quantity > 100)",
    run: (ns) => ns.getEntity("Orders").filter("Order_Details/any(d:d/Quantity gt 100)").count(),
    expect: 13,
  },
  {
    name: "all lambda",
    oracle:
      "SELECT count(*) FROM orders AS o WHERE NOT EXISTS (SELECT 1 FROM order_details AS d WHERE d.order_id = o.order_id AND NOT COALESCE(d.quantity >= 10, false))",
    run: (ns) => ns.getEntity("Orders").filter("Order_Details/all(d:d/Quantity ge 10)").count(),
    expect: 506,
  },
  {
    name: "$count path",
    oracle:
      "SELECT count(*) FROM customers AS c WHERE (SELECT count(*) FROM orders AS o WHERE o.customer_id = c.customer_id) > 20",
    run: (ns) => ns.getEntity("Customers").filter("Orders/$count gt 20").count(),
    expect: 3,
  },
  {
    name: "arithmetic",
    oracle: "SELECT count(*) FROM order_details WHERE unit_price::numeric * quantity > 10000",
    run: (ns) => ns.getEntity("Order_Details").filter("UnitPrice mul Quantity gt 10000").count(),
    expect: 6,
  },
  {
    name: "mod",
    oracle: "SELECT count(*) FROM order_details WHERE quantity % 7 = 0",
    run: (ns) => ns.getEntity("Order_Details").filter("Quantity mod 7 eq 0").count(),
    expect: 273,
  },
  {
    name: "year()",
    oracle: "SELECT count(*) FROM orders WHERE extract(year FROM order_date) = 1996",
    run: (ns) => ns.getEntity("Orders").filter("year(OrderDate) eq 1996").count(),
    expect: 152,
  },
  {
    name: "tolower()",
    oracle: "SELECT count(*) FROM customers WHERE lower(country) = 'germany'",
    run: (ns) => ns.getEntity("Customers").filter("tolower(Country) eq 'germany'").count(),
    expect: 11,
  },
  {
    name: "length()",
    oracle: "SELECT count(*) FROM products WHERE char_length(product_name) > 20",
    run: (ns) => ns.getEntity("Products").filter("length(ProductName) gt 20").count(),
    expect: 22,
  },
  {
    name: "substring() is 0-based",
    oracle: "SELECT count(*) FROM customers WHERE substr(customer_id, 2, 2) = 'LF'",
    run: (ns) => ns.getEntity("Customers").filter("substring(CustomerID,1,2) eq 'LF'").count(),
    expect: 1,
  },
  {
    name: "indexof() is 0-based",
    oracle:
      "SELECT jsonb_agg(customer_id ORDER BY customer_id) FROM customers WHERE strpos(company_name, 'Alfreds') - 1 = 0",
    run: async (ns) =>
      names(
        await ns.getEntity("Customers").filter("indexof(CompanyName,'Alfreds') eq 0").find(),
        "CustomerID",
      ),
    expect: ["ALFKI"],
  },
  {
    name: "or group",
    oracle: "SELECT count(*) FROM products WHERE category_id = 1 OR category_id = 2",
    run: (ns) =>
      ns.getEntity("Products").where((q) => q.where("CategoryID", 1).or("CategoryID", 2)).count(),
    expect: 24,
  },
  {
    name: "where object with boolean",
    oracle: "SELECT count(*) FROM products WHERE discontinued = 1",
    run: (ns) => ns.getEntity("Products").where({ Discontinued: true }).count(),
    expect: 10,
  },
  {
    name: "find with count and limit",
    oracle:
      "SELECT jsonb_build_array(least(count(*), 5), count(*)) FROM products WHERE unit_price > 20",
    run: async (ns) => {
      const result = await ns.getEntity("Products").where("UnitPrice", "gt", 20).limit(5)
        .withCount().find();
      return [result.data.length, result.count];
    },
    expect: [5, 37],
  },
  {
    name: "query string",
    oracle:
      "SELECT jsonb_build_array((SELECT jsonb_agg(company_name ORDER BY company_name COLLATE \"C\") FROM (SELECT company_name FROM customers WHERE country = 'Germany' ORDER BY company_name COLLATE \"C\" LIMIT 2) AS t), (SELECT count(*) FROM customers WHERE country = 'Germany'))",
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
    oracle:
      "SELECT jsonb_agg(product_name ORDER BY product_id) FROM products WHERE strpos(lower(product_name), 'chef') > 0 OR strpos(lower(COALESCE(quantity_per_unit, '')), 'chef') > 0",
    run: async (ns) =>
      names(
        await ns.getEntity("Products").search("Chef").orderBy("ProductID").find(),
        "ProductName",
      ),
    expect: ["Chef Anton's Cajun Seasoning", "Chef Anton's Gumbo Mix"],
  },
  {
    name: "findById",
    oracle: "SELECT to_jsonb(product_name) FROM products WHERE product_id = 1",
    run: async (ns) => (await ns.getEntity("Products").findById(1))?.toJSON().ProductName,
    expect: "Chai",
  },
  {
    name: "findById composite key",
    oracle:
      "SELECT jsonb_build_array(unit_price::numeric, quantity, discount::numeric) FROM order_details WHERE order_id = 10248 AND product_id = 11",
    run: async (ns) => {
      const row = (await ns.getEntity("Order_Details").findById({ OrderID: 10248, ProductID: 11 }))!
        .toJSON();
      return [Number(row.UnitPrice), row.Quantity, row.Discount];
    },
    expect: [14, 12, 0],
  },
  {
    name: "findByIdOrFail throws NOT_FOUND",
    oracle:
      "SELECT to_jsonb(CASE WHEN count(*) = 0 THEN 'NOT_FOUND' ELSE 'found' END) FROM products WHERE product_id = 9999",
    run: (ns) => rejectsWith(ns.getEntity("Products").findByIdOrFail(9999), "NOT_FOUND"),
    expect: "NOT_FOUND",
  },
  {
    name: "expand to-many",
    oracle:
      "SELECT jsonb_agg(quantity ORDER BY product_id) FROM order_details WHERE order_id = 10248",
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
    oracle:
      "SELECT to_jsonb(c.category_name) FROM products AS p JOIN categories AS c ON c.category_id = p.category_id WHERE p.product_id = 1",
    run: async (ns) => {
      const product = await ns.getEntity("Products").where("ProductID", 1).expand("Category")
        .findOne();
      return (product!.toJSON().Category as Record<string, unknown>).CategoryName;
    },
    expect: "Beverages",
  },
  {
    name: "nested expand with filter",
    oracle:
      "SELECT jsonb_agg(order_id ORDER BY order_id) FROM orders WHERE customer_id = 'ALFKI' AND order_id > 10700",
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
    oracle:
      "SELECT jsonb_agg(jsonb_build_array(category_id, stock) ORDER BY category_id) FROM (SELECT category_id, sum(units_in_stock) AS stock FROM products GROUP BY category_id) AS t",
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
    oracle: "SELECT EXISTS (SELECT 1 FROM employees WHERE reports_to = 2)",
    run: (ns) => ns.getEntity("Employees").where("ReportsTo", 2).exists(),
    expect: true,
  },
  {
    name: "stream",
    oracle: "SELECT count(*) FROM order_details",
    run: async (ns) => {
      let n = 0;
      for await (const _ of ns.getEntity("Order_Details").stream()) n++;
      return n;
    },
    expect: 2155,
  },
  {
    name: "unknown field suggests the closest",
    library: "the message text of the library's UNKNOWN_FIELD error",
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
    name: "unknown field in a $filter text suggests the closest",
    library: "the message text of the library's UNKNOWN_FIELD error",
    run: async (ns) => {
      try {
        await ns.getEntity("Products").query("$filter=ProductNam eq 'x'").find();
      } catch (error) {
        return (error as Error).message;
      }
      return "no error";
    },
    expect: "Unknown field 'ProductNam' on Products. Did you mean 'ProductName'?",
  },
  {
    name: "unknown field in a $select text suggests the closest",
    library: "the message text of the library's UNKNOWN_FIELD error",
    run: async (ns) => {
      try {
        await ns.getEntity("Products").query("$select=ProductNam").find();
      } catch (error) {
        return (error as Error).message;
      }
      return "no error";
    },
    expect: "Unknown field 'ProductNam' on Products. Did you mean 'ProductName'?",
  },
  {
    name: "injection attempt as a value matches nothing",
    oracle: "SELECT count(*) FROM customers WHERE customer_id = 'x'' OR ''1''=''1'",
    run: (ns) => ns.getEntity("Customers").where("CustomerID", "eq", "x' OR '1'='1").count(),
    expect: 0,
  },
  // Writes: run in order after the reads.
  {
    name: "create and read back",
    library: "a write through the library, read back",
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
    library: "the library's update and its affected-row count",
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
    library: "the record's dirty tracking, save() and reload()",
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
    library: "the library refuses an unfiltered delete (UNSAFE_OPERATION)",
    write: true,
    run: (ns) => rejectsWith(ns.getEntity("Shippers").delete(), "UNSAFE_OPERATION"),
    expect: "UNSAFE_OPERATION",
  },
  {
    name: "duplicate key is CONSTRAINT_UNIQUE",
    library: "the library's mapping of a duplicate key",
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
    library: "the library's createMany atomicity",
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
    library: "the library's transaction rollback",
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
    library: "the library's validation issues (77 products: the count all products oracle)",
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
    library: "the library's deleteById on the row the writes created (6: the shippers of the dump)",
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
