/**
 * Type-level cases: checked by `deno check` (tests/types/types_test.ts), never run. Each
 * `@ts-expect-error` line must be an error; the test also checks that every such line is an
 * error without its directive, so none of them passes by accident.
 */

import {
  defineEntities,
  type EntityDefinition,
  type EntityModel,
  type EntityNamespace,
  type EntityNamespaceManager,
  jsonOf,
  type RecordOf,
} from "../../../mod.ts";

/** True when A and B are the same type. */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2) ? true
  : false;
function assertType<_T extends true>(): void {}

declare const manager: EntityNamespaceManager;
const shop = manager.createNamespace("shop", {
  provider: { type: "sqlite", filePath: ":memory:" },
});

// §1: the record type comes from `fields`, without a generic and without `as const`.
const Product = shop.registerEntity("Products", {
  fields: {
    ProductID: { type: "integer", primaryKey: true },
    ProductName: { type: "string", required: true, maxLength: 40 },
    UnitPrice: { type: "decimal", precision: 19, scale: 4 },
    Rating: { type: "number" },
    InStock: { type: "boolean", defaultValue: false },
    Added: { type: "datetime" },
    Released: { type: "date" },
    OpensAt: { type: "time" },
    Ref: { type: "guid", nullable: false, defaultValue: () => crypto.randomUUID() },
    Meta: { type: "json" },
    Tags: { type: "json", of: jsonOf<string[]>(), defaultValue: () => [] },
    Picture: { type: "binary" },
    Size: { type: "string", enum: ["S", "M", "L"] },
  },
});
type Product = {
  ProductID: number;
  ProductName: string;
  UnitPrice: string | null;
  Rating: number | null;
  InStock: boolean;
  Added: Date | null;
  Released: string | null;
  OpensAt: string | null;
  Ref: string;
  Meta: unknown;
  Tags: string[];
  Picture: Uint8Array | null;
  Size: "S" | "M" | "L" | null;
};
type Found = NonNullable<Awaited<ReturnType<typeof Product.findById>>>;
assertType<Equal<Pick<Found, keyof Product>, Product>>();
assertType<Equal<Found, RecordOf<Product>>>();

// create: required fields without default that the store does not generate; nothing unknown.
await Product.create({ ProductName: "Chai" });
await Product.create({ ProductName: "Chai", UnitPrice: 18, Added: "2024-01-31T10:00:00Z" });
await Product.create({ ProductID: 7, ProductName: "Chai", Tags: ["tea"], Size: "M" });
// @ts-expect-error: ProductName is required
await Product.create({ UnitPrice: "18.00" });
// @ts-expect-error: no such field
await Product.create({ ProductName: "Chai", ProductNam: "x" });
// @ts-expect-error: a required field cannot be null
await Product.create({ ProductName: null });
// @ts-expect-error: a string field takes text
await Product.create({ ProductName: 42 });
// @ts-expect-error: "XL" is not one of the enum values
await Product.create({ ProductName: "Chai", Size: "XL" });
// @ts-expect-error: Tags holds string[]
await Product.create({ ProductName: "Chai", Tags: [1] });
await Product.createMany([{ ProductName: "Chai" }, { ProductName: "Chang", Rating: 4.5 }]);
// @ts-expect-error: every row is checked
await Product.createMany([{ ProductName: "Chai" }, { Rating: 4.5 }]);

// Field names and values in where/orderBy/select/update/upsert.
Product.where("UnitPrice", "gt", 20).orderBy("ProductName", "desc");
Product.where("ProductName", "contains", "Ch").where("InStock", true).where({ Rating: [4, 5] });
Product.where("ProductID", "in", [1, 2, 3]).where("Added", "ge", new Date()).where("Meta", null);
Product.where("ProductName", "EQ", "Chai").where((q) => q.where("Rating", ">", 3).or("Size", "S"));
// @ts-expect-error: typo in a field name
Product.where("ProductNam", "eq", "Chai");
// @ts-expect-error: an integer field compares with numbers
Product.where("ProductID", "eq", "one");
// @ts-expect-error: `in` takes an array
Product.where("ProductID", "in", 1);
// @ts-expect-error: the array's items fit the field
Product.where("ProductID", "in", ["a"]);
// @ts-expect-error: text operators need a text field
Product.where("ProductID", "contains", "1");
// @ts-expect-error: unknown operator
Product.where("ProductID", "like", 1);
// Operators in any letter case, as in OData 4.01.
Product.where("ProductName", "StartsWith", "C").where("Rating", "Ge", 3).or("ProductID", "IN", [1]);
// @ts-expect-error: unknown operator in any case
Product.where("ProductID", "LIKE", 1);
// @ts-expect-error: `In` takes an array too
Product.where("ProductID", "In", 1);
// @ts-expect-error: a comparison takes one value, not an array
Product.where("ProductID", "eq", [1]);
// @ts-expect-error: undefined is no value (null is)
Product.where("Rating", undefined);
// @ts-expect-error: typo in an object condition
Product.where({ ProductNam: "Chai" });
// @ts-expect-error: typo in a group
Product.where((q) => q.where("Ratin", 3));
// @ts-expect-error: typo in orderBy
Product.orderBy("Ratin");
// @ts-expect-error: typo in select
Product.select(["ProductName", "Ratin"]);
await Product.where("Rating", "lt", 2).update({ InStock: false });
// @ts-expect-error: typo in update
await Product.where("Rating", "lt", 2).update({ InStok: false });
// @ts-expect-error: InStock never holds null (it has a default)
await Product.updateById(1, { InStock: null });
await Product.upsert({ ProductID: 1, UnitPrice: 2 });
// @ts-expect-error: typo in upsert
await Product.upsert({ ProductID: 1, UnitPric: 2 });

// increment/decrement take numeric fields.
await Product.where("ProductID", 1).increment("Rating", 0.5);
await Product.incrementById(1, "Rating");
await Product.decrementById(1, "ProductID");
// @ts-expect-error: a text field cannot be incremented
await Product.where("ProductID", 1).increment("ProductName");
// @ts-expect-error: typo in the field of incrementById
await Product.incrementById(1, "Ratin");
// @ts-expect-error: the key is an integer
await Product.decrementById("one", "Rating");

// findById takes the key's type.
await Product.findById(1);
await Product.findById({ ProductID: 1 });
// @ts-expect-error: the key is an integer
await Product.findById("x");
// @ts-expect-error: no such key field
await Product.findById({ ProductId: 1 });

// Composite keys take an object of every key field.
const Detail = shop.registerEntity("Order_Details", {
  key: ["OrderID", "ProductID"],
  fields: {
    OrderID: { type: "integer" },
    ProductID: { type: "integer" },
    Quantity: { type: "integer", required: true },
  },
});
await Detail.findById({ OrderID: 1, ProductID: 2 });
// @ts-expect-error: every key field is needed
await Detail.findById({ OrderID: 1 });
// @ts-expect-error: a composite key is an object
await Detail.findById(1);
// Composite key parts are not generated: create needs them.
await Detail.create({ OrderID: 1, ProductID: 2, Quantity: 3 });
// @ts-expect-error: OrderID is part of a composite key
await Detail.create({ ProductID: 2, Quantity: 3 });

// select narrows the records' type.
const picked = await Product.select(["ProductID", "ProductName"]).find();
assertType<
  Equal<Pick<(typeof picked.data)[number], "ProductID" | "ProductName">, {
    ProductID: number;
    ProductName: string;
  }>
>();
// @ts-expect-error: UnitPrice was not selected
picked.data[0]?.UnitPrice;
const spread = await Product.select("ProductName", "Rating").findOne();
assertType<
  Equal<typeof spread extends infer R ? R extends { Rating: infer V } ? V : 0 : 0, number | null>
>();

// A hand-written generic that contradicts `fields` is a compile error.
shop.registerEntity<{ fields: { id: { type: "string"; primaryKey: true } } }>("Wrong", {
  // @ts-expect-error: the definition says integer, the generic says string
  fields: { id: { type: "integer", primaryKey: true } },
});
// @ts-expect-error: a record type is not a definition
shop.registerEntity<{ id: string }>("Wrong2", {
  fields: { id: { type: "integer", primaryKey: true } },
});

// A namespace typed by its definitions: getEntity returns typed models, expand the related type.
const entities = defineEntities({
  Categories: {
    fields: {
      CategoryID: { type: "integer", primaryKey: true },
      CategoryName: { type: "string", required: true },
    },
    relations: { Products: { type: "many", entity: "Products", foreignKey: "CategoryID" } },
  },
  Products: {
    fields: {
      ProductID: { type: "integer", primaryKey: true },
      ProductName: { type: "string", required: true },
      CategoryID: { type: "integer" },
    },
    relations: { Category: { type: "one", entity: "Categories", foreignKey: "CategoryID" } },
  },
});
const typed = manager.createNamespace("typed", {
  provider: { type: "sqlite", filePath: ":memory:" },
  entities,
});
const Typed = typed.getEntity("Products");
const withCategory = await Typed.expand("Category").find();
const category = withCategory.data[0]?.Category;
assertType<Equal<NonNullable<typeof category>["CategoryName"], string>>();
const categories = await typed.getEntity("Categories").expand(
  "Products",
  (q) => q.select(["ProductName"]).where("ProductName", "startswith", "C"),
).find();
const names: string[] = categories.data.flatMap((c) => c.Products.map((p) => p.ProductName));
// @ts-expect-error: only ProductName was selected in the expansion
categories.data[0]?.Products[0]?.ProductID;
await typed.getEntity("Products").where("Category/CategoryName", "eq", "Beverages").find();
// @ts-expect-error: typo in a path through a relation
await typed.getEntity("Products").where("Category/CategoryNam", "eq", "Beverages").find();
// @ts-expect-error: typo in an entity name of a typed namespace
typed.getEntity("Prodcts");
// @ts-expect-error: typo in a navigation property
Typed.expand("Categry");
await typed.transaction(async (tx) => {
  await tx.getEntity("Categories").create({ CategoryName: "Beverages" });
  // @ts-expect-error: CategoryName is required inside transactions too
  await tx.getEntity("Categories").create({});
});

// registerEntities chains to a typed namespace as well.
const chained = manager.createNamespace("chained", {
  provider: { type: "sqlite", filePath: ":memory:" },
}).registerEntities({ Notes: { fields: { id: { type: "integer", primaryKey: true } } } });
await chained.getEntity("Notes").create({});
// @ts-expect-error: unknown field
await chained.getEntity("Notes").create({ text: "x" });

// Records: fields typed on the record, reserved members keep their types.
const chai = await Product.findByIdOrFail(1);
chai.UnitPrice = "19.00";
chai.Tags.push("tea");
const dirty: boolean = chai.isDirty;
const price: string | null = chai.get("UnitPrice");
const byName: unknown = chai.get(["Unit", "Price"].join(""));
// @ts-expect-error: not a field
chai.Discount = 1;
// @ts-expect-error: a decimal holds text
chai.UnitPrice = 19;

// Untyped models (definitions typed as EntityDefinition, or getEntity on an untyped namespace)
// accept any names, and typed models can be passed where untyped ones are expected.
const Untyped = shop.getEntity("Anything");
Untyped.where("whatever", "eq", 1).orderBy("other");
const asUntyped: EntityModel = Product;
const asUntypedToo: EntityModel = Typed;

// A definition kept in a variable with `satisfies` types the model too; one typed as the
// wide EntityDefinition gives an untyped model.
const noteDefinition = {
  fields: { id: { type: "integer", primaryKey: true }, text: { type: "string", required: true } },
} satisfies EntityDefinition;
const Note = shop.registerEntity("Notes", noteDefinition);
await Note.create({ text: "x" });
// @ts-expect-error: text is required
await Note.create({});
const wide: EntityDefinition = noteDefinition;
await shop.registerEntity("Wide", wide).create({ anything: 1 });

// A typed namespace passes where an untyped one is expected; untyped models fit typed ones.
const plain: EntityNamespace = typed;
let kept: typeof Product | undefined;
await shop.transaction((tx) => {
  kept = tx.getEntity("Products");
  return Promise.resolve();
});

export { asUntyped, asUntypedToo, byName, dirty, kept, names, plain, price };
