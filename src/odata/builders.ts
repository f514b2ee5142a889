/**
 * Builder functions that make AST nodes without text, so code composes queries from values,
 * never by concatenating strings. Every node returned is frozen.
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
import { ODataActiveRecordError } from "../errors/errors.ts";

function invalidArgument(message: string): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_ARGUMENT", message);
}

/** A JavaScript value that {@linkcode literal} turns into a literal node. */
export type LiteralInput = string | number | bigint | boolean | null | Date;

/**
 * A literal node from a JavaScript value: strings → `string`, integers → `int`, other
 * numbers → `double`, bigint → `int`, booleans, `null`, `Date` → `datetimeoffset` (UTC).
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
      return Object.freeze({ kind: "Literal", type: "int", value });
    case "number":
      return Object.freeze({
        kind: "Literal",
        type: Number.isSafeInteger(value) ? "int" : "double",
        value,
      });
    default:
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw invalidArgument("literal(): invalid Date");
        return Object.freeze({
          kind: "Literal",
          type: "datetimeoffset",
          value: value.toISOString(),
        });
      }
      throw invalidArgument(`literal(): unsupported value of type ${typeof value}`);
  }
}

/**
 * A literal of an explicit type, with the value in the representation documented on
 * {@linkcode LiteralNode} (e.g. decimals and dates as text).
 *
 * @example
 * ```ts
 * import { typedLiteral } from "@oar/odata-active-record";
 * typedLiteral("decimal", "18.50");
 * typedLiteral("date", "1997-01-01");
 * ```
 */
export function typedLiteral(
  type: LiteralType,
  value: string | number | bigint | boolean | null,
  enumType?: string,
): LiteralNode {
  return Object.freeze(
    enumType === undefined
      ? { kind: "Literal", type, value }
      : { kind: "Literal", type, value, enumType },
  );
}

/**
 * A member path from `/`-separated property names: `prop("Category/CategoryName")`.
 *
 * @example
 * ```ts
 * import { prop } from "@oar/odata-active-record";
 * prop("UnitPrice"); // { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "UnitPrice" }] }
 * ```
 */
export function prop(path: string): PathExpression {
  if (typeof path !== "string") {
    throw invalidArgument('prop() takes a path such as "Category/CategoryName"');
  }
  const names = path.split("/");
  for (const name of names) {
    if (name.length === 0) {
      throw invalidArgument(`prop(): empty segment in ${JSON.stringify(path)}`);
    }
  }
  return Object.freeze({
    kind: "Path",
    root: "implicit",
    segments: Object.freeze(
      names.map((name) => Object.freeze({ kind: "Property", name }) as PathSegment),
    ),
  });
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
  const segments = path === undefined ? [] : prop(path).segments;
  return Object.freeze({ kind: "Path", root: "variable", variable: name, segments });
}

function binary(operator: BinaryOperator, left: Expression, right: Expression): BinaryExpression {
  return Object.freeze({ kind: "Binary", operator, left, right });
}

/** A value accepted where an expression is expected: a node, or a value made a literal. */
export type Operand = Expression | LiteralInput;

function operand(value: Operand): Expression {
  if (value !== null && typeof value === "object" && !(value instanceof Date)) return value;
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
  return binary("eq", operand(left), operand(right));
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
  return binary("ne", operand(left), operand(right));
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
  return binary("gt", operand(left), operand(right));
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
  return binary("ge", operand(left), operand(right));
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
  return binary("lt", operand(left), operand(right));
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
  return binary("le", operand(left), operand(right));
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
  return binary(operator, operand(left), operand(right));
}

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
  return binary("in", operand(left), list(values));
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
  return Object.freeze({ kind: "List", items: Object.freeze(values.map(operand)) });
}

function chain(operator: "and" | "or", expressions: readonly Expression[]): Expression {
  if (expressions.length === 0) {
    throw invalidArgument(`${operator}() needs at least one expression`);
  }
  // Left-nested, as the parser builds `a and b and c`, so both forms deep-equal.
  return expressions.reduce((left, right) => binary(operator, left, right));
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
  return Object.freeze({ kind: "Unary", operator: "not", operand: expression });
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
  return Object.freeze({ kind: "Call", name, args: Object.freeze(args.map(operand)) });
}

/**
 * `collection/any(variable:predicate)` (or `all`); without a predicate, `any()`.
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
  const base = typeof collection === "string" ? prop(collection) : collection;
  const segment: LambdaSegment = predicate === undefined
    ? { kind: "Lambda", operator }
    : { kind: "Lambda", operator, variable: variableName ?? "x", predicate };
  const node: PathExpression = {
    ...base,
    segments: Object.freeze([...base.segments, Object.freeze(segment)]),
  };
  return Object.freeze(node);
}
