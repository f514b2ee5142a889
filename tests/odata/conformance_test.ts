// deno-lint-ignore-file no-console
/**
 * Conformance with the official OASIS OData ABNF test cases (`fixtures/`, unmodified).
 *
 * Every case whose `Rule` belongs to the query language — query options, expressions, literals —
 * runs against the real parser; URL/resource-path/header/context rules are excluded by rule.
 * Positive cases must parse; `FailAt` cases must be rejected with `ODataSyntaxError` or
 * `QueryLimitError` (or by a documented harness check below). The reported position must equal
 * `FailAt`, except for the cases listed in {@linkcode POSITION_DIFFERENCES} with the reason. The
 * first accepted case of every rule must parse to the tree pinned in conformance_trees.ts (so a
 * positive case proves what was parsed, not just that something was). One `Deno.test` per rule
 * lists its failing cases; a last test prints the table.
 *
 * Run with `--allow-read --allow-env`: the fixtures are read from disk, and the `yaml` package
 * reads the `LOG_TOKENS`/`LOG_STREAM` environment variables while parsing.
 *
 * ## Entry points by rule
 *
 * - Query-option rules (`filter`, `orderby`, `select`, `expand`, `search`, `compute`,
 *   `skiptoken`, `deltatoken`, `queryOptions`, `systemQueryOption`, `customQueryOption`, ...): the
 *   input is raw, percent-encoded query text (`$filter=...`), given unchanged to `parseQuery`,
 *   which decodes it and reports positions in the raw text. For the single-option rules the
 *   harness also checks that the option landed in its `ODataQuery` property.
 * - `searchExpr`: the raw input as the value of `$search=` through `parseQuery` (positions are
 *   shifted back by the 8 characters of `$search=`).
 * - Expression rules (`commonExpr`, `boolCommonExpr`, `firstMemberExpr`, ...): the input is
 *   percent-decoded by the harness (several inputs contain `%20`, `%27`, `%28`...), then parsed
 *   with `parseFilter`; positions are mapped back to the raw input. `anyExpr`/`allExpr` are lambda
 *   path segments, which the grammar only allows after a collection path, so they are parsed
 *   after `Products/`. Rule-specific node checks: `firstMemberExpr`/`propertyPathExpr` must give a
 *   `Path`, `notExpr` a `not`, `isofExpr`/`castExpr` a `TypeFunction`.
 * - Literal rules: parsed with `parseFilter`; the result must be a `Literal` of the rule's type.
 *   A result that is not (e.g. `INF` parses as a property path, `0` as an int) counts as a
 *   rejection at position 0 ("the input as a whole is not such a literal"). Without a type prefix,
 *   enum and duration literals (`'Yellow'`, `'P6DT23H'`) are lexically string literals; their type
 *   comes from the model, so `string` is accepted for `enumLiteral`/`durationLiteral`. Numeric
 *   rules accept every numeric literal type allowed by their ABNF (`decimalValue` allows integers,
 *   exponents, `INF`/`NaN`).
 * - `...Value` rules are the JSON-payload / CSDL forms (see {@linkcode PAYLOAD_RULES}): they are
 *   not percent-decoded, and the harness adds the strictness checks where payload syntax is
 *   narrower than URL syntax, which the parser is lenient about by design:
 *   1. no percent-encoding in payloads: a `%` is rejected at its position;
 *   2. `booleanValue` is lowercase `true`/`false` (URL literals are case-insensitive);
 *   3. payload values without a URL type prefix are given the prefix the URL form needs before
 *      parsing: `duration'...'` for `durationValue`, `Sales.Pattern'...'` for `enumValue`;
 *      `primitiveValue` tries, in order, the bare text, `binary'...'`, `geography'...'` and
 *      `Sales.Pattern'...'` (its ABNF alternatives), and passes if one parses to a literal.
 * - Identifier-like rules: `odataIdentifier` must parse to a one-segment property path of the
 *   same name; `entitySetName` is parsed as `$root/<name>`; `functionParameter` as
 *   `Model.ProductsByColor(<input>)`; `stringInUrl` (JSON strings, which occur inside JSON arrays
 *   and objects) as the single item of `[<input>]`.
 *
 * ## Constraints (model names)
 *
 * Some cases are decided by the model names in the file's `Constraints` section. The parser is
 * model-less, so the harness applies these checks on the parsed AST (see {@linkcode modelCheck}):
 * custom query option names must be listed under `customName` (`$search=more&more` makes `more` a
 * custom option); a qualified name used without parentheses must not be a function
 * (`Model.Available`); an aggregate used without `with` must be a listed `customAggregate`
 * (`aggregate(Amount)`, also before `from`: `aggregate(Amount from Time ...)`, an item the parser
 * keeps as `Raw` text); grouping paths must not step through collection-valued or primitive
 * properties; arithmetic in `aggregate` must not use a path through a collection-valued
 * navigation property; `join`/`outerjoin` need a collection-valued property. No case is excluded
 * for needing more of the model; the only excluded cases repeat `$format` (see
 * {@linkcode DUPLICATE_OPTION}). The summary lists every negative case that was rejected by a
 * harness check rather than by the parser: each depends on the rule's literal type, on payload
 * (not URL) syntax, or on the model names in `Constraints`, which a model-free parser cannot know.
 *
 * @module
 */

import assert from "node:assert/strict";
import { EXPECTED_TREES } from "./conformance_trees.ts";
import { tree } from "./tree.ts";
import { parse as parseYaml } from "yaml";
import { ODataSyntaxError, QueryLimitError } from "../../src/errors/errors.ts";
import type {
  AggregateItem,
  Expression,
  LiteralType,
  ODataQuery,
  PathExpression,
  Transformation,
} from "../../src/odata/ast.ts";
import { parseFilter } from "../../src/odata/parser/expression.ts";
import { parseQuery } from "../../src/odata/parser/query.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

interface TestCase {
  readonly Name: string;
  readonly Rule: string;
  readonly Input: string;
  readonly FailAt?: number;
  readonly Expect?: readonly string[];
}

interface Suite {
  readonly file: string;
  readonly constraints: Readonly<Record<string, readonly string[]>>;
  readonly cases: readonly TestCase[];
}

const FIXTURES = new URL("./fixtures/", import.meta.url);
const ABNF = "odata-abnf-testcases.yaml";
const AGGREGATION = "odata-aggregation-testcases.yaml";

function loadSuite(file: string): Suite {
  const doc = parseYaml(Deno.readTextFileSync(new URL(file, FIXTURES))) as {
    Constraints?: Record<string, string[] | null>;
    TestCases: TestCase[];
  };
  const constraints: Record<string, readonly string[]> = {};
  for (const [key, list] of Object.entries(doc.Constraints ?? {})) constraints[key] = list ?? [];
  return { file, constraints, cases: doc.TestCases };
}

const SUITES: readonly Suite[] = [loadSuite(ABNF), loadSuite(AGGREGATION)];

// ---------------------------------------------------------------------------------------------
// Exclusions
// ---------------------------------------------------------------------------------------------

const PATH_OR_HEADER = "resource path / header grammar, not query language";

/** Rules excluded as a whole, with the reason. */
const EXCLUDED_RULES: Readonly<Record<string, string>> = {
  odataUri: PATH_OR_HEADER,
  odataRelativeUri: PATH_OR_HEADER,
  resourcePath: PATH_OR_HEADER,
  context: PATH_OR_HEADER,
  header: PATH_OR_HEADER,
  "request-id": PATH_OR_HEADER,
  prefer: PATH_OR_HEADER,
  preference: PATH_OR_HEADER,
  includeAnnotationsPreference: PATH_OR_HEADER,
  maxpagesizePreference: PATH_OR_HEADER,
};

/** One excluded case, identified by file, rule and input; `name` is the case's `Name`. */
interface ExcludedCase {
  readonly file: string;
  readonly rule: string;
  readonly input: string;
  readonly name: string;
  readonly reason: string;
}

/**
 * Prose rule the ABNF cannot express: "The same system query option, irrespective of casing or
 * whether or not it is prefixed with a `$`, MUST NOT be specified more than once for any resource"
 * (OData 4.01 URL Conventions §5.1, System Query Options). The parser enforces it, so it rejects
 * these grammar-only positives.
 */
const DUPLICATE_OPTION =
  "repeats $format: forbidden by URL Conventions §5.1 prose, which the parser " +
  "enforces; the ABNF cannot express it";

/** Single cases excluded from included rules, each with the reason. */
const EXCLUDED_CASES: readonly ExcludedCase[] = [
  {
    file: ABNF,
    rule: "queryOptions",
    input: "$format=json&$Format=atom&$format=xml&$format=text/html",
    name: "5.1.8 Format",
    reason: DUPLICATE_OPTION,
  },
  {
    file: ABNF,
    rule: "queryOptions",
    input: "$format=JSON&$format=Atom&$format=XML&$format=text/html",
    name: "5.1.8 Format - value is case-insensitive",
    reason: DUPLICATE_OPTION,
  },
];

// ---------------------------------------------------------------------------------------------
// Helpers: decoding with a position map
// ---------------------------------------------------------------------------------------------

interface Decoded {
  readonly text: string;
  /** `map[i]` is the raw index of decoded char `i`; `map[text.length]` is the raw length. */
  readonly map: readonly number[];
}

/** Percent-decodes (UTF-8, `+` kept) with a decoded → raw position map. */
function percentDecode(raw: string): Decoded {
  const map: number[] = [];
  let text = "";
  let i = 0;
  while (i < raw.length) {
    if (raw[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
      const start = i;
      const bytes: number[] = [];
      while (raw[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
        bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
        i += 3;
      }
      const decoded = new TextDecoder().decode(new Uint8Array(bytes));
      let byte = 0;
      for (const ch of decoded) {
        const cp = ch.codePointAt(0) ?? 0;
        for (let u = 0; u < ch.length; u++) map.push(start + 3 * byte);
        byte += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      }
      text += decoded;
    } else {
      map.push(i);
      text += raw[i];
      i++;
    }
  }
  map.push(raw.length);
  return { text, map };
}

function rawPosition(decoded: Decoded, position: number): number {
  const i = Math.max(0, Math.min(position, decoded.map.length - 1));
  return decoded.map[i] ?? position;
}

// ---------------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------------

/** What the harness concluded for one input. */
type Verdict =
  | { readonly accepted: true }
  | {
    readonly accepted: false;
    /** Position in the raw input, when known. */
    readonly position: number | undefined;
    /** `ODataSyntaxError`, `QueryLimitError`, or `harness: <check>`. */
    readonly by: string;
    readonly message: string;
  };

const ACCEPTED: Verdict = { accepted: true };

/** A rejection by the harness (a strictness or model check). */
function harnessReject(check: string, position: number | undefined): Verdict {
  return { accepted: false, position, by: `harness: ${check}`, message: check };
}

/**
 * Runs `parse`; a syntax or limit error becomes a rejection with its position translated by
 * `toRaw`. Any other exception propagates: it is a crash and fails the case.
 */
/** The value of the last successful parse of the running case (for the expected-tree test). */
let lastParsed: unknown;

function attempt<T>(
  parse: () => T,
  toRaw: (position: number) => number,
): { value: T } | { verdict: Verdict } {
  try {
    const value = parse();
    lastParsed = value;
    return { value };
  } catch (error) {
    if (error instanceof ODataSyntaxError) {
      return {
        verdict: {
          accepted: false,
          position: toRaw(error.position),
          by: "ODataSyntaxError",
          message: error.message.split("\n")[0] ?? "",
        },
      };
    }
    if (error instanceof QueryLimitError) {
      return {
        verdict: {
          accepted: false,
          position: undefined,
          by: "QueryLimitError",
          message: error.message,
        },
      };
    }
    throw error;
  }
}

/** Parses an expression from percent-decoded text, with an optional wrapper around it. */
function parseExpressionCase(
  input: string,
  options: { decode?: boolean; prefix?: string; suffix?: string } = {},
): { value: Expression } | { verdict: Verdict } {
  const decoded = options.decode === false
    ? { text: input, map: [...Array(input.length + 1).keys()] }
    : percentDecode(input);
  const prefix = options.prefix ?? "";
  const text = prefix + decoded.text + (options.suffix ?? "");
  return attempt(
    () => parseFilter(text),
    (position) => rawPosition(decoded, Math.max(0, position - prefix.length)),
  );
}

function describe(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => typeof v === "bigint" || (typeof v === "number" && !Number.isFinite(v)) ? `${v}` : v,
  );
}

// ---------------------------------------------------------------------------------------------
// Model checks driven by `Constraints`
// ---------------------------------------------------------------------------------------------

const FUNCTION_LISTS = [
  "complexColFunction",
  "complexFunction",
  "entityColFunction",
  "entityFunction",
  "primitiveColFunction",
  "primitiveFunction",
];
const TYPE_LISTS = ["complexTypeName", "entityTypeName", "enumerationTypeName"];

function namesOf(constraints: Suite["constraints"], lists: readonly string[]): Set<string> {
  return new Set(lists.flatMap((list) => constraints[list] ?? []));
}

/** Every path expression in an expression tree (including lambda predicates and arguments). */
function* pathsIn(expr: Expression | undefined): Generator<PathExpression> {
  if (expr === undefined) return;
  switch (expr.kind) {
    case "Path":
      yield expr;
      for (const segment of expr.segments) {
        switch (segment.kind) {
          case "Key":
            for (const v of segment.values) yield* pathsIn(v.value);
            break;
          case "Function":
            for (const a of segment.args) yield* pathsIn(a.value);
            break;
          case "Lambda":
            yield* pathsIn(segment.predicate);
            break;
          case "Count":
            yield* pathsIn(segment.filter);
            break;
          case "FilterSegment":
            yield* pathsIn(segment.predicate);
            break;
          case "AggregateSegment": {
            const aggregate = segment.aggregate;
            if (aggregate.kind === "AggregateExpression") yield* pathsIn(aggregate.expression);
            if (aggregate.kind === "AggregateCustom") yield* pathsIn(aggregate.path);
            break;
          }
        }
      }
      return;
    case "Binary":
      yield* pathsIn(expr.left);
      yield* pathsIn(expr.right);
      return;
    case "Unary":
      yield* pathsIn(expr.operand);
      return;
    case "Call":
      for (const a of expr.args) yield* pathsIn(a);
      return;
    case "TypeFunction":
      yield* pathsIn(expr.operand ?? undefined);
      return;
    case "Case":
      for (const b of expr.branches) {
        yield* pathsIn(b.when);
        yield* pathsIn(b.then);
      }
      return;
    case "List":
      for (const item of expr.items) yield* pathsIn(item);
      return;
    case "Json":
      for (const embedded of expr.expressions ?? []) yield* pathsIn(embedded.expression);
      return;
    default:
      return;
  }
}

/**
 * Model checks on an expression: a qualified name used as a type cast (no parentheses) must not
 * be a function of the model (`Model.Available` is a function, so it needs `()`).
 */
function modelCheckExpression(
  expr: Expression,
  constraints: Suite["constraints"],
): string | undefined {
  const functions = namesOf(constraints, FUNCTION_LISTS);
  const types = namesOf(constraints, TYPE_LISTS);
  for (const path of pathsIn(expr)) {
    for (const segment of path.segments) {
      if (segment.kind !== "TypeCast") continue;
      const name = segment.type.slice(segment.type.lastIndexOf(".") + 1);
      if (functions.has(name) && !types.has(name)) {
        return `function ${segment.type} is used without parentheses (Constraints: function names)`;
      }
    }
  }
  return undefined;
}

function* transformationsIn(
  list: readonly Transformation[] | undefined,
): Generator<Transformation> {
  for (const t of list ?? []) {
    yield t;
    switch (t.kind) {
      case "GroupBy":
        yield* transformationsIn(t.transformations);
        break;
      case "Concat":
        for (const s of t.sequences) yield* transformationsIn(s);
        break;
      case "Generic":
        for (const a of t.args) {
          if (a.kind === "Sequence") yield* transformationsIn(a.transformations);
        }
        break;
    }
  }
}

function* expressionsOfQuery(q: ODataQuery): Generator<Expression> {
  if (q.filter) yield q.filter;
  for (const o of q.orderby ?? []) yield o.expression;
  for (const c of q.compute ?? []) yield c.expression;
  for (const s of q.select ?? []) if (s.options) yield* expressionsOfQuery(s.options);
  for (const e of q.expand ?? []) if (e.options) yield* expressionsOfQuery(e.options);
  for (const t of transformationsIn(q.apply)) {
    switch (t.kind) {
      case "Filter":
        yield t.expression;
        break;
      case "OrderBy":
        for (const o of t.items) yield o.expression;
        break;
      case "Compute":
        for (const c of t.items) yield c.expression;
        break;
      case "Aggregate":
        for (const item of t.items) if (item.kind === "AggregateExpression") yield item.expression;
        break;
      case "Generic":
        for (const a of t.args) if (a.kind === "Expression") yield a.expression;
        break;
    }
  }
}

/**
 * The aggregated names of `aggregate` items written `Path from ...` (no `with` before `from`):
 * only custom aggregates may be written so (`customFrom`). The parser keeps aggregates with such
 * items as a `Generic` transformation of `Raw` item texts, so the check reads the text.
 */
function customFromNames(q: ODataQuery): string[] {
  const names: string[] = [];
  for (const t of transformationsIn(q.apply)) {
    if (t.kind !== "Generic" || t.name !== "aggregate") continue;
    for (const arg of t.args) {
      const match = arg.kind === "Raw"
        ? /^(?:[A-Za-z_][\w.]*\/)*([A-Za-z_]\w*)\s+from\s/.exec(arg.text)
        : null;
      if (match !== null) names.push(match[1]!);
    }
  }
  return names;
}

function aggregateItemsOf(q: ODataQuery): AggregateItem[] {
  const items: AggregateItem[] = [];
  for (const t of transformationsIn(q.apply)) if (t.kind === "Aggregate") items.push(...t.items);
  return items;
}

const COLLECTION_LISTS = [
  "entityColNavigationProperty",
  "complexColProperty",
  "primitiveColProperty",
];
const PRIMITIVE_LISTS = ["primitiveKeyProperty", "primitiveNonKeyProperty"];
const ARITHMETIC = new Set(["add", "sub", "mul", "div", "divby", "mod"]);

/** Property names of the path's segments before the last one. */
function innerProperties(path: PathExpression): string[] {
  return path.segments.slice(0, -1).flatMap((s) => s.kind === "Property" ? [s.name] : []);
}

/**
 * Model checks on `$apply` that the aggregation ABNF types by model element:
 * - a grouping path (`groupby`, `rollup`) neither steps through a collection-valued property
 *   (`groupby((Sales/Product/Name))`) nor continues after a primitive property
 *   (`groupby((Product/Price/Quantity))`);
 * - an aggregated arithmetic expression has no path through a collection-valued navigation
 *   property (`aggregate(Sales/Amount sub Sales/Cost ...)`: after the `aggrPathPrefix` `Sales/`
 *   only an aggregatable path may follow);
 * - `join`/`outerjoin` take a collection-valued property (`join(ShipTo as Detail,...)` is not).
 */
function modelCheckApply(q: ODataQuery, constraints: Suite["constraints"]): string | undefined {
  const collections = namesOf(constraints, COLLECTION_LISTS);
  const primitives = namesOf(constraints, PRIMITIVE_LISTS);
  for (const t of transformationsIn(q.apply)) {
    if (t.kind === "GroupBy") {
      const paths = t.groupings.flatMap((g) => g.kind === "GroupProperty" ? [g.path] : g.paths);
      for (const path of paths) {
        for (const name of innerProperties(path)) {
          if (collections.has(name)) {
            return `grouping path steps through collection-valued ${name} (Constraints)`;
          }
          if (primitives.has(name)) {
            return `grouping path continues after primitive property ${name} (Constraints)`;
          }
        }
      }
    }
    if (t.kind === "Aggregate") {
      for (const item of t.items) {
        if (item.kind !== "AggregateExpression") continue;
        const e = item.expression;
        if (e.kind !== "Binary" || !ARITHMETIC.has(e.operator)) continue;
        for (const path of pathsIn(e)) {
          const name = innerProperties(path).find((n) => collections.has(n));
          if (name !== undefined) {
            return `arithmetic on a path through collection-valued ${name} (Constraints)`;
          }
        }
      }
    }
    if (t.kind === "Generic" && (t.name === "join" || t.name === "outerjoin")) {
      const first = t.args[0];
      const last = first?.kind === "Expression" && first.expression.kind === "Path"
        ? first.expression.segments.at(-1)
        : undefined;
      if (last?.kind !== "Property" || !collections.has(last.name)) {
        return `${t.name} needs a collection-valued property (Constraints)`;
      }
    }
  }
  return undefined;
}

/**
 * Model checks on a whole query: custom query option names must be listed under `customName`;
 * aggregates without `with`/`as` must be listed custom aggregates; the `$apply` checks of
 * {@linkcode modelCheckApply}; plus the expression checks.
 */
function modelCheck(q: ODataQuery, constraints: Suite["constraints"]): string | undefined {
  const customNames = new Set(constraints.customName ?? []);
  for (const name of Object.keys(q.custom ?? {})) {
    if (!customNames.has(name)) {
      return `custom query option ${JSON.stringify(name)} is not a listed customName (Constraints)`;
    }
  }
  const customAggregates = new Set(constraints.customAggregate ?? []);
  for (const name of customFromNames(q)) {
    if (!customAggregates.has(name)) {
      return `aggregate ${name} with "from" but without "with" is not a listed customAggregate ` +
        "(Constraints)";
    }
  }
  for (const item of aggregateItemsOf(q)) {
    if (item.kind !== "AggregateCustom") continue;
    const last = item.path.segments.at(-1);
    const name = last?.kind === "Property" ? last.name : undefined;
    if (name === undefined || !customAggregates.has(name)) {
      return `aggregate ${
        describe(item.path)
      } without "with" is not a listed customAggregate (Constraints)`;
    }
  }
  const applyProblem = modelCheckApply(q, constraints);
  if (applyProblem) return applyProblem;
  for (const expr of expressionsOfQuery(q)) {
    const problem = modelCheckExpression(expr, constraints);
    if (problem) return problem;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Rule handlers
// ---------------------------------------------------------------------------------------------

type Handler = (input: string, suite: Suite) => Verdict;

/** Query-option rules and the `ODataQuery` property each must fill (if any). */
const QUERY_RULES: Readonly<Record<string, keyof ODataQuery | undefined>> = {
  filter: "filter",
  orderby: "orderby",
  orderBy: "orderby",
  select: "select",
  expand: "expand",
  search: "search",
  top: "top",
  skip: "skip",
  count: "count",
  compute: "compute",
  skiptoken: "skiptoken",
  deltatoken: "deltatoken",
  index: "index",
  format: "format",
  queryOptions: undefined,
  systemQueryOption: undefined,
  customQueryOption: "custom",
};

function queryHandler(property: keyof ODataQuery | undefined): Handler {
  return (input, suite) => {
    const result = attempt(() => parseQuery(input), (p) => p);
    if ("verdict" in result) return result.verdict;
    const q = result.value;
    if (property !== undefined && q[property] === undefined) {
      return harnessReject(
        `parsed, but ODataQuery.${property} is not set: ${describe(q)}`,
        undefined,
      );
    }
    if (property === undefined && Object.keys(q).length === 0) {
      return harnessReject("parsed to an empty ODataQuery", undefined);
    }
    const problem = modelCheck(q, suite.constraints);
    return problem ? harnessReject(problem, undefined) : ACCEPTED;
  };
}

const searchExprHandler: Handler = (input) => {
  const prefix = "$search=";
  const result = attempt(() => parseQuery(prefix + input), (p) => Math.max(0, p - prefix.length));
  if ("verdict" in result) return result.verdict;
  return result.value.search === undefined
    ? harnessReject("ODataQuery.search not set", undefined)
    : ACCEPTED;
};

/** Expression rules, with an optional check of the resulting node. */
function expressionHandler(
  check?: (expr: Expression) => string | undefined,
  wrap?: { prefix: string },
): Handler {
  return (input, suite) => {
    const result = parseExpressionCase(input, wrap ?? {});
    if ("verdict" in result) return result.verdict;
    const problem = check?.(result.value) ?? modelCheckExpression(result.value, suite.constraints);
    return problem ? harnessReject(problem, undefined) : ACCEPTED;
  };
}

const isPath = (e: Expression) =>
  e.kind === "Path" ? undefined : `not a member path: ${describe(e)}`;

function lastSegmentIsLambda(operator: "any" | "all") {
  return (e: Expression) => {
    const last = e.kind === "Path" ? e.segments.at(-1) : undefined;
    return last?.kind === "Lambda" && last.operator === operator
      ? undefined
      : `not a ${operator}() lambda: ${describe(e)}`;
  };
}

const NUMERIC: readonly LiteralType[] = ["int", "decimal", "double"];

/**
 * The JSON-payload / CSDL rules (`...Value`): no percent-decoding, `%` rejected (check 1).
 * `prefix`/`suffix` put the payload value into the URL literal form the parser reads (check 3).
 */
const PAYLOAD_RULES: Readonly<Record<string, { prefix?: string; suffix?: string }>> = {
  booleanValue: {},
  dateValue: {},
  dateTimeOffsetValue: {},
  decimalValue: {},
  doubleValue: {},
  singleValue: {},
  byteValue: {},
  sbyteValue: {},
  int16Value: {},
  int32Value: {},
  int64Value: {},
  timeOfDayValue: {},
  durationValue: { prefix: "duration'", suffix: "'" },
  enumValue: { prefix: "Sales.Pattern'", suffix: "'" },
};

/** The literal types each literal rule accepts. */
const LITERAL_RULES: Readonly<Record<string, readonly LiteralType[] | "any">> = {
  primitiveLiteral: "any",
  stringLiteral: ["string"],
  binaryLiteral: ["binary"],
  boolean: ["boolean"],
  booleanValue: ["boolean"],
  date: ["date"],
  dateValue: ["date"],
  dateTimeOffsetValue: ["datetimeoffset"],
  dateTimeOffsetLiteral: ["datetimeoffset"],
  dateTimeOffsetValueInUrl: ["datetimeoffset"],
  decimalValue: NUMERIC,
  decimalLiteral: NUMERIC,
  doubleValue: NUMERIC,
  doubleLiteral: NUMERIC,
  singleValue: NUMERIC,
  singleLiteral: NUMERIC,
  byteValue: ["int"],
  sbyteValue: ["int"],
  sbyteLiteral: ["int"],
  int16Value: ["int"],
  int16Literal: ["int"],
  int32Value: ["int"],
  int32Literal: ["int"],
  int64Value: ["int"],
  int64Literal: ["int"],
  guid: ["guid"],
  durationValue: ["duration"],
  durationLiteral: ["duration", "string"],
  timeOfDayValue: ["timeofday"],
  timeOfDayLiteral: ["timeofday"],
  enumLiteral: ["enum", "string"],
  enumValue: ["enum"],
  null: ["null"],
};

function literalHandler(rule: string, types: readonly LiteralType[] | "any"): Handler {
  const payload = PAYLOAD_RULES[rule];
  return (input) => {
    if (payload !== undefined) {
      const percent = input.indexOf("%");
      if (percent >= 0) return harnessReject("no percent-encoding in payload values", percent);
      if (rule === "booleanValue" && input !== "true" && input !== "false") {
        return harnessReject("payload booleans are lowercase", 0);
      }
    }
    const result = parseExpressionCase(input, payload ? { decode: false, ...payload } : {});
    if ("verdict" in result) return result.verdict;
    const e = result.value;
    if (e.kind !== "Literal" || (types !== "any" && !types.includes(e.type))) {
      const want = types === "any" ? "a literal" : `a ${types.join("/")} literal`;
      return harnessReject(`not ${want}: ${describe(e)}`, 0);
    }
    return ACCEPTED;
  };
}

/** `geographyPoint` → `["geography", "Point"]`; `geometryCollection` → GeometryCollection. */
function geoHandler(rule: string): Handler {
  const type = rule.startsWith("geography") ? "geography" : "geometry";
  let shape = rule.slice(type.length);
  if (shape === "Collection") shape = "GeometryCollection";
  return (input) => {
    const result = parseExpressionCase(input);
    if ("verdict" in result) return result.verdict;
    const e = result.value;
    if (e.kind !== "Literal" || e.type !== type) {
      return harnessReject(`not a ${type} literal: ${describe(e)}`, 0);
    }
    if (typeof e.value !== "string" || !new RegExp(`;${shape}\\(`, "i").test(e.value)) {
      return harnessReject(`not a ${shape}: ${describe(e)}`, 0);
    }
    return ACCEPTED;
  };
}

const primitiveValueHandler: Handler = (input) => {
  // primitiveValue = booleanValue / guidValue / durationValue / ... / binaryValue / enumValue /
  // geographyValue / geometryValue / ...: try the URL literal form of each family.
  const attempts: { prefix?: string; suffix?: string }[] = [
    {},
    { prefix: "binary'", suffix: "'" },
    { prefix: "geography'", suffix: "'" },
    { prefix: "Sales.Pattern'", suffix: "'" },
  ];
  let best: Verdict | undefined;
  for (const wrap of attempts) {
    const result = parseExpressionCase(input, { decode: false, ...wrap });
    if ("value" in result) {
      if (result.value.kind === "Literal") return ACCEPTED;
      best ??= harnessReject(`not a literal: ${describe(result.value)}`, 0);
      continue;
    }
    const v = result.verdict;
    if (
      best === undefined || best.accepted ||
      (!v.accepted && (v.position ?? -1) > (best.position ?? -1))
    ) {
      best = v;
    }
  }
  return best ?? harnessReject("no form parsed", 0);
};

const odataIdentifierHandler: Handler = (input) => {
  const result = parseExpressionCase(input);
  if ("verdict" in result) return result.verdict;
  const e = result.value;
  const only = e.kind === "Path" && e.root === "implicit" && e.segments.length === 1
    ? e.segments[0]
    : undefined;
  return only?.kind === "Property" && only.name === input
    ? ACCEPTED
    : harnessReject(`not a single identifier: ${describe(e)}`, 0);
};

const entitySetNameHandler: Handler = (input) => {
  const result = parseExpressionCase(input, { prefix: "$root/" });
  if ("verdict" in result) return result.verdict;
  const e = result.value;
  const first = e.kind === "Path" && e.root === "$root" ? e.segments[0] : undefined;
  return first?.kind === "Property" && first.name === input
    ? ACCEPTED
    : harnessReject(`not $root/<entity set>: ${describe(e)}`, 0);
};

const functionParameterHandler: Handler = (input) => {
  const result = parseExpressionCase(input, { prefix: "Model.ProductsByColor(", suffix: ")" });
  if ("verdict" in result) return result.verdict;
  const e = result.value;
  const fn = e.kind === "Path" ? e.segments[0] : undefined;
  return fn?.kind === "Function" && fn.args.length === 1
    ? ACCEPTED
    : harnessReject(`not a function call with one parameter: ${describe(e)}`, 0);
};

const stringInUrlHandler: Handler = (input) => {
  const result = parseExpressionCase(input, { prefix: "[", suffix: "]" });
  if ("verdict" in result) return result.verdict;
  const e = result.value;
  const item = e.kind === "List" && e.items.length === 1 ? e.items[0] : undefined;
  const ok = (item?.kind === "Literal" && item.type === "string") ||
    (e.kind === "Json" && Array.isArray(e.value) && e.value.length === 1 &&
      typeof e.value[0] === "string");
  return ok ? ACCEPTED : harnessReject(`not a JSON string: ${describe(e)}`, 0);
};

function handlerFor(rule: string): Handler | undefined {
  if (rule in QUERY_RULES) return queryHandler(QUERY_RULES[rule]);
  const literal = LITERAL_RULES[rule];
  if (literal !== undefined) return literalHandler(rule, literal);
  if (/^geo(graphy|metry)[A-Z]/.test(rule)) return geoHandler(rule);
  switch (rule) {
    case "searchExpr":
      return searchExprHandler;
    case "commonExpr":
    case "boolCommonExpr":
    case "boolcommonExpr": // sic: one case spells it so
      return expressionHandler();
    case "firstMemberExpr":
    case "propertyPathExpr":
      return expressionHandler(isPath);
    case "notExpr":
      return expressionHandler((e) =>
        e.kind === "Unary" && e.operator === "not" ? undefined : `not a "not": ${describe(e)}`
      );
    case "isofExpr":
    case "castExpr": {
      const name = rule === "isofExpr" ? "isof" : "cast";
      return expressionHandler((e) =>
        e.kind === "TypeFunction" && e.name === name ? undefined : `not ${name}(): ${describe(e)}`
      );
    }
    case "anyExpr":
    case "allExpr": {
      const operator = rule === "anyExpr" ? "any" : "all";
      return expressionHandler(lastSegmentIsLambda(operator), { prefix: "Products/" });
    }
    case "primitiveValue":
      return primitiveValueHandler;
    case "odataIdentifier":
      return odataIdentifierHandler;
    case "entitySetName":
      return entitySetNameHandler;
    case "functionParameter":
      return functionParameterHandler;
    case "stringInUrl":
      return stringInUrlHandler;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Run every case
// ---------------------------------------------------------------------------------------------

interface CaseResult {
  readonly suite: Suite;
  readonly testCase: TestCase;
  readonly passed: boolean;
  /** For rejected negative cases with a position: did it equal `FailAt`? */
  readonly positionMatch?: boolean;
  /** For rejected negative cases: who rejected it (`ODataSyntaxError`, `harness: ...`). */
  readonly rejectedBy?: string;
  readonly detail: string;
  /** For accepted positive cases: what the parser made of the input. */
  readonly parsed?: unknown;
}

interface RuleStats {
  total: number;
  passed: number;
  excluded: number;
  negatives: number;
  positionMatches: number;
  results: CaseResult[];
}

const excludedCaseUses = new Map<ExcludedCase, number>();

function exclusionOf(suite: Suite, c: TestCase): string | undefined {
  const byRule = EXCLUDED_RULES[c.Rule];
  if (byRule !== undefined) return byRule;
  const found = EXCLUDED_CASES.find((x) =>
    x.file === suite.file && x.rule === c.Rule && x.input === c.Input
  );
  if (found === undefined) return undefined;
  excludedCaseUses.set(found, (excludedCaseUses.get(found) ?? 0) + 1);
  return found.reason;
}

function runCase(suite: Suite, c: TestCase, handler: Handler): CaseResult {
  let verdict: Verdict;
  lastParsed = undefined;
  try {
    verdict = handler(c.Input, suite);
  } catch (error) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { suite, testCase: c, passed: false, detail: `crashed with ${what}` };
  }
  if (c.FailAt === undefined) {
    return verdict.accepted
      ? { suite, testCase: c, passed: true, detail: "accepted", parsed: lastParsed }
      : {
        suite,
        testCase: c,
        passed: false,
        detail: `rejected (${verdict.by}): ${verdict.message}`,
      };
  }
  if (verdict.accepted) {
    return { suite, testCase: c, passed: false, detail: "accepted, expected a rejection" };
  }
  // Harness checks on the AST have no position: they count for neither side of the match rate.
  const positionMatch = verdict.position === undefined ? undefined : verdict.position === c.FailAt;
  return {
    suite,
    testCase: c,
    passed: true,
    positionMatch,
    rejectedBy: verdict.by,
    detail: `rejected (${verdict.by}) at ${verdict.position ?? "?"}: ${verdict.message}`,
  };
}

const STATS = new Map<string, RuleStats>();
const UNMAPPED: TestCase[] = [];

for (const suite of SUITES) {
  for (const c of suite.cases) {
    const stats = STATS.get(c.Rule) ??
      { total: 0, passed: 0, excluded: 0, negatives: 0, positionMatches: 0, results: [] };
    STATS.set(c.Rule, stats);
    stats.total++;
    if (exclusionOf(suite, c) !== undefined) {
      stats.excluded++;
      continue;
    }
    const handler = handlerFor(c.Rule);
    if (handler === undefined) {
      UNMAPPED.push(c);
      continue;
    }
    const result = runCase(suite, c, handler);
    stats.results.push(result);
    if (result.passed) stats.passed++;
    if (result.positionMatch !== undefined) {
      stats.negatives++;
      if (result.positionMatch) stats.positionMatches++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

Deno.test("conformance: every rule is either mapped to an entry point or excluded", () => {
  assert.deepEqual(UNMAPPED.map((c) => `${c.Rule}: ${c.Name}`), []);
});

Deno.test("conformance: every excluded case exists exactly once", () => {
  const stale = EXCLUDED_CASES.filter((x) => excludedCaseUses.get(x) !== 1)
    .map((x) =>
      `${x.rule} ${JSON.stringify(x.input)} (${x.name}): used ${excludedCaseUses.get(x) ?? 0}×`
    );
  assert.deepEqual(stale, []);
});

for (const [rule, stats] of [...STATS].sort(([a], [b]) => a.localeCompare(b))) {
  if (stats.results.length === 0) continue;
  Deno.test(`conformance rule ${rule}: its ${stats.results.length} cases are accepted or rejected as the ABNF test cases say`, () => {
    const failures = stats.results.filter((r) => !r.passed).map((r) =>
      `  [${r.suite.file}] ${r.testCase.Name}\n    input:  ${JSON.stringify(r.testCase.Input)}\n` +
      `    expect: ${
        r.testCase.FailAt === undefined ? "accept" : `reject at ${r.testCase.FailAt}`
      }\n` +
      `    actual: ${r.detail}`
    );
    if (failures.length > 0) {
      assert.fail(
        `${failures.length} of ${stats.results.length} cases of ${rule} failed:\n${
          failures.join("\n")
        }`,
      );
    }
  });
}

Deno.test("conformance: summary table", () => {
  const rows = [...STATS].sort(([a], [b]) => a.localeCompare(b));
  const lines = ["rule                          total  passed  excluded  position match"];
  let total = 0, passed = 0, excluded = 0, negatives = 0, matches = 0;
  for (const [rule, s] of rows) {
    total += s.total;
    passed += s.passed;
    excluded += s.excluded;
    negatives += s.negatives;
    matches += s.positionMatches;
    const rate = s.negatives === 0
      ? "-"
      : `${s.positionMatches}/${s.negatives} (${
        Math.round((100 * s.positionMatches) / s.negatives)
      }%)`;
    lines.push(
      `${rule.padEnd(29)} ${String(s.total).padStart(5)}  ${String(s.passed).padStart(6)}  ` +
        `${String(s.excluded).padStart(8)}  ${rate}`,
    );
  }
  const included = total - excluded;
  lines.push(
    `${"TOTAL".padEnd(29)} ${String(total).padStart(5)}  ${String(passed).padStart(6)}  ` +
      `${String(excluded).padStart(8)}  ${matches}/${negatives} (${
        Math.round((100 * matches) / Math.max(1, negatives))
      }%)`,
  );
  lines.push(
    `included cases: ${included}, passed: ${passed} (${
      ((100 * passed) / Math.max(1, included)).toFixed(1)
    }%)`,
  );
  const excludedRules = Object.keys(EXCLUDED_RULES).join(", ");
  lines.push(`excluded rules (${PATH_OR_HEADER}): ${excludedRules}`);
  lines.push(`excluded single cases: ${EXCLUDED_CASES.length}`);
  const all = rows.flatMap(([, st]) => st.results);
  const byHarness = all.filter((r) => r.rejectedBy?.startsWith("harness"));
  lines.push(`negative cases rejected by a harness check (not by the parser): ${byHarness.length}`);
  for (const r of byHarness) {
    lines.push(`  ${r.testCase.Rule} ${JSON.stringify(r.testCase.Input)}: ${r.detail}`);
  }
  const mismatches = all.filter((r) => r.positionMatch === false);
  lines.push(`rejections whose position differs from FailAt: ${mismatches.length}`);
  for (const r of mismatches) {
    lines.push(
      `  ${r.testCase.Rule} ${
        JSON.stringify(r.testCase.Input)
      } FailAt ${r.testCase.FailAt}: ${r.detail}`,
    );
  }
  console.log(lines.join("\n"));
  assert.equal(passed, included, "every included case passes");
});

Deno.test("conformance: one accepted case per rule parses to the expected tree", () => {
  const actual: [string, string, string][] = [];
  for (const [rule, stats] of [...STATS].sort(([a], [b]) => a.localeCompare(b))) {
    const first = stats.results.find((r) => r.testCase.FailAt === undefined && r.passed);
    if (first === undefined) continue;
    actual.push([rule, first.testCase.Input, tree(first.parsed)]);
  }
  if (Deno.env.get("PRINT_TREES") !== undefined) {
    for (const row of actual) console.log(JSON.stringify(row) + ",");
  }
  const expected = EXPECTED_TREES.map(([rule, input, t]) => [rule, input, t]);
  assert.deepStrictEqual(actual, expected);
});

/**
 * Negative cases rejected at another position than their `FailAt`, with ours and why. Every other
 * negative case with a position must be rejected exactly at `FailAt`.
 */
const POSITION_DIFFERENCES: readonly {
  rule: string;
  input: string;
  ours: number;
  why: string;
}[] = [
  {
    rule: "boolCommonExpr",
    input: "Products/all()",
    ours: 13,
    why: "we point at the ) where all() needs its variable",
  },
  {
    rule: "date",
    input: "-INF",
    ours: 0,
    why: "a harness check: -INF is a literal, just not a date",
  },
  {
    rule: "dateTimeOffsetValue",
    input: "-INF",
    ours: 0,
    why: "a harness check: -INF is a literal, just not a date-time",
  },
  {
    rule: "odataIdentifier",
    input: "0time",
    ours: 1,
    why: "we read the number 0 and fail at the letter after it",
  },
  {
    rule: "odataIdentifier",
    input: "No.Dot",
    ours: 6,
    why: "we read a type cast No.Dot, which must be followed by / or (",
  },
  {
    rule: "primitiveValue",
    input: "a1234567 89\rab\r\n              cdefABA",
    ours: 9,
    why: "we point at 89, the word standing where an operator would",
  },
  {
    rule: "queryOptions",
    input: "$apply=aggregate(Sales(Amount mul Product/TaxRate with sum as Tax))",
    ours: 17,
    why: "the caret of an unknown function is on its name (issue 6)",
  },
  {
    rule: "queryOptions",
    input: "$apply=groupby((Product/Price/@Measures.ISOCurrency))",
    ours: 30,
    why: "we point at the annotation, not at the / before it",
  },
  {
    rule: "queryOptions",
    input:
      "$apply=addnested(Products,addnested(Sales,filter(Amount gt 3) as FilteredSales) as Stuff,addnested(Suppliers,nest(Products)))",
    ours: 114,
    why: "we point at nest, which is no transformation of addnested",
  },
  {
    rule: "queryOptions",
    input: "$apply=groupby((Name),aggregate(Sales($count as SalesCount)))",
    ours: 32,
    why: "the caret of an unknown function is on its name (issue 6)",
  },
  {
    rule: "stringLiteral",
    input: "'O'Neil'",
    ours: 2,
    why: "the caret is on the quote to double (issue 6), not after it",
  },
  {
    rule: "stringLiteral",
    input: "'O%27Neil'",
    ours: 2,
    why: "the caret is on the quote to double (issue 6), not after it",
  },
];

Deno.test("conformance: negative cases are rejected at FailAt, except the listed differences", () => {
  const all = [...STATS.values()].flatMap((st) => st.results);
  const withPosition = all.filter((r) => r.positionMatch !== undefined);
  const differences = withPosition.filter((r) => r.positionMatch === false).map((r) => {
    const ours = Number(/ at (\d+|\?): /.exec(r.detail)?.[1]);
    return { rule: r.testCase.Rule, input: r.testCase.Input, ours };
  });
  const key = (d: { rule: string; input: string }) => `${d.rule} ${d.input}`;
  const sorted = <T extends { rule: string; input: string }>(list: T[]) =>
    list.sort((a, b) => key(a).localeCompare(key(b)));
  assert.deepStrictEqual(
    sorted(differences),
    sorted(POSITION_DIFFERENCES.map(({ rule, input, ours }) => ({ rule, input, ours }))),
  );
  // Everything else matches exactly (56 cases when this was written).
  assert.ok(withPosition.length - differences.length >= 56, `${withPosition.length}`);
});
