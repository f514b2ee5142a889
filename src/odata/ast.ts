/**
 * The OData query AST: plain, readonly data with a literal `kind` on every node. Parsers produce
 * it, builders make it without text, the serializer prints it, and every provider compiles it.
 * Nodes carry no methods and no source positions, so `parse(serialize(ast))` deep-equals `ast`.
 *
 * @module
 */

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
  readonly kind: "Literal";
  readonly type: LiteralType;
  readonly value: string | number | bigint | boolean | null;
  /** The qualified enum type name, for `type: "enum"` only. */
  readonly enumType?: string;
}

/** Where a member path starts. */
export type PathRoot = "implicit" | "$it" | "$this" | "$root" | "variable";

/** A structural property or navigation property step. */
export interface PropertySegment {
  readonly kind: "Property";
  readonly name: string;
}

/** A type-cast step: a qualified type name (`Model.VipCustomer`). */
export interface TypeCastSegment {
  readonly kind: "TypeCast";
  readonly type: string;
}

/** A key predicate after a collection step (`Products(1)`, `Order_Details(OrderID=1,ProductID=2)`). */
export interface KeySegment {
  readonly kind: "Key";
  /** One unnamed value for single keys, or named values for compound keys. */
  readonly values: readonly KeyValue[];
}

/** One value of a key predicate; `name` is absent for the single-key shorthand. */
export interface KeyValue {
  readonly name?: string;
  readonly value: Expression;
}

/** A bound or unbound function call step (`Model.MostExpensive(Year=2024)`). */
export interface FunctionSegment {
  readonly kind: "Function";
  /** The qualified function name. */
  readonly name: string;
  /** Named arguments in their written order. */
  readonly args: readonly NamedArgument[];
}

/** A named function argument. */
export interface NamedArgument {
  readonly name: string;
  readonly value: Expression;
}

/** `any(...)` / `all(...)` on a collection; `any()` without arguments has neither field. */
export interface LambdaSegment {
  readonly kind: "Lambda";
  readonly operator: "any" | "all";
  readonly variable?: string;
  readonly predicate?: Expression;
}

/** `$count` on a collection, with the optional OData 4.01 `$filter`/`$search` options. */
export interface CountSegment {
  readonly kind: "Count";
  readonly filter?: Expression;
  readonly search?: SearchExpression;
}

/** One step of a member path. */
export type PathSegment =
  | PropertySegment
  | TypeCastSegment
  | KeySegment
  | FunctionSegment
  | LambdaSegment
  | CountSegment;

/**
 * A member path: `UnitPrice`, `Category/CategoryName`, `$it/Name`, `d/Quantity` (lambda
 * variable `d`), `$root/Products(1)/Name`, `Order_Details/any(d:d/Quantity gt 10)`,
 * `Orders/$count`. `variable` is set only when `root` is `"variable"`.
 */
export interface PathExpression {
  readonly kind: "Path";
  readonly root: PathRoot;
  readonly variable?: string;
  readonly segments: readonly PathSegment[];
}

/** An unresolved parameter alias `@p` (aliases given values are substituted while parsing). */
export interface AliasExpression {
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
  readonly kind: "Binary";
  readonly operator: BinaryOperator;
  readonly left: Expression;
  readonly right: Expression;
}

/** `not x` or `-x` (negative numeric literals are literals, not negations). */
export interface UnaryExpression {
  readonly kind: "Unary";
  readonly operator: "not" | "negate";
  readonly operand: Expression;
}

/** The canonical functions of OData URL Conventions §5.1.1 (type functions are separate). */
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
  | "geo.length";

/** A canonical function call such as `contains(ProductName,'Ch')`. */
export interface CallExpression {
  readonly kind: "Call";
  readonly name: CanonicalFunction;
  readonly args: readonly Expression[];
}

/** `cast(expr, Type)`, `cast(Type)`, `isof(expr, Type)`, `isof(Type)`; `operand` null = `$it`. */
export interface TypeFunctionExpression {
  readonly kind: "TypeFunction";
  readonly name: "cast" | "isof";
  readonly operand: Expression | null;
  /** Qualified type name, e.g. `Edm.String` or `Model.VipCustomer`. */
  readonly type: string;
}

/** OData 4.01 `case(cond1:value1, cond2:value2, true:fallback)`. */
export interface CaseExpression {
  readonly kind: "Case";
  readonly branches: readonly { readonly when: Expression; readonly then: Expression }[];
}

/** A parenthesised list `(1,2,3)` or JSON array of primitives `[1,2,3]`, used by `in`. */
export interface ListExpression {
  readonly kind: "List";
  readonly items: readonly Expression[];
}

/** A JSON object or array literal that is not a plain list of primitives. */
export interface JsonExpression {
  readonly kind: "Json";
  readonly value: unknown;
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

// ---------------------------------------------------------------------------------------------
// $search
// ---------------------------------------------------------------------------------------------

/** A search word or `"quoted phrase"`. */
export interface SearchTerm {
  readonly kind: "SearchTerm";
  readonly text: string;
  readonly phrase: boolean;
}

/** `NOT x`. */
export interface SearchNot {
  readonly kind: "SearchNot";
  readonly operand: SearchExpression;
}

/** `a AND b`, `a OR b` (juxtaposition `a b` parses as `AND`). */
export interface SearchBinary {
  readonly kind: "SearchBinary";
  readonly operator: "AND" | "OR";
  readonly left: SearchExpression;
  readonly right: SearchExpression;
}

/** The value of `$search`. */
export type SearchExpression = SearchTerm | SearchNot | SearchBinary;

// ---------------------------------------------------------------------------------------------
// Query options
// ---------------------------------------------------------------------------------------------

/** One `$orderby` key. */
export interface OrderByItem {
  readonly expression: Expression;
  readonly direction: "asc" | "desc";
}

/** One `$compute` item: `expression as alias`. */
export interface ComputeItem {
  readonly expression: Expression;
  readonly alias: string;
}

/**
 * One `$select` item. `path` holds property names and qualified type-cast names; a last step
 * `"*"` selects all structural properties and `"Model.*"` all operations of a schema.
 */
export interface SelectItem {
  readonly path: readonly string[];
  /** Nested options (`Addresses($filter=...;$top=2)`). */
  readonly options?: ODataQuery;
}

/**
 * One `$expand` item. `path` holds navigation property names and type casts, or `["*"]`.
 * `ref` is `$ref`, `count` is `$count`; `options` holds nested options including `levels`.
 */
export interface ExpandItem {
  readonly path: readonly string[];
  readonly ref?: boolean;
  readonly count?: boolean;
  readonly options?: ODataQuery;
}

/** An aggregate of an expression: `Amount with sum as Total` (`from` for nested grouping). */
export interface AggregateExpressionItem {
  readonly kind: "AggregateExpression";
  readonly expression: Expression;
  /** `sum`, `min`, `max`, `average`, `countdistinct`, or a qualified custom method. */
  readonly method: string;
  readonly alias: string;
  readonly from?: readonly { readonly path: PathExpression; readonly method: string }[];
}

/** `$count as Alias`. */
export interface AggregateCountItem {
  readonly kind: "AggregateCount";
  readonly alias: string;
}

/** A custom aggregate used by name (`Forecast`), or a path to one (`Sales/Forecast`). */
export interface AggregateCustomItem {
  readonly kind: "AggregateCustom";
  readonly path: PathExpression;
  readonly alias?: string;
}

/** One item of `aggregate(...)`. */
export type AggregateItem = AggregateExpressionItem | AggregateCountItem | AggregateCustomItem;

/** `aggregate(...)`. */
export interface AggregateTransformation {
  readonly kind: "Aggregate";
  readonly items: readonly AggregateItem[];
}

/** A grouping property, or `rollup(...)` of properties. */
export type GroupingItem =
  | { readonly kind: "GroupProperty"; readonly path: PathExpression }
  | { readonly kind: "Rollup"; readonly paths: readonly PathExpression[] };

/** `groupby((A,B/C), aggregate(...)/...)`. */
export interface GroupByTransformation {
  readonly kind: "GroupBy";
  readonly groupings: readonly GroupingItem[];
  readonly transformations: readonly Transformation[];
}

/** `filter(expr)`. */
export interface FilterTransformation {
  readonly kind: "Filter";
  readonly expression: Expression;
}

/** `search(expr)`. */
export interface SearchTransformation {
  readonly kind: "Search";
  readonly search: SearchExpression;
}

/** `orderby(...)`. */
export interface OrderByTransformation {
  readonly kind: "OrderBy";
  readonly items: readonly OrderByItem[];
}

/** `top(n)` / `skip(n)`. */
export interface PagingTransformation {
  readonly kind: "Top" | "Skip";
  readonly count: number;
}

/** `compute(expr as alias, ...)`. */
export interface ComputeTransformation {
  readonly kind: "Compute";
  readonly items: readonly ComputeItem[];
}

/** `concat(seq1, seq2, ...)`. */
export interface ConcatTransformation {
  readonly kind: "Concat";
  readonly sequences: readonly (readonly Transformation[])[];
}

/** `identity`. */
export interface IdentityTransformation {
  readonly kind: "Identity";
}

/**
 * Any other transformation of the aggregation extension (`topcount`, `bottomsum`, `expand`,
 * `ancestors`, `descendants`, `traverse`, `join`, `outerjoin`, `addnested`, a custom function,
 * ...), kept in a generic form: its name and its arguments, each either a transformation
 * sequence or an expression. Providers normally reject these with a "not supported" error.
 */
export interface GenericTransformation {
  readonly kind: "Generic";
  readonly name: string;
  readonly args: readonly TransformationArgument[];
}

/** An argument of a {@linkcode GenericTransformation}. */
export type TransformationArgument =
  | { readonly kind: "Expression"; readonly expression: Expression; readonly alias?: string }
  | {
    readonly kind: "Sequence";
    readonly transformations: readonly Transformation[];
    /** The alias of `sequence as Alias` arguments (`nest`, `addnested`). */
    readonly alias?: string;
  }
  | { readonly kind: "Raw"; readonly text: string };

/** One step of `$apply`. */
export type Transformation =
  | AggregateTransformation
  | GroupByTransformation
  | FilterTransformation
  | SearchTransformation
  | OrderByTransformation
  | PagingTransformation
  | ComputeTransformation
  | ConcatTransformation
  | IdentityTransformation
  | GenericTransformation;

/**
 * A whole parsed query. Every property is optional; absent means "not given".
 * `levels` appears only in nested `$expand` options. `custom` holds custom query options
 * (those without `$`/`@` that are not system options in OData 4.01 form).
 */
export interface ODataQuery {
  readonly filter?: Expression;
  readonly select?: readonly SelectItem[];
  readonly expand?: readonly ExpandItem[];
  readonly orderby?: readonly OrderByItem[];
  readonly top?: number;
  readonly skip?: number;
  readonly count?: boolean;
  readonly search?: SearchExpression;
  readonly compute?: readonly ComputeItem[];
  readonly apply?: readonly Transformation[];
  readonly levels?: number | "max";
  readonly skiptoken?: string;
  readonly deltatoken?: string;
  readonly format?: string;
  readonly index?: number;
  readonly schemaversion?: string;
  readonly custom?: Readonly<Record<string, string>>;
}
