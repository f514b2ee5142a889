/**
 * The aggregate grammar of the OData aggregation extension shared by the `aggregate(...)`
 * transformation of `$apply` (items with aliases) and the `aggregate(...)` path segment of common
 * expressions (`Sales/aggregate(Amount with sum)`, one aggregate without alias), plus the data
 * aggregation paths of `groupby`, `from` and friends. The parser has no model, so rules that
 * depend on property kinds (collection vs single-valued, custom aggregate vs property) are not
 * checked.
 *
 * @module
 */

import type {
  AggregateFrom,
  AggregateFunction,
  AggregateItem,
  PathExpression,
  PathSegment,
} from "../ast.ts";
import { parseExpression } from "./expression.ts";
import {
  eatKeyword,
  eatSeparator,
  expectKeyword,
  isSpace,
  readIdentifier,
  readQualifiedName,
  wordAt,
} from "./options.ts";
import { CH, isIdentifierPart, isIdentifierStart, type ParserState } from "./state.ts";

/**
 * True if optional whitespace and `code` follow (nothing is consumed).
 *
 * @example
 * ```ts
 * import { nextIs } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * nextIs(new ParserState("  ,x", DEFAULT_QUERY_LIMITS), 44); // true
 * ```
 */
export function nextIs(state: ParserState, code: number): boolean {
  let i = state.pos;
  while (isSpace(state.text.charCodeAt(i))) i++;
  return state.text.charCodeAt(i) === code;
}

/**
 * A data aggregation path: property names and qualified type casts separated by `/`, without
 * key predicates, function calls or annotations. With `grouping`, a final type cast is refused.
 *
 * @example
 * ```ts
 * import { parseAggregationPath } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseAggregationPath(new ParserState("Sales/Product/Name", DEFAULT_QUERY_LIMITS)).segments.length; // 3
 * ```
 */
export function parseAggregationPath(state: ParserState, grouping = false): PathExpression {
  const segments: PathSegment[] = [];
  for (;;) {
    const c = state.peek();
    if (c === CH.AT) state.fail(["property"], state.pos, "Annotations are not allowed here");
    const name = readQualifiedName(state, "property");
    segments.push(
      name.includes(".") ? { kind: "TypeCast", type: name } : { kind: "Property", name },
    );
    state.countNode();
    if (state.peek() !== CH.SLASH || !isIdentifierStart(state.text.charCodeAt(state.pos + 1))) {
      if (state.peek() === CH.SLASH && state.text.charCodeAt(state.pos + 1) === CH.AT) {
        state.fail(["property"], state.pos + 1, "Annotations are not allowed here");
      }
      break;
    }
    state.pos++;
  }
  if (grouping && segments[segments.length - 1]!.kind === "TypeCast") state.fail(["/"]);
  return { kind: "Path", root: "implicit", segments };
}

/**
 * `groupingProperty *( BWS "," BWS groupingProperty )`.
 *
 * @example
 * ```ts
 * import { parseGroupingPaths } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseGroupingPaths(new ParserState("Time, Product/Name", DEFAULT_QUERY_LIMITS)).length; // 2
 * ```
 */
export function parseGroupingPaths(state: ParserState): PathExpression[] {
  const paths = [parseAggregationPath(state, true)];
  while (nextIs(state, CH.COMMA)) {
    // A comma may also start the next item of the enclosing list; only a path continues here.
    const save = state.pos;
    eatSeparator(state, CH.COMMA);
    if (!isIdentifierStart(state.peek()) || wordAt(state.text, state.pos, "with", false) !== -1) {
      state.pos = save;
      break;
    }
    paths.push(parseAggregationPath(state, true));
  }
  return paths;
}

/**
 * `aggregateMethod`: a built-in method or a qualified custom one.
 *
 * @example
 * ```ts
 * import { readMethod } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * readMethod(new ParserState("countdistinct", DEFAULT_QUERY_LIMITS)); // "countdistinct"
 * ```
 */
export function readMethod(state: ParserState): string {
  const start = state.pos;
  const methods = ["sum", "min", "max", "average", "countdistinct", "Namespace.method"];
  if (!isIdentifierStart(state.peek())) state.fail(methods);
  const method = readQualifiedName(state, "aggregation method");
  if (!method.includes(".") && !methods.includes(method)) state.fail(methods, start);
  return method;
}

/**
 * `from` clauses: `RWS from RWS groupingProperties [RWS with RWS method]`, repeated. `with` is
 * required unless `customFrom`. Returns undefined when there are none.
 *
 * @example
 * ```ts
 * import { parseFrom } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseFrom(new ParserState(" from Time with average", DEFAULT_QUERY_LIMITS), false)?.length; // 1
 * ```
 */
export function parseFrom(
  state: ParserState,
  customFrom: boolean,
): { paths: PathExpression[]; method: string | undefined }[] | undefined {
  let from: { paths: PathExpression[]; method: string | undefined }[] | undefined;
  while (eatKeyword(state, "from")) {
    const paths = parseGroupingPaths(state);
    let method: string | undefined;
    if (customFrom) {
      if (eatKeyword(state, "with")) method = readMethod(state);
    } else {
      expectKeyword(state, "with", false);
      method = readMethod(state);
    }
    (from ??= []).push({ paths, method });
  }
  return from;
}

/**
 * `RWS as RWS alias`.
 *
 * @example
 * ```ts
 * import { readAlias } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * readAlias(new ParserState(" as Total", DEFAULT_QUERY_LIMITS)); // "Total"
 * ```
 */
export function readAlias(state: ParserState): string {
  expectKeyword(state, "as", false);
  return readIdentifier(state, "alias");
}

/**
 * One aggregate item; undefined when it is valid but only representable as raw text.
 *
 * @example
 * ```ts
 * import { parseAggregateItem } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseAggregateItem(new ParserState("Amount with sum as Total", DEFAULT_QUERY_LIMITS))?.kind;
 * // "AggregateExpression"
 * ```
 */
export function parseAggregateItem(state: ParserState): AggregateItem | undefined {
  const text = state.text;
  const countEnd = wordAt(text, state.pos, "$count", false);
  if (countEnd !== -1 && text.charCodeAt(countEnd) !== CH.SLASH) {
    state.pos = countEnd;
    const from = parseFrom(state, false);
    const alias = readAlias(state);
    state.countNode();
    return from === undefined ? { kind: "AggregateCount", alias } : undefined;
  }
  const expression = bareTypeCast(state) ?? parseExpression(state);
  if (eatKeyword(state, "with")) {
    const method = readMethod(state);
    const from = parseFrom(state, false);
    const alias = readAlias(state);
    state.countNode();
    if (from === undefined) return { kind: "AggregateExpression", expression, method, alias };
    if (from.some((f) => f.paths.length !== 1)) return undefined;
    return {
      kind: "AggregateExpression",
      expression,
      method,
      alias,
      from: from.map((f) => ({ path: f.paths[0]!, method: f.method! })),
    };
  }
  if (expression.kind !== "Path") {
    state.skipWhitespace();
    state.fail(["with"]);
  }
  const last = expression.segments[expression.segments.length - 1];
  if (last?.kind === "Count") {
    // `Sales/$count [from ...] as Alias`
    parseFrom(state, false);
    readAlias(state);
    state.countNode();
    return undefined;
  }
  // A custom aggregate: `Forecast`, `Sales/Forecast`, `Forecast [from ...] as Alias`.
  const from = parseFrom(state, true);
  let alias: string | undefined;
  if (from !== undefined || nextIsWord(state, "as")) alias = readAlias(state);
  state.countNode();
  if (from !== undefined) return undefined;
  return alias === undefined
    ? { kind: "AggregateCustom", path: expression }
    : { kind: "AggregateCustom", path: expression, alias };
}

/**
 * A lone qualified type name (`Self.DigitalProduct with Custom.discount as X`), which aggregate
 * allows as the whole operand but common expressions do not; undefined (not moved) otherwise.
 *
 * @example
 * ```ts
 * import { bareTypeCast } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * bareTypeCast(new ParserState("Self.DigitalProduct with sum", DEFAULT_QUERY_LIMITS))?.kind; // "Path"
 * ```
 */
export function bareTypeCast(state: ParserState): PathExpression | undefined {
  const text = state.text;
  let i = state.pos;
  if (!isIdentifierStart(text.charCodeAt(i))) return undefined;
  let dotted = false;
  for (;;) {
    i++;
    while (isIdentifierPart(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== CH.DOT || !isIdentifierStart(text.charCodeAt(i + 1))) break;
    dotted = true;
    i++;
  }
  const c = text.charCodeAt(i);
  if (!dotted || !(isSpace(c) || c === CH.COMMA || c === CH.RPAREN)) return undefined;
  const type = text.slice(state.pos, i);
  state.pos = i;
  state.countNode();
  return { kind: "Path", root: "implicit", segments: [{ kind: "TypeCast", type }] };
}

/**
 * True if whitespace and `word` follow.
 *
 * @example
 * ```ts
 * import { nextIsWord } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * nextIsWord(new ParserState(" as X", DEFAULT_QUERY_LIMITS), "as"); // true
 * ```
 */
export function nextIsWord(state: ParserState, word: string): boolean {
  let i = state.pos;
  if (!isSpace(state.text.charCodeAt(i))) return false;
  while (isSpace(state.text.charCodeAt(i))) i++;
  return wordAt(state.text, i, word, false) !== -1;
}

/**
 * The aggregate of an `aggregate(...)` path segment at the cursor (`aggregateFunctionExpr` of the
 * aggregation ABNF): `Amount with sum [from ...]`, `$count [from ...]`, or a custom aggregate
 * (`Budget`, `Product/Budget`). Forms the AST cannot hold exactly (a `from` over several
 * properties or without `with`, `Path/$count`, `from` after a custom aggregate) are refused as
 * not supported.
 *
 * @example
 * ```ts
 * import { parseAggregateFunction } from "./aggregate.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseAggregateFunction(new ParserState("$count", DEFAULT_QUERY_LIMITS)); // { kind: "AggregateCount" }
 * ```
 */
export function parseAggregateFunction(state: ParserState): AggregateFunction {
  const text = state.text;
  const start = state.pos;
  const countEnd = wordAt(text, start, "$count", false);
  if (countEnd !== -1 && text.charCodeAt(countEnd) !== CH.SLASH) {
    state.pos = countEnd;
    const from = singleFrom(state, parseFrom(state, false), start);
    state.countNode();
    return from === undefined ? { kind: "AggregateCount" } : { kind: "AggregateCount", from };
  }
  const expression = bareTypeCast(state) ?? parseExpression(state);
  if (eatKeyword(state, "with")) {
    const method = readMethod(state);
    const from = singleFrom(state, parseFrom(state, false), start);
    state.countNode();
    return from === undefined
      ? { kind: "AggregateExpression", expression, method }
      : { kind: "AggregateExpression", expression, method, from };
  }
  if (expression.kind !== "Path") {
    state.skipWhitespace();
    return state.fail(["with"]);
  }
  if (expression.segments[expression.segments.length - 1]?.kind === "Count") {
    return state.fail([], start, "Path/$count is not supported in an aggregate() path segment");
  }
  if (parseFrom(state, true) !== undefined) {
    state.fail([], start, "from after a custom aggregate is not supported in aggregate()");
  }
  state.countNode();
  return { kind: "AggregateCustom", path: expression };
}

/** `from` steps as the AST holds them (one path and a method each), or a refusal at `start`. */
function singleFrom(
  state: ParserState,
  from: { paths: PathExpression[]; method: string | undefined }[] | undefined,
  start: number,
): AggregateFrom[] | undefined {
  if (from === undefined) return undefined;
  return from.map((step) => {
    if (step.paths.length !== 1 || step.method === undefined) {
      return state.fail([], start, "from over several properties is not supported in aggregate()");
    }
    return { path: step.paths[0]!, method: step.method };
  });
}
