/**
 * Member paths of common expressions: `Category/CategoryName`, `$it/Name`, `d/Quantity` (lambda
 * variable), `$root/Products(1)/Name`, `Items/any(d:d/Qty gt 1)`, `Orders/$count($filter=...)`,
 * type casts (`Model.Vip/Name`), key predicates and bound function calls (`Model.Fn(p=1)`),
 * annotation values (`Price/@Measures.Currency`, `@Core.Messages/any(...)`), the `$filter(...)`
 * path segment, and the aggregation extension's `$these/...` and `Sales/aggregate(...)`; plus
 * parameter aliases.
 *
 * @module
 */

import { closestName } from "../../errors/suggest.ts";
import type {
  AnnotationSegment,
  Expression,
  KeySegment,
  KeyValue,
  NamedArgument,
  PathExpression,
  PathRoot,
  PathSegment,
  SearchExpression,
} from "../ast.ts";
import { parseAggregateFunction } from "./aggregate.ts";
import { parseExpression } from "./expression.ts";
import { FUNCTION_NAMES } from "./functions.ts";
import { scanLiteral } from "./literal.ts";
import { parseSearch } from "./search.ts";
import { CH, isIdentifierPart, isIdentifierStart, type ParserState } from "./state.ts";

/**
 * Scans an `odataIdentifier` (at most 128 chars) at the cursor, or returns `undefined` without
 * moving.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { scanIdentifier } from "./path.ts";
 * scanIdentifier(new ParserState("Name eq 1", resolveLimits(undefined))); // "Name"
 * ```
 */
export function scanIdentifier(state: ParserState): string | undefined {
  const text = state.text;
  const start = state.pos;
  if (!isIdentifierStart(text.charCodeAt(start))) return undefined;
  let p = start + 1;
  while (isIdentifierPart(text.charCodeAt(p))) p++;
  if (p - start > 128) state.fail([], start, "An identifier has at most 128 characters");
  state.pos = p;
  return text.slice(start, p);
}

/**
 * Scans a dotted name (`Name`, `Model.VipCustomer`, `geo.distance`) at the cursor, or returns
 * `undefined` without moving.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { scanQualifiedName } from "./path.ts";
 * scanQualifiedName(new ParserState("Model.Vip/Name", resolveLimits(undefined))); // "Model.Vip"
 * ```
 */
export function scanQualifiedName(state: ParserState): string | undefined {
  const text = state.text;
  const start = state.pos;
  if (scanIdentifier(state) === undefined) return undefined;
  while (
    text.charCodeAt(state.pos) === CH.DOT && isIdentifierStart(text.charCodeAt(state.pos + 1))
  ) {
    state.pos++;
    scanIdentifier(state);
  }
  return text.slice(start, state.pos);
}

/**
 * Parses a member path whose first name (`name`, possibly qualified, starting at `start`) was
 * just scanned; `state.pos` is right after it. Resolves lambda variables in scope.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { parseMemberPath } from "./path.ts";
 * const state = new ParserState("Category/Name", resolveLimits(undefined));
 * state.pos = 8;
 * parseMemberPath(state, "Category", 0).segments.length; // 2
 * ```
 */
export function parseMemberPath(state: ParserState, name: string, start: number): PathExpression {
  const lambdaVariables = state.lambdaVariables;
  if (
    lambdaVariables !== undefined && lambdaVariables.length !== 0 &&
    state.text.charCodeAt(state.pos) !== CH.LPAREN
  ) {
    for (let i = lambdaVariables.length - 1; i >= 0; i--) {
      if (lambdaVariables[i] === name) return continuePath(state, "variable", name, [], true);
    }
  }
  const segments: PathSegment[] = [];
  const more = finishSegment(state, segments, name, start, true, true);
  return continuePath(state, "implicit", undefined, segments, more);
}

/**
 * Parses `$it`, `$this`, `$root` or `$these` and the path after it, at a `$` at the cursor.
 * `$root` and `$these` (the current collection of the aggregation extension) need a `/` step.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { parseRootedPath } from "./path.ts";
 * parseRootedPath(new ParserState("$it/Name", resolveLimits(undefined))).root; // "$it"
 * ```
 */
export function parseRootedPath(state: ParserState): PathExpression {
  const text = state.text;
  const start = state.pos;
  let root: PathRoot | undefined;
  if (text.startsWith("$it", start)) root = "$it";
  else if (text.startsWith("$this", start)) root = "$this";
  else if (text.startsWith("$root", start)) root = "$root";
  else if (text.startsWith("$these", start)) root = "$these";
  const end = start + (root === undefined ? 1 : root.length);
  if (root === undefined || isIdentifierPart(text.charCodeAt(end))) {
    return state.fail(["$it", "$this", "$root", "$these"], start);
  }
  state.pos = end;
  if ((root === "$root" || root === "$these") && text.charCodeAt(end) !== CH.SLASH) {
    state.fail(["/"]);
  }
  return continuePath(state, root, undefined, [], true);
}

/**
 * Parses a member path at the cursor for callers that need a path, not an expression (`$select`
 * items, `groupby` properties, aggregation `from`): an identifier path, `$it`/`$this`/`$root`
 * paths, or a lambda variable in scope.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { parsePathExpression } from "./path.ts";
 * parsePathExpression(new ParserState("Sales/Amount", resolveLimits(undefined))).segments.length; // 2
 * ```
 */
export function parsePathExpression(state: ParserState): PathExpression {
  if (state.text.charCodeAt(state.pos) === CH.DOLLAR) return parseRootedPath(state);
  const start = state.pos;
  const name = scanQualifiedName(state);
  if (name === undefined) return state.fail(["property path"], start);
  return parseMemberPath(state, name, start);
}

/**
 * Parses `@name` at the cursor: the alias's value when the state has an alias map (`null` for
 * an alias without value), otherwise an `Alias` node. An annotation value (`@Core.Messages`,
 * `@Term#Qualifier`, or `@Term/...`: a path continues only after an annotation, unless `Term` is
 * a defined alias, which is refused) becomes a path whose first segment is the annotation.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { parseAlias } from "./path.ts";
 * parseAlias(new ParserState("@p1", resolveLimits(undefined))); // { kind: "Alias", name: "p1" }
 * parseAlias(new ParserState("@Core.Messages", resolveLimits(undefined))).kind; // "Path"
 * ```
 */
export function parseAlias(state: ParserState): Expression {
  const text = state.text;
  const start = state.pos;
  state.pos++;
  const name = scanIdentifier(state);
  if (name === undefined) return state.fail(["alias name"]);
  const c = text.charCodeAt(state.pos);
  if (c === CH.DOT || c === CH.HASH || c === CH.SLASH) {
    if (c === CH.SLASH && state.aliases?.has(name) === true) {
      state.fail([], state.pos, "A path after a parameter alias is not supported");
    }
    state.pos = start;
    const segments: PathSegment[] = [scanAnnotation(state)];
    return continuePath(state, "implicit", undefined, segments, true);
  }
  const aliases = state.aliases;
  if (aliases !== undefined) {
    const value = aliases.get(name);
    if (value !== undefined) return value;
    state.countNode();
    return { kind: "Literal", type: "null", value: null };
  }
  state.countNode();
  return { kind: "Alias", name };
}

/** True if `@` at `pos` starts an annotation (`@A.B`, `@A#Q`, `@A/...`), not a lone alias. */
function annotationAt(text: string, pos: number): boolean {
  let p = pos + 1;
  if (!isIdentifierStart(text.charCodeAt(p))) return false;
  while (isIdentifierPart(text.charCodeAt(++p)));
  const c = text.charCodeAt(p);
  return c === CH.DOT || c === CH.HASH || c === CH.SLASH;
}

/** `@[namespace.]term[#qualifier]` at the cursor (on the `@`). */
function scanAnnotation(state: ParserState): AnnotationSegment {
  state.pos++;
  const term = scanQualifiedName(state);
  if (term === undefined) return state.fail(["annotation term"]);
  state.countNode();
  if (state.text.charCodeAt(state.pos) !== CH.HASH) return { kind: "Annotation", term };
  state.pos++;
  const qualifier = scanIdentifier(state);
  if (qualifier === undefined) return state.fail(["annotation qualifier"]);
  return { kind: "Annotation", term, qualifier };
}

/** Parses `/segment` steps while the path may continue, then makes the node. */
function continuePath(
  state: ParserState,
  root: PathRoot,
  variable: string | undefined,
  segments: PathSegment[],
  more: boolean,
): PathExpression {
  const text = state.text;
  while (more && text.charCodeAt(state.pos) === CH.SLASH) {
    state.pos++;
    more = parseSegment(state, segments, segments.length === 0);
  }
  state.countNode();
  return variable === undefined
    ? { kind: "Path", root, segments }
    : { kind: "Path", root, variable, segments };
}

/**
 * One segment after a `/`. Returns false after a segment that ends a path (lambda, `$count`,
 * `aggregate(...)`).
 */
function parseSegment(state: ParserState, segments: PathSegment[], first: boolean): boolean {
  const text = state.text;
  const start = state.pos;
  const c = text.charCodeAt(start);
  if (c === CH.DOLLAR) {
    if (text.startsWith("$count", start) && !isIdentifierPart(text.charCodeAt(start + 6))) {
      parseCount(state, segments);
      return false;
    }
    if (text.startsWith("$filter(", start)) {
      parseFilterSegment(state, segments);
      return true;
    }
    if (isIdentifierStart(text.charCodeAt(start + 1))) {
      state.pos++;
      const name = scanIdentifier(state);
      state.fail([], start, `The path segment $${name} is not supported in expressions`);
    }
  }
  if (c === CH.AT) {
    segments.push(scanAnnotation(state));
    return true;
  }
  const name = scanQualifiedName(state);
  if (name === undefined) return state.fail(["property name"], start);
  if (text.charCodeAt(state.pos) === CH.LPAREN) {
    const lambda = lambdaOperator(name);
    if (lambda !== undefined) {
      parseLambda(state, segments, lambda);
      return false;
    }
    // `%s"/aggregate"`: case-sensitive, unlike the lambda operators.
    if (name === "aggregate") {
      parseAggregateSegment(state, segments);
      return false;
    }
  }
  return finishSegment(state, segments, name, start, first, false);
}

/** `any`/`all` in any case (ABNF strings are case-insensitive), or undefined. */
function lambdaOperator(name: string): "any" | "all" | undefined {
  if (name.length !== 3) return undefined;
  const c0 = name.charCodeAt(0) | 0x20;
  const c1 = name.charCodeAt(1) | 0x20;
  const c2 = name.charCodeAt(2) | 0x20;
  if (c0 === 97 && c1 === 110 && c2 === 121) return "any";
  if (c0 === 97 && c1 === 108 && c2 === 108) return "all";
  return undefined;
}

/**
 * Completes the segment named `name`: a property (with an optional key predicate), a type cast
 * or a function call. `implicitFirst` marks the first name of an expression, where an unknown
 * unqualified name with arguments is reported as an unknown function.
 */
function finishSegment(
  state: ParserState,
  segments: PathSegment[],
  name: string,
  start: number,
  first: boolean,
  implicitFirst: boolean,
): boolean {
  const text = state.text;
  const qualified = name.indexOf(".") >= 0;
  if (text.charCodeAt(state.pos) === CH.LPAREN) {
    if (!qualified) {
      const key = tryKeyPredicate(state);
      if (key !== undefined) {
        state.countNode();
        segments.push({ kind: "Property", name }, key);
        return true;
      }
      if (implicitFirst) failUnknownFunction(state, name, start);
    }
    parseFunctionSegment(state, segments, name);
    if (text.charCodeAt(state.pos) === CH.LPAREN) {
      const key = tryKeyPredicate(state);
      if (key === undefined) return state.fail(["key predicate"]);
      segments.push(key);
    }
    return true;
  }
  state.countNode();
  if (qualified) {
    // A leading cast must be followed by a member (`Model.Vip/Name`); `Model.Fn` alone is no
    // expression. A trailing cast after a property is fine (`Address/Model.Special`).
    if (first && text.charCodeAt(state.pos) !== CH.SLASH) state.fail(["/", "("]);
    segments.push({ kind: "TypeCast", type: name });
  } else {
    segments.push({ kind: "Property", name });
  }
  return true;
}

/**
 * Fails on `name(` at the start of an expression where `name` is no function. The caret is on
 * the name, the part to fix (an ABNF parser reports the `(`, since the name alone would be a
 * valid property).
 */
function failUnknownFunction(state: ParserState, name: string, start: number): never {
  const open = start + name.length;
  const lambda = lambdaOperator(name);
  if (lambda !== undefined || name === "aggregate") {
    const example = lambda === undefined
      ? "Sales/aggregate(Amount with sum)"
      : `Items/${lambda}(d:d/Quantity gt 1)`;
    return state.fail([], open, `${name}() needs a collection path before it, e.g. ${example}`);
  }
  const suggestion = closestName(name.toLowerCase(), FUNCTION_NAMES);
  return state.fail(
    [],
    start,
    `Unknown function ${JSON.stringify(name)}` +
      (suggestion === undefined ? "" : `; did you mean ${JSON.stringify(suggestion)}?`),
    suggestion === undefined
      ? "Use one of the canonical functions of OData (contains, startswith, year, round, ...)."
      : `Did you mean ${suggestion}?`,
  );
}

/**
 * Tries a key predicate `(1)`, `('a')`, `(@k)` or `(A=1,B='x')` at a `(`. Returns `undefined`
 * and restores the cursor when the parenthesis holds something else (function arguments).
 * Whitespace is allowed where function arguments allow it (`(A=1 , B=2 )`): key-shaped text
 * then reads as a key whatever its spacing, so it prints back to the same AST.
 */
function tryKeyPredicate(state: ParserState): KeySegment | undefined {
  const text = state.text;
  const save = state.pos;
  const savedNodes = state.nodeCount;
  state.pos++;
  state.skipWhitespace();
  const values: KeyValue[] = [];
  for (;;) {
    const itemStart = state.pos;
    let name: string | undefined;
    if (isIdentifierStart(text.charCodeAt(itemStart))) {
      name = scanIdentifier(state);
      if (text.charCodeAt(state.pos) === CH.EQUALS) state.pos++;
      else {
        name = undefined;
        state.pos = itemStart;
      }
    }
    // Only the first value may be unnamed (`(1)`); compound keys name every value.
    if (name === undefined && values.length > 0) break;
    const at = text.charCodeAt(state.pos) === CH.AT;
    if (at && annotationAt(text, state.pos)) break;
    const value = at ? parseAlias(state) : scanLiteral(state);
    if (value === undefined) break;
    values.push(name === undefined ? { value } : { name, value });
    state.skipWhitespace();
    const c = text.charCodeAt(state.pos);
    if (c === CH.RPAREN && (name !== undefined || values.length === 1)) {
      state.pos++;
      state.countNode();
      return { kind: "Key", values };
    }
    if (c !== CH.COMMA || name === undefined) break;
    state.pos++;
    state.skipWhitespace();
  }
  state.pos = save;
  state.nodeCount = savedNodes;
  return undefined;
}

/** `name(p1=v1,p2=v2)`: a bound or unbound function call step. */
function parseFunctionSegment(state: ParserState, segments: PathSegment[], name: string): void {
  const text = state.text;
  state.enter();
  state.pos++;
  state.skipWhitespace();
  const args: NamedArgument[] = [];
  if (text.charCodeAt(state.pos) !== CH.RPAREN) {
    for (;;) {
      const param = scanIdentifier(state);
      if (param === undefined) {
        state.fail(args.length === 0 ? ["parameter name", ")"] : ["parameter name"]);
      }
      state.expectChar(CH.EQUALS, "=");
      args.push({ name: param, value: parseExpression(state) });
      state.skipWhitespace();
      const c = text.charCodeAt(state.pos);
      if (c === CH.RPAREN) break;
      if (c !== CH.COMMA) state.fail([",", ")"]);
      state.pos++;
      state.skipWhitespace();
    }
  }
  state.pos++;
  state.leave();
  state.countNode();
  segments.push({ kind: "Function", name, args });
}

/** The predicate after a mistyped `=>`, shortened, for the hint. */
function lambdaRest(text: string, from: number): string {
  const rest = text.slice(from).trimStart();
  return rest.length > 40 ? rest.slice(0, 40) + "..." : rest;
}

/** `any()`, `any(v:predicate)`, `all(v:predicate)` at the `(`. */
function parseLambda(state: ParserState, segments: PathSegment[], operator: "any" | "all"): void {
  const text = state.text;
  state.enter();
  state.pos++;
  state.skipWhitespace();
  if (text.charCodeAt(state.pos) === CH.RPAREN) {
    if (operator === "all") {
      state.fail(
        ["lambda variable"],
        state.pos,
        "all() needs a lambda variable and a predicate: all(d:d/Quantity gt 1)",
      );
    }
    state.pos++;
    state.leave();
    state.countNode();
    segments.push({ kind: "Lambda", operator });
    return;
  }
  const variable = scanIdentifier(state);
  if (variable === undefined) {
    state.fail(operator === "any" ? ["lambda variable", ")"] : ["lambda variable"]);
  }
  state.skipWhitespace();
  if (text.charCodeAt(state.pos) !== CH.COLON) {
    const arrow = text.startsWith("=>", state.pos) || text.startsWith("->", state.pos);
    state.fail(
      [":"],
      state.pos,
      arrow
        ? `A lambda names its variable with a colon, not ${
          text.slice(state.pos, state.pos + 2)
        }: ` +
          `${operator}(${variable}:${lambdaRest(text, state.pos + 2)}`
        : undefined,
      arrow
        ? `Write ${operator}(${variable}:...) instead of ${operator}(${variable} => ...).`
        : undefined,
    );
  }
  state.pos++;
  state.skipWhitespace();
  // Every push is paired with a pop, also when the predicate fails to parse.
  const lambdaVariables = state.lambdaVariables ??= [];
  lambdaVariables.push(variable);
  let predicate: Expression;
  try {
    predicate = parseExpression(state);
  } finally {
    lambdaVariables.pop();
  }
  state.skipWhitespace();
  state.expectChar(CH.RPAREN, ")");
  state.leave();
  state.countNode();
  segments.push({ kind: "Lambda", operator, variable, predicate });
}

/**
 * `$filter(predicate)` at the `$` (`filterExpr = %s"/$filter" OPEN boolCommonExpr CLOSE`, so no
 * whitespace inside the parentheses), optionally followed by a key predicate.
 */
function parseFilterSegment(state: ParserState, segments: PathSegment[]): void {
  state.pos += 8; // "$filter("
  state.enter();
  const predicate = parseExpression(state);
  state.expectChar(CH.RPAREN, ")");
  state.leave();
  state.countNode();
  segments.push({ kind: "FilterSegment", predicate });
  if (state.text.charCodeAt(state.pos) === CH.LPAREN) {
    const key = tryKeyPredicate(state);
    if (key === undefined) state.fail(["key predicate"]);
    segments.push(key);
  }
}

/** `aggregate(...)` at the `(`: one aggregate of the aggregation extension, no alias. */
function parseAggregateSegment(state: ParserState, segments: PathSegment[]): void {
  state.pos++;
  state.enter();
  state.skipWhitespace();
  const aggregate = parseAggregateFunction(state);
  state.skipWhitespace();
  state.expectChar(CH.RPAREN, ")");
  state.leave();
  state.countNode();
  segments.push({ kind: "AggregateSegment", aggregate });
}

/** `$count` with the optional OData 4.01 `($filter=...;$search=...)`, at the `$`. */
function parseCount(state: ParserState, segments: PathSegment[]): void {
  const text = state.text;
  state.pos += 6;
  let filter: Expression | undefined;
  let search: SearchExpression | undefined;
  if (text.charCodeAt(state.pos) === CH.LPAREN) {
    state.enter();
    state.pos++;
    for (;;) {
      const start = state.pos;
      const dollar = text.charCodeAt(start) === CH.DOLLAR ? 1 : 0;
      if (text.startsWith("filter=", start + dollar) && filter === undefined) {
        state.pos = start + dollar + 7;
        filter = parseExpression(state);
      } else if (text.startsWith("search=", start + dollar) && search === undefined) {
        state.pos = start + dollar + 7;
        search = parseSearch(state);
      } else {
        const expected: string[] = [];
        if (filter === undefined) expected.push("$filter=");
        if (search === undefined) expected.push("$search=");
        state.fail(expected, start);
      }
      state.skipWhitespace();
      const c = text.charCodeAt(state.pos);
      if (c === CH.RPAREN) break;
      if (c !== CH.SEMI) state.fail([";", ")"]);
      state.pos++;
    }
    state.pos++;
    state.leave();
  }
  state.countNode();
  if (filter === undefined) {
    segments.push(search === undefined ? { kind: "Count" } : { kind: "Count", search });
  } else {
    segments.push(
      search === undefined ? { kind: "Count", filter } : { kind: "Count", filter, search },
    );
  }
}
