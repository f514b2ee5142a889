/**
 * What expression compilation works on: typed fragments, scopes (a table alias with the
 * properties visible through it) and the context that carries scopes, lambda variables and the
 * alias generator through one statement. Also the coded errors the compiler throws.
 *
 * @module
 */

import type { Expression } from "../odata/ast.ts";
import type { EntityMetadata, FieldType, SchemaResolver } from "../model/schema.ts";
import { NotSupportedError, ODataActiveRecordError } from "../errors/errors.ts";
import { closestName } from "../errors/suggest.ts";
import { AliasGenerator, type Fragment, ident } from "./fragment.ts";
import type { SqlDialect } from "./dialect.ts";

/**
 * The type of a compiled value: a field type, or `"null"` for the null literal.
 *
 * @example
 * ```ts
 * import type { ValueType } from "./context.ts";
 * const type: ValueType = "datetime";
 * ```
 */
export type ValueType = FieldType | "null";

/**
 * A compiled value expression with what the compiler knows about it. Invariant: a fragment
 * always yields the dialect's storage form of its type (on SQLite: date/time types as text, an
 * integer as INTEGER, a number/decimal as REAL or INTEGER).
 *
 * @example
 * ```ts
 * import { raw } from "./fragment.ts";
 * import type { Typed } from "./context.ts";
 * const one: Typed = { sql: raw("1"), type: "integer", nullable: false };
 * ```
 */
export interface Typed {
  /** The SQL computing the value. */
  readonly sql: Fragment;
  /** Its type. */
  readonly type: ValueType;
  /** Whether the value can be NULL. */
  readonly nullable: boolean;
  /** For decimals: the digits after the point when decoded. */
  readonly scale?: number;
  /**
   * For decimal results of arithmetic and sums: the most fraction digits the exact result has
   * (when known). Nested arithmetic rounds to it; unlike `scale` it does not change decoding.
   */
  readonly exactScale?: number;
  /**
   * For decimals computed exactly by a dialect whose database has no exact type (SQLite; see
   * `DecimalSql.exactValues`): the SQL value is a REAL or, past 15 significant digits, decimal
   * TEXT, so comparisons and ordering must use the dialect's exact functions, not SQL operators.
   */
  readonly exactDecimal?: boolean;
  /** Set when compiled straight from a literal (for constant checks such as division by 0). */
  readonly constant?: unknown;
}

/**
 * A row source visible in an expression: a table alias and the properties it exposes.
 * `entity` is set while the source still has every column of the entity, which navigation
 * needs; after a `groupby` it is absent.
 *
 * @example
 * ```ts
 * import { entityScope, type Scope } from "./context.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * const scope: Scope = entityScope(resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), "t0");
 * ```
 */
export interface Scope {
  /** The table alias. */
  readonly alias: string;
  /** Used in error messages. */
  readonly label: string;
  /** The entity, while every column of it is reachable through the alias. */
  readonly entity?: EntityMetadata;
  /** Fields and computed properties by name, bound to the alias. */
  readonly properties: ReadonlyMap<string, Typed>;
}

/**
 * The context of one expression: the scope `$it` and unqualified paths refer to, the lambda
 * variables in reach, the schema for navigation and the statement's alias generator.
 *
 * @example
 * ```ts
 * import { createContext, type ExprContext } from "./context.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * const ctx: ExprContext = createContext(dialect, { getEntityMetadata: () => entity }, entity);
 * ```
 */
export interface ExprContext {
  /** The database's SQL. */
  readonly dialect: SqlDialect;
  /** Resolves navigation targets. */
  readonly schema: SchemaResolver;
  /** The statement's alias generator. */
  readonly aliases: AliasGenerator;
  /** What `$it` and unqualified paths refer to. */
  readonly root: Scope;
  /** Lambda variables in reach, by name. */
  readonly variables: ReadonlyMap<string, Scope>;
}

/**
 * How a boolean result is consumed. `"predicate"`: only "true or not" matters (a WHERE clause,
 * an operand of and/or under one), so NULL and false may be conflated. `"value"`: the exact
 * OData value is needed (under `not`, as a selected or compared value).
 *
 * @example
 * ```ts
 * import type { Mode } from "./context.ts";
 * const mode: Mode = "predicate";
 * ```
 */
export type Mode = "predicate" | "value";

/**
 * The scope of an entity's own table under `alias`: its fields as column references.
 *
 * @example
 * ```ts
 * import { entityScope } from "./context.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * entityScope(resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } }), "t0");
 * ```
 */
export function entityScope(entity: EntityMetadata, alias: string): Scope {
  const properties = new Map<string, Typed>();
  for (const field of entity.fieldList) {
    properties.set(field.name, {
      sql: ident(alias, field.column),
      type: field.type,
      nullable: field.nullable,
      scale: field.definition.scale,
    });
  }
  return { alias, label: entity.name, entity, properties };
}

/**
 * A context for filtering `entity` through a fresh alias (the first alias of `aliases`).
 *
 * @example
 * ```ts
 * import { createContext } from "./context.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * createContext(dialect, { getEntityMetadata: () => entity }, entity).root.alias; // "t0"
 * ```
 */
export function createContext(
  dialect: SqlDialect,
  schema: SchemaResolver,
  entity: EntityMetadata,
  aliases: AliasGenerator = new AliasGenerator(),
): ExprContext {
  return {
    dialect,
    schema,
    aliases,
    root: entityScope(entity, aliases.next()),
    variables: new Map(),
  };
}

/**
 * The expression compilers, passed to the path and function modules so they need not import
 * the dispatcher (no import cycles).
 *
 * @example
 * ```ts
 * import type { Compilers } from "./context.ts";
 * declare const compilers: Compilers;
 * ```
 */
export interface Compilers {
  /** Compiles a value; `hint` is the type it is compared or combined with. */
  value(expression: Expression, ctx: ExprContext, hint?: FieldType, mode?: Mode): Typed;
  /** Compiles a boolean condition in predicate mode. */
  condition(expression: Expression, ctx: ExprContext): Fragment;
}

// --- errors -----------------------------------------------------------------------------------

/** The provider NOT_SUPPORTED errors name: the dialect of the compilation under way. */
let provider = "sql";

/**
 * Runs a compilation for `dialect`, so that its NOT_SUPPORTED errors name the provider.
 * Compilation is synchronous: one module-level name at a time is enough, and it is restored
 * however the compilation ends.
 *
 * @example
 * ```ts
 * import { compiling } from "./context.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * compiling(dialect, () => 1); // 1
 * ```
 */
export function compiling<T>(dialect: SqlDialect, compile: () => T): T {
  const previous = provider;
  provider = dialect.name;
  try {
    return compile();
  } finally {
    provider = previous;
  }
}

/**
 * A NOT_SUPPORTED error naming the feature for the provider being compiled for.
 *
 * @example
 * ```ts
 * import { notSupported } from "./context.ts";
 * throw notSupported("geo.distance");
 * ```
 */
export function notSupported(feature: string, suggestion?: string): NotSupportedError {
  return new NotSupportedError(feature, provider, suggestion === undefined ? {} : { suggestion });
}

/**
 * An UNKNOWN_FIELD error with a "Did you mean" suggestion from the scope's names.
 *
 * @example
 * ```ts
 * import { entityScope, unknownField } from "./context.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * const scope = entityScope(resolveEntity("P", { fields: { ProductName: { type: "string", primaryKey: true } } }), "t0");
 * unknownField(scope, "ProductNam").message; // "Unknown field 'ProductNam' on P. Did you mean 'ProductName'?"
 * ```
 */
export function unknownField(scope: Scope, name: string): ODataActiveRecordError {
  const candidates = [...scope.properties.keys(), ...(scope.entity?.relations.keys() ?? [])];
  const close = closestName(name, candidates);
  const hint = close === undefined ? "" : ` Did you mean '${close}'?`;
  return new ODataActiveRecordError(
    "UNKNOWN_FIELD",
    `Unknown field '${name}' on ${scope.label}.${hint}`,
    {
      context: {
        entity: scope.label,
        field: name,
        ...(close === undefined ? {} : { didYouMean: close }),
      },
      suggestion: close === undefined ? `Use one of: ${candidates.join(", ")}.` : `Use '${close}'.`,
    },
  );
}

/**
 * A TYPE_MISMATCH error.
 *
 * @example
 * ```ts
 * import { typeMismatch } from "./context.ts";
 * typeMismatch("Cannot compare decimal with string").code; // "TYPE_MISMATCH"
 * ```
 */
export function typeMismatch(
  message: string,
  context: Record<string, unknown> = {},
): ODataActiveRecordError {
  return new ODataActiveRecordError("TYPE_MISMATCH", message, { context });
}

/**
 * An INVALID_OPERATOR error: the operator or function does not apply to the operand type.
 *
 * @example
 * ```ts
 * import { invalidOperator } from "./context.ts";
 * invalidOperator("contains", "integer").code; // "INVALID_OPERATOR"
 * ```
 */
export function invalidOperator(
  operator: string,
  type: ValueType,
  expected?: string,
): ODataActiveRecordError {
  const want = expected === undefined ? "" : `; it needs ${expected}`;
  return new ODataActiveRecordError(
    "INVALID_OPERATOR",
    `The operator ${operator} cannot be applied to a ${type} value${want}`,
    { context: { operator, type } },
  );
}

/**
 * An INVALID_ARGUMENT error.
 *
 * @example
 * ```ts
 * import { invalidArgument } from "./context.ts";
 * invalidArgument("substring takes 2 or 3 arguments").code; // "INVALID_ARGUMENT"
 * ```
 */
export function invalidArgument(
  message: string,
  context: Record<string, unknown> = {},
): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_ARGUMENT", message, { context });
}

/**
 * Looks up the handler of an AST tag. The AST may come from code rather than the parser, so an
 * unknown tag (or an inherited key such as `constructor`) is an INVALID_ARGUMENT error, never
 * a crash or text reaching SQL.
 *
 * @example
 * ```ts
 * import { dispatch } from "./context.ts";
 * dispatch({ a: 1 }, "a", "kind"); // 1
 * ```
 */
export function dispatch<T>(table: Readonly<Record<string, T>>, key: string, what: string): T {
  if (typeof key !== "string" || !Object.hasOwn(table, key)) {
    throw invalidArgument(`Unknown ${what} '${String(key)}' in the query AST`, {
      [what]: String(key),
    });
  }
  return table[key]!;
}

const NUMERIC_TYPES: ReadonlySet<ValueType> = new Set<ValueType>(["integer", "number", "decimal"]);

/**
 * Whether a type is numeric (integer, number, decimal).
 *
 * @example
 * ```ts
 * import { isNumeric } from "./context.ts";
 * isNumeric("decimal"); // true
 * ```
 */
export function isNumeric(type: ValueType): boolean {
  return NUMERIC_TYPES.has(type);
}

/**
 * The hint to give a literal combined with `typed`: its type unless that is the null type.
 *
 * @example
 * ```ts
 * import { hintOf } from "./context.ts";
 * import { raw } from "./fragment.ts";
 * hintOf({ sql: raw("NULL"), type: "null", nullable: true }); // undefined
 * ```
 */
export function hintOf(typed: Typed): FieldType | undefined {
  return typed.type === "null" ? undefined : typed.type;
}

/**
 * Whether a value is a decimal computed exactly, which may be TEXT in SQL (`exactDecimal`).
 *
 * @example
 * ```ts
 * import { isExactText } from "./context.ts";
 * import { raw } from "./fragment.ts";
 * isExactText({ sql: raw("x"), type: "decimal", nullable: true, exactDecimal: true }); // true
 * ```
 */
export function isExactText(typed: Typed): boolean {
  return typed.exactDecimal === true && typed.type === "decimal";
}
