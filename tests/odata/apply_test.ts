import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { ODataSyntaxError } from "../../src/errors/errors.ts";
import type { Expression, Transformation } from "../../src/odata/ast.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";
import { serializeQuery } from "../../src/odata/serializer/query.ts";
import { int, path, yamlCanRun } from "./helpers.ts";

function gt(left: Expression, right: Expression): Expression {
  return { kind: "Binary", operator: "gt", left, right };
}

/** Parses `$apply=text`, checks the round trip and returns the transformations. */
function apply(text: string): readonly Transformation[] {
  const query = parseQuery(`$apply=${text}`);
  const serialized = serializeQuery(query);
  assert.deepStrictEqual(parseQuery(serialized), query, `${text}\n  → ${serialized}`);
  return query.apply!;
}

function failsAt(text: string, position: number): void {
  try {
    parseQuery(text);
  } catch (error) {
    assert.ok(error instanceof ODataSyntaxError, String(error));
    assert.equal(error.position, position, error.message);
    return;
  }
  assert.fail(`expected a syntax error in ${text}`);
}

Deno.test("$apply: aggregate", () => {
  assert.deepStrictEqual(
    apply("aggregate(Amount with sum as Total,$count as Count,Forecast,Sales/Forecast as F)"),
    [{
      kind: "Aggregate",
      items: [
        { kind: "AggregateExpression", expression: path("Amount"), method: "sum", alias: "Total" },
        { kind: "AggregateCount", alias: "Count" },
        { kind: "AggregateCustom", path: path("Forecast") },
        { kind: "AggregateCustom", path: path("Sales/Forecast"), alias: "F" },
      ],
    }],
  );
  assert.deepStrictEqual(
    apply("aggregate(Amount with sum from Time with average from Product/Name with Custom.m as X)"),
    [{
      kind: "Aggregate",
      items: [{
        kind: "AggregateExpression",
        expression: path("Amount"),
        method: "sum",
        alias: "X",
        from: [
          { path: path("Time"), method: "average" },
          { path: path("Product/Name"), method: "Custom.m" },
        ],
      }],
    }],
  );
  assert.deepStrictEqual(apply("aggregate(Amount mul 2 with countdistinct as D)"), [{
    kind: "Aggregate",
    items: [{
      kind: "AggregateExpression",
      expression: { kind: "Binary", operator: "mul", left: path("Amount"), right: int(2) },
      method: "countdistinct",
      alias: "D",
    }],
  }]);
});

Deno.test("$apply: aggregate forms kept as Generic raw items", () => {
  assert.deepStrictEqual(
    apply("aggregate(Amount with average from Time,Product/Name with max as A,Sales/$count as C)"),
    [{
      kind: "Generic",
      name: "aggregate",
      args: [
        { kind: "Raw", text: "Amount with average from Time,Product/Name with max as A" },
        { kind: "Raw", text: "Sales/$count as C" },
      ],
    }],
  );
  assert.equal(apply("aggregate(Forecast from Time as Stuff)")[0]!.kind, "Generic");
  assert.equal(apply("aggregate($count from Product with max as SalesCount)")[0]!.kind, "Generic");
});

Deno.test("$apply: groupby, rollup, filter, search, orderby, top, skip, compute, concat, identity", () => {
  assert.deepStrictEqual(
    apply(
      "groupby((rollup(Customer/Country,Customer/Name),Currency/Code),aggregate(Amount with sum as Total))/filter(Total gt 5)/orderby(Total desc,Currency/Code)/skip(1)/top(2)",
    ),
    [
      {
        kind: "GroupBy",
        groupings: [
          { kind: "Rollup", paths: [path("Customer/Country"), path("Customer/Name")] },
          { kind: "GroupProperty", path: path("Currency/Code") },
        ],
        transformations: [{
          kind: "Aggregate",
          items: [{
            kind: "AggregateExpression",
            expression: path("Amount"),
            method: "sum",
            alias: "Total",
          }],
        }],
      },
      { kind: "Filter", expression: gt(path("Total"), int(5)) },
      {
        kind: "OrderBy",
        items: [
          { expression: path("Total"), direction: "desc" },
          { expression: path("Currency/Code"), direction: "asc" },
        ],
      },
      { kind: "Skip", count: 1 },
      { kind: "Top", count: 2 },
    ],
  );
  assert.deepStrictEqual(apply("groupby((Self.DigitalProduct/Region))"), [{
    kind: "GroupBy",
    groupings: [{ kind: "GroupProperty", path: path("Self.DigitalProduct/Region") }],
    transformations: [],
  }]);
  assert.deepStrictEqual(apply("search(coffee OR tea)/compute(Amount as A, Cost as C)"), [
    {
      kind: "Search",
      search: {
        kind: "SearchBinary",
        operator: "OR",
        left: { kind: "SearchTerm", text: "coffee", phrase: false },
        right: { kind: "SearchTerm", text: "tea", phrase: false },
      },
    },
    {
      kind: "Compute",
      items: [{ expression: path("Amount"), alias: "A" }, { expression: path("Cost"), alias: "C" }],
    },
  ]);
  assert.deepStrictEqual(apply("search(')/top(1')/top(1)"), [
    { kind: "Search", search: { kind: "SearchTerm", text: ")/top(1", phrase: true } },
    { kind: "Top", count: 1 },
  ]);
  assert.deepStrictEqual(apply("concat(identity,filter(A gt 1)/top(1))"), [{
    kind: "Concat",
    sequences: [[{ kind: "Identity" }], [{ kind: "Filter", expression: gt(path("A"), int(1)) }, {
      kind: "Top",
      count: 1,
    }]],
  }]);
});

Deno.test("$apply: generic transformations", () => {
  assert.deepStrictEqual(apply("topcount(2,Amount)"), [{
    kind: "Generic",
    name: "topcount",
    args: [{ kind: "Expression", expression: int(2) }, {
      kind: "Expression",
      expression: path("Amount"),
    }],
  }]);
  assert.deepStrictEqual(apply("addnested(Sales,filter(Amount gt 3) as FilteredSales)"), [{
    kind: "Generic",
    name: "addnested",
    args: [
      { kind: "Expression", expression: path("Sales") },
      {
        kind: "Sequence",
        transformations: [{ kind: "Filter", expression: gt(path("Amount"), int(3)) }],
        alias: "FilteredSales",
      },
    ],
  }]);
  assert.deepStrictEqual(apply("nest(identity as A,top(1) as B)"), [{
    kind: "Generic",
    name: "nest",
    args: [
      { kind: "Sequence", transformations: [{ kind: "Identity" }], alias: "A" },
      { kind: "Sequence", transformations: [{ kind: "Top", count: 1 }], alias: "B" },
    ],
  }]);
  assert.deepStrictEqual(apply("outerjoin(Sales as Sale,top(1))"), [{
    kind: "Generic",
    name: "outerjoin",
    args: [
      { kind: "Expression", expression: path("Sales"), alias: "Sale" },
      { kind: "Sequence", transformations: [{ kind: "Top", count: 1 }] },
    ],
  }]);
  assert.deepStrictEqual(apply("Self.TopCountAndBalance(Count=1,Property='Total')"), [{
    kind: "Generic",
    name: "Self.TopCountAndBalance",
    args: [
      { kind: "Expression", expression: int(1), alias: "Count" },
      {
        kind: "Expression",
        expression: { kind: "Literal", type: "string", value: "Total" },
        alias: "Property",
      },
    ],
  }]);
  const descendants = apply("descendants($root/Orgs,OrgHierarchy,ID,filter(ID gt 1),3,keep start)");
  assert.deepStrictEqual(descendants, [{
    kind: "Generic",
    name: "descendants",
    args: [
      {
        kind: "Expression",
        expression: { kind: "Path", root: "$root", segments: [{ kind: "Property", name: "Orgs" }] },
      },
      { kind: "Raw", text: "OrgHierarchy" },
      { kind: "Expression", expression: path("ID") },
      {
        kind: "Sequence",
        transformations: [{ kind: "Filter", expression: gt(path("ID"), int(1)) }],
      },
      { kind: "Expression", expression: int(3) },
      { kind: "Raw", text: "keep start" },
    ],
  }]);
  const traverse = apply("traverse($root/Orgs,OrgHierarchy,ID,preorder,Name desc,ID)")[0]!;
  assert.ok(traverse.kind === "Generic");
  assert.deepStrictEqual(traverse.args.slice(3), [
    { kind: "Raw", text: "preorder" },
    { kind: "Raw", text: "Name desc,ID" },
  ]);
  const recursive = apply(
    "groupby((rolluprecursive($root/Orgs,OrgHierarchy,ID),Year),aggregate($count as N))",
  )[0]!;
  assert.deepStrictEqual(recursive, {
    kind: "Generic",
    name: "groupby",
    args: [
      { kind: "Raw", text: "(rolluprecursive($root/Orgs,OrgHierarchy,ID),Year)" },
      {
        kind: "Sequence",
        transformations: [{ kind: "Aggregate", items: [{ kind: "AggregateCount", alias: "N" }] }],
      },
    ],
  });
});

Deno.test("$apply: syntax errors", () => {
  failsAt("$apply=aggregate()", 17);
  failsAt("$apply=aggregate(Amount with sum)", 32);
  failsAt("$apply=aggregate(Amount with average from Time from Product/Name with max as A)", 47);
  failsAt("$apply=aggregate(Amount with sum from Time with average)", 55);
  failsAt("$apply=aggregate(Amount with average from Time as DailyAverage)", 47);
  failsAt("$apply=aggregate(Forecast from Time from Product/Name with average)", 66);
  failsAt("$apply=aggregate($count with sum as SalesCount)", 24);
  failsAt("$apply=aggregate(Amount with total as T)", 29);
  failsAt("$apply=groupby((Product/Self.DigitalProduct))", 43);
  failsAt("$apply=groupby((Country/@Core.GeometryFeature))", 24);
  failsAt(
    "$apply=ancestors($root/SalesOrganizations,SalesOrgHierarchy,Sales(4711)/ID,identity)",
    65,
  );
  failsAt(
    "$apply=ancestors($root/SalesOrganizations,SalesOrgHierarchy,ID,filter(contains(Name,'East')), filter(contains(Name,'Central')), 2)",
    94,
  );
  failsAt("$apply=concat(identity)", 22);
  failsAt("$apply=frobnicate(1)", 7);
  failsAt("$apply=filter(A gt 1)/", 22);
  failsAt("$apply=top(x)", 11);
  failsAt("$apply=descendants($root/Orgs,H,ID,aggregate($count as N))", 35);
});

/**
 * Negative aggregation test cases whose failure depends on the model (which names are
 * collections, primitive properties or custom aggregates): a model-free parser accepts them.
 */
const MODEL_DEPENDENT = new Set([
  "$apply=aggregate(Sales/Amount sub Sales/Cost with sum as TotalAmount)",
  "$apply=aggregate(Amount as Total)",
  "$apply=aggregate(Amount)",
  "$apply=aggregate(Amount from Time with average as DailyAverage)",
  "$apply=groupby((Product/Price/@Measures.ISOCurrency))",
  "$apply=groupby((Product/Price/Quantity))",
  "$apply=join(ShipTo as Detail,identity)",
  "$apply=groupby((Sales/Product/Name))",
  // `nest(Products)`: we report the non-transformation at 114, the ABNF tool at its end (122).
  "$apply=addnested(Products,addnested(Sales,filter(Amount gt 3) as FilteredSales) as Stuff,addnested(Suppliers,nest(Products)))",
]);

/**
 * Negative cases whose error is found inside a common expression: `Sales(` is read as a key
 * predicate by the ABNF tool (failing later, where `=` is due), as an unknown function here.
 */
const EXPRESSION_POSITION = new Set([
  "$apply=aggregate(Sales(Amount mul Product/TaxRate with sum as Tax))",
  "$apply=groupby((Name),aggregate(Sales($count as SalesCount)))",
]);

Deno.test({
  name: "$apply: the OASIS aggregation test cases",
  // The yaml package reads LOG_TOKENS/LOG_STREAM, so this needs --allow-env (as `deno task test`).
  ignore: !yamlCanRun(),
  fn: async () => {
    const url = new URL("./fixtures/odata-aggregation-testcases.yaml", import.meta.url);
    const data = parseYaml(await Deno.readTextFile(url)) as {
      TestCases: { Name: string; Rule: string; Input: string; FailAt?: number }[];
    };
    let count = 0;
    for (const test of data.TestCases) {
      if (test.Rule !== "queryOptions" || MODEL_DEPENDENT.has(test.Input)) continue;
      count++;
      if (EXPRESSION_POSITION.has(test.Input)) {
        assert.throws(() => parseQuery(test.Input), ODataSyntaxError, test.Name);
      } else if (test.FailAt !== undefined) {
        failsAt(test.Input, test.FailAt);
      } else {
        const query = parseQuery(test.Input);
        assert.deepStrictEqual(parseQuery(serializeQuery(query)), query, test.Name);
      }
    }
    assert.equal(count, 180 - MODEL_DEPENDENT.size);
  },
});
