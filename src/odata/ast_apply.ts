/**
 * The `$apply` part of the OData query AST (aggregation extension): transformations and
 * aggregate items. Same conventions as the rest of the AST (plain readonly data, a literal `kind`
 * on every node); `ast.ts` re-exports everything here, so import from there.
 *
 * @module
 */

import type {
  ComputeItem,
  Expression,
  OrderByItem,
  PathExpression,
  SearchExpression,
} from "./ast.ts";

/** An aggregate of an expression: `Amount with sum as Total` (`from` for nested grouping). */
export interface AggregateExpressionItem {
  /** The node kind. */
  readonly kind: "AggregateExpression";
  /** The expression. */
  readonly expression: Expression;
  /** `sum`, `min`, `max`, `average`, `countdistinct`, or a qualified custom method. */
  readonly method: string;
  /** The alias the result is known by. */
  readonly alias: string;
  /** The `from` grouping steps. */
  readonly from?: readonly AggregateFrom[];
}

/** One `from Path with method` step of an aggregate. */
export interface AggregateFrom {
  /** The grouping property. */
  readonly path: PathExpression;
  /** The aggregation method applied across the groups. */
  readonly method: string;
}

/** `$count as Alias`. */
export interface AggregateCountItem {
  /** The node kind. */
  readonly kind: "AggregateCount";
  /** The alias the result is known by. */
  readonly alias: string;
}

/** A custom aggregate used by name (`Forecast`), or a path to one (`Sales/Forecast`). */
export interface AggregateCustomItem {
  /** The node kind. */
  readonly kind: "AggregateCustom";
  /** The path. */
  readonly path: PathExpression;
  /** The alias the result is known by. */
  readonly alias?: string;
}

/** One item of `aggregate(...)`. */
export type AggregateItem = AggregateExpressionItem | AggregateCountItem | AggregateCustomItem;

/** `aggregate(...)`. */
export interface AggregateTransformation {
  /** The node kind. */
  readonly kind: "Aggregate";
  /** The items, in order. */
  readonly items: readonly AggregateItem[];
}

/** A grouping property, or `rollup(...)` of properties. */
export type GroupingItem =
  | { readonly kind: "GroupProperty"; readonly path: PathExpression }
  | { readonly kind: "Rollup"; readonly paths: readonly PathExpression[] };

/** `groupby((A,B/C), aggregate(...)/...)`. */
export interface GroupByTransformation {
  /** The node kind. */
  readonly kind: "GroupBy";
  /** The grouping properties. */
  readonly groupings: readonly GroupingItem[];
  /** The transformations applied to each group. */
  readonly transformations: readonly Transformation[];
}

/** `filter(expr)`. */
export interface FilterTransformation {
  /** The node kind. */
  readonly kind: "Filter";
  /** The expression. */
  readonly expression: Expression;
}

/** `search(expr)`. */
export interface SearchTransformation {
  /** The node kind. */
  readonly kind: "Search";
  /** The `$search` expression. */
  readonly search: SearchExpression;
}

/** `orderby(...)`. */
export interface OrderByTransformation {
  /** The node kind. */
  readonly kind: "OrderBy";
  /** The items, in order. */
  readonly items: readonly OrderByItem[];
}

/** `top(n)` / `skip(n)`. */
export interface PagingTransformation {
  /** The node kind. */
  readonly kind: "Top" | "Skip";
  /** `$count`: also return the total count. */
  readonly count: number;
}

/** `compute(expr as alias, ...)`. */
export interface ComputeTransformation {
  /** The node kind. */
  readonly kind: "Compute";
  /** The items, in order. */
  readonly items: readonly ComputeItem[];
}

/** `concat(seq1, seq2, ...)`. */
export interface ConcatTransformation {
  /** The node kind. */
  readonly kind: "Concat";
  /** The transformation sequences whose results are concatenated. */
  readonly sequences: readonly (readonly Transformation[])[];
}

/** `identity`. */
export interface IdentityTransformation {
  /** The node kind. */
  readonly kind: "Identity";
}

/**
 * Any other transformation of the aggregation extension (`topcount`, `bottomsum`, `expand`,
 * `ancestors`, `descendants`, `traverse`, `join`, `outerjoin`, `addnested`, a custom function,
 * ...), kept in a generic form: its name and its arguments, each either a transformation
 * sequence or an expression. Providers normally reject these with a "not supported" error.
 */
export interface GenericTransformation {
  /** The node kind. */
  readonly kind: "Generic";
  /** The name. */
  readonly name: string;
  /** The arguments, in order. */
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
