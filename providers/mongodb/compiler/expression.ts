/**
 * Compiles OData expressions to MongoDB. A condition that MongoDB's query language can state
 * directly (a stored field compared with a value, `in`, `contains`/`startswith`/`endswith` on a
 * field, `and`/`or` of those) becomes a plain filter document, which indexes serve; everything
 * else (functions, arithmetic, property-to-property comparisons, navigation, lambdas) becomes an
 * aggregation expression under `$expr`.
 *
 * OData's three-valued logic is kept: a comparison with null is not true (`UnitPrice lt 5` never
 * matches a null price), `not` is pushed down to the complementary comparison instead of being
 * applied to a possibly-null result, and `ne` matches nulls as OData defines.
 *
 * Safety: every value from a query is wrapped in `$literal` inside aggregation expressions and
 * compared through `$eq` in filter documents, so no user text can become an operator or a field
 * path; regular expressions are built from escaped text only. `$where`, `$function` and
 * `$accumulator` are never produced.
 *
 * @module
 */

import type {
  BinaryExpression,
  Expression,
  LiteralNode,
  PathExpression,
} from "../../../src/odata/ast.ts";
import { NotSupportedError, ODataActiveRecordError } from "../../../src/errors/errors.ts";
import { unknownField } from "../../../src/model/conditions.ts";
import {
  type EntityMetadata,
  type FieldType,
  type RelationMetadata,
  resolveRelation,
  type SchemaResolver,
} from "../../../src/model/schema.ts";
import { literalToStored, type StorageOptions } from "../values.ts";
import { compileCall } from "./functions.ts";

/** The type of a compiled value: a field type, or `"null"`. */
export type ValueType = FieldType | "null";

/** An aggregation expression with its OData type. */
export interface Compiled {
  /** The aggregation expression. */
  readonly expr: unknown;
  /** Its type. */
  readonly type: ValueType;
  /** The stored field it reads directly (`Property` path on the current document). */
  readonly field?: string;
  /** Set when compiled straight from a literal: the stored value. */
  readonly literal?: { readonly value: unknown };
  /** For decimals: the declared scale of the field. */
  readonly scale?: number;
}

/** A `$lookup` the filter needs before it can run: a navigation from the root entity. */
export interface Lookup {
  /** The field the looked-up documents are stored under (an array). */
  readonly as: string;
  /** The relation. */
  readonly relation: RelationMetadata;
  /** The target entity. */
  readonly target: EntityMetadata;
  /** The entity the navigation starts from. */
  readonly owner: EntityMetadata;
}

/** Where expressions are compiled: the entity, lambda variables and collected lookups. */
export interface MongoContext {
  /** Resolves navigation targets. */
  readonly schema: SchemaResolver;
  /** The root entity. */
  readonly entity: EntityMetadata;
  /** Storage options (decimal representation). */
  readonly storage: StorageOptions;
  /** Lambda variables: name → (aggregation variable, entity). */
  readonly variables: ReadonlyMap<
    string,
    { readonly ref: string; readonly entity: EntityMetadata }
  >;
  /** Navigations the expression uses; filled while compiling. */
  readonly lookups: Map<string, Lookup>;
  /** Computed properties (`$compute` aliases) by name. */
  readonly computed: ReadonlyMap<string, Compiled>;
  /** Counter for aggregation variable names. */
  readonly counter: { value: number };
  /** When set, navigation is refused (e.g. inside `$apply` after a groupby). */
  readonly noNavigation?: boolean;
}

/** The prefix of fields that hold looked-up documents; never a user field (names are identifiers). */
export const LOOKUP_PREFIX = "__oar_nav_";

const PROVIDER = "the mongodb provider";

/** Shared with `functions.ts`. */
export function notSupported(feature: string, suggestion?: string): NotSupportedError {
  return new NotSupportedError(feature, PROVIDER, suggestion ? { suggestion } : {});
}

/** Shared with `functions.ts`. */
export function typeMismatch(message: string): ODataActiveRecordError {
  return new ODataActiveRecordError("TYPE_MISMATCH", message);
}

/**
 * A new expression context for `entity`.
 *
 * @example
 * ```ts
 * import { createContext } from "./expression.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * const ctx = createContext({ getEntityMetadata: () => entity }, entity, { decimal: "decimal128" });
 * ```
 */
export function createContext(
  schema: SchemaResolver,
  entity: EntityMetadata,
  storage: StorageOptions,
  computed: ReadonlyMap<string, Compiled> = new Map(),
): MongoContext {
  return {
    schema,
    entity,
    storage,
    variables: new Map(),
    lookups: new Map(),
    computed,
    counter: { value: 0 },
  };
}

// ---------------------------------------------------------------------------------------------
// Filter documents (the fast path)
// ---------------------------------------------------------------------------------------------

/** Shared with `filter.ts`. */
export const QUERY_OPERATORS: Readonly<Record<string, string>> = {
  eq: "$eq",
  ne: "$ne",
  gt: "$gt",
  ge: "$gte",
  lt: "$lt",
  le: "$lte",
};

/** Shared with `filter.ts`. */
export const FLIPPED: Readonly<Record<string, string>> = {
  eq: "eq",
  ne: "ne",
  gt: "lt",
  ge: "le",
  lt: "gt",
  le: "ge",
};

/** Shared with `filter.ts`. */
export const NEGATED: Readonly<Record<string, string>> = {
  eq: "ne",
  ne: "eq",
  gt: "le",
  ge: "lt",
  lt: "ge",
  le: "gt",
};

/**
 * Escapes text for use inside a regular expression (PCRE and JavaScript alike).
 *
 * @example
 * ```ts
 * import { escapeRegex } from "./expression.ts";
 * escapeRegex("a.b*"); // "a\\.b\\*"
 * ```
 */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}/-]/g, "\\$&");
}

/** End of input in both PCRE and JavaScript (`$` also matches before a final newline in PCRE). */
const END = "(?![\\s\\S])";

/** An escaped, anchored pattern for contains/startswith/endswith. Shared. */
export function regexFor(name: string, text: string): string {
  const escaped = escapeRegex(text);
  if (name === "contains") return escaped;
  if (name === "startswith") return `^${escaped}`;
  return `${escaped}${END}`;
}

// ---------------------------------------------------------------------------------------------
// Aggregation expressions
// ---------------------------------------------------------------------------------------------

/** `x` with null for missing, so that comparisons with null behave alike for both. */
/** Shared with `functions.ts`. */
export function orNull(expr: unknown): unknown {
  return { $ifNull: [expr, null] };
}

/** Shared with `functions.ts`. */
export function notNull(c: Compiled): unknown | undefined {
  if (c.literal !== undefined) return c.literal.value === null ? { $literal: false } : undefined;
  return { $ne: [orNull(c.expr), null] };
}

/** Shared with `functions.ts`. */
export function lit(value: unknown, type: ValueType): Compiled {
  return { expr: { $literal: value }, type, literal: { value } };
}

/**
 * Compiles a boolean expression to an aggregation expression that is true exactly when OData
 * says the condition is true (false for both false and null). `negate` compiles `not (e)`.
 */
export function compilePredicate(e: Expression, ctx: MongoContext, negate: boolean): unknown {
  if (e.kind === "Unary" && e.operator === "not") return compilePredicate(e.operand, ctx, !negate);
  if (e.kind === "Binary") {
    if (e.operator === "and" || e.operator === "or") {
      const conjunction = (e.operator === "and") !== negate;
      return {
        [conjunction ? "$and" : "$or"]: [
          compilePredicate(e.left, ctx, negate),
          compilePredicate(e.right, ctx, negate),
        ],
      };
    }
    if (e.operator in QUERY_OPERATORS) {
      const op = negate ? NEGATED[e.operator]! : e.operator;
      return comparison(op, compileValue(e.left, ctx), compileValue(e.right, ctx));
    }
    if (e.operator === "in") {
      const left = compileValue(e.left, ctx);
      const list = compileList(e.right, ctx, left.type);
      const test = { $in: [orNull(left.expr), list] };
      if (!negate) return test;
      return { $and: [notNull(left) ?? true, { $not: [test] }] };
    }
    if (e.operator === "has") throw notSupported("has (enumeration types)");
  }
  const value = compileValue(e, ctx);
  if (value.type !== "boolean" && value.type !== "null") {
    throw typeMismatch(`A filter must be a boolean expression; got ${value.type}`);
  }
  // A boolean value: true/false/null. `not null` is null, so neither matches.
  return { $eq: [orNull(value.expr), !negate] };
}

const AGG_COMPARISON: Readonly<Record<string, string>> = {
  eq: "$eq",
  ne: "$ne",
  gt: "$gt",
  ge: "$gte",
  lt: "$lt",
  le: "$lte",
};

function comparison(op: string, left: Compiled, right: Compiled): unknown {
  checkComparable(left, right);
  const mongoOp = AGG_COMPARISON[op]!;
  if (op === "eq" || op === "ne") return { [mongoOp]: [orNull(left.expr), orNull(right.expr)] };
  const guards = [notNull(left), notNull(right)].filter((g) => g !== undefined);
  const test = { [mongoOp]: [left.expr, right.expr] };
  return guards.length === 0 ? test : { $and: [...guards, test] };
}

const NUMERIC = new Set<ValueType>(["integer", "number", "decimal"]);

function checkComparable(left: Compiled, right: Compiled): void {
  if (left.type === "null" || right.type === "null" || left.type === right.type) return;
  if (NUMERIC.has(left.type) && NUMERIC.has(right.type)) return;
  const textual = new Set<ValueType>(["string", "guid"]);
  if (textual.has(left.type) && textual.has(right.type)) return;
  throw typeMismatch(`Cannot compare ${left.type} with ${right.type}`);
}

function compileList(e: Expression, ctx: MongoContext, itemType: ValueType): unknown[] {
  if (e.kind !== "List") throw notSupported("in with a non-list right operand");
  return e.items.map((item) => {
    if (item.kind === "Literal") {
      return {
        $literal: literalToStored(item, itemType === "null" ? undefined : itemType, ctx.storage),
      };
    }
    return compileValue(item, ctx).expr;
  });
}

/** The type a literal has in OData terms. */
function literalType(node: LiteralNode): ValueType {
  switch (node.type) {
    case "null":
      return "null";
    case "boolean":
      return "boolean";
    case "int":
      return "integer";
    case "decimal":
      return "decimal";
    case "double":
      return "number";
    case "string":
      return "string";
    case "date":
      return "date";
    case "datetimeoffset":
      return "datetime";
    case "timeofday":
      return "time";
    case "guid":
      return "guid";
    case "binary":
      return "binary";
    default:
      throw notSupported(`${node.type} literals`);
  }
}

/**
 * Compiles a value expression to an aggregation expression.
 *
 * @example
 * ```ts
 * import { compileValue, createContext } from "./expression.ts";
 * import { parseFilter } from "../../../src/odata/parser/expression.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true }, Qty: { type: "integer" } } });
 * const ctx = createContext({ getEntityMetadata: () => entity }, entity, { decimal: "double" });
 * compileValue(parseFilter("Qty add 1"), ctx).type; // "integer"
 * ```
 */
export function compileValue(e: Expression, ctx: MongoContext): Compiled {
  switch (e.kind) {
    case "Literal":
      return compileLiteral(e, ctx);
    case "Path":
      return compilePath(e, ctx);
    case "Binary":
      return compileBinary(e, ctx);
    case "Unary":
      if (e.operator === "negate") {
        const operand = compileValue(e.operand, ctx);
        requireNumeric(operand, "-");
        return { expr: { $multiply: [operand.expr, -1] }, type: operand.type };
      }
      return { expr: booleanValue(e, ctx), type: "boolean" };
    case "Call":
      return compileCall(e, ctx);
    case "Case": {
      const branches = e.branches.map((b) => ({
        case: compilePredicate(b.when, ctx, false),
        then: compileValue(b.then, ctx),
      }));
      const type = branches.find((b) => b.then.type !== "null")?.then.type ?? "null";
      return {
        expr: {
          $switch: {
            branches: branches.map((b) => ({ case: b.case, then: b.then.expr })),
            default: null,
          },
        },
        type,
      };
    }
    case "TypeFunction":
      throw notSupported(`${e.name}()`);
    case "Alias":
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `Parameter alias @${e.name} has no value`,
        {
          suggestion: `Give it a value in the query: @${e.name}=...`,
        },
      );
    default:
      throw notSupported(`${e.kind} expressions`);
  }
}

/** A boolean expression as a value (true, false or null), for `not` and comparisons of predicates. */
function booleanValue(e: Expression, ctx: MongoContext): unknown {
  // True when the predicate holds, false when its negation holds, null otherwise.
  return {
    $cond: [
      compilePredicate(e, ctx, false),
      true,
      { $cond: [compilePredicate(e, ctx, true), false, null] },
    ],
  };
}

function compileLiteral(node: LiteralNode, ctx: MongoContext): Compiled {
  const type = literalType(node);
  return lit(
    literalToStored(node, type === "null" ? undefined : type as FieldType, ctx.storage),
    type,
  );
}

function fieldRef(prefix: string, column: string): string {
  return `${prefix}${column}`;
}

function relationOf(
  entity: EntityMetadata,
  name: string,
  ctx: MongoContext,
): { relation: RelationMetadata; target: EntityMetadata } {
  if (!entity.relations.has(name)) throw unknownField(entity, name);
  return resolveRelation(ctx.schema, entity, name);
}

function compilePath(path: PathExpression, ctx: MongoContext): Compiled {
  let entity: EntityMetadata;
  let prefix: string;
  if (path.root === "variable") {
    const variable = ctx.variables.get(path.variable ?? "");
    if (variable === undefined) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `Unknown lambda variable '${path.variable}'`,
      );
    }
    entity = variable.entity;
    prefix = `${variable.ref}.`;
  } else if (path.root === "implicit" || path.root === "$it" || path.root === "$this") {
    entity = ctx.entity;
    prefix = "$";
  } else {
    throw notSupported(`${path.root} in paths`);
  }
  const segments = path.segments;
  const first = segments[0];
  if (first === undefined) throw notSupported(`${path.root} as a value`);
  if (first.kind !== "Property") throw notSupported(`${first.kind} path segments`);
  if (prefix === "$" && segments.length === 1) {
    const computed = ctx.computed.get(first.name);
    if (computed !== undefined) return computed;
  }
  const field = entity.fields.get(first.name);
  if (field !== undefined) {
    if (segments.length > 1) {
      if (field.type === "json") throw notSupported("paths into json fields");
      throw typeMismatch(`${first.name} is a ${field.type} field, not a navigation property`);
    }
    return {
      expr: fieldRef(prefix, field.column),
      type: field.type,
      field: prefix === "$" ? field.column : undefined,
      scale: field.definition.scale,
    };
  }
  // Navigation: only from the root entity (one $lookup per relation).
  if (prefix !== "$" || ctx.noNavigation) {
    throw notSupported("navigation inside lambdas or after groupby");
  }
  const { relation, target } = relationOf(entity, first.name, ctx);
  const as = `${LOOKUP_PREFIX}${relation.name}`;
  ctx.lookups.set(relation.name, { as, relation, target, owner: entity });
  const rest = segments.slice(1);
  const next = rest[0];
  if (relation.kind === "one") {
    if (next === undefined) throw notSupported("a navigation property as a value");
    if (next.kind !== "Property" || rest.length > 1) {
      throw notSupported("navigation paths deeper than one level");
    }
    const targetField = target.fields.get(next.name);
    if (targetField === undefined) {
      if (target.relations.has(next.name)) {
        throw notSupported("navigation paths deeper than one level");
      }
      throw unknownField(target, next.name);
    }
    return {
      expr: { $arrayElemAt: [`$${as}.${targetField.column}`, 0] },
      type: targetField.type,
      scale: targetField.definition.scale,
    };
  }
  // To-many: $count or any/all.
  if (next === undefined) throw notSupported("a collection navigation property as a value");
  if (rest.length > 1) throw notSupported("path segments after a lambda or $count");
  const array = { $ifNull: [`$${as}`, []] };
  if (next.kind === "Count") {
    if (next.filter !== undefined || next.search !== undefined) {
      throw notSupported("$count with options");
    }
    return { expr: { $size: array }, type: "integer" };
  }
  if (next.kind === "Lambda") {
    if (next.predicate === undefined) {
      return { expr: { $gt: [{ $size: array }, 0] }, type: "boolean" };
    }
    const ref = `v${ctx.counter.value++}`;
    const variables = new Map(ctx.variables);
    variables.set(next.variable ?? "", { ref: `$$${ref}`, entity: target });
    const inner: MongoContext = { ...ctx, variables, noNavigation: true };
    const predicate = compilePredicate(next.predicate, inner, false);
    const mapped = { $map: { input: array, as: ref, in: predicate } };
    return {
      expr: next.operator === "any"
        ? { $anyElementTrue: [mapped] }
        : { $allElementsTrue: [mapped] },
      type: "boolean",
    };
  }
  throw notSupported(`${next.kind} path segments`);
}

/** Shared with `functions.ts`. */
export function requireNumeric(c: Compiled, what: string): void {
  if (c.type !== "null" && !NUMERIC.has(c.type)) {
    throw typeMismatch(`${what} needs numbers; got ${c.type}`);
  }
}

function arithmeticType(l: Compiled, r: Compiled, op: string): ValueType {
  if (l.type === "null") return r.type;
  if (r.type === "null") return l.type;
  if (op === "divby") return l.type === "decimal" || r.type === "decimal" ? "decimal" : "number";
  if (l.type === "number" || r.type === "number") return "number";
  if (l.type === "decimal" || r.type === "decimal") return "decimal";
  return "integer";
}

/** Shared with `functions.ts`. */
export function nullSafe(operands: readonly Compiled[], expr: unknown): unknown {
  const guards = operands.map(notNull).filter((g) => g !== undefined);
  return guards.length === 0 ? expr : { $cond: [{ $and: guards }, expr, null] };
}

/** Digits after the point of an exact operand: a field's scale, a literal's, 0 for integers. */
function scaleOf(c: Compiled): number | undefined {
  if (c.type === "integer") return 0;
  if (c.type !== "decimal") return undefined;
  if (c.literal !== undefined) {
    const text = String(c.literal.value);
    const dot = text.indexOf(".");
    return dot < 0 ? 0 : text.length - dot - 1;
  }
  return c.scale;
}

/** The scale of a decimal result, as SQL keeps it: the larger for add/sub/mod, the sum for mul. */
function resultScale(operator: string, left: Compiled, right: Compiled): number | undefined {
  const [l, r] = [scaleOf(left), scaleOf(right)];
  if (l === undefined || r === undefined) return undefined;
  if (operator === "mul") return l + r;
  if (operator === "add" || operator === "sub" || operator === "mod") return Math.max(l, r);
  return undefined;
}

function compileBinary(e: BinaryExpression, ctx: MongoContext): Compiled {
  switch (e.operator) {
    case "and":
    case "or":
    case "eq":
    case "ne":
    case "gt":
    case "ge":
    case "lt":
    case "le":
    case "in":
    case "has":
      return { expr: booleanValue(e, ctx), type: "boolean" };
    default:
      break;
  }
  const left = compileValue(e.left, ctx);
  const right = compileValue(e.right, ctx);
  if (left.type === "datetime" || right.type === "datetime" || left.type === "date") {
    throw notSupported("date and duration arithmetic");
  }
  requireNumeric(left, e.operator);
  requireNumeric(right, e.operator);
  const type = arithmeticType(left, right, e.operator);
  const zeroGuard = (expr: unknown) => ({
    $cond: [{ $eq: [right.expr, 0] }, null, expr],
  });
  let expr: unknown;
  switch (e.operator) {
    case "add":
      expr = { $add: [left.expr, right.expr] };
      break;
    case "sub":
      expr = { $subtract: [left.expr, right.expr] };
      break;
    case "mul":
      expr = { $multiply: [left.expr, right.expr] };
      break;
    case "div":
      expr = type === "integer"
        ? zeroGuard({ $trunc: [{ $divide: [left.expr, right.expr] }, 0] })
        : zeroGuard({ $divide: [left.expr, right.expr] });
      break;
    case "divby":
      expr = zeroGuard({ $divide: [left.expr, right.expr] });
      break;
    case "mod":
      expr = zeroGuard({ $mod: [left.expr, right.expr] });
      break;
    default:
      throw notSupported(`the ${e.operator} operator`);
  }
  return {
    expr: nullSafe([left, right], expr),
    type,
    scale: type === "decimal" ? resultScale(e.operator, left, right) : undefined,
  };
}
