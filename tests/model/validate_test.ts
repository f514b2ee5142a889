import assert from "node:assert/strict";
import { assertKnownField, keyFromValue, validateRecord } from "../../src/model/validate.ts";
import { type EntityDefinition, resolveEntity } from "../../src/model/schema.ts";
import {
  type FieldIssue,
  ODataActiveRecordError,
  ValidationError,
} from "../../src/errors/errors.ts";

let created = 0;
const products = resolveEntity("Products", {
  fields: {
    ProductID: { type: "integer", primaryKey: true },
    ProductName: { type: "string", required: true, maxLength: 40 },
    UnitPrice: { type: "decimal", precision: 10, scale: 2, defaultValue: "0" },
    Discontinued: { type: "boolean", nullable: false, defaultValue: false },
    Kind: { type: "string", enum: ["Beverages", "Condiments"] },
    Priority: { type: "integer", enum: [1, 2, 3] },
    CreatedAt: {
      type: "datetime",
      defaultValue: () => new Date(Date.UTC(2024, 0, 1, 0, 0, created++)),
    },
    ReleaseDate: { type: "date", formats: ["DD/MM/YYYY"] },
    Available: { type: "date" },
    Stock: { type: "integer", validate: (v) => (v as number) >= 0 || "must not be negative" },
    MinStock: { type: "integer" },
    MaxStock: {
      type: "integer",
      validate: (v, row) =>
        row.MinStock === undefined || (v as number) >= (row.MinStock as number) ||
        "must be at least MinStock",
    },
    Code: {
      type: "string",
      validate: (v) => v !== "x" && v !== "boom" ? true : v === "x" ? false : boom(),
    },
    Picture: { type: "binary" },
    SupplierID: { type: "integer" },
    Notes: { type: "string" },
  },
  relations: {
    Supplier: { type: "one", entity: "Suppliers", foreignKey: "SupplierID" },
    OrderDetails: { type: "many", entity: "Order_Details", foreignKey: "ProductID" },
  },
});

function boom(): never {
  throw new Error("validator exploded");
}

const orderDetails = resolveEntity("Order_Details", {
  key: ["OrderID", "ProductID"],
  fields: {
    OrderID: { type: "integer" },
    ProductID: { type: "integer" },
    Quantity: { type: "integer", required: true },
  },
});

function issuesOf(work: () => unknown): readonly FieldIssue[] {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${error}`);
    assert.equal(error.code, "VALIDATION_FAILED");
    assert.equal(error.status, 400);
    for (const issue of error.issues) {
      assert.ok(issue.reason.length > 0 && issue.suggestion.length > 0, JSON.stringify(issue));
    }
    return error.issues;
  }
  assert.fail("expected a ValidationError");
}

function issueFor(issues: readonly FieldIssue[], field: string): FieldIssue {
  const found = issues.find((i) => i.field === field);
  assert.ok(found, `no issue for ${field} in ${JSON.stringify(issues)}`);
  return found;
}

function invalidArgument(work: () => unknown, message?: RegExp): ODataActiveRecordError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError && !(error instanceof ValidationError));
    assert.equal(error.code, "INVALID_ARGUMENT");
    if (message) assert.match(error.message, message);
    return error;
  }
  assert.fail("expected INVALID_ARGUMENT");
}

Deno.test("create applies defaults and returns canonical values", () => {
  const row = validateRecord(products, { ProductName: "Chai", Stock: "12" }, "create");
  assert.equal(row.ProductName, "Chai");
  assert.equal(row.UnitPrice, "0.00");
  assert.equal(row.Discontinued, false);
  assert.equal(row.Stock, 12);
  assert.ok(row.CreatedAt instanceof Date);
  assert.ok(!("ProductID" in row), "auto-increment keys may be omitted");
  assert.ok(!("Notes" in row), "missing nullable fields are left out");
});

Deno.test("a defaultValue function is called once per row", () => {
  const first = validateRecord(products, { ProductName: "A" }, "create");
  const second = validateRecord(products, { ProductName: "B" }, "create");
  assert.notEqual((first.CreatedAt as Date).getTime(), (second.CreatedAt as Date).getTime());
});

Deno.test("given values win over defaults and are coerced", () => {
  const row = validateRecord(products, {
    ProductID: "7",
    ProductName: "Chang",
    UnitPrice: 19,
    Discontinued: "TRUE",
    Kind: "Beverages",
    Priority: "2",
    ReleaseDate: "31/01/2024",
    Available: "2024-02-29",
    CreatedAt: "2024-01-31T10:00:00+02:00",
    Notes: null,
    Unused: undefined,
  }, "create");
  assert.deepEqual(row, {
    ProductID: 7,
    ProductName: "Chang",
    UnitPrice: "19.00",
    Discontinued: true,
    Kind: "Beverages",
    Priority: 2,
    ReleaseDate: "2024-01-31",
    Available: "2024-02-29",
    CreatedAt: new Date("2024-01-31T08:00:00Z"),
    Notes: null,
  });
});

Deno.test("every failing field is reported in one ValidationError", () => {
  const issues = issuesOf(() =>
    validateRecord(products, {
      ProductName: 42,
      UnitPrice: "abc",
      Discontinued: "yes",
      Kind: "Beverage",
      Priority: 4,
      Stock: -1,
      Available: "01/02/2024",
      ProductNam: "x",
    }, "create")
  );
  assert.deepEqual(
    issues.map((i) => i.field).sort(),
    [
      "Available",
      "Discontinued",
      "Kind",
      "Priority",
      "ProductNam",
      "ProductName",
      "Stock",
      "UnitPrice",
    ],
  );
  assert.match(issueFor(issues, "ProductName").suggestion, /"42"/);
  assert.match(issueFor(issues, "Kind").suggestion, /Did you mean "Beverages"\?/);
  assert.match(issueFor(issues, "Priority").suggestion, /1, 2, 3/);
  assert.equal(issueFor(issues, "Stock").reason, "must not be negative");
  assert.match(issueFor(issues, "Available").suggestion, /formats/);
  assert.equal(
    issueFor(issues, "ProductNam").reason,
    "Unknown field 'ProductNam' on Products. Did you mean 'ProductName'?",
  );
  assert.equal(issueFor(issues, "UnitPrice").value, "abc");
});

Deno.test("the error message and suggestion list every field", () => {
  try {
    validateRecord(products, { ProductName: "x".repeat(41), UnitPrice: "1.234" }, "create");
    assert.fail("expected a ValidationError");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.match(error.message, /ProductName: .*41 characters long/);
    assert.match(error.message, /UnitPrice: .*3 decimal places/);
    assert.match(
      error.suggestion,
      /UnitPrice: Round it to 2 decimal place\(s\) first, e\.g\. "1\.23"/,
    );
  }
});

Deno.test("required and non-nullable fields: missing or null is an issue", () => {
  const missing = issuesOf(() => validateRecord(products, {}, "create"));
  assert.deepEqual(missing.map((i) => i.field), ["ProductName"]);
  assert.equal(missing[0]!.reason, "is required");
  assert.match(missing[0]!.suggestion, /Chai/);
  const nulls = issuesOf(() =>
    validateRecord(products, { ProductName: null, Discontinued: null, ProductID: null }, "create")
  );
  assert.deepEqual(nulls.map((i) => i.field).sort(), ["Discontinued", "ProductID", "ProductName"]);
  assert.match(issueFor(nulls, "ProductID").suggestion, /Omit ProductID/);
  assert.match(issueFor(nulls, "Discontinued").reason, /may not be null/);
  assert.deepEqual(
    issuesOf(() => validateRecord(products, { ProductName: null }, "update")).map((i) => i.field),
    ["ProductName"],
  );
});

Deno.test("composite keys must be given on create", () => {
  const issues = issuesOf(() => validateRecord(orderDetails, {}, "create"));
  assert.deepEqual(issues.map((i) => i.field), ["OrderID", "ProductID", "Quantity"]);
  assert.match(issueFor(issues, "OrderID").reason, /key/);
  assert.deepEqual(
    validateRecord(orderDetails, { OrderID: 1, ProductID: "2", Quantity: 3 }, "create"),
    { OrderID: 1, ProductID: 2, Quantity: 3 },
  );
});

Deno.test("update validates only the given fields and applies no defaults", () => {
  assert.deepEqual(validateRecord(products, { UnitPrice: 20, Notes: undefined }, "update"), {
    UnitPrice: "20.00",
  });
  assert.deepEqual(validateRecord(products, {}, "update"), {});
  assert.deepEqual(validateRecord(products, { Notes: null }, "update"), { Notes: null });
});

Deno.test("update refuses key changes unless allowKeyChange is set", () => {
  const issues = issuesOf(() =>
    validateRecord(products, { ProductID: 9, UnitPrice: "x" }, "update")
  );
  assert.deepEqual(issues.map((i) => i.field), ["ProductID", "UnitPrice"]);
  assert.match(issues[0]!.reason, /key of Products and cannot be changed/);
  assert.deepEqual(
    validateRecord(products, { ProductID: "9" }, "update", { allowKeyChange: true }),
    { ProductID: 9 },
  );
});

Deno.test("unknown fields name the closest field, or list the fields", () => {
  const issues = issuesOf(() =>
    validateRecord(products, { ProductName: "A", productname: "b", Zzzzzzzzzz: 1 }, "create")
  );
  assert.equal(issueFor(issues, "productname").suggestion, "Rename it to 'ProductName'.");
  const far = issueFor(issues, "Zzzzzzzzzz");
  assert.equal(far.reason, "Unknown field 'Zzzzzzzzzz' on Products.");
  assert.match(far.suggestion, /ProductID, ProductName, UnitPrice/);
});

Deno.test("navigation properties are refused as nested writes", () => {
  const issues = issuesOf(() =>
    validateRecord(
      products,
      { ProductName: "A", Supplier: { SupplierID: 1 }, OrderDetails: [] },
      "create",
    )
  );
  const supplier = issueFor(issues, "Supplier");
  assert.match(supplier.reason, /navigation property of Products; nested writes are not supported/);
  assert.match(supplier.suggestion, /set SupplierID/);
  assert.match(
    issueFor(issues, "OrderDetails").suggestion,
    /through Order_Details with ProductID set/,
  );
});

Deno.test("data must be a plain object", () => {
  class Row {
    ProductName = "A";
  }
  for (const data of [null, undefined, "A", 1, [], new Map(), new Row(), new Date()]) {
    const error = invalidArgument(() => validateRecord(products, data, "create"), /plain object/);
    assert.match(error.suggestion, /ProductID: 42/);
  }
  assert.deepEqual(
    validateRecord(products, Object.assign(Object.create(null), { UnitPrice: 1 }), "update"),
    { UnitPrice: "1.00" },
  );
  invalidArgument(() => validateRecord(products, {}, "upsert" as "create"), /write mode/);
});

Deno.test("validate hooks see the canonical row; false and throws become issues", () => {
  assert.deepEqual(
    validateRecord(products, { MinStock: "5", MaxStock: "10" }, "update"),
    { MinStock: 5, MaxStock: 10 },
  );
  const issues = issuesOf(() =>
    validateRecord(products, { MinStock: 5, MaxStock: 1, Code: "x", Notes: 3 }, "update")
  );
  assert.deepEqual(issues.map((i) => i.field), ["Notes", "MaxStock", "Code"]);
  assert.equal(issueFor(issues, "MaxStock").reason, "must be at least MinStock");
  assert.match(issueFor(issues, "Code").reason, /rejected by the field's validate function/);
  const thrown = issuesOf(() => validateRecord(products, { Code: "boom", Stock: -2 }, "update"));
  assert.match(issueFor(thrown, "Code").reason, /validator threw: validator exploded/);
  assert.equal(issueFor(thrown, "Stock").reason, "must not be negative");
  // Hooks do not run on null.
  assert.deepEqual(validateRecord(products, { Stock: null }, "update"), { Stock: null });
});

Deno.test("invalid or throwing defaults are reported as such", () => {
  const entity = resolveEntity("Things", {
    fields: {
      id: { type: "integer", primaryKey: true },
      size: { type: "integer", defaultValue: "big" },
      made: { type: "datetime", required: true, defaultValue: () => boom() },
      tag: { type: "string", nullable: false, defaultValue: null },
    },
  });
  const issues = issuesOf(() => validateRecord(entity, {}, "create"));
  assert.match(
    issueFor(issues, "size").reason,
    /^its default value is invalid: expected an integer/,
  );
  assert.match(issueFor(issues, "made").reason, /defaultValue function threw: validator exploded/);
  assert.match(issueFor(issues, "tag").reason, /its default value may not be null/);
});

Deno.test("enum membership is checked on canonical values", () => {
  const entity = resolveEntity("Prices", {
    fields: {
      id: { type: "integer", primaryKey: true },
      tier: { type: "decimal", scale: 2, enum: ["1.5", 3] },
      day: { type: "date", enum: ["2024-01-01"] },
    },
  });
  assert.deepEqual(
    validateRecord(entity, { tier: 1.5, day: new Date("2024-01-01T12:00:00Z") }, "update"),
    {
      tier: "1.50",
      day: "2024-01-01",
    },
  );
  assert.deepEqual(validateRecord(entity, { tier: "3.00" }, "update"), { tier: "3.00" });
  assert.deepEqual(
    issuesOf(() => validateRecord(entity, { tier: "2" }, "update")).map((i) => i.field),
    ["tier"],
  );
});

Deno.test("namespace date formats and the clock are passed through", () => {
  const options = {
    dateFormats: ["relative", "MM/DD/YYYY"] as const,
    now: () => new Date("2024-03-10T12:00:00Z"),
  };
  assert.deepEqual(
    validateRecord(
      products,
      { Available: "yesterday", ReleaseDate: "10/03/2024" },
      "update",
      options,
    ),
    { Available: "2024-03-09", ReleaseDate: "2024-03-10" }, // ReleaseDate keeps its own DD/MM/YYYY
  );
});

Deno.test("binary values are not echoed back in issues", () => {
  const issues = issuesOf(() =>
    validateRecord(products, { Picture: "***", Notes: new Uint8Array(2) }, "update")
  );
  assert.ok(!("value" in issueFor(issues, "Picture")));
  assert.ok(!("value" in issueFor(issues, "Notes")));
});

Deno.test("assertKnownField returns the field or throws UNKNOWN_FIELD with a suggestion", () => {
  assert.equal(assertKnownField(products, "ProductName").type, "string");
  try {
    assertKnownField(products, "ProductNam");
    assert.fail("expected UNKNOWN_FIELD");
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError);
    assert.equal(error.code, "UNKNOWN_FIELD");
    assert.equal(
      error.message,
      "Unknown field 'ProductNam' on Products. Did you mean 'ProductName'?",
    );
    assert.equal(error.suggestion, "Use 'ProductName'.");
    assert.equal(error.context.entity, "Products");
    assert.equal(error.context.field, "ProductNam");
    assert.ok((error.context.candidates as string[]).includes("ProductName"));
  }
  assert.throws(
    () => assertKnownField(products, "Supplier"),
    (error) =>
      error instanceof ODataActiveRecordError && error.code === "UNKNOWN_FIELD" &&
      /navigation property/.test(error.message) && /expand\('Supplier'\)/.test(error.suggestion),
  );
  assert.throws(
    () => assertKnownField(products, "Qwertyuiop"),
    (error) =>
      error instanceof ODataActiveRecordError &&
      error.message === "Unknown field 'Qwertyuiop' on Products." &&
      /ProductID, ProductName/.test(error.suggestion),
  );
});

Deno.test("keyFromValue converts single keys", () => {
  assert.deepEqual(keyFromValue(products, 42), { ProductID: 42 });
  assert.deepEqual(keyFromValue(products, "42"), { ProductID: 42 });
  assert.deepEqual(keyFromValue(products, { ProductID: 7n }), { ProductID: 7 });
  for (const key of [null, undefined, {}]) {
    invalidArgument(() => keyFromValue(products, key), /key value/);
  }
  const error = invalidArgument(
    () => keyFromValue(products, { ProductId: 1 }),
    /Did you mean 'ProductID'\?/,
  );
  assert.match(error.suggestion, /findById\(42\)/);
  const issues = issuesOf(() => keyFromValue(products, "abc"));
  assert.deepEqual(issues.map((i) => i.field), ["ProductID"]);
  const guids = resolveEntity(
    "Docs",
    { fields: { id: { type: "guid", primaryKey: true } } } as EntityDefinition,
  );
  assert.deepEqual(keyFromValue(guids, "{0F8FAD5B-D9CB-469F-A165-70867728950E}"), {
    id: "0f8fad5b-d9cb-469f-a165-70867728950e",
  });
  const days = resolveEntity("Days", { fields: { day: { type: "date", primaryKey: true } } });
  assert.deepEqual(keyFromValue(days, new Date("2024-01-31T10:00:00Z")), { day: "2024-01-31" });
});

Deno.test("keyFromValue requires every field of a composite key", () => {
  assert.deepEqual(keyFromValue(orderDetails, { ProductID: "11", OrderID: 10248 }), {
    OrderID: 10248,
    ProductID: 11,
  });
  const scalar = invalidArgument(
    () => keyFromValue(orderDetails, 10248),
    /composite key \(OrderID, ProductID\)/,
  );
  assert.match(scalar.suggestion, /findById\(\{ OrderID: 42, ProductID: 42 \}\)/);
  invalidArgument(() => keyFromValue(orderDetails, [10248, 11]), /composite key/);
  invalidArgument(() => keyFromValue(orderDetails, { OrderID: 1 }), /missing ProductID/);
  invalidArgument(
    () => keyFromValue(orderDetails, { OrderID: 1, ProductID: null }),
    /missing ProductID/,
  );
  invalidArgument(
    () => keyFromValue(orderDetails, { OrderID: 1, ProductID: 2, Quantity: 3 }),
    /not a key field/,
  );
  const issues = issuesOf(() => keyFromValue(orderDetails, { OrderID: "a", ProductID: 1.5 }));
  assert.deepEqual(issues.map((i) => i.field), ["OrderID", "ProductID"]);
});
