/**
 * The `$apply` grammar of the OData aggregation extension: a `/`-separated sequence of
 * transformations. `aggregate`, `groupby` (with `rollup`), `filter`, `search`, `orderby`, `top`,
 * `skip`, `compute`, `concat` and `identity` get dedicated nodes. Everything else (`topcount`
 * and friends, `nest`, `addnested`, `join`, `outerjoin`, `ancestors`, `descendants`,
 * `traverse`, custom `Namespace.fn(...)`) is parsed and validated, then kept as a `Generic` node:
 *
 * - paths and expressions are `Expression` arguments (`Sales as Sale` carries `alias`; named
 *   custom-function parameters `Count=1` carry the parameter name in `alias`);
 * - transformation sequences are `Sequence` arguments (`filter(...) as A` carries `alias`);
 * - keywords, hierarchy qualifiers and `traverse` sort items are `Raw` text (`keep start`,
 *   `preorder`, `SalesOrgHierarchy`, `Name desc`).
 *
 * Forms the dedicated nodes cannot hold exactly fall back to `Generic` too: a `groupby` with
 * `rolluprecursive(...)` (its grouping list becomes one `Raw` argument) and an `aggregate` with
 * `from` over several properties, `Path/$count`, or custom aggregates with `from` (each item
 * becomes a `Raw` argument). The aggregate items and data aggregation paths are parsed by
 * `aggregate.ts`.
 *
 * @module
 */

import type {
  AggregateItem,
  Expression,
  GroupingItem,
  PathExpression,
  Transformation,
  TransformationArgument,
} from "../ast.ts";
import {
  nextIs,
  parseAggregateItem,
  parseAggregationPath as parseMemberPath,
} from "./aggregate.ts";
import { parseExpression } from "./expression.ts";
import {
  eatSeparator,
  expectKeyword,
  isSpace,
  parseComputeItems,
  parseOrderByItems,
  parseTop,
  readDigits,
  readIdentifier,
  readQualifiedName,
  wordAt,
} from "./options.ts";
import { parseSearch } from "./search.ts";
import { CH, isIdentifierStart, type ParserState } from "./state.ts";

const TRANSFORMATIONS = [
  "aggregate",
  "groupby",
  "filter",
  "search",
  "orderby",
  "top",
  "skip",
  "compute",
  "concat",
  "identity",
  "topcount",
  "topsum",
  "toppercent",
  "bottomcount",
  "bottomsum",
  "bottompercent",
  "nest",
  "addnested",
  "join",
  "outerjoin",
  "ancestors",
  "descendants",
  "traverse",
  "Namespace.function",
];

/** Transformations that keep the input structure (allowed inside hierarchy functions). */
const PRESERVING = new Set([
  "filter",
  "search",
  "orderby",
  "top",
  "skip",
  "identity",
  "topcount",
  "topsum",
  "toppercent",
  "bottomcount",
  "bottomsum",
  "bottompercent",
  "ancestors",
  "descendants",
  "traverse",
]);

/**
 * Parses a `$apply` value (`trafo/trafo/...`) at the cursor and stops after the last
 * transformation.
 *
 * @example
 * ```ts
 * import { parseApply } from "./apply.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const state = new ParserState("filter(Amount gt 3)/top(2)", DEFAULT_QUERY_LIMITS);
 * parseApply(state).map((t) => t.kind); // ["Filter", "Top"]
 * ```
 */
export function parseApply(state: ParserState): Transformation[] {
  return parseSequence(state, false);
}

function parseSequence(state: ParserState, preservingOnly: boolean): Transformation[] {
  const sequence: Transformation[] = [];
  do {
    sequence.push(parseTransformation(state, preservingOnly));
  } while (state.eatChar(CH.SLASH));
  return sequence;
}

/** Consumes `(` and optional whitespace, entering one nesting level. */
function open(state: ParserState): void {
  state.expectChar(CH.LPAREN, "(");
  state.enter();
  state.skipWhitespace();
}

/** Consumes optional whitespace and `)`, leaving one nesting level. */
function close(state: ParserState): void {
  state.skipWhitespace();
  state.expectChar(CH.RPAREN, ")");
  state.leave();
}

/** Consumes `BWS "," BWS` or fails expecting `,`. */
function expectComma(state: ParserState): void {
  if (!eatSeparator(state, CH.COMMA)) {
    state.skipWhitespace();
    state.fail([","]);
  }
}

function parseTransformation(state: ParserState, preservingOnly: boolean): Transformation {
  const start = state.pos;
  const expected = preservingOnly ? [...PRESERVING, "Namespace.function"] : TRANSFORMATIONS;
  if (!isIdentifierStart(state.peek())) state.fail(expected);
  const name = readQualifiedName(state, "transformation");
  const custom = name.includes(".");
  if (!custom && !TRANSFORMATIONS.includes(name)) state.fail(expected, start);
  if (preservingOnly && !custom && !PRESERVING.has(name)) {
    state.fail(expected, start, `${name} is not allowed here, only preserving transformations`);
  }
  state.countNode();
  if (name === "identity") return { kind: "Identity" };
  if (state.peek() !== CH.LPAREN) state.fail(["("]);
  if (custom) return parseCustomFunction(state, name);
  open(state);
  let result: Transformation;
  switch (name) {
    case "aggregate":
      result = parseAggregate(state);
      break;
    case "groupby":
      result = parseGroupBy(state);
      break;
    case "filter":
      result = { kind: "Filter", expression: parseExpression(state) };
      break;
    case "search":
      result = { kind: "Search", search: parseSearch(state) };
      break;
    case "orderby":
      result = { kind: "OrderBy", items: parseOrderByItems(state, false) };
      break;
    case "top":
      result = { kind: "Top", count: parseTop(state) };
      break;
    case "skip":
      result = { kind: "Skip", count: readDigits(state, "non-negative integer") };
      break;
    case "compute":
      result = { kind: "Compute", items: parseComputeItems(state, false) };
      break;
    case "concat": {
      const sequences = [parseSequence(state, false)];
      do {
        expectComma(state);
        sequences.push(parseSequence(state, false));
      } while (nextIs(state, CH.COMMA));
      result = { kind: "Concat", sequences };
      break;
    }
    case "nest":
      result = { kind: "Generic", name, args: parseAliasedSequences(state) };
      break;
    case "addnested": {
      const path: TransformationArgument = {
        kind: "Expression",
        expression: parseMemberPath(state),
      };
      expectComma(state);
      result = { kind: "Generic", name, args: [path, ...parseAliasedSequences(state)] };
      break;
    }
    case "join":
    case "outerjoin": {
      const property = state.peek() === CH.AT ? annotationPath(state) : parseMemberPath(state);
      expectKeyword(state, "as", false);
      const alias = readIdentifier(state, "alias");
      const args: TransformationArgument[] = [{ kind: "Expression", expression: property, alias }];
      if (eatSeparator(state, CH.COMMA)) {
        args.push({ kind: "Sequence", transformations: parseSequence(state, false) });
      }
      result = { kind: "Generic", name, args };
      break;
    }
    case "ancestors":
    case "descendants":
      result = { kind: "Generic", name, args: parseHierarchyArgs(state, false) };
      break;
    case "traverse":
      result = { kind: "Generic", name, args: parseHierarchyArgs(state, true) };
      break;
    default: {
      // topcount, topsum, toppercent, bottomcount, bottomsum, bottompercent
      const first = parseExpression(state);
      expectComma(state);
      const second = parseExpression(state);
      result = {
        kind: "Generic",
        name,
        args: [{ kind: "Expression", expression: first }, {
          kind: "Expression",
          expression: second,
        }],
      };
    }
  }
  close(state);
  return result;
}

/** `applyExpr as Alias *( , applyExpr as Alias )` for `nest` and `addnested`. */
function parseAliasedSequences(state: ParserState): TransformationArgument[] {
  const args: TransformationArgument[] = [];
  do {
    const transformations = parseSequence(state, false);
    expectKeyword(state, "as", false);
    args.push({ kind: "Sequence", transformations, alias: readIdentifier(state, "alias") });
  } while (eatSeparator(state, CH.COMMA));
  return args;
}

/** `Namespace.fn(Param=value,...)` (cursor on `(`): named parameters carry their name as alias. */
function parseCustomFunction(state: ParserState, name: string): Transformation {
  open(state);
  const args: TransformationArgument[] = [];
  if (state.peek() !== CH.RPAREN) {
    do {
      const param = readIdentifier(state, "parameter name");
      state.skipWhitespace();
      state.expectChar(CH.EQUALS, "=");
      state.skipWhitespace();
      args.push({ kind: "Expression", expression: parseExpression(state), alias: param });
    } while (eatSeparator(state, CH.COMMA));
  }
  close(state);
  return { kind: "Generic", name, args };
}

/** `@Namespace.Term` as a one-segment annotation path (join properties may be annotations). */
function annotationPath(state: ParserState): PathExpression {
  state.pos++;
  const term = readQualifiedName(state, "annotation term");
  state.countNode();
  return { kind: "Path", root: "implicit", segments: [{ kind: "Annotation", term }] };
}

function parseAggregate(state: ParserState): Transformation {
  const items: AggregateItem[] = [];
  const raw: TransformationArgument[] = [];
  let exact = true;
  do {
    const start = state.pos;
    const item = parseAggregateItem(state);
    if (item === undefined) exact = false;
    else items.push(item);
    raw.push({ kind: "Raw", text: state.text.slice(start, state.pos) });
  } while (eatSeparator(state, CH.COMMA));
  return exact ? { kind: "Aggregate", items } : { kind: "Generic", name: "aggregate", args: raw };
}

function parseGroupBy(state: ParserState): Transformation {
  const listStart = state.pos;
  open(state);
  const groupings: GroupingItem[] = [];
  let recursive = false;
  do {
    const text = state.text;
    let end = wordAt(text, state.pos, "rollup", false);
    if (end !== -1 && text.charCodeAt(end) === CH.LPAREN) {
      state.pos = end;
      open(state);
      const paths = [parseMemberPath(state, true)];
      while (eatSeparator(state, CH.COMMA)) paths.push(parseMemberPath(state, true));
      close(state);
      state.countNode();
      groupings.push({ kind: "Rollup", paths });
      continue;
    }
    end = wordAt(text, state.pos, "rolluprecursive", false);
    if (end !== -1 && text.charCodeAt(end) === CH.LPAREN) {
      state.pos = end;
      open(state);
      parseHierarchyReference(state);
      if (eatSeparator(state, CH.COMMA)) parseSequence(state, true);
      close(state);
      recursive = true;
      continue;
    }
    const path = parseMemberPath(state, true);
    state.countNode();
    groupings.push({ kind: "GroupProperty", path });
  } while (eatSeparator(state, CH.COMMA));
  close(state);
  const listEnd = state.pos;
  let transformations: Transformation[] = [];
  if (eatSeparator(state, CH.COMMA)) transformations = parseSequence(state, false);
  if (!recursive) return { kind: "GroupBy", groupings, transformations };
  const args: TransformationArgument[] = [
    { kind: "Raw", text: state.text.slice(listStart, listEnd) },
  ];
  if (transformations.length > 0) args.push({ kind: "Sequence", transformations });
  return { kind: "Generic", name: "groupby", args };
}

/** `rootExpr , qualifier , propertyPath` of the hierarchy functions. */
function parseHierarchyReference(state: ParserState): TransformationArgument[] {
  const rootStart = state.pos;
  const root = parseExpression(state);
  if (root.kind !== "Path" || root.root !== "$root") {
    state.fail(["$root path"], rootStart, "Expected a $root/... path to the hierarchy");
  }
  expectComma(state);
  const qualifier = readIdentifier(state, "hierarchy qualifier");
  expectComma(state);
  const property = parseMemberPath(state);
  return [
    { kind: "Expression", expression: root },
    { kind: "Raw", text: qualifier },
    { kind: "Expression", expression: property },
  ];
}

/** True if a transformation (not an expression) starts at the cursor. */
function transformationAhead(state: ParserState): boolean {
  const text = state.text;
  if (!isIdentifierStart(state.peek())) return false;
  const save = state.pos;
  const name = readQualifiedName(state, "transformation");
  const after = text.charCodeAt(state.pos);
  state.pos = save;
  if (name === "identity") {
    return after !== after || after === CH.COMMA || after === CH.RPAREN ||
      after === CH.SLASH || isSpace(after);
  }
  return after === CH.LPAREN && (PRESERVING.has(name) || name.includes("."));
}

/**
 * `ancestors`/`descendants`: reference, preserving sequence, [max distance], [keep start].
 * `traverse`: reference, preorder|postorder, [preserving sequence], [sort items].
 */
function parseHierarchyArgs(state: ParserState, traverse: boolean): TransformationArgument[] {
  const args = parseHierarchyReference(state);
  expectComma(state);
  if (!traverse) {
    args.push({ kind: "Sequence", transformations: parseSequence(state, true) });
    if (eatSeparator(state, CH.COMMA)) {
      const c = state.peek();
      if (c >= CH.D0 && c <= CH.D9) {
        const value = readDigits(state, "maximum distance");
        const literal: Expression = { kind: "Literal", type: "int", value };
        args.push({ kind: "Expression", expression: literal });
        if (eatSeparator(state, CH.COMMA)) args.push(keepStart(state));
      } else {
        args.push(keepStart(state, true));
      }
    }
    return args;
  }
  const order = ["preorder", "postorder"];
  let end = wordAt(state.text, state.pos, "preorder", false);
  if (end === -1) end = wordAt(state.text, state.pos, "postorder", false);
  if (end === -1) state.fail(order);
  args.push({ kind: "Raw", text: state.text.slice(state.pos, end) });
  state.pos = end;
  if (!eatSeparator(state, CH.COMMA)) return args;
  if (transformationAhead(state)) {
    args.push({ kind: "Sequence", transformations: parseSequence(state, true) });
    if (!eatSeparator(state, CH.COMMA)) return args;
  }
  // The sort items are validated as $orderby items and kept as written, as one argument.
  const start = state.pos;
  parseOrderByItems(state, false);
  args.push({ kind: "Raw", text: state.text.slice(start, state.pos) });
  return args;
}

/** `keep start` (with a single space, as in the grammar). */
function keepStart(state: ParserState, orDistance = false): TransformationArgument {
  if (!state.lookingAt("keep start")) {
    state.fail(orDistance ? ["maximum distance", "keep start"] : ["keep start"]);
  }
  state.pos += "keep start".length;
  return { kind: "Raw", text: "keep start" };
}
