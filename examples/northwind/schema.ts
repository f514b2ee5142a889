/**
 * Entity definitions of the Northwind sample, named like the public Northwind V4 OData service
 * (`NorthwindModel`: entity sets `Products`, `Categories`, `Order_Details`, ... with PascalCase
 * properties and the service's navigation property names).
 *
 * Differences from the service, all forced by our field types or by the dump we ship
 * (see `data/README.md`): integer properties are `integer` (Edm.Int64) where the service has
 * Edm.Int32/Edm.Int16; `Order_Details.Discount` is `number` (Edm.Double, the service has
 * Edm.Single); the many-to-many `Employee.Territories` / `Territory.Employees` of the service is
 * exposed through the join entity set `EmployeeTerritories` instead; `CustomerDemographics` is
 * left out (the dump has no rows for it).
 *
 * Integer keys are `autoIncrement: false`: the sample's keys are part of the data and are stored
 * as given, so new rows must give their key too.
 *
 * @module
 */

import type { EntityDefinition, FieldDefinition } from "../../src/model/schema.ts";

const key = {
  type: "integer",
  primaryKey: true,
  autoIncrement: false,
} as const satisfies FieldDefinition;
const int = { type: "integer" } as const satisfies FieldDefinition;
/** Money: Edm.Decimal(19,4) in the service (SQL Server `money`). */
const money = { type: "decimal", precision: 19, scale: 4 } as const satisfies FieldDefinition;
/** The service exposes the SQL Server `datetime` columns as Edm.DateTimeOffset. */
const datetime = { type: "datetime" } as const satisfies FieldDefinition;
const str = (maxLength?: number): FieldDefinition =>
  maxLength === undefined ? { type: "string" } : { type: "string", maxLength };
const requiredStr = (maxLength: number): FieldDefinition => ({
  type: "string",
  maxLength,
  required: true,
});
/** An indexed foreign key column. */
const fk = (type: "integer" | "string", extra: Partial<FieldDefinition> = {}): FieldDefinition => ({
  type,
  index: true,
  ...extra,
});

/** Address block shared by customers, employees and suppliers. */
const address = {
  Address: str(60),
  City: str(15),
  Region: str(15),
  PostalCode: str(10),
  Country: str(15),
} as const satisfies Record<string, FieldDefinition>;

/**
 * The Northwind entities by entity set name, ready for `namespace.registerEntity(name, definition)`.
 * Table names are the entity set names.
 *
 * @example
 * ```ts
 * import { NORTHWIND_ENTITIES } from "./schema.ts";
 * Object.keys(NORTHWIND_ENTITIES).length; // 11
 * NORTHWIND_ENTITIES.Products?.relations?.Category; // { type: "one", entity: "Categories", foreignKey: "CategoryID" }
 * ```
 */
export const NORTHWIND_ENTITIES: Readonly<Record<string, EntityDefinition>> = Object.freeze({
  Categories: {
    table: "Categories",
    fields: {
      CategoryID: key,
      CategoryName: { ...requiredStr(15), index: true },
      Description: str(),
      Picture: { type: "binary" },
    },
    relations: {
      Products: { type: "many", entity: "Products", foreignKey: "CategoryID" },
    },
  },
  Suppliers: {
    table: "Suppliers",
    fields: {
      SupplierID: key,
      CompanyName: { ...requiredStr(40), index: true },
      ContactName: str(30),
      ContactTitle: str(30),
      ...address,
      Phone: str(24),
      Fax: str(24),
      HomePage: str(),
    },
    relations: {
      Products: { type: "many", entity: "Products", foreignKey: "SupplierID" },
    },
  },
  Products: {
    table: "Products",
    fields: {
      ProductID: key,
      ProductName: { ...requiredStr(40), index: true },
      SupplierID: fk("integer"),
      CategoryID: fk("integer"),
      QuantityPerUnit: str(20),
      UnitPrice: money,
      UnitsInStock: int,
      UnitsOnOrder: int,
      ReorderLevel: int,
      Discontinued: { type: "boolean", required: true },
    },
    relations: {
      Category: { type: "one", entity: "Categories", foreignKey: "CategoryID" },
      Supplier: { type: "one", entity: "Suppliers", foreignKey: "SupplierID" },
      Order_Details: { type: "many", entity: "Order_Details", foreignKey: "ProductID" },
    },
  },
  Customers: {
    table: "Customers",
    fields: {
      CustomerID: { type: "string", primaryKey: true, maxLength: 5 },
      CompanyName: { ...requiredStr(40), index: true },
      ContactName: str(30),
      ContactTitle: str(30),
      ...address,
      Phone: str(24),
      Fax: str(24),
    },
    relations: {
      Orders: { type: "many", entity: "Orders", foreignKey: "CustomerID" },
    },
  },
  Employees: {
    table: "Employees",
    fields: {
      EmployeeID: key,
      LastName: { ...requiredStr(20), index: true },
      FirstName: requiredStr(10),
      Title: str(30),
      TitleOfCourtesy: str(25),
      BirthDate: datetime,
      HireDate: datetime,
      ...address,
      HomePhone: str(24),
      Extension: str(4),
      Photo: { type: "binary" },
      Notes: str(),
      ReportsTo: fk("integer"),
      PhotoPath: str(255),
    },
    relations: {
      /** The manager (the employee `ReportsTo` points at). */
      Employee1: { type: "one", entity: "Employees", foreignKey: "ReportsTo" },
      /** The direct reports (employees whose `ReportsTo` is this employee). */
      Employees1: { type: "many", entity: "Employees", foreignKey: "ReportsTo" },
      Orders: { type: "many", entity: "Orders", foreignKey: "EmployeeID" },
      EmployeeTerritories: {
        type: "many",
        entity: "EmployeeTerritories",
        foreignKey: "EmployeeID",
      },
    },
  },
  Shippers: {
    table: "Shippers",
    fields: {
      ShipperID: key,
      CompanyName: requiredStr(40),
      Phone: str(24),
    },
    relations: {
      Orders: { type: "many", entity: "Orders", foreignKey: "ShipVia" },
    },
  },
  Orders: {
    table: "Orders",
    fields: {
      OrderID: key,
      CustomerID: fk("string", { maxLength: 5 }),
      EmployeeID: fk("integer"),
      OrderDate: { ...datetime, index: true },
      RequiredDate: datetime,
      ShippedDate: { ...datetime, index: true },
      ShipVia: fk("integer"),
      Freight: money,
      ShipName: str(40),
      ShipAddress: str(60),
      ShipCity: str(15),
      ShipRegion: str(15),
      ShipPostalCode: str(10),
      ShipCountry: str(15),
    },
    relations: {
      Customer: { type: "one", entity: "Customers", foreignKey: "CustomerID" },
      Employee: { type: "one", entity: "Employees", foreignKey: "EmployeeID" },
      Shipper: { type: "one", entity: "Shippers", foreignKey: "ShipVia" },
      Order_Details: { type: "many", entity: "Order_Details", foreignKey: "OrderID" },
    },
  },
  Order_Details: {
    table: "Order_Details",
    key: ["OrderID", "ProductID"],
    fields: {
      OrderID: { type: "integer" },
      ProductID: fk("integer"),
      UnitPrice: { ...money, required: true },
      Quantity: { type: "integer", required: true },
      Discount: { type: "number", required: true },
    },
    relations: {
      Order: { type: "one", entity: "Orders", foreignKey: "OrderID" },
      Product: { type: "one", entity: "Products", foreignKey: "ProductID" },
    },
  },
  Regions: {
    table: "Regions",
    fields: {
      RegionID: key,
      RegionDescription: requiredStr(50),
    },
    relations: {
      Territories: { type: "many", entity: "Territories", foreignKey: "RegionID" },
    },
  },
  Territories: {
    table: "Territories",
    fields: {
      TerritoryID: { type: "string", primaryKey: true, maxLength: 20 },
      TerritoryDescription: requiredStr(50),
      RegionID: fk("integer", { required: true }),
    },
    relations: {
      Region: { type: "one", entity: "Regions", foreignKey: "RegionID" },
      EmployeeTerritories: {
        type: "many",
        entity: "EmployeeTerritories",
        foreignKey: "TerritoryID",
      },
    },
  },
  EmployeeTerritories: {
    table: "EmployeeTerritories",
    key: ["EmployeeID", "TerritoryID"],
    fields: {
      EmployeeID: { type: "integer" },
      TerritoryID: fk("string", { maxLength: 20 }),
    },
    relations: {
      Employee: { type: "one", entity: "Employees", foreignKey: "EmployeeID" },
      Territory: { type: "one", entity: "Territories", foreignKey: "TerritoryID" },
    },
  },
});

/**
 * The entity set names in foreign-key order: every entity comes after the entities its `one`
 * relations point to (self references aside), so rows can be inserted in this order.
 *
 * @example
 * ```ts
 * import { NORTHWIND_LOAD_ORDER } from "./schema.ts";
 * NORTHWIND_LOAD_ORDER.indexOf("Orders") < NORTHWIND_LOAD_ORDER.indexOf("Order_Details"); // true
 * ```
 */
export const NORTHWIND_LOAD_ORDER: readonly string[] = Object.freeze([
  "Categories",
  "Suppliers",
  "Products",
  "Customers",
  "Employees",
  "Shippers",
  "Orders",
  "Order_Details",
  "Regions",
  "Territories",
  "EmployeeTerritories",
]);
