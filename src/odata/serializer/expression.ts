/**
 * Prints expression ASTs as canonical OData text: minimal parentheses from the precedence of
 * OData URL Conventions §5.1.1.17, single spaces around keyword operators, no spaces after commas.
 * For every AST the parser produces, `parseFilter(serializeFilter(ast))` deep-equals `ast`.
 *
 * Nothing is printed unchecked: names (properties, type casts, functions, parameters, aliases,
 * lambda variables, annotations), type names, canonical function names, operators and literal
 * values are checked with cheap char-code tests before they are printed, so that a hand-made or
 * tampered AST cannot print as text that reads back differently (OData injection such as a
 * property named `Name eq 'y' or true or Name`). Such nodes and unknown node kinds throw
 * `INVALID_ARGUMENT`.
 *
 * @module
 */

import type {
  BinaryExpression,
  BinaryOperator,
  Expression,
  FilterExpression,
  JsonExpression,
  LiteralNode,
} from "../ast.ts";
import { EXPRESSION_KINDS } from "../ast.ts";
import { invalidArgument, show } from "../arguments.ts";
import {
  asModuleError,
  isCanonicalFunction,
  isIdentifier,
  isLiteralType,
  isTypeName,
  literalProblem,
} from "../validate.ts";
import { writePath } from "./path.ts";

/** Binding strength of binary operators; unary operators are 7, `has`/`in` 8, primaries 9. */
const PRECEDENCE: Readonly<Record<BinaryOperator, number>> = Object.assign(Object.create(null), {
  or: 1,
  and: 2,
  eq: 3,
  ne: 3,
  gt: 4,
  ge: 4,
  lt: 4,
  le: 4,
  add: 5,
  sub: 5,
  mul: 6,
  div: 6,
  divby: 6,
  mod: 6,
  has: 8,
  in: 8,
});
const UNARY = 7;
const PRIMARY = 9;

function precedenceOf(expr: Expression): number {
  if (expr.kind === "Binary") return PRECEDENCE[expr.operator];
  return expr.kind === "Unary" ? UNARY : PRIMARY;
}

/**
 * Throws `INVALID_ARGUMENT` for a node the serializer refuses to print.
 *
 * @example
 * ```ts
 * import { refuse } from "./expression.ts";
 * try {
 *   refuse("Invalid property name \"a b\"");
 * } catch (error) {
 *   console.log((error as Error).message); // 'Invalid property name "a b"'
 * }
 * ```
 */
export function refuse(message: string, context: Record<string, unknown> = {}): never {
  throw invalidArgument(message, context, SUGGESTION);
}

const SUGGESTION = "Build the AST with the builders (prop, literal, typedLiteral, ...), which " +
  "check names and values where they are given, or take it from the parsers.";

/**
 * True for an object, the minimum of an AST node (its `kind` is checked where it is used).
 *
 * @example
 * ```ts
 * import { isNode } from "./expression.ts";
 * isNode({ kind: "Literal" }); // true
 * isNode(null); // false
 * ```
 */
export function isNode(value: unknown): value is { readonly kind: unknown } {
  return typeof value === "object" && value !== null;
}

/**
 * Throws `INVALID_ARGUMENT` for a node of no known kind (`what`: "expression node", "path
 * segment", ...; `kinds`: the kinds expected there) or for a value that is no node at all.
 *
 * @example
 * ```ts
 * import { unknownKind } from "./expression.ts";
 * try {
 *   unknownKind({ kind: "Nope" }, "search node", ["SearchTerm", "SearchNot", "SearchBinary"]);
 * } catch (error) {
 *   console.log((error as Error).message);
 *   // 'Unknown search node kind "Nope"; expected SearchTerm, SearchNot or SearchBinary'
 * }
 * ```
 */
export function unknownKind(node: unknown, what: string, kinds: readonly string[]): never {
  const expected = kinds.length === 1
    ? kinds[0]
    : `${kinds.slice(0, -1).join(", ")} or ${kinds[kinds.length - 1]}`;
  if (isNode(node)) {
    return refuse(`Unknown ${what} kind ${show(node.kind)}; expected ${expected}`, {
      kind: show(node.kind),
      expected: [...kinds],
    });
  }
  const article = /^[aeiou]/.test(what) ? "an" : "a";
  return refuse(`Expected ${article} ${what} (${expected}), got ${show(node)}`, {
    value: show(node),
    expected: [...kinds],
  });
}

/**
 * Prints a `$filter` expression (the same as {@linkcode serializeExpression}).
 *
 * @example
 * ```ts
 * import { parseFilter } from "../parser/expression.ts";
 * import { serializeFilter } from "./expression.ts";
 * serializeFilter(parseFilter("(a  eq 1)  and (b eq 2 or c eq 3)")); // "a eq 1 and (b eq 2 or c eq 3)"
 * ```
 */
export function serializeFilter(expr: FilterExpression): string {
  return serializeEntry(expr, "serializeFilter()");
}

/**
 * Prints any common expression as canonical OData text. Every name and literal text is checked
 * before it is printed, so that no AST can print as text that reads back differently (a property
 * named `Name eq 'y' or true or Name`, a guid `... or true`): such nodes, unknown node kinds and
 * values of the wrong type throw `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { serializeExpression } from "./expression.ts";
 * serializeExpression({
 *   kind: "Call",
 *   name: "contains",
 *   args: [
 *     { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "Name" }] },
 *     { kind: "Literal", type: "string", value: "O'Neil" },
 *   ],
 * }); // "contains(Name,'O''Neil')"
 * ```
 */
export function serializeExpression(expr: Expression): string {
  return serializeEntry(expr, "serializeExpression()");
}

function serializeEntry(expr: Expression, caller: string): string {
  if (!isNode(expr)) {
    throw invalidArgument(
      `${caller} takes an expression node such as { kind: "Binary", ... }, got ${show(expr)}`,
      { value: show(expr) },
      SUGGESTION,
    );
  }
  try {
    return writeExpression(expr, new WriteContext());
  } catch (error) {
    throw asModuleError(error, caller);
  }
}

/**
 * What one serialization knows about where it prints: the lambda variables in scope (a path
 * starting at an unbound variable, or a property path whose first name is a bound variable's,
 * would read back as something else) and, when printing into a query string, the mark written for
 * the `;` of search words inside `$count(...)` (see `searchText`).
 *
 * @example
 * ```ts
 * import { WriteContext, writeExpression } from "./expression.ts";
 * writeExpression({ kind: "Alias", name: "p" }, new WriteContext()); // "@p"
 * ```
 */
export class WriteContext {
  /** Lambda variables in scope, innermost last. */
  readonly variables: string[] = [];
  /** The char written for a `;` in a search word inside `$count(...)`; unset outside URLs. */
  readonly semicolonMark: string | undefined;
  /** How many marks have been written. */
  marks = 0;

  /** A context at the top level (no lambda variable in scope). */
  constructor(semicolonMark?: string) {
    this.semicolonMark = semicolonMark;
  }
}

/**
 * Prints one expression; the recursion of the serializer, also used by the query serializer.
 *
 * @example
 * ```ts
 * import { WriteContext, writeExpression } from "./expression.ts";
 * writeExpression({ kind: "Alias", name: "p" }, new WriteContext()); // "@p"
 * ```
 */
export function writeExpression(expr: Expression, ctx: WriteContext): string {
  switch (expr?.kind) {
    case "Literal":
      return serializeLiteralNode(expr);
    case "Path":
      return writePath(expr, ctx);
    case "Alias":
      if (!isIdentifier(expr.name)) refuse(`Invalid parameter alias name ${show(expr.name)}`);
      return "@" + expr.name;
    case "Binary":
      return serializeBinary(expr, ctx);
    case "Unary": {
      const operand = writeExpression(expr.operand, ctx);
      const low = precedenceOf(expr.operand) < UNARY;
      if (expr.operator === "not") return "not " + (low ? `(${operand})` : operand);
      if (expr.operator !== "negate") refuse(`Unknown unary operator ${show(expr.operator)}`);
      // `-5` or `-INF` would read back as a negative literal, not as a negation.
      return "-" + (low || startsLikeNumber(operand) ? `(${operand})` : operand);
    }
    case "Call":
      if (!isCanonicalFunction(expr.name)) {
        refuse(`Unknown canonical function ${show(expr.name)}`, { name: show(expr.name) });
      }
      return expr.name + "(" + expr.args.map((arg) => writeExpression(arg, ctx)).join(",") + ")";
    case "TypeFunction":
      if (expr.name !== "cast" && expr.name !== "isof") {
        refuse(`Unknown type function ${show(expr.name)}; expected cast or isof`);
      }
      if (!isTypeName(expr.type)) refuse(`Invalid type name ${show(expr.type)} in ${expr.name}()`);
      return expr.name + "(" +
        (expr.operand === null ? "" : writeExpression(expr.operand, ctx) + ",") +
        expr.type + ")";
    case "Case":
      if (expr.branches.length === 0) refuse("case() needs at least one condition:value pair");
      return "case(" + expr.branches.map((branch) => {
        const when = writeExpression(branch.when, ctx);
        // `10:20` after a condition ending in a digit would read as a time of day.
        return when + (endsWithDigit(when) ? " :" : ":") + writeExpression(branch.then, ctx);
      }).join(",") + ")";
    case "List":
      return "[" + expr.items.map((item) => writeExpression(item, ctx)).join(",") + "]";
    case "Json":
      return serializeJson(expr, ctx);
    default:
      return unknownKind(expr, "expression node", EXPRESSION_KINDS);
  }
}

function startsLikeNumber(text: string): boolean {
  const c = text.charCodeAt(0);
  if (c >= 48 && c <= 57) return true;
  if (!text.startsWith("INF")) return false;
  const d = text.charCodeAt(3);
  return !((d >= 48 && d <= 57) || (d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 95 ||
    d > 127);
}

function endsWithDigit(text: string): boolean {
  const c = text.charCodeAt(text.length - 1);
  return c >= 48 && c <= 57;
}

/**
 * Left-deep chains (`a and b and c ...`, as the parser builds them) are printed in a loop, so
 * long chains cannot overflow the stack.
 */
function serializeBinary(expr: BinaryExpression, ctx: WriteContext): string {
  const chain: BinaryExpression[] = [expr];
  let node = expr;
  checkOperator(node);
  while (node.left?.kind === "Binary") {
    checkOperator(node.left);
    if (PRECEDENCE[node.left.operator] < PRECEDENCE[node.operator]) break;
    node = node.left;
    chain.push(node);
  }
  const left = node.left;
  const leftText = writeExpression(left, ctx);
  let out = precedenceOf(left) < PRECEDENCE[node.operator] ? `(${leftText})` : leftText;
  for (let i = chain.length - 1; i >= 0; i--) {
    const b = chain[i]!;
    out += " " + b.operator + " " + rightOperand(b, ctx);
  }
  return out;
}

function checkOperator(expr: BinaryExpression): void {
  // PRECEDENCE has no prototype: only the operators are in it.
  if (PRECEDENCE[expr.operator] === undefined) {
    refuse(`Unknown binary operator ${show(expr.operator)}`, { operator: show(expr.operator) });
  }
}

function rightOperand(expr: BinaryExpression, ctx: WriteContext): string {
  const right = expr.right;
  if (expr.operator === "in" && right?.kind === "List") {
    return "(" + right.items.map((item) => writeExpression(item, ctx)).join(",") + ")";
  }
  const text = writeExpression(right, ctx);
  // `has` and `in` take a primary; other operators are left-associative.
  const limit = expr.operator === "in" || expr.operator === "has"
    ? PRIMARY
    : PRECEDENCE[expr.operator] + 1;
  return precedenceOf(right) < limit ? `(${text})` : text;
}

/**
 * Prints a primitive literal: strings quoted with `''` escaping, doubles so that they read back
 * as doubles (`1.5e0`, `INF`, `-INF`, `NaN`), decimals from their text, prefixed types with their
 * prefix (`duration'P1D'`, `binary'AQ'`, `geography'SRID=4326;Point(1 2)'`, `Model.Color'Red'`).
 * The value must have the representation documented on {@linkcode LiteralNode}, and texts must be
 * valid literals of their type (`guid` text is one guid, nothing after it): anything else throws
 * `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { serializeLiteral } from "./expression.ts";
 * serializeLiteral({ kind: "Literal", type: "double", value: 1.5 }); // "1.5e0"
 * serializeLiteral({ kind: "Literal", type: "string", value: "O'Neil" }); // "'O''Neil'"
 * ```
 */
export function serializeLiteral(node: LiteralNode): string {
  if (node?.kind !== "Literal") {
    throw invalidArgument(
      `serializeLiteral() takes a literal node such as { kind: "Literal", type: "int", value: 1 }, ` +
        `got ${show(node)}`,
      {},
      SUGGESTION,
    );
  }
  try {
    return serializeLiteralNode(node);
  } catch (error) {
    throw asModuleError(error, "serializeLiteral()");
  }
}

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

function serializeLiteralNode(node: LiteralNode): string {
  const type = node.type;
  const value = node.value;
  // The common types are checked inline; `literalProblem` does the rest and words refusals.
  switch (type) {
    case "string":
      if (typeof value === "string") return "'" + value.replaceAll("'", "''") + "'";
      break;
    case "int":
      if (typeof value === "number") {
        if (Number.isSafeInteger(value)) return Object.is(value, -0) ? "0" : String(value);
      } else if (typeof value === "bigint" && value >= INT64_MIN && value <= INT64_MAX) {
        return String(value);
      }
      break;
    case "null":
      if (value === null) return "null";
      break;
    case "boolean":
      if (typeof value === "boolean") return value ? "true" : "false";
      break;
    case "double":
      if (typeof value === "number") return doubleText(value);
      break;
    default:
      if (literalProblem(type, value, node.enumType) !== undefined) break;
      switch (type) {
        case "decimal":
          return decimalText(value as string | number | bigint);
        case "duration":
        case "binary":
        case "geography":
        case "geometry":
          return type + "'" + value + "'";
        case "enum":
          return node.enumType + "'" + value + "'";
        default:
          return value as string;
      }
  }
  const problem = literalProblem(type, value, node.enumType);
  return refuse(
    `Invalid ${isLiteralType(type) ? type + " " : ""}literal ${show(value)}: ${problem}`,
    { type: show(type), value: show(value) },
  );
}

/**
 * A decimal needs a fraction to read back as a decimal, unless it is an integer beyond 64 bits
 * (which only a decimal can hold): `18` prints as `18.0`.
 */
function decimalText(value: string | number | bigint): string {
  const text = String(value);
  if (typeof value === "number" ? !Number.isInteger(value) : text.includes(".")) return text;
  const digits = text.charCodeAt(0) === 45 ? text.length - 1 : text.length;
  if (digits < 19) return text + ".0";
  const big = BigInt(text);
  return big >= INT64_MIN && big <= INT64_MAX ? text + ".0" : text;
}

function doubleText(value: number): string {
  if (value !== value) return "NaN";
  if (value === Infinity) return "INF";
  if (value === -Infinity) return "-INF";
  if (Object.is(value, -0)) return "-0e0";
  const text = String(value);
  return text.includes("e") ? text : text + "e0";
}

/** Embedded expressions of a `Json` node by slot: a trie over keys and indexes. */
interface Slots {
  expression?: Expression;
  children?: Map<string | number, Slots>;
}

function slotsOf(node: JsonExpression): Slots | undefined {
  if (node.expressions === undefined || node.expressions.length === 0) return undefined;
  const root: Slots = {};
  for (const { path, expression } of node.expressions) {
    let slot = root;
    for (const key of path) {
      const children = slot.children ??= new Map();
      let next = children.get(key);
      if (next === undefined) children.set(key, next = {});
      slot = next;
    }
    slot.expression = expression;
  }
  return root;
}

/** JSON text of a `Json` node: its data, with each embedded expression printed in its slot. */
function serializeJson(node: JsonExpression, ctx: WriteContext): string {
  return jsonText(node.value, slotsOf(node), ctx);
}

function jsonText(value: unknown, slots: Slots | undefined, ctx: WriteContext): string {
  if (slots?.expression !== undefined) return writeExpression(slots.expression, ctx);
  const children = slots?.children;
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) return doubleText(value);
      // `-0.0` and exponent forms read back as the same number (not as an int or a bigint).
      if (Object.is(value, -0)) return "-0.0";
      return Number.isInteger(value) && !Number.isSafeInteger(value)
        ? value.toExponential()
        : String(value);
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) {
        return "[" + value.map((v, i) => jsonText(v, children?.get(i), ctx)).join(",") + "]";
      }
      return "{" +
        Object.entries(value).map(([k, v]) =>
          JSON.stringify(k) + ":" + jsonText(v, children?.get(k), ctx)
        )
          .join(",") +
        "}";
    default:
      return "null";
  }
}
