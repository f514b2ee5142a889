/**
 * The Northwind sample: row counts, spot values, conformance of every row to its entity
 * definition, referential integrity, and the loader's insertion order.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { EntityDefinition, FieldDefinition } from "../../src/model/schema.ts";
import { resolveEntity } from "../../src/model/schema.ts";
import { parseNorthwindSql, readNorthwindRows } from "../../examples/northwind/data.ts";
import { loadNorthwind, type NorthwindTarget } from "../../examples/northwind/load.ts";
import { NORTHWIND_ENTITIES, NORTHWIND_LOAD_ORDER } from "../../examples/northwind/schema.ts";

type Row = Record<string, unknown>;

const EXPECTED_COUNTS: Readonly<Record<string, number>> = {
  Categories: 8,
  Suppliers: 29,
  Products: 77,
  Customers: 91,
  Employees: 9,
  Orders: 830,
  Order_Details: 2155,
  Shippers: 6,
  Regions: 4,
  Territories: 53,
  EmployeeTerritories: 49,
};

let cached: Promise<Record<string, Row[]>> | undefined;
const allRows = (): Promise<Record<string, Row[]>> => (cached ??= readNorthwindRows());

function rowsOf(rows: Record<string, Row[]>, name: string): Row[] {
  const list = rows[name];
  assert.ok(list !== undefined, `no rows for ${name}`);
  return list;
}

function keyOf(definition: EntityDefinition): string[] {
  if (definition.key !== undefined) {
    return typeof definition.key === "string" ? [definition.key] : [...definition.key];
  }
  return Object.entries(definition.fields).filter(([, f]) => f.primaryKey).map(([n]) => n);
}

const tupleKey = (row: Row, fields: readonly string[]): string =>
  JSON.stringify(fields.map((field) => row[field]));

/** A reason when `value` is not the canonical representation of `field`, else undefined. */
function nonCanonical(value: unknown, field: FieldDefinition): string | undefined {
  switch (field.type) {
    case "string":
      if (typeof value !== "string") return "not a string";
      if (field.maxLength !== undefined && value.length > field.maxLength) {
        return `longer than ${field.maxLength}`;
      }
      return undefined;
    case "integer":
      return Number.isSafeInteger(value) ? undefined : "not a safe integer";
    case "number":
      return typeof value === "number" && Number.isFinite(value)
        ? undefined
        : "not a finite number";
    case "decimal": {
      if (typeof value !== "string" || !/^-?\d+(\.\d+)?$/.test(value)) {
        return "not a decimal string";
      }
      const decimals = value.split(".")[1] ?? "";
      if (field.scale !== undefined && decimals.length > field.scale) {
        return `more than ${field.scale} decimals`;
      }
      if (decimals.endsWith("0")) return "trailing zero";
      return undefined;
    }
    case "boolean":
      return typeof value === "boolean" ? undefined : "not a boolean";
    case "datetime":
      return value instanceof Date && !Number.isNaN(value.getTime())
        ? undefined
        : "not a valid Date";
    case "date":
      return typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)
        ? undefined
        : "not YYYY-MM-DD";
    case "binary":
      return value instanceof Uint8Array ? undefined : "not a Uint8Array";
    default:
      return `unexpected field type ${field.type}`;
  }
}

Deno.test("northwind: the definitions resolve and their relations point to existing fields", () => {
  for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
    const meta = resolveEntity(name, definition);
    assert.equal(meta.table, name);
    for (const relation of meta.relations.values()) {
      const target = NORTHWIND_ENTITIES[relation.target];
      assert.ok(
        target !== undefined,
        `${name}.${relation.name} targets unknown ${relation.target}`,
      );
      const targetFields = relation.targetFields.length > 0 ? relation.targetFields : keyOf(target);
      for (const field of targetFields) {
        assert.ok(field in target.fields, `${relation.target}.${field}`);
      }
      assert.equal(relation.localFields.length, targetFields.length);
    }
    for (const keyField of meta.key) {
      const field = meta.fields.get(keyField)!;
      assert.equal(field.autoIncrement, false, `${name}.${keyField}: keys of the sample are data`);
      assert.equal(field.nullable, false);
    }
  }
  assert.deepEqual(NORTHWIND_ENTITIES.Order_Details?.key, ["OrderID", "ProductID"]);
  assert.equal(NORTHWIND_ENTITIES.Products?.fields.UnitPrice?.scale, 4);
  assert.equal(NORTHWIND_ENTITIES.Orders?.fields.OrderDate?.type, "datetime");
  assert.equal(NORTHWIND_ENTITIES.Order_Details?.fields.Discount?.type, "number");
});

Deno.test("northwind: load order puts every parent before its children", () => {
  assert.deepEqual([...NORTHWIND_LOAD_ORDER].sort(), Object.keys(NORTHWIND_ENTITIES).sort());
  for (const [index, name] of NORTHWIND_LOAD_ORDER.entries()) {
    for (const relation of Object.values(NORTHWIND_ENTITIES[name]?.relations ?? {})) {
      if (relation.type !== "one" || relation.entity === name) continue;
      assert.ok(
        NORTHWIND_LOAD_ORDER.indexOf(relation.entity) < index,
        `${relation.entity} before ${name}`,
      );
    }
  }
});

Deno.test("northwind: row counts per entity set", async () => {
  const started = performance.now();
  const rows = await readNorthwindRows();
  const elapsed = performance.now() - started;
  const counts = Object.fromEntries(
    Object.entries(rows).map(([name, list]) => [name, list.length]),
  );
  assert.deepEqual(counts, EXPECTED_COUNTS);
  assert.ok(elapsed < 1000, `parsing took ${elapsed.toFixed(0)} ms`);
});

Deno.test("northwind: spot values", async () => {
  const rows = await allRows();
  const chai = rowsOf(rows, "Products").find((p) => p.ProductID === 1);
  assert.deepEqual(chai, {
    ProductID: 1,
    ProductName: "Chai",
    SupplierID: 8,
    CategoryID: 1,
    QuantityPerUnit: "10 boxes x 30 bags",
    UnitPrice: "18",
    UnitsInStock: 39,
    UnitsOnOrder: 0,
    ReorderLevel: 10,
    Discontinued: true,
  });
  assert.equal(rowsOf(rows, "Products").filter((p) => p.Discontinued === true).length, 10);
  assert.equal(rowsOf(rows, "Order_Details").filter((d) => d.OrderID === 10248).length, 3);
  const alfki = rowsOf(rows, "Customers").find((c) => c.CustomerID === "ALFKI");
  assert.equal(alfki?.CompanyName, "Alfreds Futterkiste");
  assert.equal(alfki?.Region, null);

  const order = rowsOf(rows, "Orders").find((o) => o.OrderID === 10248);
  assert.ok(order !== undefined);
  assert.deepEqual(order.OrderDate, new Date("1996-07-04T00:00:00Z"));
  assert.deepEqual(order.ShippedDate, new Date("1996-07-16T00:00:00Z"));
  assert.equal(order.Freight, "32.38"); // float4 32.3800011 in the dump
  assert.equal(order.ShipAddress, "59 rue de l'Abbaye"); // '' escape
  assert.equal(order.ShipVia, 3);
  assert.equal(order.ShipRegion, null);
  assert.equal(rowsOf(rows, "Orders").filter((o) => o.ShippedDate === null).length, 21);

  const detail = rowsOf(rows, "Order_Details").find((d) =>
    d.OrderID === 10248 && d.ProductID === 42
  );
  assert.deepEqual(detail, {
    OrderID: 10248,
    ProductID: 42,
    UnitPrice: "9.8",
    Quantity: 10,
    Discount: 0,
  });
  const discounts = new Set(rowsOf(rows, "Order_Details").map((d) => d.Discount));
  assert.deepEqual([...discounts].sort(), [
    0,
    0.01,
    0.02,
    0.03,
    0.04,
    0.05,
    0.06,
    0.1,
    0.15,
    0.2,
    0.25,
  ]);

  const nancy = rowsOf(rows, "Employees").find((e) => e.EmployeeID === 1);
  assert.equal(nancy?.Address, "507 - 20th Ave. E.\nApt. 2A");
  assert.deepEqual(nancy?.BirthDate, new Date("1948-12-08T00:00:00Z"));
  assert.equal(nancy?.ReportsTo, 2);
  assert.deepEqual(nancy?.Photo, new Uint8Array(0)); // the dump's pictures and photos are empty
  assert.equal(rowsOf(rows, "Employees").find((e) => e.EmployeeID === 2)?.ReportsTo, null);

  const beverages = rowsOf(rows, "Categories")[0];
  assert.equal(beverages?.CategoryName, "Beverages");
  assert.ok(beverages?.Picture instanceof Uint8Array);
  assert.equal(rowsOf(rows, "Regions").find((r) => r.RegionID === 1)?.RegionDescription, "Eastern");
  assert.deepEqual(rowsOf(rows, "Territories")[0], {
    TerritoryID: "01581",
    TerritoryDescription: "Westboro",
    RegionID: 1,
  });
});

Deno.test("northwind: every row conforms to its entity definition", async () => {
  const rows = await allRows();
  const problems: string[] = [];
  for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
    const key = keyOf(definition);
    const seen = new Set<string>();
    for (const row of rowsOf(rows, name)) {
      const id = `${name}(${tupleKey(row, key)})`;
      for (const field of Object.keys(row)) {
        if (!(field in definition.fields)) problems.push(`${id}: unknown field ${field}`);
      }
      for (const [fieldName, field] of Object.entries(definition.fields)) {
        const value = row[fieldName];
        if (value === undefined) {
          problems.push(`${id}.${fieldName}: missing`);
        } else if (value === null) {
          if (key.includes(fieldName) || field.required) problems.push(`${id}.${fieldName}: null`);
        } else {
          const reason = nonCanonical(value, field);
          if (reason !== undefined) {
            problems.push(`${id}.${fieldName}: ${reason} (${String(value)})`);
          }
        }
      }
      const k = tupleKey(row, key);
      if (seen.has(k)) problems.push(`${id}: duplicate key`);
      seen.add(k);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("northwind: every foreign key references an existing row", async () => {
  const rows = await allRows();
  const orphans: string[] = [];
  for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
    for (const [relationName, relation] of Object.entries(definition.relations ?? {})) {
      if (relation.type !== "one") continue;
      const target = NORTHWIND_ENTITIES[relation.entity]!;
      const local = typeof relation.foreignKey === "string"
        ? [relation.foreignKey]
        : [...relation.foreignKey];
      const referenced = relation.references === undefined
        ? keyOf(target)
        : typeof relation.references === "string"
        ? [relation.references]
        : [...relation.references];
      const existing = new Set(
        rowsOf(rows, relation.entity).map((row) => tupleKey(row, referenced)),
      );
      for (const row of rowsOf(rows, name)) {
        if (local.some((field) => row[field] === null)) continue;
        const value = tupleKey(row, local);
        if (!existing.has(value)) orphans.push(`${name}.${relationName} = ${value}`);
      }
    }
  }
  // The dump has no orphan: every foreign key value exists.
  assert.deepEqual(orphans, []);
});

Deno.test("northwind: the parser reads quoting, NULL, bytea, multi-row VALUES and rejects bad values", () => {
  const sql = [
    "-- comment; with a semicolon",
    "SET standard_conforming_strings = on;",
    "CREATE TABLE categories (\n    category_id smallint NOT NULL,\n    category_name character varying(15) NOT NULL,",
    "    description text,\n    picture bytea\n);",
    "CREATE TABLE us_states (\n    state_id smallint NOT NULL\n);",
    "INSERT INTO us_states VALUES (1);",
    "INSERT INTO categories VALUES (1, 'It''s; here', NULL, '\\x00ff10'), (2, 'Two', 'a\nb', '\\x');",
  ].join("\n");
  const rows = parseNorthwindSql(sql);
  assert.deepEqual(rows.Categories, [
    {
      CategoryID: 1,
      CategoryName: "It's; here",
      Description: null,
      Picture: new Uint8Array([0, 255, 16]),
    },
    { CategoryID: 2, CategoryName: "Two", Description: "a\nb", Picture: new Uint8Array(0) },
  ]);
  assert.deepEqual(rows.Products, []);
  const header =
    "CREATE TABLE region (\n    region_id smallint NOT NULL,\n    region_description text\n);\n";
  assert.throws(
    () => parseNorthwindSql(`${header}INSERT INTO region VALUES ('x', 'y');`),
    SyntaxError,
  );
  assert.throws(
    () => parseNorthwindSql(`${header}INSERT INTO region VALUES (1.5, 'y');`),
    SyntaxError,
  );
  assert.throws(() => parseNorthwindSql(`${header}INSERT INTO region VALUES (1);`), SyntaxError);
  assert.throws(() => parseNorthwindSql(`${header}INSERT INTO region VALUES (1, 'y)`), SyntaxError);
});

Deno.test("northwind: loadNorthwind registers, syncs, then inserts parents first", async () => {
  const calls: string[] = [];
  const inserted = new Map<string, Row[]>();
  const registered = new Map<string, EntityDefinition>();
  const namespace: NorthwindTarget = {
    registerEntity(name, definition) {
      calls.push(`register ${name}`);
      registered.set(name, definition);
    },
    sync() {
      calls.push("sync");
      return Promise.resolve();
    },
    getEntity(name) {
      return {
        createMany(rows) {
          calls.push(`insert ${name}`);
          inserted.set(name, rows);
          return Promise.resolve(rows);
        },
      };
    },
  };
  await loadNorthwind(namespace);
  const names = Object.keys(NORTHWIND_ENTITIES);
  assert.deepEqual(calls, [
    ...names.map((name) => `register ${name}`),
    "sync",
    ...NORTHWIND_LOAD_ORDER.map((name) => `insert ${name}`),
  ]);
  assert.equal(registered.get("Products"), NORTHWIND_ENTITIES.Products);
  for (const [name, count] of Object.entries(EXPECTED_COUNTS)) {
    assert.equal(inserted.get(name)?.length, count);
  }
  // Self reference: each employee is inserted after the manager it reports to.
  const employees = inserted.get("Employees")!;
  const position = new Map(employees.map((e, i) => [e.EmployeeID, i]));
  for (const [i, employee] of employees.entries()) {
    if (employee.ReportsTo !== null) assert.ok(position.get(employee.ReportsTo)! < i);
  }
});
