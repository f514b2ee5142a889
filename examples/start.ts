// deno-lint-ignore-file no-console
/**
 * `deno task tour`: a tour of the OData query language (parse, inspect, print canonically) and
 * the Active Record API on Northwind.
 */

import { parseQuery, serializeQuery } from "../mod.ts";

const text = "$filter=UnitPrice gt 20 and contains(ProductName,'Ch')" +
  "&$select=ProductID,ProductName,UnitPrice&$expand=Category($select=CategoryName)" +
  "&$orderby=UnitPrice desc&$top=5&$count=true";
const query = parseQuery(text);
console.log("parsed:", JSON.stringify(query, null, 2));
console.log("canonical:", serializeQuery(query));
console.log();

await import("./basic-usage/main.ts");
