/**
 * A small Northwind-like database in node:sqlite memory for the compiler and read tests, with
 * a counting executor. The same data is kept as plain objects so tests can compute expected
 * results in JavaScript (an oracle) instead of restating them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  type EntityDefinition,
  type EntityMetadata,
  resolveEntity,
  type SchemaResolver,
} from "../../../src/model/schema.ts";
import type { Expression, ODataQuery } from "../../../src/odata/ast.ts";
import { parseFilter } from "../../../src/odata/parser/expression.ts";
import { ODataActiveRecordError } from "../../../src/errors/errors.ts";
import type { ReadResult, Row } from "../../../src/provider/provider.ts";
import { parseQuery } from "../../../src/odata/parser/query.ts";
import { quoteIdentifier } from "../../../providers/sqlite/compiler.ts";
import { registerSqliteFunctions } from "../../../providers/sqlite/udf.ts";
import { compileInsert } from "../../../providers/sqlite/compiler.ts";
import { executeRead, type SqliteExecutor } from "../../../providers/sqlite/read.ts";
import { type SqlValue, storeTypeOf } from "../../../providers/sqlite/values.ts";

const DEFINITIONS: Readonly<Record<string, EntityDefinition>> = {
  Categories: {
    fields: {
      CategoryID: { type: "integer", primaryKey: true },
      CategoryName: { type: "string", required: true },
      Description: { type: "string" },
    },
    relations: { Products: { type: "many", entity: "Products", foreignKey: "CategoryID" } },
  },
  Products: {
    table: "products",
    fields: {
      ProductID: { type: "integer", primaryKey: true },
      ProductName: { type: "string", column: "product_name" },
      UnitPrice: { type: "decimal", scale: 2, required: true },
      UnitsInStock: { type: "integer" },
      Discontinued: { type: "boolean", required: true },
      CategoryID: { type: "integer" },
      Released: { type: "date" },
      CreatedAt: { type: "datetime" },
      Weight: { type: "number" },
      OpensAt: { type: "time" },
      Code: { type: "guid" },
      Tags: { type: "json" },
      Photo: { type: "binary" },
    },
    relations: {
      Category: { type: "one", entity: "Categories", foreignKey: "CategoryID" },
      Order_Details: { type: "many", entity: "Order_Details", foreignKey: "ProductID" },
    },
  },
  Orders: {
    fields: {
      OrderID: { type: "integer", primaryKey: true },
      CustomerName: { type: "string", required: true },
      OrderDate: { type: "datetime", required: true },
      Freight: { type: "decimal", scale: 2 },
    },
    relations: { Order_Details: { type: "many", entity: "Order_Details", foreignKey: "OrderID" } },
  },
  Order_Details: {
    key: ["OrderID", "ProductID"],
    fields: {
      OrderID: { type: "integer" },
      ProductID: { type: "integer" },
      Quantity: { type: "integer", required: true },
      Discount: { type: "number", required: true },
    },
    relations: {
      Order: { type: "one", entity: "Orders", foreignKey: "OrderID" },
      Product: { type: "one", entity: "Products", foreignKey: "ProductID" },
    },
  },
  Employees: {
    fields: {
      EmployeeID: { type: "integer", primaryKey: true },
      Name: { type: "string", required: true },
      ManagerID: { type: "integer" },
    },
    relations: {
      Manager: { type: "one", entity: "Employees", foreignKey: "ManagerID" },
      Reports: { type: "many", entity: "Employees", foreignKey: "ManagerID" },
    },
  },
};

/** The entities by name. */
export const ENTITIES: Readonly<Record<string, EntityMetadata>> = Object.fromEntries(
  Object.entries(DEFINITIONS).map(([name, definition]) => [name, resolveEntity(name, definition)]),
);

/** The schema resolver over {@linkcode ENTITIES}. */
export const SCHEMA: SchemaResolver = { getEntityMetadata: (name) => ENTITIES[name] };

/** Gets an entity that exists. */
export function entity(name: string): EntityMetadata {
  const found = ENTITIES[name];
  if (found === undefined) throw new Error(`no entity ${name}`);
  return found;
}

const GUID_A = "0f8fad5b-d9cb-469f-a165-70867728950e";

/** The categories (canonical values). */
export const CATEGORIES: readonly Row[] = [
  { CategoryID: 1, CategoryName: "Beverages", Description: "Soft drinks, coffees, teas" },
  { CategoryID: 2, CategoryName: "Condiments", Description: "Sweet and savory sauces" },
  { CategoryID: 3, CategoryName: "Seafood", Description: null },
  { CategoryID: 4, CategoryName: "Empty", Description: "No products" },
];

function product(
  ProductID: number,
  ProductName: string | null,
  UnitPrice: string,
  UnitsInStock: number | null,
  Discontinued: boolean,
  CategoryID: number | null,
  extra: Row = {},
): Row {
  return {
    ProductID,
    ProductName,
    UnitPrice,
    UnitsInStock,
    Discontinued,
    CategoryID,
    Released: null,
    CreatedAt: null,
    Weight: null,
    OpensAt: null,
    Code: null,
    Tags: null,
    Photo: null,
    ...extra,
  };
}

/** The products (canonical values). */
export const PRODUCTS: readonly Row[] = [
  product(1, "Chai", "18.00", 39, false, 1, {
    Released: "2020-01-15",
    CreatedAt: new Date("2024-01-01T00:00:00.000Z"),
    Weight: 1.5,
    OpensAt: "08:00:00",
    Code: GUID_A,
    Tags: ["tea", { strong: true }],
    Photo: new Uint8Array([1, 2, 3]),
  }),
  product(2, "Chang", "19.00", 17, false, 1, {
    Released: "2020-02-29",
    CreatedAt: new Date("2024-01-01T23:59:59.999Z"),
    Weight: 2.5,
    OpensAt: "09:30:00.250",
  }),
  product(3, "Aniseed Syrup", "10.00", 13, false, 2, {
    CreatedAt: new Date("2023-12-31T22:00:00.000Z"),
  }),
  product(4, "Chef Anton's Cajun Seasoning", "22.00", 53, true, 2, { Released: "2021-06-30" }),
  product(5, "Grandma's Boysenberry Spread", "25.00", null, false, 2),
  product(6, "Ikura", "31.00", 31, true, 3, { Tags: { green: "tea" } }),
  product(7, "chai latte", "4.50", 0, false, 1, { Weight: -0.75 }),
  product(8, "Ärger Bräu", "12.50", 5, false, null),
  product(9, "Konbu", "6.00", 24, false, 3, { ProductName: "Konbu", Tags: "green tea" }),
  product(10, null, "2.50", 3, false, 3),
];

const CUSTOMERS = ["Alfreds", "Berglunds", "Centro"];

/** 50 orders. */
export const ORDERS: readonly Row[] = Array.from({ length: 50 }, (_, i) => {
  const id = i + 1;
  return {
    OrderID: id,
    CustomerName: CUSTOMERS[id % 3]!,
    OrderDate: new Date(Date.UTC(2024, id % 12, (id % 28) + 1, id % 24, 0, 0)),
    Freight: id % 10 === 0 ? null : (id * 1.25).toFixed(2),
  };
});

/** Two or three details per order (composite key OrderID + ProductID). */
export const ORDER_DETAILS: readonly Row[] = ORDERS.flatMap((order) => {
  const id = order.OrderID as number;
  const products = [...new Set([(id % 10) + 1, ((id * 3) % 10) + 1, ((id * 7) % 10) + 1])];
  return products.map((productId, j) => ({
    OrderID: id,
    ProductID: productId,
    Quantity: ((id + j * 5) % 12) + 1,
    Discount: j === 0 ? 0 : 0.05 * j,
  }));
});

/** Employees: 1 manages 2 and 3; 2 manages 4; 4 manages 5. */
export const EMPLOYEES: readonly Row[] = [
  { EmployeeID: 1, Name: "Boss", ManagerID: null },
  { EmployeeID: 2, Name: "Anna", ManagerID: 1 },
  { EmployeeID: 3, Name: "Bert", ManagerID: 1 },
  { EmployeeID: 4, Name: "Cleo", ManagerID: 2 },
  { EmployeeID: 5, Name: "Dan", ManagerID: 4 },
];

function createTable(db: DatabaseSync, meta: EntityMetadata): void {
  const columns = meta.fieldList.map((f) => {
    const notNull = f.nullable ? "" : " NOT NULL";
    return `${quoteIdentifier(f.column)} ${storeTypeOf(f.type)}${notNull}`;
  });
  const key = meta.key.map((k) => quoteIdentifier(meta.fields.get(k)!.column)).join(", ");
  db.exec(
    `CREATE TABLE ${quoteIdentifier(meta.table)} (${columns.join(", ")}, PRIMARY KEY (${key}))`,
  );
}

/** The test database with a counting executor. */
export interface Fixture extends Disposable {
  readonly db: DatabaseSync;
  readonly executor: SqliteExecutor;
  /** Statements run through the executor since the last {@linkcode Fixture.resetCalls}. */
  readonly calls: string[];
  resetCalls(): void;
  /** Reads with an OData query string or AST. */
  read(entityName: string, query: string | ODataQuery): ReadResult;
  /** The keys (first key field) a query returns, in result order. */
  ids(entityName: string, query: string | ODataQuery): unknown[];
  /** Runs a compiled statement and returns the number of changed rows. */
  run(statement: { sql: string; params: readonly unknown[] }): number;
}

/**
 * Opens a fresh in-memory database with the data above.
 *
 * @example
 * ```ts ignore
 * using fx = openFixture();
 * fx.ids("Products", "$filter=UnitPrice gt 20");
 * ```
 */
export function openFixture(): Fixture {
  const db = new DatabaseSync(":memory:");
  registerSqliteFunctions(db);
  const data: [string, readonly Row[]][] = [
    ["Categories", CATEGORIES],
    ["Products", PRODUCTS],
    ["Orders", ORDERS],
    ["Order_Details", ORDER_DETAILS],
    ["Employees", EMPLOYEES],
  ];
  for (const [name, rows] of data) {
    createTable(db, entity(name));
    for (const row of rows) {
      const { sql, params } = compileInsert(entity(name), [row]);
      db.prepare(sql).run(...(params as SqlValue[]));
    }
  }
  const calls: string[] = [];
  const executor: SqliteExecutor = {
    all(sql, params) {
      calls.push(sql);
      return db.prepare(sql).all(...(params as SqlValue[])) as Record<string, unknown>[];
    },
    iterate(sql, params) {
      calls.push(sql);
      return db.prepare(sql).iterate(...(params as SqlValue[])) as IterableIterator<
        Record<string, unknown>
      >;
    },
  };
  const toQuery = (query: string | ODataQuery) =>
    typeof query === "string" ? parseQuery(query) : query;
  const fixture: Fixture = {
    db,
    executor,
    calls,
    resetCalls: () => void calls.splice(0),
    read: (name, query) =>
      executeRead(executor, { entity: entity(name), schema: SCHEMA, query: toQuery(query) }),
    ids: (name, query) => {
      const key = entity(name).key[0]!;
      return fixture.read(name, query).rows.map((row) => row[key]);
    },
    run: ({ sql, params }) => Number(db.prepare(sql).run(...(params as SqlValue[])).changes),
    [Symbol.dispose]: () => db.close(),
  };
  return fixture;
}

/** Ids of rows satisfying a JS predicate (the oracle), in key order. */
export function expected(
  rows: readonly Row[],
  key: string,
  predicate: (row: Row) => boolean,
): unknown[] {
  return rows.filter(predicate).map((row) => row[key]);
}

/** The ids a `$filter` (text or AST) selects. */
export function filterIds(fx: Fixture, name: string, filter: string | Expression): unknown[] {
  const query: ODataQuery = { filter: typeof filter === "string" ? parseFilter(filter) : filter };
  return fx.ids(name, query);
}

/** Asserts that `fn` throws a coded error (optionally with a matching message) and returns it. */
export function assertCode(
  fn: () => unknown,
  code: string,
  message?: RegExp,
): ODataActiveRecordError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError, `expected a coded error, got ${error}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

/** An implicit property path AST. */
export const path = (...names: string[]): Expression => ({
  kind: "Path",
  root: "implicit",
  segments: names.map((name) => ({ kind: "Property", name })),
});

/** A literal AST. */
export const lit = (
  type: "string" | "int" | "null",
  value: string | number | null,
): Expression => ({
  kind: "Literal",
  type,
  value,
});
