/**
 * How a read answers `$expand=Nav($count=true)` and `$expand=Nav/$count`: each parent row (a
 * plain row or a record) carries the number of its related rows per navigation property under
 * the symbol {@linkcode EXPANDED_COUNTS}. A symbol key stays out of `Object.keys`, `for...in`
 * and `JSON.stringify`, so rows look as before; it is enumerable so that spreading a row, or
 * turning it into a record, keeps it (and `deepStrictEqual` compares it). The HTTP endpoint
 * writes it as `Nav@odata.count`; callers read it with {@linkcode expandedCount}. Providers that
 * cannot count refuse with `NOT_SUPPORTED` rather than leaving it out.
 *
 * @module
 */

/**
 * The property under which a row keeps the counts of its expanded collections:
 * `{ Orders: 5 }`.
 *
 * @example
 * ```ts
 * import { EXPANDED_COUNTS } from "./expanded_counts.ts";
 * typeof EXPANDED_COUNTS; // "symbol"
 * ```
 */
export const EXPANDED_COUNTS: unique symbol = Symbol.for("odata-active-record.expandedCounts");

type Holder = { [EXPANDED_COUNTS]?: Record<string, number> };

/**
 * Records on `row` that navigation property `navigation` has `count` related rows (matching
 * the nested `$filter`/`$search`, ignoring the nested `$top`/`$skip`).
 *
 * @example
 * ```ts
 * import { expandedCount, setExpandedCount } from "./expanded_counts.ts";
 * const order: Record<string, unknown> = { OrderID: 10248 };
 * setExpandedCount(order, "Order_Details", 3);
 * expandedCount(order, "Order_Details"); // 3
 * Object.keys(order); // ["OrderID"]
 * ```
 */
export function setExpandedCount(row: object, navigation: string, count: number): void {
  let counts = Object.hasOwn(row, EXPANDED_COUNTS) ? (row as Holder)[EXPANDED_COUNTS] : undefined;
  if (counts === undefined) {
    counts = {};
    Object.defineProperty(row, EXPANDED_COUNTS, {
      value: counts,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  counts[navigation] = count;
}

/**
 * The count of `navigation`'s related rows a read put on `row` (a row or a record), or
 * `undefined` when the read did not ask for it (`$expand=Nav($count=true)` or `Nav/$count`).
 *
 * @example
 * ```ts
 * import { expandedCount } from "./expanded_counts.ts";
 * expandedCount({ OrderID: 10248 }, "Order_Details"); // undefined: not asked for
 * ```
 */
export function expandedCount(row: object, navigation: string): number | undefined {
  if (!Object.hasOwn(row, EXPANDED_COUNTS)) return undefined;
  return (row as Holder)[EXPANDED_COUNTS]?.[navigation];
}
