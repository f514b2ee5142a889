/**
 * Limits that protect parsers and providers from abusive queries.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";

/** Configurable limits; every parse option takes a partial set merged over the defaults. */
export interface QueryLimits {
  /**
   * Maximum length of the query text in characters (after percent-decoding).
   * @default {16384}
   */
  readonly maxLength: number;
  /**
   * Maximum number of AST nodes (expressions, segments, items) in one parse.
   * @default {2000}
   */
  readonly maxNodes: number;
  /**
   * Maximum nesting depth of expressions (parentheses, calls, lambdas, nested options), at most
   * {@linkcode MAX_SUPPORTED_DEPTH}: the parsers recurse per level, so deeper nesting than the
   * call stack holds cannot be parsed whatever the limit says.
   * @default {64}
   */
  readonly maxDepth: number;
  /**
   * Maximum nesting depth of `$expand` (`$expand=A($expand=B)` has depth 2).
   * @default {6}
   */
  readonly maxExpandDepth: number;
  /**
   * Maximum value of `$levels` in a nested `$expand` (`$levels=max` is left to the provider).
   * @default {6}
   */
  readonly maxLevels: number;
  /**
   * Maximum number of items in an `in` list.
   * @default {1000}
   */
  readonly maxInListLength: number;
  /**
   * Maximum value of `$top` (and `top(n)` in `$apply`).
   * @default {100000}
   */
  readonly maxTop: number;
}

/**
 * The default limits.
 *
 * @example
 * ```ts
 * import { DEFAULT_QUERY_LIMITS } from "@oar/odata-active-record";
 * console.log(DEFAULT_QUERY_LIMITS.maxDepth); // 64
 * ```
 */
export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({
  maxLength: 16384,
  maxNodes: 2000,
  maxDepth: 64,
  maxExpandDepth: 6,
  maxLevels: 6,
  maxInListLength: 1000,
  maxTop: 100000,
});

/**
 * Merges partial limits over the defaults, validating each value.
 *
 * @example
 * ```ts
 * import { resolveLimits } from "@oar/odata-active-record";
 * resolveLimits({ maxTop: 500 }).maxTop; // 500
 * ```
 */
export function resolveLimits(limits: Partial<QueryLimits> | undefined): QueryLimits {
  if (limits === undefined) return DEFAULT_QUERY_LIMITS;
  const merged = { ...DEFAULT_QUERY_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `Query limit ${name} must be a non-negative integer, got ${value}`,
        { context: { limit: name, value } },
      );
    }
  }
  if (merged.maxDepth > MAX_SUPPORTED_DEPTH) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `Query limit maxDepth must be at most ${MAX_SUPPORTED_DEPTH}, got ${merged.maxDepth}: ` +
        "the parsers cannot hold deeper nesting on the call stack",
      {
        context: { limit: "maxDepth", value: merged.maxDepth, max: MAX_SUPPORTED_DEPTH },
        suggestion: `Set maxDepth to ${MAX_SUPPORTED_DEPTH} or less.`,
      },
    );
  }
  return merged;
}

/**
 * The largest `maxDepth` the parsers accept: the nesting they parse within the call stack of
 * every supported runtime (each level takes a few frames), with a wide margin. A larger
 * `maxDepth` is refused with `INVALID_ARGUMENT` rather than promising a depth that would end in a
 * stack overflow.
 *
 * @example
 * ```ts
 * import { MAX_SUPPORTED_DEPTH, resolveLimits } from "@oar/odata-active-record";
 * resolveLimits({ maxDepth: MAX_SUPPORTED_DEPTH }).maxDepth; // 256
 * ```
 */
export const MAX_SUPPORTED_DEPTH = 256;

/** Options of `parseFilter` and `parseQuery`. */
export interface ParseOptions {
  /** Limits merged over {@linkcode DEFAULT_QUERY_LIMITS}. */
  readonly limits?: Partial<QueryLimits>;
  /**
   * Parameter alias values by name without `@` (`{ p1: "'Chai'" }`), as OData text. `parseQuery`
   * also collects `@p1=...` from the query string itself; these take precedence.
   */
  readonly aliases?: Readonly<Record<string, string>>;
}
