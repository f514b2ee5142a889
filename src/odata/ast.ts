/**
 * The OData query AST: plain, readonly data with a literal `kind` on every node. Parsers produce
 * it, builders make it without text, the serializer prints it, and every provider compiles it.
 * Nodes carry no methods and no source positions, so `parse(serialize(ast))` deep-equals `ast`.
 *
 * @module
 */

import type { AggregateFrom, Transformation } from "./ast_apply.ts";

export type {
  AggregateCountItem,
  AggregateCustomItem,
  AggregateExpressionItem,
  AggregateFrom,
  AggregateItem,
  AggregateTransformation,
  ComputeTransformation,
  ConcatTransformation,
  FilterTransformation,
  GenericTransformation,
  GroupByTransformation,
  GroupingItem,
  IdentityTransformation,
  OrderByTransformation,
  PagingTransformation,
  SearchTransformation,
  Transformation,
  TransformationArgument,
} from "./ast_apply.ts";

// ---------------------------------------------------------------------------------------------
// Expressions ($filter, $orderby, $compute, lambda predicates, ...)
// ---------------------------------------------------------------------------------------------

/** The primitive literal types of OData (plus the type of `null`). */
export type LiteralType =
  | "null"
  | "boolean"
  | "int"
  | "decimal"
  | "double"
  | "string"
  | "date"
  | "datetimeoffset"
  | "timeofday"
  | "duration"
  | "guid"
  | "binary"
  | "enum"
  | "geography"
  | "geometry";

/**
 * A primitive literal. Value representation by type:
 * `null` → `null`; `boolean` → boolean; `int` → number (bigint beyond 2^53); `double` → number
 * (also `Infinity`, `-Infinity`, `NaN`); `decimal` → its exact text (`"1.50"`); `string` → the
 * unescaped string; `date` (`2024-01-31`), `datetimeoffset` (`2024-01-31T10:00:00Z`),
 * `timeofday` (`10:00:00`), `duration` (`P1DT2H`), `guid`, `binary` (base64url text) →
 * their text; `enum` → the member text (`Red,Blue` or `1`) with `enumType` its qualified type;
 * `geography`/`geometry` → the literal's WKT text with SRID (`SRID=4326;Point(1 2)`).
 */
export interface LiteralNode {
  /** The node kind. */
  readonly kind: "Literal";
  /** The literal type. */
  readonly type: LiteralType;
  /** The value. */
  readonly value: string | number | bigint | boolean | null;
  /** The qualified enum type name, for `type: "enum"` only. */
  readonly enumType?: string;
}

/**
 * Where a member path starts: `implicit` (a property of the current instance, or an annotation
 * when the first segment is an {@linkcode AnnotationSegment}), `$it`, `$this`, `$root`, a lambda
 * `variable`, or `$these` (the current collection, aggregation extension: `$these/$count`).
 */
export type PathRoot = "implicit" | "$it" | "$this" | "$root" | "$these" | "variable";

/** A structural property or navigation property step. */
export interface PropertySegment {
  /** The node kind. */
  readonly kind: "Property";
  /** The name. */
  readonly name: string;
}

/** A type-cast step: a qualified type name (`Model.VipCustomer`). */
export interface TypeCastSegment {
  /** The node kind. */
  readonly kind: "TypeCast";
  /** The type. */
  readonly type: string;
}

/** A key predicate after a collection step (`Products(1)`, `Order_Details(OrderID=1,ProductID=2)`). */
export interface KeySegment {
  /** The node kind. */
  readonly kind: "Key";
  /** One unnamed value for single keys, or named values for compound keys. */
  readonly values: readonly KeyValue[];
}

/** One value of a key predicate; `name` is absent for the single-key shorthand. */
export interface KeyValue {
  /** The key property name; absent for the single-key shorthand. */
  readonly name?: string;
  /** The value. */
  readonly value: Expression;
}

/** A bound or unbound function call step (`Model.MostExpensive(Year=2024)`). */
export interface FunctionSegment {
  /** The node kind. */
  readonly kind: "Function";
  /** The qualified function name. */
  readonly name: string;
  /** Named arguments in their written order. */
  readonly args: readonly NamedArgument[];
}

/** A named function argument. */
export interface NamedArgument {
  /** The name. */
  readonly name: string;
  /** The value. */
  readonly value: Expression;
}

/** `any(...)` / `all(...)` on a collection; `any()` without arguments has neither field. */
export interface LambdaSegment {
  /** The node kind. */
  readonly kind: "Lambda";
  /** `any` or `all`. */
  readonly operator: "any" | "all";
  /** The lambda variable name. */
  readonly variable?: string;
  /** The lambda predicate. */
  readonly predicate?: Expression;
}

/** `$count` on a collection, with the optional OData 4.01 `$filter`/`$search` options. */
export interface CountSegment {
  /** The node kind. */
  readonly kind: "Count";
  /** The `$filter` expression. */
  readonly filter?: Expression;
  /** The `$search` expression. */
  readonly search?: SearchExpression;
}

/**
 * An annotation value (URL Conventions §5.1.1.16): `Price/@Measures.Currency`,
 * `@Core.Messages/any(...)`, `Price/@Currency#Reporting` (`#` written `%23` in a URL).
 */
export interface AnnotationSegment {
  /** The node kind. */
  readonly kind: "Annotation";
  /** The term without `@`: qualified (`Measures.Currency`) or bare (`Currency`). */
  readonly term: string;
  /** The qualifier after `#`. */
  readonly qualifier?: string;
}

/**
 * The `$filter(...)` path segment on a collection (URL Conventions §4.12):
 * `Addresses/$filter(endswith(Street,'St'))/$count`. Named `FilterSegment` so that it is not
 * confused with the `filter(...)` transformation of `$apply`.
 */
export interface FilterSegment {
  /** The node kind. */
  readonly kind: "FilterSegment";
  /** The condition the members of the collection must meet. */
  readonly predicate: Expression;
}

/**
 * The `aggregate(...)` path segment of the aggregation extension: one aggregate over a collection,
 * `Sales/aggregate(Amount with sum)`, `$these/aggregate($count)`. Named `AggregateSegment` so
 * that it is not confused with the `aggregate(...)` transformation of `$apply`.
 */
export interface AggregateSegment {
  /** The node kind. */
  readonly kind: "AggregateSegment";
  /** The aggregate, shaped like an `aggregate(...)` item without alias. */
  readonly aggregate: AggregateFunction;
}

/**
 * The aggregate of an {@linkcode AggregateSegment}: the shapes of {@linkcode AggregateItem}
 * without `alias` (an aggregate function has none). `$count` may carry `from` here.
 */
export type AggregateFunction =
  | {
    /** The node kind. */
    readonly kind: "AggregateExpression";
    /** The aggregated expression. */
    readonly expression: Expression;
    /** `sum`, `min`, `max`, `average`, `countdistinct`, or a qualified custom method. */
    readonly method: string;
    /** The `from` grouping steps. */
    readonly from?: readonly AggregateFrom[];
  }
  | {
    /** The node kind. */
    readonly kind: "AggregateCount";
    /** The `from` grouping steps. */
    readonly from?: readonly AggregateFrom[];
  }
  | {
    /** The node kind. */
    readonly kind: "AggregateCustom";
    /** The path to the custom aggregate. */
    readonly path: PathExpression;
  };

/** One step of a member path. */
export type PathSegment =
  | PropertySegment
  | TypeCastSegment
  | KeySegment
  | FunctionSegment
  | LambdaSegment
  | CountSegment
  | AnnotationSegment
  | FilterSegment
  | AggregateSegment;

/**
 * A member path: `UnitPrice`, `Category/CategoryName`, `$it/Name`, `d/Quantity` (lambda
 * variable `d`), `$root/Products(1)/Name`, `Order_Details/any(d:d/Quantity gt 10)`,
 * `Orders/$count`, `Price/@Measures.Currency`, `$these/aggregate(Amount with sum)`.
 * `variable` is set only when `root` is `"variable"`.
 */
export interface PathExpression {
  /** The node kind. */
  readonly kind: "Path";
  /** Where the path starts. */
  readonly root: PathRoot;
  /** The lambda variable name. */
  readonly variable?: string;
  /** The path steps after the root. */
  readonly segments: readonly PathSegment[];
}

/** An unresolved parameter alias `@p` (aliases given values are substituted while parsing). */
export interface AliasExpression {
  /** The node kind. */
  readonly kind: "Alias";
  /** The name without `@`. */
  readonly name: string;
}

/** Binary operators, from the loosest binding to the tightest. */
export type BinaryOperator =
  | "or"
  | "and"
  | "eq"
  | "ne"
  | "gt"
  | "ge"
  | "lt"
  | "le"
  | "has"
  | "in"
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "divby"
  | "mod";

/** `left operator right`. For `in`, `right` is a {@linkcode ListExpression}, path or alias. */
export interface BinaryExpression {
  /** The node kind. */
  readonly kind: "Binary";
  /** The operator. */
  readonly operator: BinaryOperator;
  /** The left operand. */
  readonly left: Expression;
  /** The right operand. */
  readonly right: Expression;
}

/** `not x` or `-x` (negative numeric literals are literals, not negations). */
export interface UnaryExpression {
  /** The node kind. */
  readonly kind: "Unary";
  /** `not` (logical) or `negate` (arithmetic minus). */
  readonly operator: "not" | "negate";
  /** The operand. */
  readonly operand: Expression;
}

/**
 * The canonical functions of OData URL Conventions §5.1.1 (type functions are separate), plus
 * `isdefined` of the aggregation extension. Names are case-insensitive in OData 4.01 text
 * (`TOLOWER(Name)`); the AST always holds these canonical spellings.
 */
export type CanonicalFunction =
  // string and collection
  | "concat"
  | "contains"
  | "endswith"
  | "indexof"
  | "length"
  | "startswith"
  | "substring"
  | "matchesPattern"
  | "tolower"
  | "toupper"
  | "trim"
  | "hassubset"
  | "hassubsequence"
  // date and time
  | "year"
  | "month"
  | "day"
  | "hour"
  | "minute"
  | "second"
  | "fractionalseconds"
  | "totalseconds"
  | "date"
  | "time"
  | "totaloffsetminutes"
  | "mindatetime"
  | "maxdatetime"
  | "now"
  // arithmetic
  | "round"
  | "floor"
  | "ceiling"
  // geo (parsed; providers may reject)
  | "geo.distance"
  | "geo.intersects"
  | "geo.length"
  // aggregation extension: true if the path has a value (not a rolled-up level)
  | "isdefined";

/** A canonical function call such as `contains(ProductName,'Ch')`. */
export interface CallExpression {
  /** The node kind. */
  readonly kind: "Call";
  /** The canonical function name. */
  readonly name: CanonicalFunction;
  /** The arguments, in order. */
  readonly args: readonly Expression[];
}

/** `cast(expr, Type)`, `cast(Type)`, `isof(expr, Type)`, `isof(Type)`; `operand` null = `$it`. */
export interface TypeFunctionExpression {
  /** The node kind. */
  readonly kind: "TypeFunction";
  /** `cast` or `isof`. */
  readonly name: "cast" | "isof";
  /** The operand, or `null` for the current instance (`$it`). */
  readonly operand: Expression | null;
  /** Qualified type name, e.g. `Edm.String` or `Model.VipCustomer`. */
  readonly type: string;
}

/** OData 4.01 `case(cond1:value1, cond2:value2, true:fallback)`. */
export interface CaseExpression {
  /** The node kind. */
  readonly kind: "Case";
  /** The `condition:value` pairs, tried in order. */
  readonly branches: readonly { readonly when: Expression; readonly then: Expression }[];
}

/** A parenthesised list `(1,2,3)` or JSON array of primitives `[1,2,3]`, used by `in`. */
export interface ListExpression {
  /** The node kind. */
  readonly kind: "List";
  /** The items, in order. */
  readonly items: readonly Expression[];
}

/**
 * A JSON object or array literal that is not a plain list of primitives.
 *
 * `value` is pure JSON data: objects, arrays, strings, finite numbers (bigints beyond 2^53),
 * booleans and null. An object in it is always data, even one with a `kind` member. Values that
 * have no JSON form (paths, dates, enums, arithmetic, ...: `{"d":X add 1}`) are listed in
 * `expressions`, each with the location of its slot in `value`, where `value` holds `null`.
 */
export interface JsonExpression {
  /** The node kind. */
  readonly kind: "Json";
  /** The JSON data, with `null` in the slots of embedded expressions. */
  readonly value: unknown;
  /**
   * The embedded expressions, depth first in the order `value` enumerates (the printed order);
   * absent when there are none.
   */
  readonly expressions?: readonly JsonEmbeddedExpression[];
}

/** An expression inside JSON data, at `path` (object keys and array indexes from the top). */
export interface JsonEmbeddedExpression {
  /** Keys and indexes leading to the slot, e.g. `["b", 0]` for `{"b":[Name]}`. */
  readonly path: readonly (string | number)[];
  /** The expression. */
  readonly expression: Expression;
}

/** Any common expression. */
export type Expression =
  | LiteralNode
  | PathExpression
  | AliasExpression
  | BinaryExpression
  | UnaryExpression
  | CallExpression
  | TypeFunctionExpression
  | CaseExpression
  | ListExpression
  | JsonExpression;

/** The value of `$filter`: any common expression (boolean-ness is checked against a model). */
export type FilterExpression = Expression;

/** Every expression node kind. */
export type ExpressionKind = Expression["kind"];

// A record keyed by every kind: adding a node kind breaks the build until it is listed here.
const EXPRESSION_KIND_RECORD: Readonly<Record<ExpressionKind, true>> = {
  Literal: true,
  Path: true,
  Alias: true,
  Binary: true,
  Unary: true,
  Call: true,
  TypeFunction: true,
  Case: true,
  List: true,
  Json: true,
};

/**
 * Every expression node kind, in a fixed order (for checks and messages).
 *
 * @example
 * ```ts
 * import { EXPRESSION_KINDS } from "@oar/odata-active-record";
 * EXPRESSION_KINDS.includes("Binary"); // true
 * ```
 */
export const EXPRESSION_KINDS: readonly ExpressionKind[] = Object.freeze(
  Object.keys(EXPRESSION_KIND_RECORD) as ExpressionKind[],
);

// ---------------------------------------------------------------------------------------------
// $search
// ---------------------------------------------------------------------------------------------

/** A search word or `"quoted phrase"`. */
export interface SearchTerm {
  /** The node kind. */
  readonly kind: "SearchTerm";
  /** The text. */
  readonly text: string;
  /** True for a `"quoted phrase"`. */
  readonly phrase: boolean;
}

/** `NOT x`. */
export interface SearchNot {
  /** The node kind. */
  readonly kind: "SearchNot";
  /** The operand. */
  readonly operand: SearchExpression;
}

/** `a AND b`, `a OR b` (juxtaposition `a b` parses as `AND`). */
export interface SearchBinary {
  /** The node kind. */
  readonly kind: "SearchBinary";
  /** The operator. */
  readonly operator: "AND" | "OR";
  /** The left operand. */
  readonly left: SearchExpression;
  /** The right operand. */
  readonly right: SearchExpression;
}

/** The value of `$search`. */
export type SearchExpression = SearchTerm | SearchNot | SearchBinary;

// ---------------------------------------------------------------------------------------------
// Query options
// ---------------------------------------------------------------------------------------------

/** One `$orderby` key. */
export interface OrderByItem {
  /** The expression. */
  readonly expression: Expression;
  /** `asc` or `desc`. */
  readonly direction: "asc" | "desc";
}

/** One `$compute` item: `expression as alias`. */
export interface ComputeItem {
  /** The expression. */
  readonly expression: Expression;
  /** The alias the result is known by. */
  readonly alias: string;
}

/** `*` as the last step of a `$select` path: all structural properties. */
export interface SelectStarSegment {
  /** The node kind. */
  readonly kind: "Star";
}

/** `Model.*` as the last step of a `$select` path: all operations of a schema. */
export interface SelectAllOperationsSegment {
  /** The node kind. */
  readonly kind: "AllOperations";
  /** The schema namespace (`Model`). */
  readonly namespace: string;
}

/**
 * An action or function with the parameter names that pick one overload, as the last step of a
 * `$select` path: `Model.MostPopular(Location,Kind)`, `MostPopular(Location)`.
 */
export interface SelectOperationSegment {
  /** The node kind. */
  readonly kind: "Operation";
  /** The (optionally qualified) operation name. */
  readonly name: string;
  /** The parameter names, in their written order (at least one). */
  readonly parameters: readonly string[];
}

/**
 * One step of a `$select` path. `Property` is an identifier (a property, or an unqualified
 * operation without parameter list), `TypeCast` a qualified name (a type cast, or as the last step
 * a qualified operation without parameter list), `Annotation` an annotation term. `Star`,
 * `AllOperations` and `Operation` may only be the last step.
 */
export type SelectSegment =
  | PropertySegment
  | TypeCastSegment
  | AnnotationSegment
  | SelectStarSegment
  | SelectAllOperationsSegment
  | SelectOperationSegment;

/**
 * One `$select` item: a path of structured steps (`Address/City` is two `Property` steps,
 * `*` one `Star` step), with nested options for collection-valued or complex properties.
 */
export interface SelectItem {
  /** The path steps, never empty. */
  readonly segments: readonly SelectSegment[];
  /** Nested options (`Addresses($filter=...;$top=2)`). */
  readonly options?: ODataQuery;
}

/**
 * One `$expand` item. `path` holds navigation property names and type casts, or `["*"]`.
 * `ref` is `$ref`, `count` is `$count`; `options` holds nested options including `levels`.
 */
export interface ExpandItem {
  /** The path. */
  readonly path: readonly string[];
  /** `$ref`: return entity references only. */
  readonly ref?: boolean;
  /** `$count`: also return the total count. */
  readonly count?: boolean;
  /** Nested query options. */
  readonly options?: ODataQuery;
}

/**
 * A whole parsed query. Every property is optional; absent means "not given".
 * `levels` appears only in nested `$expand` options. `custom` holds custom query options
 * (those without `$`/`@` that are not system options in OData 4.01 form).
 */
export interface ODataQuery {
  /** The `$filter` expression. */
  readonly filter?: Expression;
  /** `$select`: the properties to return. */
  readonly select?: readonly SelectItem[];
  /** `$expand`: the navigation properties to include. */
  readonly expand?: readonly ExpandItem[];
  /** `$orderby`: the sort keys. */
  readonly orderby?: readonly OrderByItem[];
  /** `$top`: at most this many results. */
  readonly top?: number;
  /** `$skip`: skip this many results. */
  readonly skip?: number;
  /** `$count`: also return the total count. */
  readonly count?: boolean;
  /** The `$search` expression. */
  readonly search?: SearchExpression;
  /** `$compute`: computed properties. */
  readonly compute?: readonly ComputeItem[];
  /** `$apply`: the transformation sequence. */
  readonly apply?: readonly Transformation[];
  /** `$levels`: recursion depth of a nested expand. */
  readonly levels?: number | "max";
  /** `$skiptoken`: the server-driven paging token. */
  readonly skiptoken?: string;
  /** `$deltatoken`. */
  readonly deltatoken?: string;
  /** `$format`. */
  readonly format?: string;
  /** `$index`. */
  readonly index?: number;
  /** `$schemaversion`. */
  readonly schemaversion?: string;
  /** Custom query options by name. */
  readonly custom?: Readonly<Record<string, string>>;
}
