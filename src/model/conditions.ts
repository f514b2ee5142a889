/**
 * Turns `where(field, op, value)` calls into AST nodes, checking the field, the operator and
 * the value against the entity's metadata up front, so mistakes fail where they are written.
 *
 * @module
 */

import type { Expression, LiteralNode, PathExpression } from "../odata/ast.ts";
import { and, call, isExpression, literal, or, typedLiteral } from "../odata/builders.ts";
import { parseFilter } from "../odata/parser/expression.ts";
import { ODataActiveRecordError, QueryLimitError } from "../errors/errors.ts";
import { DEFAULT_QUERY_LIMITS } from "../odata/limits.ts";
import { closestName } from "../errors/suggest.ts";
import { coerceValue } from "./coerce.ts";
import type { NamespaceOptions } from "./context.ts";
import type { EntityMetadata, FieldMetadata, FieldType, SchemaResolver } from "./schema.ts";
import { resolveRelation } from "./schema.ts";
import type { EntityShape, FieldInput, FieldName, UntypedShape } from "./types.ts";

/** Comparison operators of `where()` (symbol aliases `= != <> > >= < <=` are accepted too). */
export type WhereOperator =
  | "eq"
  | "ne"
  | "gt"
  | "ge"
  | "lt"
  | "le"
  | "contains"
  | "startswith"
  | "endswith"
  | "in";

const SYMBOLS: Readonly<Record<string, WhereOperator>> = {
  "=": "eq",
  "==": "eq",
  "!=": "ne",
  "<>": "ne",
  ">": "gt",
  ">=": "ge",
  "<": "lt",
  "<=": "le",
};

const OPERATORS = new Set<string>([
  "eq",
  "ne",
  "gt",
  "ge",
  "lt",
  "le",
  "contains",
  "startswith",
  "endswith",
  "in",
]);

const UNORDERED: ReadonlySet<FieldType> = new Set(["boolean", "json", "binary"]);

/** Where a condition is built: the entity, its namespace schema and options. */
export interface ConditionScope {
  /** The entity conditions refer to. */
  readonly entity: EntityMetadata;
  /** Resolves related entities for navigation paths. */
  readonly schema: SchemaResolver;
  /** Namespace options (date formats, clock). */
  readonly options: NamespaceOptions;
}

/** Resolves `"Category/CategoryName"` to its path node and final field, through to-one relations. */
export function resolveFieldPath(
  scope: ConditionScope,
  path: string,
): { node: PathExpression; field: FieldMetadata } {
  if (typeof path !== "string" || path.length === 0) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `A field name must be a non-empty string`,
      {
        context: { entity: scope.entity.name, field: path },
      },
    );
  }
  const names = path.split("/");
  let entity = scope.entity;
  for (let i = 0; i < names.length - 1; i++) {
    const name = names[i]!;
    if (!entity.relations.has(name)) throw unknownField(entity, name);
    const { relation, target } = resolveRelation(scope.schema, entity, name);
    if (relation.kind === "many") {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `${entity.name}.${name} is a collection; a path through it needs a lambda`,
        {
          suggestion: `Use filter("${name}/any(x: x/${names.slice(i + 1).join("/")} ...)")`,
          context: { entity: entity.name, field: name },
        },
      );
    }
    entity = target;
  }
  const last = names[names.length - 1]!;
  const field = entity.fields.get(last);
  if (field === undefined) throw unknownField(entity, last);
  const node: PathExpression = {
    kind: "Path",
    root: "implicit",
    segments: names.map((name) => ({ kind: "Property", name })),
  };
  return { node, field };
}

/**
 * The UNKNOWN_FIELD error with the closest existing name.
 *
 * @example
 * ```ts ignore
 * throw unknownField(products, "ProductNam"); // Did you mean 'ProductName'?
 * ```
 */
export function unknownField(entity: EntityMetadata, name: string): ODataActiveRecordError {
  const candidates = [...entity.fields.keys(), ...entity.relations.keys()];
  const closest = closestName(name, candidates);
  const hint = closest === undefined ? "" : ` Did you mean '${closest}'?`;
  return new ODataActiveRecordError(
    "UNKNOWN_FIELD",
    `Unknown field '${name}' on ${entity.name}.${hint}`,
    {
      suggestion: closest === undefined
        ? `Use one of: ${candidates.join(", ")}`
        : `Use '${closest}'.`,
      context: { entity: entity.name, field: name, closest },
    },
  );
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

const comparable = new WeakMap<FieldMetadata, FieldMetadata>();

/**
 * The field without its write constraints: a filter value longer than `maxLength` or with more
 * decimals than `scale` is a fine thing to compare with (it just matches nothing).
 */
function comparableField(field: FieldMetadata): FieldMetadata {
  let loose = comparable.get(field);
  if (loose === undefined) {
    const { maxLength: _m, precision: _p, scale: _s, enum: _e, validate: _v, ...definition } =
      field.definition;
    loose = { ...field, definition };
    comparable.set(field, loose);
  }
  return loose;
}

/** A literal of the field's type from a JavaScript value (coerced to the field's type). */
export function fieldLiteral(
  scope: ConditionScope,
  field: FieldMetadata,
  value: unknown,
): LiteralNode {
  if (value === null) return literal(null);
  const canonical = alreadyCanonical(field, value);
  if (canonical !== undefined) return canonical;
  const coerced = coerceValue(comparableField(field), value, scope.options);
  if (!coerced.ok) {
    throw new ODataActiveRecordError(
      "TYPE_MISMATCH",
      `Value ${
        describe(value)
      } does not fit field ${field.name} (${field.type}): ${coerced.reason}`,
      { suggestion: coerced.suggestion, context: { field: field.name, type: field.type } },
    );
  }
  if (field.type === "datetime" && typeof value === "string" && DATE_ONLY.test(value.trim())) {
    // A bare date against a datetime means the whole day, as the same text does in filter().
    return typedLiteral("date", value.trim());
  }
  return canonicalLiteral(field, coerced.value);
}

/**
 * The literal of a value that coercion would return unchanged (an integer for an integer field, a
 * boolean for a boolean one, text for a text one: the common case of `where()`), built without
 * coercing and checking it again; `undefined` for anything else.
 */
function alreadyCanonical(field: FieldMetadata, value: unknown): LiteralNode | undefined {
  switch (field.type) {
    case "integer":
      return Number.isSafeInteger(value)
        ? Object.freeze({ kind: "Literal", type: "int", value: value === 0 ? 0 : value as number })
        : undefined;
    case "boolean":
      return typeof value === "boolean"
        ? Object.freeze({ kind: "Literal", type: "boolean", value })
        : undefined;
    case "string":
      return typeof value === "string"
        ? Object.freeze({ kind: "Literal", type: "string", value })
        : undefined;
    default:
      return undefined;
  }
}

/**
 * The literal of a value that is canonical for the field's type already (as `coerceValue`
 * returns it): what `fieldLiteral` gives for it, without coercing it again.
 */
export function canonicalLiteral(field: FieldMetadata, canonical: unknown): LiteralNode {
  if (canonical === null) return literal(null);
  switch (field.type) {
    case "integer":
      return typedLiteral("int", canonical as number);
    case "number":
      return typedLiteral("double", canonical as number);
    case "decimal":
      return typedLiteral("decimal", canonical as string);
    case "boolean":
      return typedLiteral("boolean", canonical as boolean);
    case "date":
      return typedLiteral("date", canonical as string);
    case "datetime":
      return typedLiteral("datetimeoffset", (canonical as Date).toISOString());
    case "time":
      return typedLiteral("timeofday", canonical as string);
    case "guid":
      return typedLiteral("guid", canonical as string);
    case "string":
      return typedLiteral("string", canonical as string);
    default:
      throw new ODataActiveRecordError(
        "INVALID_OPERATOR",
        `Field ${field.name} of type ${field.type} cannot be compared in where()`,
        { context: { field: field.name, type: field.type } },
      );
  }
}

function describe(value: unknown): string {
  // JSON shows NaN and the infinities as null, which names another value.
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  try {
    return typeof value === "string" ? `'${value}'` : String(JSON.stringify(value) ?? value);
  } catch {
    return String(value);
  }
}

/**
 * The most values `where(field, "in", values)` takes. Lists this long are sent to the store as
 * one parameter (SQLite: a JSON array read with `json_each`), not one parameter per value.
 *
 * @example
 * ```ts
 * import { MAX_WHERE_IN_LENGTH } from "@oar/odata-active-record";
 * MAX_WHERE_IN_LENGTH; // 1000000
 * ```
 */
export const MAX_WHERE_IN_LENGTH = 1_000_000;

interface Size {
  readonly nodes: number;
  readonly depth: number;
}

const sizes = new WeakMap<object, Size>();

/** Whether a child of `parent` continues its and/or chain (no extra nesting level). */
function sameChain(parent: Expression, child: Expression): boolean {
  return parent.kind === "Binary" && child.kind === "Binary" &&
    (parent.operator === "and" || parent.operator === "or") && child.operator === parent.operator;
}

/**
 * Nodes and nesting depth of an expression as the parser counts them for text: a chain of one
 * logical operator (`a or b or c`) is one level, a list counts once (its items have their own
 * limit). Memoised per node, so checking a query after each `or()` stays linear.
 */
const LEAF: Size = Object.freeze({ nodes: 1, depth: 0 });

function sizeOf(expression: Expression): Size {
  // The common leaves without a lookup: literals, lists, paths of plain properties.
  if (expression.kind === "Literal" || expression.kind === "List") return LEAF;
  if (expression.kind === "Path" && expression.segments.every((s) => s.kind === "Property")) {
    return LEAF;
  }
  const known = sizes.get(expression);
  if (known !== undefined) return known;
  let nodes = 1;
  let depth = 0;
  if (expression.kind === "Binary") {
    const left = sizeOf(expression.left);
    const right = sizeOf(expression.right);
    nodes += left.nodes + right.nodes;
    depth = Math.max(
      left.depth + (sameChain(expression, expression.left) ? 0 : 1),
      right.depth + (sameChain(expression, expression.right) ? 0 : 1),
    );
  } else {
    for (const value of Object.values(expression)) {
      const children = Array.isArray(value) ? value : [value];
      for (const child of children) {
        if (!isExpression(child)) continue;
        const size = sizeOf(child);
        nodes += size.nodes;
        depth = Math.max(depth, size.depth + (sameChain(expression, child) ? 0 : 1));
      }
    }
  }
  const size = { nodes, depth };
  if (nodes > 16) sizes.set(expression, size); // small ones are recounted faster than looked up
  return size;
}

/**
 * Applies the query limits on nodes and depth ({@linkcode DEFAULT_QUERY_LIMITS}) to a filter
 * made with `where()`/`or()` or expression builders, as the parser applies them to text: a
 * `QueryLimitError` here, instead of the store refusing an over-large statement.
 *
 * @example
 * ```ts ignore
 * assertBuilderLimits(query.ast.filter); // throws QueryLimitError past 2000 nodes
 * ```
 */
export function assertBuilderLimits(expression: Expression): Expression {
  const { nodes, depth } = sizeOf(expression);
  if (nodes > DEFAULT_QUERY_LIMITS.maxNodes) {
    throw new QueryLimitError("maxNodes", DEFAULT_QUERY_LIMITS.maxNodes, {
      suggestion: "The conditions add up to more nodes than a query may have: use " +
        'where(field, "in", values) for many alternatives of one field.',
      context: { nodes },
    });
  }
  if (depth > DEFAULT_QUERY_LIMITS.maxDepth) {
    throw new QueryLimitError("maxDepth", DEFAULT_QUERY_LIMITS.maxDepth, { context: { depth } });
  }
  return expression;
}

/** Builds the AST of `where(field, op, value)`. */
export function buildCondition(
  scope: ConditionScope,
  fieldPath: string,
  operator: string,
  value: unknown,
): Expression {
  // OData operators are case-insensitive in where() (EQ, Eq, eq); symbols map to their names.
  const op =
    (typeof operator === "string"
      ? SYMBOLS[operator] ?? operator.toLowerCase()
      : operator) as string;
  if (!OPERATORS.has(op)) {
    throw new ODataActiveRecordError("INVALID_OPERATOR", `Unknown operator ${describe(operator)}`, {
      suggestion: `Use one of: ${[...OPERATORS].join(", ")}`,
      context: { operator },
    });
  }
  const { node, field } = resolveFieldPath(scope, fieldPath);
  if (value === undefined && op !== "in") {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `The value for ${field.name} in where() is undefined`,
      {
        suggestion: `Pass null to match a missing ${field.name}, or leave ${field.name} out of ` +
          "the condition (a variable that was never set is the usual cause).",
        context: { entity: scope.entity.name, field: field.name, operator: op },
      },
    );
  }
  const invalid = (why: string): never => {
    throw new ODataActiveRecordError(
      "INVALID_OPERATOR",
      `Operator '${op}' is not valid for ${field.name} (${field.type}): ${why}`,
      { context: { field: field.name, type: field.type, operator: op } },
    );
  };
  switch (op) {
    case "contains":
    case "startswith":
    case "endswith":
      if (field.type !== "string") invalid("text operators need a string field");
      if (typeof value !== "string") invalid("the value must be a string");
      return call(op, node, literal(value as string));
    case "in": {
      if (!Array.isArray(value)) invalid("'in' needs an array of values");
      if ((value as unknown[]).length > MAX_WHERE_IN_LENGTH) {
        throw new QueryLimitError("maxWhereInLength", MAX_WHERE_IN_LENGTH, {
          suggestion: `Split the list into parts of at most ${MAX_WHERE_IN_LENGTH} values, or ` +
            "join with a table that holds them.",
          context: { field: field.name, length: (value as unknown[]).length },
        });
      }
      const items = (value as unknown[]).map((item) => fieldLiteral(scope, field, item));
      return { kind: "Binary", operator: "in", left: node, right: { kind: "List", items } };
    }
    case "gt":
    case "ge":
    case "lt":
    case "le":
      if (UNORDERED.has(field.type)) invalid("the type has no order");
      if (value === null || value === undefined) {
        invalid("null has no order; use eq or ne with null");
      }
      return { kind: "Binary", operator: op, left: node, right: fieldLiteral(scope, field, value) };
    default:
      if (value === undefined) invalid("the value is undefined; pass null to compare with null");
      if (field.type === "json" || field.type === "binary") invalid("the type cannot be compared");
      return {
        kind: "Binary",
        operator: op as "eq" | "ne",
        left: node,
        right: fieldLiteral(scope, field, value),
      };
  }
}

/** Builds `a eq 1 and b eq 2` from `{ a: 1, b: 2 }` (arrays mean `in`). */
export function buildObjectCondition(
  scope: ConditionScope,
  conditions: Record<string, unknown>,
): Expression {
  const parts = Object.entries(conditions).map(([field, value]) =>
    buildCondition(scope, field, Array.isArray(value) ? "in" : "eq", value)
  );
  if (parts.length === 0) {
    throw new ODataActiveRecordError("INVALID_ARGUMENT", "where({}) needs at least one field", {
      context: { entity: scope.entity.name },
    });
  }
  return and(...parts);
}

/** Arguments of `where()`/`or()`: a field triple, an object of equalities, or a group callback. */
export type ConditionArgs =
  | [field: string, operator: WhereOperator | string, value: unknown]
  | [field: string, value: unknown]
  | [conditions: Record<string, unknown>]
  | [expression: Expression]
  | [group: (q: ConditionBuilder) => ConditionBuilder];

/** Operators that compare a field with one value (`where()` also takes them in any case). */
export type ComparisonOperator =
  | "eq"
  | "ne"
  | "gt"
  | "ge"
  | "lt"
  | "le"
  | "="
  | "=="
  | "!="
  | "<>"
  | ">"
  | ">="
  | "<"
  | "<=";

/** Operators on text fields (in any case). */
export type TextOperator = "contains" | "startswith" | "endswith";

/** Every operator of `where()`, lower case. */
export type AnyOperator = ComparisonOperator | TextOperator | "in";

/**
 * `O` when it is an operator in any letter case (`"EQ"`, `"StartsWith"`); an unknown operator
 * does not compile, and the message names {@linkcode UnknownOperator}.
 */
export type CheckedOperator<O extends string> = Lowercase<O> extends AnyOperator ? O
  : UnknownOperator;

/** What the compiler shows for an unknown `where()` operator. */
export interface UnknownOperator {
  /** The operators `where()` takes (in any letter case). */
  readonly "~unknown operator; use one of": AnyOperator;
}

/**
 * The value `where(field, operator, value)` takes: an array for `in`, text for the text
 * operators (on text fields only), else a value of the field (or null).
 */
export type OperatorValue<S extends EntityShape, K extends string, O extends string> =
  Lowercase<O> extends "in" ? readonly (FieldInput<S, K> | null)[]
    : Lowercase<O> extends TextOperator ? K extends TextFieldName<S> ? string : never
    : FieldInput<S, K> | null;

/** Field names (and paths) whose values are text, where text operators apply. */
export type TextFieldName<S extends EntityShape> = {
  [K in FieldName<S>]: [S["where"][K]] extends [string] ? K
    : unknown extends S["where"][K] ? K
    : never;
}[FieldName<S>];

/**
 * A `where(q => q.where(...).or(...))` group callback (declared as a method type, so models of
 * typed entities stay assignable to untyped ones).
 */
export type ConditionGroup<S extends EntityShape> = {
  group(q: ConditionBuilder<S>): ConditionBuilder<S>;
}["group"];

/** `where({ ... })`: equalities by field (an array means `in`, `null` means is null). */
export type Conditions<S extends EntityShape> = {
  readonly [K in FieldName<S>]?:
    | FieldInput<S, K>
    | readonly (FieldInput<S, K> | null)[]
    | null;
};

/**
 * Builds a parenthesised group inside `where(q => q.where(...).or(...))`. Conditions combine
 * left to right: `q.where(a).where(b).or(c)` is `(a and b) or c`.
 *
 * @example
 * ```ts ignore
 * Product.where((q) => q.where("UnitPrice", "lt", 10).or("UnitsInStock", "eq", 0)).find();
 * ```
 */
export class ConditionBuilder<S extends EntityShape = UntypedShape> {
  readonly #scope: ConditionScope;
  /** The expression built so far (undefined when empty). */
  readonly expression: Expression | undefined;

  /** Creates a builder; `expression` is the group so far. */
  constructor(scope: ConditionScope, expression?: Expression) {
    this.#scope = scope;
    this.expression = expression;
  }

  /** Adds a condition with `and`: `where("Price", "gt", 20)`, `where("Id", "in", [1, 2])`. */
  where<K extends FieldName<S>, const O extends string>(
    field: K,
    operator: O & CheckedOperator<O>,
    value: OperatorValue<S, K, O>,
  ): ConditionBuilder<S>;
  /** Adds an equality with `and` (an array means `in`). */
  where<K extends FieldName<S>>(
    field: K,
    value: FieldInput<S, K> | readonly (FieldInput<S, K> | null)[] | null,
  ): ConditionBuilder<S>;
  /** Adds a parenthesised group with `and`: `where((q) => q.where(...).or(...))`. */
  where(group: ConditionGroup<S>): ConditionBuilder<S>;
  /** Adds an expression node with `and`. */
  where(expression: Expression): ConditionBuilder<S>;
  /** Adds equalities with `and`. */
  where(conditions: Conditions<S>): ConditionBuilder<S>;
  where(...args: unknown[]): ConditionBuilder<S> {
    return this.#combine("and", conditionFromArgs(this.#scope, args));
  }

  /** Adds a condition with `or`: `or("Price", "gt", 20)`, `or("Id", "in", [1, 2])`. */
  or<K extends FieldName<S>, const O extends string>(
    field: K,
    operator: O & CheckedOperator<O>,
    value: OperatorValue<S, K, O>,
  ): ConditionBuilder<S>;
  /** Adds an equality with `or` (an array means `in`). */
  or<K extends FieldName<S>>(
    field: K,
    value: FieldInput<S, K> | readonly (FieldInput<S, K> | null)[] | null,
  ): ConditionBuilder<S>;
  /** Adds a parenthesised group with `or`. */
  or(group: ConditionGroup<S>): ConditionBuilder<S>;
  /** Adds an expression node with `or`. */
  or(expression: Expression): ConditionBuilder<S>;
  /** Adds equalities with `or`. */
  or(conditions: Conditions<S>): ConditionBuilder<S>;
  or(...args: unknown[]): ConditionBuilder<S> {
    return this.#combine("or", conditionFromArgs(this.#scope, args));
  }

  /** Adds an OData filter expression with `and`. */
  filter(text: string): ConditionBuilder<S> {
    return this.#combine("and", parseFilter(text));
  }

  #combine(operator: "and" | "or", next: Expression): ConditionBuilder<S> {
    const combined = this.expression === undefined
      ? next
      : operator === "and"
      ? and(this.expression, next)
      : or(this.expression, next);
    return new ConditionBuilder<S>(this.#scope, assertBuilderLimits(combined));
  }
}

/** Turns any `where()` argument form into one expression. */
export function conditionFromArgs(scope: ConditionScope, args: readonly unknown[]): Expression {
  const [first, second, third] = args;
  if (args.length === 1 && isExpression(first)) return first;
  if (typeof first === "function") {
    const result = (first as (q: ConditionBuilder) => unknown)(
      new ConditionBuilder(scope),
    );
    if (!(result instanceof ConditionBuilder) || result.expression === undefined) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        "A where() group callback must return the builder with at least one condition",
        { suggestion: "Write where((q) => q.where(...).or(...)) and return q's result" },
      );
    }
    return result.expression;
  }
  if (typeof first === "string") {
    return args.length >= 3
      ? buildCondition(scope, first, second as string, third)
      : buildCondition(scope, first, "eq", second);
  }
  if (first !== null && typeof first === "object" && !Array.isArray(first)) {
    return buildObjectCondition(scope, first as Record<string, unknown>);
  }
  throw new ODataActiveRecordError(
    "INVALID_ARGUMENT",
    "where() takes (field, operator, value), (field, value), an object, or a group callback",
    { context: { entity: scope.entity.name } },
  );
}
