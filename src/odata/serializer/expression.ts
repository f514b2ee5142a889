/**
 * Prints expression ASTs as canonical OData text: minimal parentheses from the precedence of
 * OData URL Conventions §5.1.1.17, single spaces around keyword operators, no spaces after commas.
 * For every AST the parser produces, `parseFilter(serializeFilter(ast))` deep-equals `ast`.
 *
 * @module
 */

import type {
  AggregateFunction,
  BinaryExpression,
  BinaryOperator,
  Expression,
  FilterExpression,
  JsonExpression,
  LiteralNode,
  PathExpression,
  PathSegment,
} from "../ast.ts";
import { serializeSearch } from "./search.ts";

/** Binding strength of binary operators; unary operators are 7, `has`/`in` 8, primaries 9. */
const PRECEDENCE: Readonly<Record<BinaryOperator, number>> = {
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
};
const UNARY = 7;
const PRIMARY = 9;

function precedenceOf(expr: Expression): number {
  if (expr.kind === "Binary") return PRECEDENCE[expr.operator];
  return expr.kind === "Unary" ? UNARY : PRIMARY;
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
  return serializeExpression(expr);
}

/**
 * Prints any common expression as canonical OData text.
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
  switch (expr.kind) {
    case "Literal":
      return serializeLiteral(expr);
    case "Path":
      return serializePath(expr);
    case "Alias":
      return "@" + expr.name;
    case "Binary":
      return serializeBinary(expr);
    case "Unary": {
      const operand = serializeExpression(expr.operand);
      const low = precedenceOf(expr.operand) < UNARY;
      if (expr.operator === "not") return "not " + (low ? `(${operand})` : operand);
      // `-5` or `-INF` would read back as a negative literal, not as a negation.
      return "-" + (low || startsLikeNumber(operand) ? `(${operand})` : operand);
    }
    case "Call":
      return expr.name + "(" + expr.args.map(serializeExpression).join(",") + ")";
    case "TypeFunction":
      return expr.name + "(" +
        (expr.operand === null ? "" : serializeExpression(expr.operand) + ",") +
        expr.type + ")";
    case "Case":
      return "case(" + expr.branches.map((branch) => {
        const when = serializeExpression(branch.when);
        // `10:20` after a condition ending in a digit would read as a time of day.
        return when + (endsWithDigit(when) ? " :" : ":") + serializeExpression(branch.then);
      }).join(",") + ")";
    case "List":
      return "[" + expr.items.map(serializeExpression).join(",") + "]";
    case "Json":
      return serializeJson(expr);
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
function serializeBinary(expr: BinaryExpression): string {
  const chain: BinaryExpression[] = [expr];
  let node = expr;
  while (
    node.left.kind === "Binary" && PRECEDENCE[node.left.operator] >= PRECEDENCE[node.operator]
  ) {
    node = node.left;
    chain.push(node);
  }
  const left = node.left;
  const leftText = serializeExpression(left);
  let out = precedenceOf(left) < PRECEDENCE[node.operator] ? `(${leftText})` : leftText;
  for (let i = chain.length - 1; i >= 0; i--) {
    const b = chain[i]!;
    out += " " + b.operator + " " + rightOperand(b);
  }
  return out;
}

function rightOperand(expr: BinaryExpression): string {
  const right = expr.right;
  if (expr.operator === "in" && right.kind === "List") {
    return "(" + right.items.map(serializeExpression).join(",") + ")";
  }
  const text = serializeExpression(right);
  // `has` and `in` take a primary; other operators are left-associative.
  const limit = expr.operator === "in" || expr.operator === "has"
    ? PRIMARY
    : PRECEDENCE[expr.operator] + 1;
  return precedenceOf(right) < limit ? `(${text})` : text;
}

/**
 * Prints a member path. A path of one lone annotation without namespace or qualifier at the start
 * (`@Currency`) reads back as a parameter alias, the one form the grammar cannot tell apart; the
 * parser never produces it (`@Currency/...` and `Price/@Currency` are fine).
 */
function serializePath(path: PathExpression): string {
  let out = path.root === "implicit"
    ? ""
    : path.root === "variable"
    ? path.variable ?? ""
    : path.root;
  let first = path.root === "implicit";
  for (const segment of path.segments) {
    if (segment.kind !== "Key" && !first) out += "/";
    out += segmentText(segment);
    first = false;
  }
  return out;
}

function segmentText(segment: PathSegment): string {
  switch (segment.kind) {
    case "Property":
      return segment.name;
    case "TypeCast":
      return segment.type;
    case "Key":
      return "(" +
        segment.values.map((v) =>
          v.name === undefined
            ? serializeExpression(v.value)
            : v.name + "=" + serializeExpression(v.value)
        ).join(",") + ")";
    case "Function":
      return segment.name + "(" +
        segment.args.map((a) => a.name + "=" + serializeExpression(a.value)).join(",") + ")";
    case "Lambda":
      return segment.operator + "(" +
        (segment.variable === undefined || segment.predicate === undefined
          ? ""
          : segment.variable + ":" + serializeExpression(segment.predicate)) +
        ")";
    case "Count": {
      const options: string[] = [];
      if (segment.filter !== undefined) {
        options.push("$filter=" + serializeExpression(segment.filter));
      }
      if (segment.search !== undefined) options.push("$search=" + serializeSearch(segment.search));
      return options.length === 0 ? "$count" : "$count(" + options.join(";") + ")";
    }
    case "Annotation":
      return "@" + segment.term + (segment.qualifier === undefined ? "" : "#" + segment.qualifier);
    case "FilterSegment":
      return "$filter(" + serializeExpression(segment.predicate) + ")";
    case "AggregateSegment":
      return "aggregate(" + aggregateFunctionText(segment.aggregate) + ")";
  }
}

/** `Amount with sum from Time with average`, `$count`, `Product/Budget`. */
function aggregateFunctionText(aggregate: AggregateFunction): string {
  let out: string;
  switch (aggregate.kind) {
    case "AggregateExpression":
      out = serializeExpression(aggregate.expression) + " with " + aggregate.method;
      break;
    case "AggregateCount":
      out = "$count";
      break;
    case "AggregateCustom":
      return serializePath(aggregate.path);
  }
  for (const step of aggregate.from ?? []) {
    out += " from " + serializePath(step.path) + " with " + step.method;
  }
  return out;
}

/**
 * Prints a primitive literal: strings quoted with `''` escaping, doubles so that they read back
 * as doubles (`1.5e0`, `INF`, `-INF`, `NaN`), decimals from their text, prefixed types with their
 * prefix (`duration'P1D'`, `binary'AQ'`, `geography'SRID=4326;Point(1 2)'`, `Model.Color'Red'`).
 *
 * @example
 * ```ts
 * import { serializeLiteral } from "./expression.ts";
 * serializeLiteral({ kind: "Literal", type: "double", value: 1.5 }); // "1.5e0"
 * serializeLiteral({ kind: "Literal", type: "string", value: "O'Neil" }); // "'O''Neil'"
 * ```
 */
export function serializeLiteral(node: LiteralNode): string {
  const value = node.value;
  switch (node.type) {
    case "null":
      return "null";
    case "boolean":
      return value ? "true" : "false";
    case "int":
      return typeof value === "number" && Object.is(value, -0) ? "0" : String(value);
    case "decimal": {
      const text = String(value);
      // A decimal given as a number (builders) still needs a fraction to read back as decimal.
      return typeof value === "number" && Number.isInteger(value) ? text + ".0" : text;
    }
    case "double":
      return doubleText(Number(value));
    case "string":
      return "'" + String(value).replaceAll("'", "''") + "'";
    case "duration":
    case "binary":
    case "geography":
    case "geometry":
      return node.type + "'" + String(value) + "'";
    case "enum":
      return (node.enumType ?? "") + "'" + String(value) + "'";
    default:
      return String(value);
  }
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
function serializeJson(node: JsonExpression): string {
  return jsonText(node.value, slotsOf(node));
}

function jsonText(value: unknown, slots: Slots | undefined): string {
  if (slots?.expression !== undefined) return serializeExpression(slots.expression);
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
        return "[" + value.map((v, i) => jsonText(v, children?.get(i))).join(",") + "]";
      }
      return "{" +
        Object.entries(value).map(([k, v]) =>
          JSON.stringify(k) + ":" + jsonText(v, children?.get(k))
        )
          .join(",") +
        "}";
    default:
      return "null";
  }
}
