/**
 * Compiles OData expressions to SQL with OData semantics; the dialect (`dialect.ts`) gives the
 * SQL where databases differ. Every node kind is dispatched through a `Record`, so a new kind
 * in the AST breaks the build here until it is handled.
 *
 * Null semantics (OData, not SQL): `eq`/`ne` treat null as a value (null-safe: `Name ne 'x'`
 * is true for a null Name); `gt ge lt le` are false (never null) when an operand is null; `and`,
 * `or`, `not` are three-valued (Kleene), as are canonical functions (null in, null out). SQL's
 * relational operators yield NULL instead of false, which only matters where null and false are
 * told apart — under `not`, or as a compared or selected value — so there (mode `"value"`) they
 * are wrapped in `COALESCE(…, false)`; in WHERE position (mode `"predicate"`) they stay index-friendly.
 *
 * A `date` literal compared with a datetime applies the whole-day rule: `OrderDate eq 2024-01-31`
 * is true for every instant of that UTC day, `gt` means after that day, `le` up to its end.
 *
 * A literal zero divisor is refused (what a zero at run time gives is the database's answer).
 *
 * Decimal arithmetic is exact. Where the database computes with floats (SQLite) the dialect
 * runs it in exact functions and its results are flagged `exactDecimal` — a REAL up to 15
 * significant digits, decimal TEXT beyond — so comparisons with them go through the dialect's
 * exact `compare` and ordering through its `orderKey`. A result keeps the scale of the exact result
 * when known — the larger scale of the operands for `add`, `sub` and `mod`, their sum for `mul`
 * (a field's declared `scale`, a literal's fraction digits, 0 for integers). So
 * `Price add 0.2 eq 0.3` holds for a price of 0.1, and `9999999999999.99 mul 3` keeps every digit.
 *
 * @module
 */

import type {
  BinaryExpression,
  BinaryOperator,
  CaseExpression,
  Expression,
  ExpressionKind,
  LiteralNode,
  UnaryExpression,
} from "../odata/ast.ts";
import type { FieldType } from "../model/schema.ts";
import {
  type Compilers,
  dispatch,
  type ExprContext,
  hintOf,
  invalidArgument,
  invalidOperator,
  isExactText,
  isNumeric,
  type Mode,
  notSupported,
  type Typed,
  typeMismatch,
  type ValueType,
} from "./context.ts";
import { type Fragment, join, raw, sql } from "./fragment.ts";
import { compileCall, compileTypeFunction } from "./functions.ts";
import { compilePath } from "./paths.ts";
import { literalParameter, valueDependent } from "./template.ts";
import type { Arithmetic } from "./dialect.ts";

type Handler<N> = (node: N, ctx: ExprContext, hint: FieldType | undefined, mode: Mode) => Typed;

/** The constant `true` of the context's dialect. */
function trueOf(ctx: ExprContext): Typed {
  return { sql: raw(ctx.dialect.booleans.true), type: "boolean", nullable: false, constant: true };
}

/** The constant `false` of the context's dialect. */
function falseOf(ctx: ExprContext): Typed {
  return {
    sql: raw(ctx.dialect.booleans.false),
    type: "boolean",
    nullable: false,
    constant: false,
  };
}

function bool(fragment: Fragment, nullable = false): Typed {
  return { sql: fragment, type: "boolean", nullable };
}

/** Makes a relational result two-valued where null and false must differ. */
function twoValued(ctx: ExprContext, fragment: Fragment, nullable: boolean, mode: Mode): Typed {
  if (nullable && mode === "value") {
    return bool(sql`COALESCE(${fragment}, ${raw(ctx.dialect.booleans.false)})`);
  }
  return bool(fragment, nullable);
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The fraction digits of decimal text (`"1.50"` → 2, `"1.5e-3"` → 4): a literal's scale. */
function fractionDigits(text: string): number | undefined {
  const m = DECIMAL_TEXT.exec(text.trim());
  if (m === null) return undefined;
  return Math.max(0, (m[3] ?? "").length - Number(m[4] ?? "0"));
}

function compileLiteral(node: LiteralNode, ctx: ExprContext, hint: FieldType | undefined): Typed {
  const encoded = ctx.dialect.encodeLiteral(node, hint);
  if (encoded.value === null) {
    return { sql: raw("NULL"), type: encoded.type, nullable: true, constant: null };
  }
  return {
    sql: ctx.dialect.parameter(literalParameter(node, hint, encoded), encoded.type),
    type: encoded.type,
    nullable: false,
    constant: encoded.value,
  };
}

/** Compiles both operands, the non-literal one first so the literal gets its type as hint. */
function compilePair(
  node: BinaryExpression,
  ctx: ExprContext,
  mode: Mode = "value",
): [Typed, Typed] {
  if (node.left.kind === "Literal" && node.right.kind !== "Literal") {
    const right = compileValue(node.right, ctx, undefined, mode);
    return [compileValue(node.left, ctx, hintOf(right), mode), right];
  }
  const left = compileValue(node.left, ctx, undefined, mode);
  return [left, compileValue(node.right, ctx, hintOf(left), mode)];
}

// --- comparison -------------------------------------------------------------------------------

type Comparison = "eq" | "ne" | "gt" | "ge" | "lt" | "le";

const FLIPPED: Readonly<Record<Comparison, Comparison>> = {
  eq: "eq",
  ne: "ne",
  gt: "lt",
  ge: "le",
  lt: "gt",
  le: "ge",
};

const SQL_RELATION: Readonly<Record<"gt" | "ge" | "lt" | "le", string>> = {
  gt: ">",
  ge: ">=",
  lt: "<",
  le: "<=",
};

const ORDERABLE: ReadonlySet<ValueType> = new Set<ValueType>([
  "integer",
  "number",
  "decimal",
  "string",
  "date",
  "datetime",
  "time",
  "boolean",
]);

function checkOperand(op: Comparison, type: ValueType): void {
  if (type === "json") {
    throw invalidOperator(op, type, "a primitive value (json values cannot be compared)");
  }
  if (op === "eq" || op === "ne" || type === "null" || ORDERABLE.has(type)) return;
  if (type === "guid") throw notSupported(`${op} on guid values (no agreed ordering)`);
  throw invalidOperator(op, type, "an orderable value");
}

function compatible(left: ValueType, right: ValueType): boolean {
  return left === right || (isNumeric(left) && isNumeric(right));
}

/** `x op date` where x is a datetime and date a literal day: the whole-day rule. */
function dayComparison(
  ctx: ExprContext,
  op: Comparison,
  value: Typed,
  day: string,
  mode: Mode,
): Typed {
  valueDependent(); // the day's bounds are computed here, not bound from the literal
  const [start, next] = ctx.dialect.dayBounds(day);
  const x = value.sql;
  const bounds: Record<Comparison, () => Fragment> = {
    eq: () => sql`(${x} >= ${start} AND ${x} < ${next})`,
    ne: () => sql`(${x} IS NULL OR ${x} < ${start} OR ${x} >= ${next})`,
    gt: () => sql`(${x} >= ${next})`,
    ge: () => sql`(${x} >= ${start})`,
    lt: () => sql`(${x} < ${start})`,
    le: () => sql`(${x} < ${next})`,
  };
  return twoValued(ctx, bounds[op](), op !== "ne" && value.nullable, mode);
}

/**
 * Compares two compiled operands with OData semantics.
 *
 * @example
 * ```ts
 * import { compare } from "./expression.ts";
 * import { param, raw } from "./fragment.ts";
 * import type { ExprContext } from "./context.ts";
 * declare const ctx: ExprContext;
 * compare(ctx, "gt", { sql: raw('"t0"."Price"'), type: "decimal", nullable: true }, { sql: param(5n), type: "integer", nullable: false }, "value");
 * ```
 */
export function compare(
  ctx: ExprContext,
  op: Comparison,
  left: Typed,
  right: Typed,
  mode: Mode,
): Typed {
  if (left.type === "null" || right.type === "null") {
    const other = left.type === "null" ? right : left;
    if (op === "eq" || op === "ne") {
      if (other.type === "null") return op === "eq" ? trueOf(ctx) : falseOf(ctx);
      return bool(sql`(${other.sql} ${raw(op === "eq" ? "IS NULL" : "IS NOT NULL")})`);
    }
    checkOperand(op, other.type);
    return falseOf(ctx); // OData: a relational comparison with null is false
  }
  checkOperand(op, left.type);
  checkOperand(op, right.type);
  if (left.type === "datetime" && right.type === "date" && typeof right.constant === "string") {
    return dayComparison(ctx, op, left, right.constant, mode);
  }
  if (left.type === "date" && right.type === "datetime" && typeof left.constant === "string") {
    return dayComparison(ctx, FLIPPED[op], right, left.constant, mode);
  }
  if (!compatible(left.type, right.type)) {
    throw typeMismatch(`Cannot compare a ${left.type} value with a ${right.type} value (${op})`, {
      operator: op,
      left: left.type,
      right: right.type,
    });
  }
  const nullable = left.nullable || right.nullable;
  if (isExactText(left) || isExactText(right)) return exactComparison(ctx, op, left, right, mode);
  if (op === "eq" || op === "ne") return equality(ctx, op, left, right, mode);
  return twoValued(
    ctx,
    sql`(${left.sql} ${raw(SQL_RELATION[op])} ${right.sql})`,
    nullable,
    mode,
  );
}

/**
 * `eq`/`ne` with null as a value. Where an operand may be null the dialect's null-safe
 * operator is used if it is as index-friendly as `=` (SQLite's `IS`); otherwise, with one side
 * never null, `=` (false-or-null is enough in predicate mode) or `<> ... OR x IS NULL`.
 */
function equality(
  ctx: ExprContext,
  op: "eq" | "ne",
  left: Typed,
  right: Typed,
  mode: Mode,
): Typed {
  const nullSafe = ctx.dialect.nullSafe;
  if (!left.nullable && !right.nullable) {
    return bool(sql`(${left.sql} ${raw(op === "eq" ? "=" : "<>")} ${right.sql})`);
  }
  if (nullSafe.indexed || (left.nullable && right.nullable)) {
    return bool(sql`(${left.sql} ${raw(nullSafe[op])} ${right.sql})`);
  }
  if (op === "eq") return twoValued(ctx, sql`(${left.sql} = ${right.sql})`, true, mode);
  const open = left.nullable ? left.sql : right.sql;
  return bool(sql`(${left.sql} <> ${right.sql} OR ${open} IS NULL)`);
}

/** A comparison through the dialect's exact `compare`, whatever the SQL types of the operands. */
function exactComparison(
  ctx: ExprContext,
  op: Comparison,
  left: Typed,
  right: Typed,
  mode: Mode,
): Typed {
  const l = left.sql;
  const r = right.sql;
  const cmp = ctx.dialect.decimals.compare(l, r);
  const nullable = left.nullable || right.nullable;
  if (op === "eq" || op === "ne") {
    // OData: null eq null is true, null eq a value is false (never null).
    const equal = nullable
      ? sql`COALESCE(${cmp} = 0, ${l} IS NULL AND ${r} IS NULL)`
      : sql`(${cmp} = 0)`;
    return bool(op === "eq" ? sql`(${equal})` : sql`(NOT ${equal})`);
  }
  return twoValued(ctx, sql`(${cmp} ${raw(SQL_RELATION[op])} 0)`, nullable, mode);
}

// --- binary operators -------------------------------------------------------------------------

type BinaryHandler = (
  node: BinaryExpression,
  ctx: ExprContext,
  hint: FieldType | undefined,
  mode: Mode,
) => Typed;

function requireBoolean(op: string, typed: Typed): void {
  if (typed.type !== "boolean" && typed.type !== "null") {
    throw invalidOperator(op, typed.type, "boolean operands");
  }
}

function logical(op: "AND" | "OR"): BinaryHandler {
  return (node, ctx, _hint, mode) => {
    // In predicate mode a child's null and false lead to the same outcome of and/or.
    const left = compileValue(node.left, ctx, "boolean", mode);
    const right = compileValue(node.right, ctx, "boolean", mode);
    requireBoolean(op.toLowerCase(), left);
    requireBoolean(op.toLowerCase(), right);
    return bool(sql`(${left.sql} ${raw(op)} ${right.sql})`, left.nullable || right.nullable);
  };
}

function comparison(op: Comparison): BinaryHandler {
  return (node, ctx, _hint, mode) => {
    const [left, right] = compilePair(node, ctx);
    return compare(ctx, op, left, right, mode);
  };
}

/** Whether a numeric constant is zero (dialects bind numbers as numbers, bigints or text). */
function isZero(value: unknown): boolean {
  if (typeof value === "string") return value.trim() !== "" && Number(value) === 0;
  return value === 0 || value === 0n;
}

function arithmeticType(op: Arithmetic, left: ValueType, right: ValueType): ValueType {
  const types = [left, right].filter((t) => t !== "null");
  if (types.length === 0) return "null";
  if (op === "divby") return types.includes("number") ? "number" : "decimal";
  if (types.every((t) => t === "integer")) return "integer";
  return types.includes("number") ? "number" : "decimal";
}

/** Both operands; a literal only gets the other side's type as hint when that is numeric. */
function numericPair(node: BinaryExpression, ctx: ExprContext): [Typed, Typed] {
  const numericHint = (t: Typed) => isNumeric(t.type) ? hintOf(t) : undefined;
  if (node.left.kind === "Literal" && node.right.kind !== "Literal") {
    const right = compileValue(node.right, ctx);
    return [compileValue(node.left, ctx, numericHint(right)), right];
  }
  const left = compileValue(node.left, ctx);
  return [left, compileValue(node.right, ctx, numericHint(left))];
}

/** The decimal literal an operand is, possibly negated. */
function decimalLiteral(node: Expression): LiteralNode | undefined {
  if (node.kind === "Literal") return node.type === "decimal" ? node : undefined;
  if (node.kind === "Unary" && node.operator === "negate") return decimalLiteral(node.operand);
  return undefined;
}

/** The most fraction digits an operand's exact value has, when known. */
function operandScale(node: Expression, typed: Typed): number | undefined {
  if (typed.type === "integer") return 0;
  if (typed.type !== "decimal") return undefined;
  const literal = decimalLiteral(node);
  if (literal === undefined) return typed.exactScale ?? typed.scale;
  valueDependent(); // the literal's digits, not just its type, end up in the SQL
  return fractionDigits(String(literal.value));
}

/** The scale of a decimal operation's exact result, when known (see the module doc). */
function resultScale(
  op: Arithmetic,
  node: BinaryExpression,
  left: Typed,
  right: Typed,
  maxDigits: number,
): number | undefined {
  if (op === "div" || op === "divby") return undefined; // quotients need not terminate
  const l = operandScale(node.left, left);
  const r = operandScale(node.right, right);
  if (l === undefined || r === undefined) return undefined;
  // Beyond 15 digits a float has no exact fraction digits left to keep.
  return op === "mul" ? Math.min(l + r, maxDigits) : Math.max(l, r);
}

function arithmetic(op: Arithmetic): BinaryHandler {
  return (node, ctx) => {
    const [left, right] = numericPair(node, ctx);
    for (const side of [left, right]) {
      if (side.type === "date" || side.type === "datetime" || side.type === "time") {
        throw notSupported(`${op} on ${side.type} values (no duration type)`);
      }
      if (side.type !== "null" && !isNumeric(side.type)) {
        throw invalidOperator(op, side.type, "numbers");
      }
    }
    const type = arithmeticType(op, left.type, right.type);
    const dividing = op === "div" || op === "divby" || op === "mod";
    if (dividing && right.constant !== undefined) valueDependent(); // a literal 0 is refused
    if (dividing && isZero(right.constant)) {
      if (type === "number") throw notSupported("floating-point division by zero (IEEE infinity)");
      throw invalidArgument(`Division by zero in ${op}`, { operator: op });
    }
    const l = left.sql;
    const r = right.sql;
    const dialect = ctx.dialect;
    const nullable = left.nullable || right.nullable || (dividing && right.constant === undefined);
    if (type !== "decimal") {
      const numeric = type === "integer" ? "integer" : "number";
      return { sql: dialect.arithmetic(op, l, r, numeric), type, nullable };
    }
    const scale = resultScale(op, node, left, right, dialect.decimals.maxDigits);
    const operandScales = [operandScale(node.left, left), operandScale(node.right, right)];
    const quotientScale = Math.max(0, ...operandScales.map((s) => s ?? 0));
    return {
      sql: dialect.decimals.arithmetic(op, l, r, quotientScale),
      type,
      nullable,
      // The exact result's scale, kept when decoded (0.10 add 0.2 is 0.30, as in SQL).
      scale,
      exactScale: scale,
      exactDecimal: dialect.decimals.exactValues || undefined,
    };
  };
}

/** Lists longer than this may be bound as one parameter (the dialect's `longList`). */
const LONG_LIST_FROM = 64;

function membership(
  node: BinaryExpression,
  ctx: ExprContext,
  _hint: FieldType | undefined,
  mode: Mode,
): Typed {
  if (node.right.kind !== "List") {
    if (node.right.kind === "Alias") {
      throw invalidArgument(`Unresolved parameter alias @${node.right.name} in 'in'`);
    }
    throw notSupported("'in' with a collection-valued expression (no collection fields)");
  }
  const left = compileValue(node.left, ctx);
  const items = node.right.items.map((item) => compileValue(item, ctx, hintOf(left)));
  if (items.length === 0) return falseOf(ctx);
  const dayRange = (item: Typed) => left.type === "datetime" && item.type === "date";
  const simple = left.type !== "null" && !isExactText(left) &&
    items.every((item) => item.constant !== undefined && item.constant !== null && !dayRange(item));
  const values = items.filter((item) => item.constant !== null);
  if (
    !simple && left.type !== "null" && !isExactText(left) && items.length > LONG_LIST_FROM &&
    values.every((item) => item.constant !== undefined && !dayRange(item))
  ) {
    // A long list with nulls: `x in (values) or x eq null`, not thousands of ORs.
    const rest: Typed = membershipOf(ctx, left, values, mode);
    const isNull = sql`(${left.sql} IS NULL)`;
    return bool(values.length === 0 ? isNull : sql`(${rest.sql} OR ${isNull})`);
  }
  if (!simple) {
    // Nulls, day ranges or non-constant items: the definition, a chain of eq.
    const parts = items.map((item) => compare(ctx, "eq", left, item, mode));
    return bool(sql`(${join(parts.map((p) => p.sql), " OR ")})`, parts.some((p) => p.nullable));
  }
  return membershipOf(ctx, left, items, mode);
}

/** `left in (items)` for constant, non-null items: SQL's IN (one parameter when long). */
function membershipOf(ctx: ExprContext, left: Typed, items: readonly Typed[], mode: Mode): Typed {
  for (const item of items) {
    if (!compatible(left.type, item.type)) {
      throw typeMismatch(`Cannot compare a ${left.type} value with a ${item.type} value (in)`, {
        operator: "in",
      });
    }
    checkOperand("eq", item.type);
  }
  checkOperand("eq", left.type);
  const long = items.length > LONG_LIST_FROM ? ctx.dialect.longList(left, items) : undefined;
  if (long !== undefined) {
    // One parameter however long the list (SQLite allows at most 32766 per statement).
    valueDependent(); // the values are bound as one value, not literal by literal
    return twoValued(ctx, long, left.nullable, mode);
  }
  const list = join(items.map((i) => i.sql), ", ");
  return twoValued(ctx, sql`(${left.sql} IN (${list}))`, left.nullable, mode);
}

const BINARY: Readonly<Record<BinaryOperator, BinaryHandler>> = {
  or: logical("OR"),
  and: logical("AND"),
  eq: comparison("eq"),
  ne: comparison("ne"),
  gt: comparison("gt"),
  ge: comparison("ge"),
  lt: comparison("lt"),
  le: comparison("le"),
  has: () => {
    throw notSupported("the has operator (no enum flag types)");
  },
  in: membership,
  add: arithmetic("add"),
  sub: arithmetic("sub"),
  mul: arithmetic("mul"),
  div: arithmetic("div"),
  divby: arithmetic("divby"),
  mod: arithmetic("mod"),
};

// --- unary, case ------------------------------------------------------------------------------

const UNARY: Readonly<Record<UnaryExpression["operator"], Handler<UnaryExpression>>> = {
  not: (node, ctx) => {
    // The operand's exact value matters: not(null) is null but not(false) is true.
    const operand = compileValue(node.operand, ctx, "boolean", "value");
    requireBoolean("not", operand);
    return bool(sql`(NOT ${operand.sql})`, operand.nullable);
  },
  negate: (node, ctx, hint) => {
    const operand = compileValue(
      node.operand,
      ctx,
      hint !== undefined && isNumeric(hint) ? hint : undefined,
    );
    if (operand.type !== "null" && !isNumeric(operand.type)) {
      throw invalidOperator("-", operand.type, "a number");
    }
    if (isExactText(operand)) {
      return { ...operand, sql: ctx.dialect.decimals.negate(operand.sql), constant: undefined };
    }
    return { ...operand, sql: sql`(- ${operand.sql})`, constant: undefined };
  },
};

function mergeTypes(types: readonly ValueType[]): ValueType {
  const present = types.filter((t) => t !== "null");
  if (present.length === 0) return "null";
  const first = present[0]!;
  for (const t of present) {
    if (!compatible(first, t)) throw typeMismatch(`case() branches mix ${first} and ${t} values`);
  }
  if (!isNumeric(first)) return first;
  if (present.includes("number")) return "number";
  return present.includes("decimal") ? "decimal" : "integer";
}

function compileCase(node: CaseExpression, ctx: ExprContext, hint: FieldType | undefined): Typed {
  if (node.branches.length === 0) throw invalidArgument("case() needs at least one branch");
  // Non-literal branch values first, so literal ones are typed after them.
  const firstTyped = node.branches.find((b) => b.then.kind !== "Literal");
  const typeHint = firstTyped === undefined
    ? hint
    : hintOf(compileValue(firstTyped.then, ctx, hint));
  const branches = node.branches.map((b) => ({
    when: compileCondition(b.when, ctx),
    then: compileValue(b.then, ctx, typeHint),
  }));
  const type = mergeTypes(branches.map((b) => b.then.type));
  const parts = branches.map((b) => sql`WHEN ${b.when} THEN ${b.then.sql}`);
  const last = node.branches[node.branches.length - 1]!.when;
  if (last.kind === "Literal") valueDependent(); // `true:` makes the case exhaustive
  const exhaustive = last.kind === "Literal" && last.value === true;
  return {
    sql: sql`(CASE ${join(parts, " ")} END)`,
    type,
    nullable: !exhaustive || branches.some((b) => b.then.nullable),
    exactDecimal: branches.some((b) => b.then.exactDecimal === true) || undefined,
  };
}

// --- dispatch ---------------------------------------------------------------------------------

const COMPILERS: Compilers = {
  value: (expression, ctx, hint, mode) => compileValue(expression, ctx, hint, mode),
  condition: (expression, ctx) => compileCondition(expression, ctx),
};

const EXPRESSIONS: { readonly [K in ExpressionKind]: Handler<Extract<Expression, { kind: K }>> } = {
  Literal: compileLiteral,
  Path: (node, ctx, _hint, mode) => compilePath(node, ctx, COMPILERS, mode),
  Alias: (node) => {
    throw invalidArgument(`The parameter alias @${node.name} has no value`, { alias: node.name });
  },
  Binary: (node, ctx, hint, mode) =>
    dispatch(BINARY, node.operator, "operator")(node, ctx, hint, mode),
  Unary: (node, ctx, hint, mode) =>
    dispatch(UNARY, node.operator, "operator")(node, ctx, hint, mode),
  Call: (node, ctx, _hint, mode) => compileCall(node, ctx, COMPILERS, mode),
  TypeFunction: (node, ctx) => compileTypeFunction(node, ctx, COMPILERS),
  Case: compileCase,
  List: () => {
    throw notSupported("a list literal outside 'in'");
  },
  Json: () => {
    throw notSupported("JSON literals in expressions");
  },
};

/**
 * Compiles any expression to a typed SQL value. `hint` is the type of the value it meets (used
 * for literals); `mode` says whether null and false must be told apart (see the module doc).
 *
 * @example
 * ```ts
 * import { compileValue } from "./expression.ts";
 * import { createContext } from "./context.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true } } });
 * const ctx = createContext(dialect, { getEntityMetadata: () => entity }, entity);
 * compileValue({ kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "Id" }] }, ctx).type; // "integer"
 * ```
 */
export function compileValue(
  expression: Expression,
  ctx: ExprContext,
  hint?: FieldType,
  mode: Mode = "value",
): Typed {
  const handler = dispatch(EXPRESSIONS, expression?.kind, "expression kind") as Handler<Expression>;
  return handler(expression, ctx, hint, mode);
}

/**
 * Compiles a boolean condition for a WHERE clause (rows where it is true). Throws
 * `TYPE_MISMATCH` when the expression is not boolean.
 *
 * @example
 * ```ts
 * import { compileCondition } from "./expression.ts";
 * import { createContext } from "./context.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true } } });
 * const ctx = createContext(dialect, { getEntityMetadata: () => entity }, entity);
 * compileCondition({ kind: "Literal", type: "boolean", value: true }, ctx); // { sql: "?", params: [1n] }
 * ```
 */
export function compileCondition(expression: Expression, ctx: ExprContext): Fragment {
  const typed = compileValue(expression, ctx, "boolean", "predicate");
  if (typed.type !== "boolean" && typed.type !== "null") {
    throw typeMismatch(`A filter must be a boolean expression, not a ${typed.type} value`, {
      type: typed.type,
    });
  }
  return typed.sql;
}

/**
 * Compiles a `$filter` expression against the context's root entity to a WHERE condition
 * `{ sql, params }` (without the WHERE keyword).
 *
 * @example
 * ```ts
 * import { compileFilter } from "./expression.ts";
 * import { createContext } from "./context.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true } } });
 * const ctx = createContext(dialect, { getEntityMetadata: () => entity }, entity);
 * compileFilter({
 *   kind: "Binary", operator: "gt",
 *   left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "Id" }] },
 *   right: { kind: "Literal", type: "int", value: 3 },
 * }, ctx); // { sql: '("t0"."Id" > ?)', params: [3n] }
 * ```
 */
export function compileFilter(expression: Expression, ctx: ExprContext): Fragment {
  return compileCondition(expression, ctx);
}
