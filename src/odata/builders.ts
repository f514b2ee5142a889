/**
 * Builder functions that make AST nodes without text, so code composes queries from values,
 * never by concatenating strings. Every node returned is frozen.
 *
 * Every name and value is checked where it is given, and a bad one throws `INVALID_ARGUMENT`
 * naming it: names are OData identifiers (a letter or `_`, then letters, digits or `_`, at most
 * 128 characters; letters of any script), type casts and enum types are qualified names
 * (`Model.Color`), function names are canonical functions, and the text of a typed literal must
 * be one literal of its type (`typedLiteral("guid", "... or true")` throws). So a value that
 * reaches a name (`prop(userInput)`) cannot change the structure of the printed query.
 *
 * @module
 */

import type {
  BinaryExpression,
  BinaryOperator,
  CallExpression,
  CanonicalFunction,
  Expression,
  LambdaSegment,
  ListExpression,
  LiteralNode,
  LiteralType,
  PathExpression,
  PathSegment,
  UnaryExpression,
} from "./ast.ts";
import { EXPRESSION_KINDS } from "./ast.ts";
import type { ODataActiveRecordError } from "../errors/errors.ts";
import { invalidArgument as argumentError, show } from "./arguments.ts";
import {
  isCanonicalFunction,
  isLiteralType,
  isODataIdentifier,
  isODataQualifiedName,
  literalProblem,
} from "./validate.ts";

function invalidArgument(message: string, value?: unknown): ODataActiveRecordError {
  return argumentError(message, value === undefined ? {} : { value: show(value) });
}

const IDENTIFIER_RULE = "an OData identifier starts with a letter or _ and continues with " +
  "letters, digits or _ (at most 128 characters)";

const EXPRESSION_KIND_SET: ReadonlySet<unknown> = new Set(EXPRESSION_KINDS);

/**
 * True for an AST expression node (as made by the builders or the parser).
 *
 * @example
 * ```ts
 * import { isExpression, literal } from "@oar/odata-active-record";
 * isExpression(literal(1)); // true
 * isExpression({ UnitPrice: 1 }); // false
 * ```
 */
export function isExpression(value: unknown): value is Expression {
  return typeof value === "object" && value !== null &&
    EXPRESSION_KIND_SET.has((value as { kind?: unknown }).kind);
}

/** `value` if it is an expression node, else an `INVALID_ARGUMENT` naming `caller`. */
function expressionNode(value: unknown, caller: string): Expression {
  if (isExpression(value)) return value;
  throw invalidArgument(`${caller}: expected an expression node, got ${show(value)}`, value);
}

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** A JavaScript value that {@linkcode literal} turns into a literal node. */
export type LiteralInput = string | number | bigint | boolean | null | Date;

/**
 * A literal node from a JavaScript value: strings → `string`, integers → `int` (`-0` as `0`),
 * other numbers → `double`, bigint → `int` (a number up to 2^53 and a `decimal` beyond 64 bits, as
 * the parser reads such integers), booleans, `null`, `Date` → `datetimeoffset` (UTC, years 0000
 * to 9999). The node reads back unchanged through `serializeFilter` and `parseFilter`.
 *
 * @example
 * ```ts
 * import { literal } from "@oar/odata-active-record";
 * literal(20); // { kind: "Literal", type: "int", value: 20 }
 * ```
 */
export function literal(value: LiteralInput): LiteralNode {
  if (value === null) return Object.freeze({ kind: "Literal", type: "null", value: null });
  switch (typeof value) {
    case "string":
      return Object.freeze({ kind: "Literal", type: "string", value });
    case "boolean":
      return Object.freeze({ kind: "Literal", type: "boolean", value });
    case "bigint":
      // As the parser reads them: a number up to 2^53, a bigint up to 64 bits, then a decimal.
      return Object.freeze(
        value >= SAFE_MIN && value <= SAFE_MAX
          ? { kind: "Literal", type: "int", value: Number(value) }
          : value >= INT64_MIN && value <= INT64_MAX
          ? { kind: "Literal", type: "int", value }
          : { kind: "Literal", type: "decimal", value: value.toString() },
      );
    case "number":
      return Object.freeze({
        kind: "Literal",
        type: Number.isSafeInteger(value) ? "int" : "double",
        // -0 is the integer 0 (OData text has no negative integer zero).
        value: value === 0 ? 0 : value,
      });
    default:
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw invalidArgument("literal(): invalid Date");
        const text = value.toISOString();
        if (literalProblem("datetimeoffset", text) !== undefined) {
          throw invalidArgument(
            `literal(): the Date ${text} is outside the years 0000 to 9999 that OData can write`,
            text,
          );
        }
        return Object.freeze({ kind: "Literal", type: "datetimeoffset", value: text });
      }
      throw invalidArgument(
        `literal(): unsupported value ${show(value)} of type ${typeof value}; expected a ` +
          "string, number, bigint, boolean, null or Date",
      );
  }
}

/**
 * A literal of an explicit type, with the value in the representation documented on
 * {@linkcode LiteralNode} (e.g. decimals and dates as text). The value must be one valid literal
 * of the type (`"1997-01-01"` for a date, one guid for a guid, base64url for binary, ...), and
 * `enumType` a qualified name, given for enums only; otherwise `INVALID_ARGUMENT` names the value.
 * A decimal is kept as text, with `.0` added to a whole number within 64 bits (`"5"` → `"5.0"`),
 * which the parser would otherwise read as an `int`.
 *
 * @example
 * ```ts
 * import { typedLiteral } from "@oar/odata-active-record";
 * typedLiteral("decimal", "18.50");
 * typedLiteral("date", "1997-01-01");
 * typedLiteral("enum", "Red,Blue", "Model.Color");
 * ```
 */
export function typedLiteral(
  type: LiteralType,
  value: string | number | bigint | boolean | null,
  enumType?: string,
): LiteralNode {
  if (!isLiteralType(type)) {
    throw invalidArgument(`typedLiteral(): unknown literal type ${show(type)}`, type);
  }
  if (type === "enum") {
    if (!isODataQualifiedName(enumType, true)) {
      throw invalidArgument(
        `typedLiteral(): an enum literal needs a qualified enumType such as Model.Color, ` +
          `got ${show(enumType)}`,
        enumType,
      );
    }
  } else if (enumType !== undefined) {
    throw invalidArgument(`typedLiteral(): only enum literals take an enumType (${type})`);
  }
  const problem = literalProblem(type, value, enumType);
  if (problem !== undefined) {
    throw invalidArgument(`typedLiteral(): invalid ${type} ${show(value)}: ${problem}`, value);
  }
  if (type === "decimal") {
    return Object.freeze({ kind: "Literal", type, value: decimalValue(value) });
  }
  return Object.freeze(
    enumType === undefined
      ? { kind: "Literal", type, value }
      : { kind: "Literal", type, value, enumType },
  );
}

/**
 * A member path from `/`-separated property names: `prop("Category/CategoryName")`. A qualified
 * name is a type cast (`prop("Model.VipCustomer/Name")`). Each name must be an OData identifier:
 * `prop("Name eq 'x' or true")` throws `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { prop } from "@oar/odata-active-record";
 * prop("UnitPrice"); // { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "UnitPrice" }] }
 * ```
 */
export function prop(path: string): PathExpression {
  return Object.freeze({ kind: "Path", root: "implicit", segments: segmentsOf(path, "prop()") });
}

function segmentsOf(path: string, caller: string): readonly PathSegment[] {
  if (typeof path !== "string") {
    throw invalidArgument(
      `${caller} takes a path such as "Category/CategoryName", got ${show(path)}`,
      path,
    );
  }
  const segments = path.split("/").map((name): PathSegment => {
    if (name.length === 0) throw invalidArgument(`${caller}: empty segment in ${show(path)}`, path);
    if (name.includes(".")) {
      if (!isODataQualifiedName(name, true)) {
        throw invalidArgument(
          `${caller}: invalid type cast ${show(name)} in ${show(path)}; a type cast is ` +
            `identifiers joined by "." (Model.VipCustomer) and ${IDENTIFIER_RULE}`,
          name,
        );
      }
      return Object.freeze({ kind: "TypeCast", type: name });
    }
    if (!isODataIdentifier(name)) {
      throw invalidArgument(
        `${caller}: invalid property name ${show(name)} in ${show(path)}; ${IDENTIFIER_RULE}`,
        name,
      );
    }
    return Object.freeze({ kind: "Property", name });
  });
  if (segments.length === 1 && segments[0]!.kind === "TypeCast") {
    throw invalidArgument(
      `${caller}: a type cast at the start of a path must be followed by a property ` +
        `(Model.VipCustomer/Name), got ${show(path)}`,
      path,
    );
  }
  return Object.freeze(segments);
}

/**
 * A path that starts at a lambda variable: `variable("d", "Quantity")` is `d/Quantity`.
 *
 * @example
 * ```ts
 * import { variable } from "@oar/odata-active-record";
 * variable("d", "Quantity");
 * ```
 */
export function variable(name: string, path?: string): PathExpression {
  checkVariable(name, "variable()");
  const segments = path === undefined ? Object.freeze([]) : segmentsOf(path, "variable()");
  return Object.freeze({ kind: "Path", root: "variable", variable: name, segments });
}

function checkVariable(name: unknown, caller: string): void {
  if (!isODataIdentifier(name)) {
    throw invalidArgument(
      `${caller}: invalid lambda variable name ${show(name)}; ${IDENTIFIER_RULE}`,
      name,
    );
  }
}

function binary(operator: BinaryOperator, left: Expression, right: Expression): BinaryExpression {
  return Object.freeze({ kind: "Binary", operator, left, right });
}

/** A value accepted where an expression is expected: a node, or a value made a literal. */
export type Operand = Expression | LiteralInput;

function operand(value: Operand, caller: string): Expression {
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return expressionNode(value, caller);
  }
  return literal(value);
}

/**
 * `left eq right`. Non-node operands become literals.
 *
 * @example
 * ```ts
 * import { eq, prop } from "@oar/odata-active-record";
 * eq(prop("ProductName"), "Chai");
 * ```
 */
export function eq(left: Operand, right: Operand): BinaryExpression {
  return binary("eq", operand(left, "eq()"), operand(right, "eq()"));
}

/**
 * `left ne right`.
 *
 * @example
 * ```ts
 * import { ne, prop } from "@oar/odata-active-record";
 * ne(prop("ShipCountry"), null);
 * ```
 */
export function ne(left: Operand, right: Operand): BinaryExpression {
  return binary("ne", operand(left, "ne()"), operand(right, "ne()"));
}

/**
 * `left gt right`.
 *
 * @example
 * ```ts
 * import { gt, prop } from "@oar/odata-active-record";
 * gt(prop("UnitPrice"), 20);
 * ```
 */
export function gt(left: Operand, right: Operand): BinaryExpression {
  return binary("gt", operand(left, "gt()"), operand(right, "gt()"));
}

/**
 * `left ge right`.
 *
 * @example
 * ```ts
 * import { ge, prop } from "@oar/odata-active-record";
 * ge(prop("UnitPrice"), 20);
 * ```
 */
export function ge(left: Operand, right: Operand): BinaryExpression {
  return binary("ge", operand(left, "ge()"), operand(right, "ge()"));
}

/**
 * `left lt right`.
 *
 * @example
 * ```ts
 * import { lt, prop } from "@oar/odata-active-record";
 * lt(prop("UnitPrice"), 20);
 * ```
 */
export function lt(left: Operand, right: Operand): BinaryExpression {
  return binary("lt", operand(left, "lt()"), operand(right, "lt()"));
}

/**
 * `left le right`.
 *
 * @example
 * ```ts
 * import { le, prop } from "@oar/odata-active-record";
 * le(prop("UnitPrice"), 20);
 * ```
 */
export function le(left: Operand, right: Operand): BinaryExpression {
  return binary("le", operand(left, "le()"), operand(right, "le()"));
}

/**
 * An arithmetic expression: `arithmetic("mul", prop("UnitPrice"), 2)`.
 *
 * @example
 * ```ts
 * import { arithmetic, gt, prop } from "@oar/odata-active-record";
 * gt(arithmetic("mul", prop("UnitPrice"), prop("Quantity")), 100);
 * ```
 */
export function arithmetic(
  operator: "add" | "sub" | "mul" | "div" | "divby" | "mod",
  left: Operand,
  right: Operand,
): BinaryExpression {
  if (!ARITHMETIC.has(operator)) {
    throw invalidArgument(
      `arithmetic(): unknown operator ${show(operator)}; expected add, sub, mul, div, divby or mod`,
      operator,
    );
  }
  return binary(operator, operand(left, "arithmetic()"), operand(right, "arithmetic()"));
}

const ARITHMETIC: ReadonlySet<unknown> = new Set(["add", "sub", "mul", "div", "divby", "mod"]);

/**
 * `left in (values...)`.
 *
 * @example
 * ```ts
 * import { inList, prop } from "@oar/odata-active-record";
 * inList(prop("ShipCountry"), ["Germany", "France"]);
 * ```
 */
export function inList(left: Operand, values: readonly Operand[]): BinaryExpression {
  return binary("in", operand(left, "inList()"), items(values, "inList()"));
}

/**
 * A list node `(a,b,c)`.
 *
 * @example
 * ```ts
 * import { list } from "@oar/odata-active-record";
 * list([1, 2, 3]);
 * ```
 */
export function list(values: readonly Operand[]): ListExpression {
  return items(values, "list()");
}

function items(values: readonly Operand[], caller: string): ListExpression {
  if (!Array.isArray(values)) {
    throw invalidArgument(`${caller} takes an array of values, got ${show(values)}`, values);
  }
  return Object.freeze({
    kind: "List",
    items: Object.freeze(values.map((value) => operand(value, caller))),
  });
}

function chain(operator: "and" | "or", expressions: readonly Expression[]): Expression {
  if (expressions.length === 0) {
    throw invalidArgument(`${operator}() needs at least one expression`);
  }
  const caller = `${operator}()`;
  // Left-nested, as the parser builds `a and b and c`, so both forms deep-equal.
  return expressions.map((e) => expressionNode(e, caller)).reduce((left, right) =>
    binary(operator, left, right)
  );
}

/**
 * `a and b and ...` (one operand returns it unchanged).
 *
 * @example
 * ```ts
 * import { and, eq, gt, prop } from "@oar/odata-active-record";
 * and(gt(prop("UnitPrice"), 20), eq(prop("Discontinued"), false));
 * ```
 */
export function and(...expressions: Expression[]): Expression {
  return chain("and", expressions);
}

/**
 * `a or b or ...` (one operand returns it unchanged).
 *
 * @example
 * ```ts
 * import { eq, or, prop } from "@oar/odata-active-record";
 * or(eq(prop("ShipCountry"), "Germany"), eq(prop("ShipCountry"), "France"));
 * ```
 */
export function or(...expressions: Expression[]): Expression {
  return chain("or", expressions);
}

/**
 * `not expression`.
 *
 * @example
 * ```ts
 * import { not, prop } from "@oar/odata-active-record";
 * not(prop("Discontinued"));
 * ```
 */
export function not(expression: Expression): UnaryExpression {
  return Object.freeze({
    kind: "Unary",
    operator: "not",
    operand: expressionNode(expression, "not()"),
  });
}

/**
 * A canonical function call: `call("contains", prop("ProductName"), "Ch")`.
 *
 * @example
 * ```ts
 * import { call, prop } from "@oar/odata-active-record";
 * call("startswith", prop("ProductName"), "Ch");
 * ```
 */
export function call(name: CanonicalFunction, ...args: Operand[]): CallExpression {
  if (!isCanonicalFunction(name)) {
    throw invalidArgument(
      `call(): unknown canonical function ${show(name)} (names are case-sensitive here: ` +
        "contains, startswith, tolower, geo.distance, ...)",
      name,
    );
  }
  return Object.freeze({
    kind: "Call",
    name,
    args: Object.freeze(args.map((arg) => operand(arg, `call("${name}")`))),
  });
}

/** A decimal's text as the parser reads it back (see {@linkcode typedLiteral}). */
function decimalValue(value: LiteralNode["value"]): string {
  const text = String(value);
  if (text.includes(".") || text.includes("e") || text.includes("E")) return text;
  const big = BigInt(text);
  return big >= INT64_MIN && big <= INT64_MAX ? text + ".0" : text;
}

/**
 * Refuses a property path inside a lambda predicate whose first name is a lambda variable in
 * scope: printed, `Qty` inside `any(Qty:...)` reads back as the variable, not the property.
 */
function checkScope(expr: Expression | undefined, bound: string[]): void {
  // Malformed nodes are left to the serializer, which refuses them with a precise message.
  switch (expr?.kind) {
    case "Path": {
      const head = Array.isArray(expr.segments) ? expr.segments[0] : undefined;
      if (
        expr.root === "implicit" && head?.kind === "Property" && bound.includes(head.name) &&
        expr.segments[1]?.kind !== "Key"
      ) {
        throw invalidArgument(
          `lambda(): the property path ${show(head.name)} starts with the name of the lambda ` +
            `variable ${head.name} and would read back as that variable; use ` +
            `variable("${head.name}", ...) for the variable or another variable name`,
          head.name,
        );
      }
      for (const segment of arrayOf(expr.segments)) checkSegmentScope(segment, bound);
      return;
    }
    case "Binary":
      checkScope(expr.left, bound);
      checkScope(expr.right, bound);
      return;
    case "Unary":
      checkScope(expr.operand, bound);
      return;
    case "Call":
      for (const arg of arrayOf(expr.args)) checkScope(arg, bound);
      return;
    case "TypeFunction":
      if (expr.operand !== null) checkScope(expr.operand, bound);
      return;
    case "Case":
      for (const branch of arrayOf(expr.branches)) {
        checkScope(branch.when, bound);
        checkScope(branch.then, bound);
      }
      return;
    case "List":
      for (const item of arrayOf(expr.items)) checkScope(item, bound);
      return;
    case "Json":
      for (const embedded of arrayOf(expr.expressions)) checkScope(embedded?.expression, bound);
      return;
    default:
      return;
  }
}

/** `value` if it is an array, else an empty one. */
function arrayOf<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? value : [];
}

function checkSegmentScope(segment: PathSegment | undefined, bound: string[]): void {
  switch (segment?.kind) {
    case "Key":
      for (const value of arrayOf(segment.values)) checkScope(value?.value, bound);
      return;
    case "Function":
      for (const arg of arrayOf(segment.args)) checkScope(arg?.value, bound);
      return;
    case "Lambda":
      if (segment.predicate !== undefined && segment.variable !== undefined) {
        bound.push(segment.variable);
        try {
          checkScope(segment.predicate, bound);
        } finally {
          bound.pop();
        }
      }
      return;
    case "Count":
      if (segment.filter !== undefined) checkScope(segment.filter, bound);
      return;
    case "FilterSegment":
      checkScope(segment.predicate, bound);
      return;
    default:
      return;
  }
}

/**
 * `collection/any(variable:predicate)` (or `all`); without a predicate, `any()`. A property path
 * in the predicate may not start with the name of a lambda variable in scope (it would read back
 * as the variable): `INVALID_ARGUMENT`. A variable path of an enclosing lambda may be used; one
 * bound by no lambda is refused when the expression is serialized.
 *
 * @example
 * ```ts
 * import { gt, lambda, variable } from "@oar/odata-active-record";
 * lambda("any", "Order_Details", "d", gt(variable("d", "Quantity"), 10));
 * ```
 */
export function lambda(
  operator: "any" | "all",
  collection: string | PathExpression,
  variableName?: string,
  predicate?: Expression,
): PathExpression {
  if (operator !== "any" && operator !== "all") {
    throw invalidArgument(`lambda(): unknown operator ${show(operator)}; expected any or all`);
  }
  const base = typeof collection === "string"
    ? prop(collection)
    : expressionNode(collection, "lambda()");
  if (base.kind !== "Path") {
    throw invalidArgument(`lambda(): the collection must be a path, got a ${base.kind} node`);
  }
  if (predicate === undefined && operator === "all") {
    throw invalidArgument("lambda(): all needs a predicate: all(d:d/Quantity gt 1)");
  }
  if (variableName !== undefined) checkVariable(variableName, "lambda()");
  const segment: LambdaSegment = predicate === undefined ? { kind: "Lambda", operator } : {
    kind: "Lambda",
    operator,
    variable: variableName ?? "x",
    predicate: expressionNode(predicate, "lambda()"),
  };
  if (segment.predicate !== undefined) checkScope(segment.predicate, [segment.variable!]);
  const node: PathExpression = {
    ...base,
    segments: Object.freeze([...base.segments, Object.freeze(segment)]),
  };
  return Object.freeze(node);
}
