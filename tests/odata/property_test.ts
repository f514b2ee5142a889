/**
 * Property-based tests of the OData parser and serializer with fast-check:
 *
 * 1. Round trips: random expression ASTs (every node kind the parser produces) satisfy
 *    `parseFilter(serializeFilter(ast))` deep-equals `ast`, and random `ODataQuery` objects
 *    satisfy `parseQuery(serializeQuery(q))` deep-equals `q`.
 * 2. Robustness: random text — arbitrary strings, full-Unicode strings, strings assembled from
 *    OData tokens, and mutations of valid queries — never crashes `parseFilter`/`parseQuery`: they
 *    return, or throw `ODataSyntaxError` / `QueryLimitError`; anything else fails.
 *
 * Runs with a fixed seed (tests/odata/fc_params.ts); `FC_SEED`, `FC_PATH` replay a failure found by
 * `deno task fuzz`, and `FC_RUNS` scales the number of runs. The run counts keep `deno task test`
 * fast; `deno task fuzz` runs these properties with fresh seeds and several times the runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { ODataSyntaxError, QueryLimitError } from "../../src/errors/errors.ts";
import type {
  BinaryOperator,
  CanonicalFunction,
  ComputeItem,
  ExpandItem,
  Expression,
  LiteralNode,
  ODataQuery,
  OrderByItem,
  PathExpression,
  PathSegment,
  SearchExpression,
  SelectItem,
  Transformation,
} from "../../src/odata/ast.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";
import { serializeFilter } from "../../src/odata/serializer/expression.ts";
import { serializeQuery } from "../../src/odata/serializer/query.ts";
import { fcParams } from "./fc_params.ts";
import { FUNCTION_ARITY, selectItem } from "./helpers.ts";

const params = fcParams;

// ---------------------------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------------------------

/** fast-check v4 records have a null prototype unless told otherwise. */
const NP = { noNullPrototype: true } as const;

const lit = (
  type: LiteralNode["type"],
  value: LiteralNode["value"],
  enumType?: string,
): LiteralNode =>
  enumType === undefined
    ? { kind: "Literal", type, value }
    : { kind: "Literal", type, value, enumType };

const pad = (n: number, width: number) => String(n).padStart(width, "0");
const digits = (min: number, max: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) =>
    d.join("")
  );

const dateText = fc.record({
  year: fc.integer({ min: 1, max: 9999 }),
  month: fc.integer({ min: 1, max: 12 }),
  day: fc.integer({ min: 1, max: 28 }),
}, NP).map(({ year, month, day }) => `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`);

const timeText = fc.record({
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.integer({ min: 0, max: 59 }),
  second: fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined }),
  fraction: fc.option(digits(1, 7), { nil: undefined }),
}, NP).map(({ hour, minute, second, fraction }) =>
  `${pad(hour, 2)}:${pad(minute, 2)}` +
  (second === undefined ? "" : `:${pad(second, 2)}${fraction === undefined ? "" : `.${fraction}`}`)
);

const offsetText = fc.oneof(
  fc.constant("Z"),
  fc.record({
    sign: fc.constantFrom("+", "-"),
    hour: fc.integer({ min: 0, max: 14 }),
    minute: fc.constantFrom(0, 30, 45),
  }, NP).map(({ sign, hour, minute }) => `${sign}${pad(hour, 2)}:${pad(minute, 2)}`),
);

const durationText = fc.record({
  negative: fc.boolean(),
  days: fc.option(fc.nat(400), { nil: undefined }),
  hours: fc.option(fc.nat(23), { nil: undefined }),
  minutes: fc.option(fc.nat(59), { nil: undefined }),
  seconds: fc.option(fc.tuple(fc.nat(59), fc.option(digits(1, 4), { nil: undefined })), {
    nil: undefined,
  }),
}, NP).map(({ negative, days, hours, minutes, seconds }) => {
  let time = "";
  if (hours !== undefined) time += `${hours}H`;
  if (minutes !== undefined) time += `${minutes}M`;
  if (seconds !== undefined) {
    time += `${seconds[0]}${seconds[1] === undefined ? "" : `.${seconds[1]}`}S`;
  }
  const day = days === undefined && time === "" ? "0D" : days === undefined ? "" : `${days}D`;
  return `${negative ? "-" : ""}P${day}${time === "" ? "" : `T${time}`}`;
});

const hex = (n: number) =>
  fc.array(fc.constantFrom(..."0123456789abcdef"), { minLength: n, maxLength: n }).map((a) =>
    a.join("")
  );
const guidText = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((parts) => parts.join("-"));

const base64url = fc.uint8Array({ maxLength: 24 }).map((bytes) => {
  let s = btoa(String.fromCharCode(...bytes));
  s = s.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return s;
});

const coord = fc.tuple(fc.integer({ min: -180, max: 180 }), fc.integer({ min: -90, max: 90 }))
  .map(([x, y]) => `${x} ${y}`);
const geoText = fc.tuple(
  fc.constantFrom(0, 4326),
  fc.oneof(
    coord.map((c) => `Point(${c})`),
    fc.array(coord, { minLength: 2, maxLength: 4 }).map((cs) => `LineString(${cs.join(",")})`),
    fc.array(coord, { minLength: 3, maxLength: 4 }).map((cs) =>
      `Polygon((${cs.join(",")},${cs[0]}))`
    ),
  ),
).map(([srid, wkt]) => `SRID=${srid};${wkt}`);

const TWO_53 = 2n ** 53n;
const MAX_INT64 = 2n ** 63n - 1n;

const intLiteral = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.integer({ min: -2147483648, max: 2147483647 }).map((n) =>
      lit("int", n === 0 ? 0 : n)
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.bigInt({ min: TWO_53 + 2n, max: MAX_INT64 }),
      fc.bigInt({ min: -MAX_INT64 - 1n, max: -TWO_53 - 2n }),
    ).map((n) => lit("int", n)),
  },
);

const decimalLiteral = fc.oneof(
  fc.tuple(fc.boolean(), fc.nat(1_000_000), digits(1, 6))
    .map(([neg, whole, frac]) => lit("decimal", `${neg ? "-" : ""}${whole}.${frac}`)),
  // Integers beyond Int64 are decimals (kept as text).
  fc.tuple(fc.boolean(), fc.bigInt({ min: MAX_INT64 + 2n, max: 10n ** 30n }))
    .map(([neg, n]) => lit("decimal", `${neg ? "-" : ""}${n}`)),
);

const doubleLiteral = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0))
    .map((d) => lit("double", d)),
  fc.constantFrom(Infinity, -Infinity, NaN).map((d) => lit("double", d)),
);

const stringLiteral = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ maxLength: 12 }),
  fc.constantFrom("", "'", "''", "O'Neil", "a b", "%20", "&", "(", ")", "\u00e9t\u00e9"),
).map((s) => lit("string", s));

const ENUM_TYPES = ["Model.Color", "NS.Sub.Pattern"] as const;
const enumLiteral = fc.tuple(
  fc.constantFrom(...ENUM_TYPES),
  fc.oneof(
    fc.uniqueArray(fc.constantFrom("Red", "Green", "Blue", "Solid"), { minLength: 1, maxLength: 3 })
      .map((a) => a.join(",")),
    fc.nat(1000).map(String),
  ),
).map(([type, value]) => lit("enum", value, type));

const literal: fc.Arbitrary<LiteralNode> = fc.oneof(
  fc.constant(lit("null", null)),
  fc.boolean().map((b) => lit("boolean", b)),
  intLiteral,
  decimalLiteral,
  doubleLiteral,
  stringLiteral,
  dateText.map((t) => lit("date", t)),
  fc.tuple(dateText, timeText, offsetText).map(([d, t, o]) =>
    lit("datetimeoffset", `${d}T${t}${o}`)
  ),
  timeText.map((t) => lit("timeofday", t)),
  durationText.map((t) => lit("duration", t)),
  guidText.map((t) => lit("guid", t)),
  base64url.map((t) => lit("binary", t)),
  enumLiteral,
  geoText.map((t) => lit("geography", t)),
  geoText.map((t) => lit("geometry", t)),
);

/** Literals that may appear in an `in` list (primitive, not geo). */
const listItem = fc.oneof(
  intLiteral,
  stringLiteral,
  decimalLiteral,
  dateText.map((t) => lit("date", t)),
  guidText.map((t) => lit("guid", t)),
  fc.boolean().map((b) => lit("boolean", b)),
);

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

const PROPERTIES = [
  "Name",
  "Price",
  "Rating",
  "Category",
  "Items",
  "Tags",
  "Address",
  "City",
  "ID",
  "Größe",
  "_x1",
];
const TYPES = ["Model.VipCustomer", "Edm.String", "Edm.Int32", "NS.Sub.Type"];
const FUNCTIONS = ["Model.MostExpensive", "NS.Sub.Fn"];
const PARAMS = ["Year", "p", "Kind"];

const BINARY_OPERATORS: readonly BinaryOperator[] = [
  "or",
  "and",
  "eq",
  "ne",
  "gt",
  "ge",
  "lt",
  "le",
  "add",
  "sub",
  "mul",
  "div",
  "divby",
  "mod",
];

const CALLS = Object.entries(FUNCTION_ARITY).filter(([name]) => name !== "isdefined").flatMap((
  [name, arities],
) => arities.map((arity) => ({ name: name as CanonicalFunction, arity })));

const property = fc.constantFrom(...PROPERTIES).map((name): PathSegment => ({
  kind: "Property",
  name,
}));
const typeCast = fc.constantFrom(...TYPES.filter((t) => !t.startsWith("Edm.")))
  .map((type): PathSegment => ({ kind: "TypeCast", type }));
/** A path of properties, as `groupby`, `from` and custom aggregates take. */
const propertyPath = fc.array(fc.constantFrom(...PROPERTIES), { minLength: 1, maxLength: 2 })
  .map((names): PathExpression => ({
    kind: "Path",
    root: "implicit",
    segments: names.map((name) => ({ kind: "Property", name })),
  }));
const fromSteps = fc.array(
  fc.record({ path: propertyPath, method: fc.constantFrom("sum", "max", "average") }, NP),
  { minLength: 1, maxLength: 2 },
);
/** Annotation terms: qualified ones may start a path; a bare one there would read as an alias. */
const QUALIFIED_TERMS = ["Core.Messages", "Measures.ISOCurrency", "NS.Sub.Term"];
const annotation = (terms: readonly string[]) =>
  fc.tuple(
    fc.constantFrom(...terms),
    fc.option(fc.constantFrom("Reporting", "Q1"), { nil: undefined }),
  )
    .map(([term, qualifier]): PathSegment =>
      qualifier === undefined
        ? { kind: "Annotation", term }
        : { kind: "Annotation", term, qualifier }
    );

/** Arbitrary expressions at `depth` levels below, with `scope` lambda variables in scope. */
const memo = new Map<string, fc.Arbitrary<Expression>>();

function expression(depth: number, scope: number, aliases = true): fc.Arbitrary<Expression> {
  const key = `${depth}:${scope}:${aliases}`;
  const cached = memo.get(key);
  if (cached) return cached;
  const made = makeExpression(depth, scope, aliases);
  memo.set(key, made);
  return made;
}

function path(depth: number, scope: number, aliases: boolean): fc.Arbitrary<PathExpression> {
  const sub = depth > 0 ? expression(depth - 1, scope, aliases) : literal;
  const keySegment = fc.oneof(
    listItem.map((value): PathSegment => ({ kind: "Key", values: [{ value }] })),
    fc.tuple(listItem, listItem).map(([a, b]): PathSegment => ({
      kind: "Key",
      values: [{ name: "OrderID", value: a }, { name: "ProductID", value: b }],
    })),
  );
  const functionSegment = fc.tuple(
    fc.constantFrom(...FUNCTIONS),
    fc.uniqueArray(fc.constantFrom(...PARAMS), { maxLength: 2 }),
    fc.array(sub, { minLength: 2, maxLength: 2 }),
  ).map(([name, names, values]): PathSegment => ({
    kind: "Function",
    name,
    args: names.map((n, i) => ({ name: n, value: values[i] ?? lit("null", null) })),
  }));
  const filterSegment = sub.map((predicate): PathSegment => ({ kind: "FilterSegment", predicate }));
  const middle = fc.array(
    fc.oneof(
      { weight: 4, arbitrary: property },
      { weight: 1, arbitrary: typeCast },
      { weight: 1, arbitrary: annotation([...QUALIFIED_TERMS, "Currency"]) },
      { weight: depth > 0 ? 1 : 0, arbitrary: filterSegment },
    ),
    { maxLength: 3 },
  );
  // A collection step (a property or a $filter segment) may take a key predicate.
  const steps = fc.tuple(middle, fc.option(keySegment, { nil: undefined }), middle).map((
    [a, key, b],
  ) => {
    const last = a.at(-1)?.kind;
    return key === undefined || (last !== "Property" && last !== "FilterSegment")
      ? [...a, ...b]
      : [...a, key, ...b];
  });
  const inner = scope + 1;
  const variable = `x${scope}`;
  const lambda = depth > 0
    ? fc.oneof(
      fc.constantFrom("any" as const).map((operator): PathSegment => ({
        kind: "Lambda",
        operator,
      })),
      fc.tuple(
        fc.constantFrom("any" as const, "all" as const),
        expression(depth - 1, inner, aliases),
      )
        .map(([operator, predicate]): PathSegment => ({
          kind: "Lambda",
          operator,
          variable,
          predicate,
        })),
    )
    : fc.constant<PathSegment>({ kind: "Lambda", operator: "any" });
  const count = depth > 0
    ? fc.oneof(
      fc.constant<PathSegment>({ kind: "Count" }),
      expression(depth - 1, scope, aliases).map((filter): PathSegment => ({
        kind: "Count",
        filter,
      })),
      search.map((s): PathSegment => ({ kind: "Count", search: s })),
    )
    : fc.constant<PathSegment>({ kind: "Count" });
  const aggregateSegment = depth > 0
    ? fc.oneof(
      fc.tuple(
        sub,
        fc.constantFrom("sum", "average", "countdistinct", "Custom.median"),
        fc.option(fromSteps, { nil: undefined }),
      ).map(([expression, method, from]): PathSegment => ({
        kind: "AggregateSegment",
        aggregate: from === undefined
          ? { kind: "AggregateExpression", expression, method }
          : { kind: "AggregateExpression", expression, method, from },
      })),
      fc.option(fromSteps, { nil: undefined }).map((from): PathSegment => ({
        kind: "AggregateSegment",
        aggregate: from === undefined
          ? { kind: "AggregateCount" }
          : { kind: "AggregateCount", from },
      })),
      propertyPath.map((p): PathSegment => ({
        kind: "AggregateSegment",
        aggregate: { kind: "AggregateCustom", path: p },
      })),
    )
    : fc.constant<PathSegment>({ kind: "AggregateSegment", aggregate: { kind: "AggregateCount" } });
  const tail = fc.option(fc.oneof(lambda, count, aggregateSegment), { nil: undefined, freq: 3 });
  const head = fc.oneof(
    { weight: 6, arbitrary: property.map((p) => [p]) },
    { weight: 1, arbitrary: annotation(QUALIFIED_TERMS).map((a) => [a]) },
    {
      weight: 1,
      arbitrary: typeCast.map((t) => [t, { kind: "Property", name: "Name" } as PathSegment]),
    },
    { weight: depth > 0 ? 1 : 0, arbitrary: functionSegment.map((f) => [f]) },
  );
  const segments = fc.tuple(head, steps, tail).map(([h, s, t]) => {
    const all = [...h, ...s];
    // Lambdas and $count follow a property, cast or function step.
    return t === undefined ? all : [...all, t];
  });
  const roots: fc.Arbitrary<PathExpression>[] = [
    segments.map((segs) => ({ kind: "Path", root: "implicit", segments: segs })),
    fc.tuple(
      fc.constantFrom("$it" as const, "$this" as const),
      fc.option(segments, { nil: undefined }),
    )
      .map(([root, segs]) => ({ kind: "Path", root, segments: segs ?? [] })),
    segments.map((segs) => ({ kind: "Path", root: "$root", segments: segs })),
    segments.map((segs) => ({ kind: "Path", root: "$these", segments: segs })),
  ];
  if (scope > 0) {
    // Inside a lambda, paths mostly start at one of the variables in scope.
    const variablePath = fc.tuple(fc.nat(scope - 1), fc.option(segments, { nil: undefined }))
      .map(([v, segs]): PathExpression => ({
        kind: "Path",
        root: "variable",
        variable: `x${v}`,
        segments: segs ?? [],
      }));
    roots.push(variablePath, variablePath, variablePath);
  }
  return fc.oneof(...roots);
}

function makeExpression(depth: number, scope: number, aliases: boolean): fc.Arbitrary<Expression> {
  const leaves: fc.Arbitrary<Expression>[] = [
    literal,
    path(0, scope, aliases),
  ];
  if (aliases) {
    leaves.push(
      fc.constantFrom("p1", "alias", "x_2").map((name): Expression => ({ kind: "Alias", name })),
    );
  }
  if (depth === 0) return fc.oneof(...leaves);
  const sub = expression(depth - 1, scope, aliases);
  const binary = fc.tuple(fc.constantFrom(...BINARY_OPERATORS), sub, sub).map((
    [operator, left, right],
  ): Expression => ({ kind: "Binary", operator, left, right }));
  const inList = fc.tuple(
    sub,
    fc.oneof(fc.constant([]), fc.array(listItem, { minLength: 2, maxLength: 4 })),
  ).map(([left, items]): Expression => ({
    kind: "Binary",
    operator: "in",
    left,
    right: { kind: "List", items },
  }));
  const has = fc.tuple(path(0, scope, aliases), enumLiteral).map(([left, right]): Expression => ({
    kind: "Binary",
    operator: "has",
    left,
    right,
  }));
  const not = sub.map((operand): Expression => ({ kind: "Unary", operator: "not", operand }));
  // `-(5)` is a negation of a literal (only `-5` is a negative literal).
  const negate = fc.oneof(
    path(0, scope, aliases),
    fc.constant<Expression>({ kind: "Call", name: "now", args: [] }),
    intLiteral,
    decimalLiteral,
    doubleLiteral,
    sub,
  )
    .map((operand): Expression => ({ kind: "Unary", operator: "negate", operand }));
  const call = fc.constantFrom(...CALLS).chain(({ name, arity }) =>
    fc.array(sub, { minLength: arity, maxLength: arity }).map((args): Expression => ({
      kind: "Call",
      name,
      args,
    }))
  );
  const isdefined = path(0, scope, aliases).map((p): Expression => ({
    kind: "Call",
    name: "isdefined",
    args: [p],
  }));
  const typeFunction = fc.tuple(
    fc.constantFrom("cast" as const, "isof" as const),
    fc.option(sub, { nil: null }),
    fc.constantFrom(...TYPES),
  ).map(([name, operand, type]): Expression => ({ kind: "TypeFunction", name, operand, type }));
  const caseExpr = fc.array(fc.record({ when: sub, then: sub }, NP), { minLength: 1, maxLength: 3 })
    .map((branches): Expression => ({ kind: "Case", branches }));
  return fc.oneof(
    { weight: 3, arbitrary: fc.oneof(...leaves) },
    { weight: 2, arbitrary: path(depth, scope, aliases) },
    { weight: 4, arbitrary: binary },
    { weight: 1, arbitrary: inList },
    { weight: 1, arbitrary: has },
    { weight: 1, arbitrary: not },
    { weight: 1, arbitrary: negate },
    { weight: 2, arbitrary: call },
    { weight: 1, arbitrary: isdefined },
    { weight: 1, arbitrary: typeFunction },
    { weight: 1, arbitrary: caseExpr },
    { weight: 1, arbitrary: bareList },
    { weight: 1, arbitrary: json(path(0, scope, aliases)) },
  );
}

/** An expression placed in generated JSON data; {@linkcode jsonNode} moves it to `expressions`. */
class Embedded {
  readonly expression: Expression;
  constructor(expression: Expression) {
    this.expression = expression;
  }
}

/**
 * JSON data of a `Json` node: objects, arrays, strings, numbers, booleans, null, and embedded
 * expressions that have no JSON form (paths, dates). `keys` are the object keys to use.
 */
function jsonData(
  embedded: fc.Arbitrary<Expression>,
  keys: fc.Arbitrary<string>,
): fc.Arbitrary<unknown> {
  return fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => n === 0 ? 0 : n),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter((d) =>
        !Object.is(d, -0)
      ),
      fc.string({ unit: "binary", maxLength: 8 }),
      fc.boolean(),
      fc.constant(null),
      embedded.map((e) => new Embedded(e)),
      dateText.map((t) => new Embedded(lit("date", t))),
      fc.array(tie("v"), { maxLength: 3 }),
      fc.dictionary(keys, tie("v"), { maxKeys: 3, noNullPrototype: true }),
    ),
  })).v;
}

/**
 * The `Json` node of generated data: embedded expressions move to `expressions` (depth first, in
 * the order the data enumerates) and leave `null` in their slots.
 */
function jsonNode(data: unknown): Expression {
  const expressions: { path: (string | number)[]; expression: Expression }[] = [];
  const split = (v: unknown, path: (string | number)[]): unknown => {
    if (v instanceof Embedded) {
      expressions.push({ path, expression: v.expression });
      return null;
    }
    if (Array.isArray(v)) return v.map((item, i) => split(item, [...path, i]));
    if (typeof v === "object" && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = split(item, [...path, k]);
      return out;
    }
    return v;
  };
  const value = split(data, []);
  return expressions.length === 0 ? { kind: "Json", value } : { kind: "Json", value, expressions };
}

const JSON_KEYS = fc.oneof(
  fc.constantFrom("a", "Street", "@odata.id", "no property name", "@something", "", "kind", "1"),
  fc.string({ unit: "binary", maxLength: 6 }).filter((k) => k !== "__proto__"),
);

/** A `Json` node: an object, or an array holding at least one array or object. */
function json(
  embedded: fc.Arbitrary<Expression>,
  keys: fc.Arbitrary<string> = JSON_KEYS,
): fc.Arbitrary<Expression> {
  const data = jsonData(embedded, keys);
  const object = fc.dictionary(keys, data, { maxKeys: 4, noNullPrototype: true });
  const array = fc.tuple(
    fc.array(data, { maxLength: 2 }),
    fc.oneof(object, fc.array(data, { maxLength: 2 })),
  )
    .map(([items, nested]) => [...items, nested]);
  return fc.oneof(object, array).map(jsonNode);
}

/** A list outside `in` (`["a","b"] eq Names`, `hassubset(Names,[1,2])`). */
const bareList = fc.array(listItem, { maxLength: 4 }).map((items): Expression => ({
  kind: "List",
  items,
}));

// ---------------------------------------------------------------------------------------------
// $search and queries
// ---------------------------------------------------------------------------------------------

const searchWord = fc.constantFrom(
  "blue",
  "green",
  "2x4",
  "brand-new",
  "Daniel's",
  "%",
  "café",
  "a*",
  "AND",
  "OR",
  "NOT",
);
const search: fc.Arbitrary<SearchExpression> = fc.letrec<{ s: SearchExpression }>((tie) => ({
  s: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    searchWord.map((text): SearchExpression => ({ kind: "SearchTerm", text, phrase: false })),
    fc.constantFrom("blue green", "x", 'a "quoted" word').map((text): SearchExpression => ({
      kind: "SearchTerm",
      text,
      phrase: true,
    })),
    tie("s").map((operand): SearchExpression => ({ kind: "SearchNot", operand })),
    fc.tuple(fc.constantFrom("AND" as const, "OR" as const), tie("s"), tie("s")).map((
      [operator, left, right],
    ): SearchExpression => ({ kind: "SearchBinary", operator, left, right })),
  ),
})).s;

const filterExpr = expression(4, 0);
/**
 * In a query string an alias without a definition (`@p` with no `@p=...`) is null, so expressions
 * inside queries have no `Alias` nodes.
 */
const queryFilterExpr = expression(3, 0, false);
const smallExpr = expression(1, 0, false);
const simplePath = fc.array(fc.constantFrom(...PROPERTIES), { minLength: 1, maxLength: 2 })
  .map((names): PathExpression => ({
    kind: "Path",
    root: "implicit",
    segments: names.map((name) => ({ kind: "Property", name })),
  }));

const orderby = fc.array(
  fc.record(
    { expression: smallExpr, direction: fc.constantFrom("asc" as const, "desc" as const) },
    NP,
  ),
  { minLength: 1, maxLength: 3 },
) as fc.Arbitrary<OrderByItem[]>;

const compute = fc.array(
  fc.record({ expression: smallExpr, alias: fc.constantFrom("Total", "Tax", "X1") }, NP),
  { minLength: 1, maxLength: 2 },
) as fc.Arbitrary<ComputeItem[]>;

const select = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.array(fc.constantFrom(...PROPERTIES), { minLength: 1, maxLength: 2 }),
    },
    { weight: 1, arbitrary: fc.constantFrom(["*"], ["Model.*"], ["Model.VipCustomer", "Name"]) },
  ).map((path): SelectItem => selectItem(...path)),
  { minLength: 1, maxLength: 4 },
);

/** Nested query options of `$expand` (depth-limited). */
function expandItems(depth: number): fc.Arbitrary<ExpandItem[]> {
  const options = fc.record(
    {
      filter: smallExpr,
      select,
      orderby,
      top: fc.nat(1000),
      skip: fc.nat(1000),
      count: fc.boolean(),
      search,
      levels: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant("max" as const)),
      ...(depth > 0 ? { expand: expandItems(depth - 1) } : {}),
    },
    { requiredKeys: [], noNullPrototype: true },
  ) as fc.Arbitrary<ODataQuery>;
  const nav = fc.array(fc.constantFrom("Items", "Category", "Orders", "Model.VipCustomer"), {
    minLength: 1,
    maxLength: 2,
  })
    .filter((p) => !p.at(-1)?.includes("."));
  const item = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(nav, fc.option(options, { nil: undefined })).map((
        [path, opts],
      ): ExpandItem =>
        opts === undefined || Object.keys(opts).length === 0 ? { path } : { path, options: opts }
      ),
    },
    { weight: 1, arbitrary: nav.map((path): ExpandItem => ({ path, ref: true })) },
    { weight: 1, arbitrary: nav.map((path): ExpandItem => ({ path, count: true })) },
    { weight: 1, arbitrary: fc.constant<ExpandItem>({ path: ["*"] }) },
  );
  return fc.array(item, { minLength: 1, maxLength: 3 });
}

const aggregate = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant("AggregateExpression" as const),
      expression: simplePath as fc.Arbitrary<Expression>,
      method: fc.constantFrom("sum", "min", "max", "average", "countdistinct", "Custom.median"),
      alias: fc.constantFrom("Total", "Avg", "N"),
    }, NP),
    fc.record({
      kind: fc.constant("AggregateCount" as const),
      alias: fc.constantFrom("Count", "C"),
    }, NP),
  ),
  { minLength: 1, maxLength: 3 },
).map((items): Transformation => ({ kind: "Aggregate", items }));

const transformation: fc.Arbitrary<Transformation> = fc.oneof(
  smallExpr.map((expression): Transformation => ({ kind: "Filter", expression })),
  search.map((s): Transformation => ({ kind: "Search", search: s })),
  fc.nat(1000).map((count): Transformation => ({ kind: "Top", count })),
  fc.nat(1000).map((count): Transformation => ({ kind: "Skip", count })),
  orderby.map((items): Transformation => ({ kind: "OrderBy", items })),
  compute.map((items): Transformation => ({ kind: "Compute", items })),
  fc.constant<Transformation>({ kind: "Identity" }),
  aggregate,
  fc.tuple(
    fc.array(simplePath, { minLength: 1, maxLength: 3 }),
    fc.option(aggregate, { nil: undefined }),
  )
    .map(([paths, agg]): Transformation => ({
      kind: "GroupBy",
      groupings: paths.map((path) => ({ kind: "GroupProperty", path })),
      transformations: agg === undefined ? [] : [agg],
    })),
);

const query: fc.Arbitrary<ODataQuery> = fc.record(
  {
    filter: queryFilterExpr,
    select,
    expand: expandItems(2),
    orderby,
    top: fc.nat(100000),
    skip: fc.nat(1_000_000),
    count: fc.boolean(),
    search,
    compute,
    apply: fc.array(transformation, { minLength: 1, maxLength: 3 }),
    skiptoken: fc.constantFrom("abc123", "Start@Next:From?=Here!"),
  },
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<ODataQuery>;

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

Deno.test("property: parseFilter(serializeFilter(ast)) deep-equals ast", () => {
  fc.assert(
    fc.property(filterExpr, (ast) => {
      const text = serializeFilter(ast);
      assert.deepStrictEqual(parseFilter(text), ast, text);
    }),
    params(5000),
  );
});

Deno.test('property: Json objects whose data has a "kind" key round-trip', () => {
  // Plain JSON data such as {"kind":"Literal","type":"int","value":1} must stay data.
  const kindKeys = fc.constantFrom("kind", "type", "value", "name", "segments", "root");
  const kinds = fc.constantFrom("Literal", "Path", "Alias", "Binary", "List", "Json", "other");
  const data = fc.dictionary(kindKeys, fc.oneof(kinds, fc.integer(), fc.constant(null)), {
    minKeys: 1,
    maxKeys: 4,
    noNullPrototype: true,
  }).map((value): Expression => ({
    kind: "Json",
    value: { ...value, kind: value.kind ?? "Literal" },
  }));
  fc.assert(
    fc.property(data, (ast) => {
      let text: string;
      try {
        text = serializeFilter(ast);
      } catch (error) {
        throw new Error(`serializeFilter crashed on ${JSON.stringify(ast)}: ${error}`);
      }
      assert.deepStrictEqual(parseFilter(text), ast, text);
    }),
    params(500),
  );
  // Pure JSON data stays JSON data through parse and serialize, also where a nested object looks
  // like an AST node ({"kind":"Alias","name":"x"} must not come back as the alias @x).
  const node = fc.tuple(kinds, fc.constantFrom("x", "Name", "1")).map(([kind, name]) => ({
    kind,
    name,
  }));
  const nested = fc.tuple(
    fc.array(node, { minLength: 1, maxLength: 2 }),
    fc.option(node, { nil: undefined }),
  )
    .map(([items, single]) => ({ a: items, ...(single === undefined ? {} : { b: single }) }));
  fc.assert(
    fc.property(nested, (data) => {
      const text = JSON.stringify(data);
      const printed = serializeFilter(parseFilter(text));
      assert.deepStrictEqual(JSON.parse(printed), data, `${text} → ${printed}`);
    }),
    params(500),
  );
});

Deno.test("property: literals of every type round-trip", () => {
  fc.assert(
    fc.property(literal, (ast) => {
      const text = serializeFilter(ast);
      assert.deepStrictEqual(parseFilter(text), ast, text);
    }),
    params(5000),
  );
});

Deno.test("property: parseQuery(serializeQuery(q)) deep-equals q", () => {
  fc.assert(
    fc.property(query, (q) => {
      const text = serializeQuery(q);
      assert.deepStrictEqual(parseQuery(text), q, text);
    }),
    params(1500),
  );
});

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

/** Calls `fn` and accepts a result or an OData syntax/limit error; anything else propagates. */
function noCrash(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof ODataSyntaxError) {
      assert.equal(typeof error.position, "number");
      assert.ok(error.position >= 0, `position ${error.position} >= 0`);
      assert.ok(Array.isArray(error.expected), "expected is an array");
      return;
    }
    if (error instanceof QueryLimitError) return;
    throw error;
  }
}

const FILTER_TOKENS = [
  " ",
  " ",
  " ",
  "(",
  ")",
  ",",
  "/",
  ":",
  "'",
  "''",
  '"',
  "[",
  "]",
  "{",
  "}",
  "-",
  "@p",
  "$it",
  "$this",
  "$root",
  "$count",
  "$filter(",
  "Name",
  "Items",
  "x",
  "d",
  "Model.Vip",
  "Model.F(",
  "a=",
  "=",
  "eq",
  "ne",
  "gt",
  " and ",
  " or ",
  "not ",
  " in ",
  " has ",
  " add ",
  " sub ",
  " mul ",
  " div ",
  " divby ",
  " mod ",
  "1",
  "-1",
  "1.5",
  "1e10",
  "2.0E-3",
  "INF",
  "-INF",
  "NaN",
  "true",
  "false",
  "null",
  "'abc'",
  "'O''N'",
  "2024-01-31",
  "2024-01-31T10:00:00Z",
  "10:00:00",
  "duration'P1DT2H'",
  "binary'AAE='",
  "01234567-89ab-cdef-0123-456789abcdef",
  "Model.Color'Red'",
  "geography'SRID=4326;Point(1 2)'",
  "geometry'",
  "any(",
  "all(",
  "any()",
  "x:",
  "contains(",
  "substring(",
  "now()",
  "tolower(",
  "cast(",
  "isof(",
  "Edm.String",
  "case(",
  "true:",
  "%20",
  "%27",
  "%",
  "\\",
  "\u00e9",
  "\ud83d\ude00",
  "\ud800",
  "\t",
  "\n",
  "#",
  "&",
  ";",
  "$search=",
  "$filter=",
  "$expand=",
  "$select=",
  "$top=",
  "*",
  "$levels=",
  "$ref",
  "@",
  "9999999999999999999999",
  // OData 4.01 spellings and the aggregation/annotation extensions
  " EQ ",
  " And ",
  "NOT ",
  "TOLOWER(",
  "ANY(",
  "@Core.Messages",
  "/@Measures.Currency",
  "#Q",
  "$these",
  "/aggregate(",
  " with sum",
  " from ",
  "isdefined(",
  '{"kind":"Alias","name":"x"}',
  '{"a":',
];

const QUERY_TOKENS = [
  "$filter=",
  "$select=",
  "$expand=",
  "$orderby=",
  "$top=",
  "$skip=",
  "$count=",
  "$search=",
  "$compute=",
  "$apply=",
  "$format=",
  "$skiptoken=",
  "$levels=",
  "filter=",
  "&",
  "&",
  "=",
  ";",
  "(",
  ")",
  ",",
  "/",
  " ",
  "%20",
  "%26",
  "%3B",
  "%28",
  "%",
  "%E2%82%AC",
  "%FF",
  "Name",
  "Items",
  "*",
  "$ref",
  "$count",
  "asc",
  "desc",
  "true",
  "false",
  "5",
  "-1",
  "max",
  "Price gt 5",
  "'a'",
  '"p"',
  "NOT",
  "AND",
  "OR",
  "aggregate(",
  "groupby((",
  "Amount with sum as Total",
  "$count as C",
  "rollup(",
  "filter(",
  "top(",
  "identity",
  "concat(",
  "@p=",
  "@p",
  "#",
  "+",
  "\u00e9",
  "%23",
  "@Core.Messages",
  "$these/aggregate($count)",
  "Items/$filter(",
  "isdefined(Name)",
];

const fromTokens = (tokens: readonly string[]) =>
  fc.array(fc.constantFrom(...tokens), { maxLength: 30 }).map((parts) => parts.join(""));

/** Valid text with random edits (insertions, deletions, replacements) to reach deep states. */
function mutated(valid: fc.Arbitrary<string>, tokens: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.nat(3), fc.option(fc.constantFrom(...tokens), { nil: "" }));
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let out = text;
    for (const [at, remove, insert] of edits) {
      const i = out.length === 0 ? 0 : at % (out.length + 1);
      out = out.slice(0, i) + insert + out.slice(i + remove);
    }
    return out;
  });
}

const validFilterText = filterExpr.map((e) => {
  try {
    return serializeFilter(e);
  } catch {
    return "";
  }
});
const validQueryText = query.map((q) => {
  try {
    return serializeQuery(q);
  } catch {
    return "";
  }
});

Deno.test("fuzz: parseFilter never crashes on arbitrary strings", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => noCrash(() => parseFilter(s))),
    params(5000),
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => noCrash(() => parseFilter(s))),
    params(5000),
  );
});

Deno.test("fuzz: parseFilter never crashes on token soup and mutated filters", () => {
  fc.assert(
    fc.property(fromTokens(FILTER_TOKENS), (s) => noCrash(() => parseFilter(s))),
    params(5000),
  );
  fc.assert(
    fc.property(mutated(validFilterText, FILTER_TOKENS), (s) => noCrash(() => parseFilter(s))),
    params(5000),
  );
});

Deno.test("fuzz: parseQuery never crashes on arbitrary strings", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => noCrash(() => parseQuery(s))),
    params(5000),
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => noCrash(() => parseQuery(s))),
    params(5000),
  );
});

Deno.test("fuzz: parseQuery never crashes on token soup and mutated queries", () => {
  fc.assert(
    fc.property(
      fromTokens([...QUERY_TOKENS, ...FILTER_TOKENS]),
      (s) => noCrash(() => parseQuery(s)),
    ),
    params(2000),
  );
  fc.assert(
    fc.property(
      mutated(validQueryText, [...QUERY_TOKENS, ...FILTER_TOKENS]),
      (s) => noCrash(() => parseQuery(s)),
    ),
    params(2000),
  );
});

Deno.test("fuzz: deep nesting ends in a limit or syntax error, never a stack overflow", () => {
  const openers = fc.constantFrom(
    "(",
    "not ",
    "-",
    "tolower(",
    "Items/any(x:",
    "[",
    '{"a":',
    "cast(",
    "case(true:",
    "A/$count($filter=",
  );
  const deep = fc.tuple(
    fc.array(openers, { minLength: 1, maxLength: 3 }),
    fc.integer({ min: 1, max: 6000 }),
  )
    .map(([parts, n]) => parts.join("").repeat(n).slice(0, 16_000) + "x");
  fc.assert(fc.property(deep, (s) => noCrash(() => parseFilter(s))), params(300));
  const deepQuery = fc.tuple(
    fc.constantFrom(
      "A($expand=",
      "A($select=B($filter=",
      "$apply=groupby((",
      "$filter=(",
      "$search=(",
    ),
    fc.integer({ min: 1, max: 3000 }),
  ).map(([part, n]) => `$expand=${part.repeat(n)}`.slice(0, 16_000));
  fc.assert(fc.property(deepQuery, (s) => noCrash(() => parseQuery(s))), params(300));
});

Deno.test("fuzz: small limits only ever produce limit or syntax errors", () => {
  const limits = fc.record({
    maxLength: fc.integer({ min: 0, max: 200 }),
    maxNodes: fc.integer({ min: 0, max: 30 }),
    maxDepth: fc.integer({ min: 0, max: 6 }),
    maxExpandDepth: fc.integer({ min: 0, max: 3 }),
    maxLevels: fc.integer({ min: 0, max: 3 }),
    maxInListLength: fc.integer({ min: 0, max: 3 }),
    maxTop: fc.integer({ min: 0, max: 10 }),
  }, NP);
  fc.assert(
    fc.property(validFilterText, limits, (s, l) => noCrash(() => parseFilter(s, { limits: l }))),
    params(2000),
  );
  fc.assert(
    fc.property(validQueryText, limits, (s, l) => noCrash(() => parseQuery(s, { limits: l }))),
    params(2000),
  );
});

Deno.test("fuzz: parseQuery never crashes on URLSearchParams", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom(...QUERY_TOKENS, "x", "@p"), fromTokens(FILTER_TOKENS)), {
        maxLength: 5,
      }),
      (pairs) => noCrash(() => parseQuery(new URLSearchParams(pairs))),
    ),
    params(3000),
  );
});

Deno.test("property: lone surrogates in strings survive serializeFilter and become U+FFFD in URLs", () => {
  const surrogates = fc.array(
    fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00"),
    ),
    { minLength: 1, maxLength: 5 },
  ).map((parts) => parts.join(""));
  fc.assert(
    fc.property(surrogates, (value) => {
      const ast: Expression = {
        kind: "Binary",
        operator: "eq",
        left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "Name" }] },
        right: lit("string", value),
      };
      assert.deepStrictEqual(parseFilter(serializeFilter(ast)), ast);
      // A URL carries UTF-8, which cannot hold a lone surrogate: it becomes U+FFFD, and nothing
      // else changes.
      const expected = { ...ast, right: lit("string", value.toWellFormed()) };
      assert.deepStrictEqual(parseQuery(serializeQuery({ filter: ast })).filter, expected);
    }),
    params(2000),
  );
});

Deno.test("fuzz: whatever the parser accepts serializes to text that parses to the same AST", () => {
  const roundTripFilter = (s: string) => {
    let ast: Expression;
    try {
      ast = parseFilter(s);
    } catch {
      return; // rejections are covered by the no-crash properties
    }
    const text = serializeFilter(ast);
    assert.deepStrictEqual(parseFilter(text), ast, `${s} → ${text}`);
  };
  // Inputs found by this property earlier, kept as fixed examples that run first.
  fc.assert(fc.property(fromTokens(FILTER_TOKENS), roundTripFilter), {
    ...params(2000),
    examples: [["Items/Category(OrderID=1 ,ProductID=2)"], ["A/B(x=1,y=2)"]],
  });
  fc.assert(fc.property(mutated(validFilterText, FILTER_TOKENS), roundTripFilter), params(2000));
  const roundTripQuery = (s: string) => {
    // A URL carries UTF-8: lone surrogates become U+FFFD by design (tested separately).
    if (!s.isWellFormed()) return;
    let q: ODataQuery;
    try {
      q = parseQuery(s);
    } catch {
      return;
    }
    const text = serializeQuery(q);
    assert.deepStrictEqual(parseQuery(text), q, `${s} → ${text}`);
  };
  fc.assert(fc.property(fromTokens([...QUERY_TOKENS, ...FILTER_TOKENS]), roundTripQuery), {
    ...params(2000),
    examples: [["="], ["=x"], ["$filter=Items/Category(OrderID=1%20,ProductID=2)%20eq%20null"]],
  });
  fc.assert(
    fc.property(mutated(validQueryText, [...QUERY_TOKENS, ...FILTER_TOKENS]), roundTripQuery),
    params(2000),
  );
});
