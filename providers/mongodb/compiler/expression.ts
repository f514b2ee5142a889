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
  CallExpression,
  Expression,
  LiteralNode,
  PathExpression,
} from "../../../src/odata/ast.ts";
import { NotSupportedError, ODataActiveRecordError } from "../../../src/errors/errors.ts";
import { closestName } from "../../../src/errors/suggest.ts";
import {
  type EntityMetadata,
  type FieldType,
  type RelationMetadata,
  resolveRelation,
  type SchemaResolver,
} from "../../../src/model/schema.ts";
import { type Document, literalToStored, type StorageOptions } from "../values.ts";

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

function notSupported(feature: string, suggestion?: string): NotSupportedError {
  return new NotSupportedError(feature, PROVIDER, suggestion ? { suggestion } : {});
}

function typeMismatch(message: string): ODataActiveRecordError {
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

const QUERY_OPERATORS: Readonly<Record<string, string>> = {
  eq: "$eq",
  ne: "$ne",
  gt: "$gt",
  ge: "$gte",
  lt: "$lt",
  le: "$lte",
};

const FLIPPED: Readonly<Record<string, string>> = {
  eq: "eq",
  ne: "ne",
  gt: "lt",
  ge: "le",
  lt: "gt",
  le: "ge",
};

const NEGATED: Readonly<Record<string, string>> = {
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
  const value = literalToStored(other, field.type, ctx.storage);
  if (value === null) {
    if (op === "eq") return { [field.column]: { $eq: null } };
    if (op === "ne") return { [field.column]: { $ne: null } };
    return { $expr: { $literal: false } }; // an ordering comparison with null is never true
  }
  return { [field.column]: { [QUERY_OPERATORS[op]!]: value } };
}

function regexFor(name: string, text: string): string {
  const escaped = escapeRegex(text);
  if (name === "contains") return escaped;
  if (name === "startswith") return `^${escaped}`;
  return `${escaped}${END}`;
}

function queryStringFunction(
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
    literalToStored(item as LiteralNode, field.type, ctx.storage)
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
 * import { compileCondition, createContext } from "./expression.ts";
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

// ---------------------------------------------------------------------------------------------
// Aggregation expressions
// ---------------------------------------------------------------------------------------------

/** `x` with null for missing, so that comparisons with null behave alike for both. */
function orNull(expr: unknown): unknown {
  return { $ifNull: [expr, null] };
}

function notNull(c: Compiled): unknown | undefined {
  if (c.literal !== undefined) return c.literal.value === null ? { $literal: false } : undefined;
  return { $ne: [orNull(c.expr), null] };
}

function lit(value: unknown, type: ValueType): Compiled {
  return { expr: { $literal: value }, type, literal: { value } };
}

/**
 * Compiles a boolean expression to an aggregation expression that is true exactly when OData
 * says the condition is true (false for both false and null). `negate` compiles `not (e)`.
 */
function compilePredicate(e: Expression, ctx: MongoContext, negate: boolean): unknown {
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

function unknownField(entity: EntityMetadata, name: string): ODataActiveRecordError {
  const known = [...entity.fields.keys(), ...entity.relations.keys()];
  const guess = closestName(name, known);
  return new ODataActiveRecordError(
    "UNKNOWN_FIELD",
    `Unknown field '${name}' on ${entity.name}.${guess ? ` Did you mean '${guess}'?` : ""}`,
    {
      context: { entity: entity.name, field: name },
      suggestion: `Known fields: ${known.join(", ")}`,
    },
  );
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

function requireNumeric(c: Compiled, what: string): void {
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

function nullSafe(operands: readonly Compiled[], expr: unknown): unknown {
  const guards = operands.map(notNull).filter((g) => g !== undefined);
  return guards.length === 0 ? expr : { $cond: [{ $and: guards }, expr, null] };
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
  return { expr: nullSafe([left, right], expr), type };
}

function args(e: CallExpression, ctx: MongoContext, count: readonly number[]): Compiled[] {
  if (!count.includes(e.args.length)) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `${e.name}() takes ${count.join(" or ")} arguments; got ${e.args.length}`,
    );
  }
  return e.args.map((a) => compileValue(a, ctx));
}

function requireType(c: Compiled, types: readonly ValueType[], fn: string): void {
  if (c.type !== "null" && !types.includes(c.type)) {
    throw typeMismatch(`${fn}() does not take a ${c.type} argument`);
  }
}

/** Applies `make` to a value bound to a variable, null when the value is null. */
function withValue(c: Compiled, ctx: MongoContext, make: (ref: string) => unknown): unknown {
  if (c.literal !== undefined) {
    return c.literal.value === null ? null : make(c.expr as string);
  }
  const name = `v${ctx.counter.value++}`;
  return {
    $let: {
      vars: { [name]: orNull(c.expr) },
      in: { $cond: [{ $eq: [`$$${name}`, null] }, null, make(`$$${name}`)] },
    },
  };
}

const DATE_PARTS: Readonly<Record<string, { op: string; fromText?: [number, number] }>> = {
  year: { op: "$year", fromText: [0, 4] },
  month: { op: "$month", fromText: [5, 2] },
  day: { op: "$dayOfMonth", fromText: [8, 2] },
  hour: { op: "$hour", fromText: [0, 2] },
  minute: { op: "$minute", fromText: [3, 2] },
  second: { op: "$second", fromText: [6, 2] },
};

function compileCall(e: CallExpression, ctx: MongoContext): Compiled {
  switch (e.name) {
    case "contains":
    case "startswith":
    case "endswith": {
      const [subject, needle] = args(e, ctx, [2]);
      requireType(subject!, ["string"], e.name);
      requireType(needle!, ["string"], e.name);
      const text = needle!.literal?.value;
      if (typeof text === "string") {
        // A literal needle: an anchored, escaped regular expression.
        const regex = regexFor(e.name, text);
        return {
          expr: withValue(subject!, ctx, (s) => ({ $regexMatch: { input: s, regex } })),
          type: "boolean",
        };
      }
      const test = (s: unknown, n: unknown) => {
        if (e.name === "contains") return { $gte: [{ $indexOfCP: [s, n] }, 0] };
        if (e.name === "startswith") {
          return { $eq: [{ $substrCP: [s, 0, { $strLenCP: n }] }, n] };
        }
        return {
          $let: {
            vars: { d: { $subtract: [{ $strLenCP: s }, { $strLenCP: n }] } },
            in: {
              $and: [{ $gte: ["$$d", 0] }, {
                $eq: [{ $substrCP: [s, "$$d", { $strLenCP: n }] }, n],
              }],
            },
          },
        };
      };
      return {
        expr: withValue(subject!, ctx, (s) => withValue(needle!, ctx, (n) => test(s, n))),
        type: "boolean",
      };
    }
    case "length": {
      const [s] = args(e, ctx, [1]);
      requireType(s!, ["string"], "length");
      return { expr: withValue(s!, ctx, (v) => ({ $strLenCP: v })), type: "integer" };
    }
    case "tolower":
    case "toupper": {
      const [s] = args(e, ctx, [1]);
      requireType(s!, ["string"], e.name);
      const op = e.name === "tolower" ? "$toLower" : "$toUpper";
      return { expr: withValue(s!, ctx, (v) => ({ [op]: v })), type: "string" };
    }
    case "trim": {
      const [s] = args(e, ctx, [1]);
      requireType(s!, ["string"], "trim");
      return {
        expr: withValue(s!, ctx, (v) => ({ $trim: { input: v, chars: " " } })),
        type: "string",
      };
    }
    case "concat": {
      const [a, b] = args(e, ctx, [2]);
      requireType(a!, ["string"], "concat");
      requireType(b!, ["string"], "concat");
      return { expr: nullSafe([a!, b!], { $concat: [a!.expr, b!.expr] }), type: "string" };
    }
    case "indexof": {
      const [s, n] = args(e, ctx, [2]);
      requireType(s!, ["string"], "indexof");
      requireType(n!, ["string"], "indexof");
      const text = n!.literal?.value;
      if (typeof text === "string") {
        // $regexFind reports the code point index of a literal needle (-1 when absent).
        const found = (v: unknown) => ({
          $let: {
            vars: { m: { $regexFind: { input: v, regex: escapeRegex(text) } } },
            in: { $cond: [{ $eq: [{ $ifNull: ["$$m", null] }, null] }, -1, "$$m.idx"] },
          },
        });
        return { expr: withValue(s!, ctx, found), type: "integer" };
      }
      return { expr: nullSafe([s!, n!], { $indexOfCP: [s!.expr, n!.expr] }), type: "integer" };
    }
    case "substring": {
      const [s, start, length] = args(e, ctx, [2, 3]);
      requireType(s!, ["string"], "substring");
      requireType(start!, ["integer"], "substring");
      const operands = length === undefined ? [s!, start!] : [s!, start!, length];
      // OData clamps a negative start to 0; $substrCP refuses it.
      const from = { $max: [start!.expr, 0] };
      const count = length === undefined ? { $strLenCP: s!.expr } : { $max: [length.expr, 0] };
      return { expr: nullSafe(operands, { $substrCP: [s!.expr, from, count] }), type: "string" };
    }
    case "year":
    case "month":
    case "day":
    case "hour":
    case "minute":
    case "second": {
      const [d] = args(e, ctx, [1]);
      const part = DATE_PARTS[e.name]!;
      if (d!.type === "datetime") {
        return { expr: withValue(d!, ctx, (v) => ({ [part.op]: v })), type: "integer" };
      }
      const textual = (e.name === "year" || e.name === "month" || e.name === "day")
        ? "date"
        : "time";
      requireType(d!, [textual], e.name);
      const [from, count] = part.fromText!;
      return {
        expr: withValue(d!, ctx, (v) => ({ $toInt: { $substrCP: [v, from, count] } })),
        type: "integer",
      };
    }
    case "date":
    case "time": {
      const [d] = args(e, ctx, [1]);
      requireType(d!, ["datetime"], e.name);
      const format = e.name === "date" ? "%Y-%m-%d" : "%H:%M:%S";
      return {
        expr: withValue(d!, ctx, (v) => ({ $dateToString: { date: v, format } })),
        type: e.name === "date" ? "date" : "time",
      };
    }
    case "now":
      args(e, ctx, [0]);
      return lit(new Date(), "datetime");
    case "round":
    case "floor":
    case "ceiling": {
      const [n] = args(e, ctx, [1]);
      requireNumeric(n!, e.name);
      const make = (v: unknown) => {
        if (e.name === "floor") return { $floor: v };
        if (e.name === "ceiling") return { $ceil: v };
        // OData rounds half away from zero; $round rounds half to even.
        return {
          $cond: [{ $gte: [v, 0] }, { $floor: { $add: [v, 0.5] } }, {
            $ceil: { $subtract: [v, 0.5] },
          }],
        };
      };
      return { expr: withValue(n!, ctx, make), type: n!.type };
    }
    default:
      throw notSupported(`${e.name}()`);
  }
}
