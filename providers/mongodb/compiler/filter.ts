/**
 * The fast path: conditions MongoDB's query language states directly (a stored field compared
 * with a value, `in`, `contains`/`startswith`/`endswith` on a field, `and`/`or`/`not` of those)
 * become plain filter documents, which indexes serve; the rest goes to `$expr`.
 *
 * @module
 */

import type {
  BinaryExpression,
  CallExpression,
  Expression,
  LiteralNode,
} from "../../../src/odata/ast.ts";
import type { FieldType } from "../../../src/model/schema.ts";
import { type Document, idValue, literalToStored } from "../values.ts";
import {
  compilePredicate,
  FLIPPED,
  type MongoContext,
  NEGATED,
  QUERY_OPERATORS,
  regexFor,
} from "./expression.ts";

function storedField(
  path: Expression,
  ctx: MongoContext,
): { column: string; type: FieldType; scale?: number } | undefined {
  if (path.kind !== "Path" || path.root !== "implicit" || path.segments.length !== 1) {
    return undefined;
  }
  const segment = path.segments[0]!;
  if (segment.kind !== "Property" || ctx.computed.has(segment.name)) return undefined;
  const field = ctx.entity.fields.get(segment.name);
  if (field === undefined || field.type === "json" || field.type === "binary") return undefined;
  return { column: field.column, type: field.type, scale: field.definition.scale };
}

function isLiteral(e: Expression): e is LiteralNode {
  return e.kind === "Literal";
}

/** A comparison `field op literal` as a filter document, or undefined. */
function queryComparison(
  node: BinaryExpression,
  ctx: MongoContext,
  negate: boolean,
): Document | undefined {
  let op = node.operator as string;
  let field = storedField(node.left, ctx);
  let other = node.right;
  if (field === undefined) {
    field = storedField(node.right, ctx);
    other = node.left;
    op = FLIPPED[op]!;
  }
  if (field === undefined || !isLiteral(other)) return undefined;
  if (negate) op = NEGATED[op]!;
  const value = idValue(field.column, literalToStored(other, field.type, ctx.storage));
  if (value === null) {
    if (op === "eq") return { [field.column]: { $eq: null } };
    if (op === "ne") return { [field.column]: { $ne: null } };
    return { $expr: { $literal: false } }; // an ordering comparison with null is never true
  }
  return { [field.column]: { [QUERY_OPERATORS[op]!]: value } };
}

/** Shared with `functions.ts`. */
export function queryStringFunction(
  node: CallExpression,
  ctx: MongoContext,
  negate: boolean,
): Document | undefined {
  if (node.name !== "contains" && node.name !== "startswith" && node.name !== "endswith") {
    return undefined;
  }
  const [subject, argument] = node.args;
  if (subject === undefined || argument === undefined || !isLiteral(argument)) return undefined;
  const field = storedField(subject, ctx);
  if (field === undefined || field.type !== "string" || typeof argument.value !== "string") {
    return undefined;
  }
  const regex = { $regex: regexFor(node.name, argument.value) };
  // not contains(...) is not true for a null value: OData's null propagates through not.
  return negate
    ? { $and: [{ [field.column]: { $type: "string" } }, { [field.column]: { $not: regex } }] }
    : { [field.column]: regex };
}

function queryIn(node: BinaryExpression, ctx: MongoContext, negate: boolean): Document | undefined {
  const field = storedField(node.left, ctx);
  if (field === undefined || node.right.kind !== "List") return undefined;
  if (!node.right.items.every(isLiteral)) return undefined;
  const values = node.right.items.map((item) =>
    idValue(field.column, literalToStored(item as LiteralNode, field.type, ctx.storage))
  );
  if (!negate) return { [field.column]: { $in: values } };
  // not (x in (...)): null in a list is null (not true), so nulls stay out unless listed.
  return values.includes(null)
    ? { [field.column]: { $nin: values } }
    : { $and: [{ [field.column]: { $nin: values } }, { [field.column]: { $ne: null } }] };
}

function queryBoolean(path: Expression, ctx: MongoContext, negate: boolean): Document | undefined {
  const field = storedField(path, ctx);
  if (field === undefined || field.type !== "boolean") return undefined;
  return { [field.column]: { $eq: !negate } };
}

/** Compiles a condition to a filter document when it can; `negate` compiles `not (e)`. */
function toQuery(e: Expression, ctx: MongoContext, negate: boolean): Document | undefined {
  switch (e.kind) {
    case "Binary": {
      if (e.operator === "and" || e.operator === "or") {
        const left = toQuery(e.left, ctx, negate);
        const right = left && toQuery(e.right, ctx, negate);
        if (left === undefined || right === undefined) return undefined;
        const conjunction = (e.operator === "and") !== negate;
        return { [conjunction ? "$and" : "$or"]: [left, right] };
      }
      if (e.operator === "in") return queryIn(e, ctx, negate);
      if (e.operator in QUERY_OPERATORS) return queryComparison(e, ctx, negate);
      return undefined;
    }
    case "Unary":
      return e.operator === "not" ? toQuery(e.operand, ctx, !negate) : undefined;
    case "Call":
      return queryStringFunction(e, ctx, negate);
    case "Path":
      return queryBoolean(e, ctx, negate);
    case "Literal":
      return e.type === "boolean"
        ? { $expr: { $literal: (e.value === true) !== negate } }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * Compiles a `$filter` condition: a filter document, using `$expr` for the parts that need
 * aggregation expressions. Navigations used are added to `ctx.lookups`.
 *
 * @example
 * ```ts
 * import { createContext } from "./expression.ts";
 * import { compileCondition } from "./filter.ts";
 * import { parseFilter } from "../../../src/odata/parser/expression.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true }, Price: { type: "number" } } });
 * const ctx = createContext({ getEntityMetadata: () => entity }, entity, { decimal: "double" });
 * compileCondition(parseFilter("Price gt 20"), ctx); // { Price: { $gt: 20 } }
 * ```
 */
export function compileCondition(e: Expression, ctx: MongoContext): Document {
  const direct = toQuery(e, ctx, false);
  if (direct !== undefined) return direct;
  if (e.kind === "Binary" && e.operator === "and") {
    return { $and: [compileCondition(e.left, ctx), compileCondition(e.right, ctx)] };
  }
  return { $expr: compilePredicate(e, ctx, false) };
}
