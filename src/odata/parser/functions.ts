/**
 * Canonical function calls of OData URL Conventions §5.1.1: the name table with arities, the
 * argument lists, the type functions `cast`/`isof` and the OData 4.01 `case`.
 *
 * @module
 */

import type { CanonicalFunction, Expression } from "../ast.ts";
import { parseExpression } from "./expression.ts";
import { scanQualifiedName } from "./path.ts";
import { CH, type ParserState } from "./state.ts";

/** Arity of a canonical function; `path` marks functions whose argument must be a member path. */
interface FunctionSpec {
  readonly name: CanonicalFunction;
  readonly min: number;
  readonly max: number;
  readonly path?: boolean;
}

const SPECS: readonly FunctionSpec[] = [
  ...(["concat", "contains", "endswith", "indexof", "startswith", "matchesPattern"] as const).map(
    (name) => ({ name, min: 2, max: 2 }),
  ),
  { name: "substring", min: 2, max: 3 },
  ...(["hassubset", "hassubsequence", "geo.distance", "geo.intersects"] as const).map((name) => ({
    name,
    min: 2,
    max: 2,
  })),
  ...([
    "length",
    "tolower",
    "toupper",
    "trim",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "fractionalseconds",
    "totalseconds",
    "date",
    "time",
    "totaloffsetminutes",
    "round",
    "floor",
    "ceiling",
    "geo.length",
  ] as const).map((name) => ({ name, min: 1, max: 1 })),
  ...(["mindatetime", "maxdatetime", "now"] as const).map((name) => ({ name, min: 0, max: 0 })),
  // Aggregation extension: `isdefinedExpr = %s"isdefined" OPEN BWS firstMemberExpr BWS CLOSE`.
  { name: "isdefined", min: 1, max: 1, path: true },
];

/** The canonical spellings: the lookup every well-written name hits. */
const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map(
  SPECS.map((spec) => [spec.name, spec] as const),
);

/**
 * Lower-case names for the fallback lookup: the ABNF writes canonical function names as
 * case-insensitive strings (`TOLOWER(Name)`, `matchespattern(...)`), except the aggregation
 * extension's `%s"isdefined"`, which is case-sensitive and so only in {@linkcode FUNCTIONS}.
 */
const FOLDED: ReadonlyMap<string, FunctionSpec> = new Map(
  SPECS.filter((spec) => spec.name !== "isdefined").map((spec) =>
    [spec.name.toLowerCase(), spec] as const
  ),
);

/**
 * Every function name known in expressions (canonical functions plus `cast`, `isof`, `case`),
 * used for "did you mean" suggestions.
 *
 * @example
 * ```ts
 * import { FUNCTION_NAMES } from "./functions.ts";
 * FUNCTION_NAMES.includes("contains"); // true
 * ```
 */
export const FUNCTION_NAMES: readonly string[] = [
  ...SPECS.map((s) => s.name),
  "cast",
  "isof",
  "case",
];

/**
 * Parses a call of the function `name` if it is a canonical function, `cast`, `isof` or `case`;
 * `state.pos` must be at the `(` after the name. Returns `undefined` (without moving) for other
 * names. Names are case-insensitive as in the ABNF (`TOLOWER` → `tolower`, `CAST` → `cast`),
 * except the case-sensitive `isdefined`; the node holds the canonical spelling.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { parseFunctionCall } from "./functions.ts";
 * const state = new ParserState("tolower(Name)", resolveLimits(undefined));
 * state.pos = 7;
 * parseFunctionCall(state, "tolower"); // { kind: "Call", name: "tolower", args: [ ... ] }
 * ```
 */
export function parseFunctionCall(state: ParserState, name: string): Expression | undefined {
  const spec = FUNCTIONS.get(name);
  if (spec !== undefined) return parseCall(state, spec);
  // Only names that are no canonical spelling get here (rare): fold their case once.
  const folded = name.toLowerCase();
  const other = FOLDED.get(folded);
  if (other !== undefined) return parseCall(state, other);
  switch (folded) {
    case "cast":
    case "isof":
      return parseTypeFunction(state, folded);
    case "case":
      return parseCase(state);
    default:
      return undefined;
  }
}

function parseCall(state: ParserState, spec: FunctionSpec): Expression {
  const text = state.text;
  state.enter();
  state.pos++;
  state.skipWhitespace();
  const args: Expression[] = [];
  if (text.charCodeAt(state.pos) === CH.RPAREN) {
    if (spec.min > 0) state.fail(["expression"], state.pos, arityDetail(spec, "Too few"));
  } else if (spec.max === 0) {
    state.fail([")"], state.pos, arityDetail(spec, "Too many"));
  } else {
    for (;;) {
      const argStart = state.pos;
      const arg = parseExpression(state);
      if (spec.path === true && arg.kind !== "Path") {
        state.fail(["property path"], argStart, `${spec.name}() takes a property path`);
      }
      args.push(arg);
      state.skipWhitespace();
      const c = text.charCodeAt(state.pos);
      if (c === CH.COMMA) {
        if (args.length >= spec.max) state.fail([")"], state.pos, arityDetail(spec, "Too many"));
        state.pos++;
        state.skipWhitespace();
        continue;
      }
      if (c === CH.RPAREN) {
        if (args.length < spec.min) state.fail([","], state.pos, arityDetail(spec, "Too few"));
        break;
      }
      state.fail(args.length >= spec.max ? [")"] : args.length < spec.min ? [","] : [",", ")"]);
    }
  }
  state.pos++;
  state.leave();
  state.countNode();
  return { kind: "Call", name: spec.name, args };
}

function arityDetail(spec: FunctionSpec, which: string): string {
  const count = spec.min === spec.max
    ? `${spec.min === 0 ? "no" : spec.min} argument${spec.min === 1 ? "" : "s"}`
    : `${spec.min} to ${spec.max} arguments`;
  return `${which} arguments: ${spec.name}() takes ${count}`;
}

/** `cast(Type)`, `cast(expr,Type)`, `isof(Type)`, `isof(expr,Type)`. */
function parseTypeFunction(state: ParserState, name: "cast" | "isof"): Expression {
  const text = state.text;
  state.enter();
  state.pos++;
  state.skipWhitespace();
  // The one-argument form is a bare type name: try it first, fall back to an expression.
  const start = state.pos;
  let type = scanTypeName(state);
  let operand: Expression | null = null;
  if (type !== undefined) {
    state.skipWhitespace();
    if (text.charCodeAt(state.pos) !== CH.RPAREN) type = undefined;
  }
  if (type === undefined) {
    state.pos = start;
    operand = parseExpression(state);
    state.skipWhitespace();
    state.expectChar(CH.COMMA, ",");
    state.skipWhitespace();
    type = scanTypeName(state);
    if (type === undefined) state.fail(["type name"]);
    state.skipWhitespace();
    state.expectChar(CH.RPAREN, ")");
  } else {
    state.pos++;
  }
  state.leave();
  state.countNode();
  return { kind: "TypeFunction", name, operand, type };
}

/**
 * Scans an `optionallyQualifiedTypeName` (`Edm.String`, `Model.Customer`, `Customer`,
 * `Collection(Edm.String)`) and returns it as written, or `undefined` without moving.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { scanTypeName } from "./functions.ts";
 * scanTypeName(new ParserState("Collection(Edm.Int32)", resolveLimits(undefined))); // "Collection(Edm.Int32)"
 * ```
 */
export function scanTypeName(state: ParserState): string | undefined {
  const start = state.pos;
  if (state.lookingAt("Collection(")) {
    state.pos += 11;
    const inner = scanQualifiedName(state);
    if (inner !== undefined && state.eatChar(CH.RPAREN)) return state.text.slice(start, state.pos);
    state.pos = start;
    return undefined;
  }
  return scanQualifiedName(state);
}

/** `case(cond:value, ...)` with at least one pair. */
function parseCase(state: ParserState): Expression {
  const text = state.text;
  state.enter();
  state.pos++;
  const branches: { when: Expression; then: Expression }[] = [];
  for (;;) {
    state.skipWhitespace();
    const when = parseExpression(state);
    state.skipWhitespace();
    state.expectChar(CH.COLON, ":");
    state.skipWhitespace();
    const then = parseExpression(state);
    state.skipWhitespace();
    state.countNode();
    branches.push({ when, then });
    const c = text.charCodeAt(state.pos);
    if (c === CH.RPAREN) break;
    if (c !== CH.COMMA) state.fail([",", ")"]);
    state.pos++;
  }
  state.pos++;
  state.leave();
  state.countNode();
  return { kind: "Case", branches };
}
