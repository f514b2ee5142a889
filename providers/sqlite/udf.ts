/**
 * Scalar functions the compiled SQL relies on and SQLite lacks: Unicode case folding (SQLite's
 * `lower`/`upper` fold ASCII only, which would make `tolower(Name) eq 'ärger'` miss 'Ärger'),
 * exact decimal arithmetic, comparison and order (`oar_dec_*`, on bigints: see `exact.ts`), and
 * exact decimal aggregates ({@linkcode SQLITE_AGGREGATES}). `oar_decimal(x, scale)` and
 * `oar_decimal_add(l, r, scale)` (floats rounded back to the decimal they stand for) stay
 * registered for statements compiled by earlier versions. The driver registers them on every
 * connection with {@linkcode registerSqliteFunctions}.
 *
 * @module
 */

import type { SqlValue } from "./values.ts";
import { addDecimals, roundDecimalResult } from "./decimals.ts";
import {
  addExact,
  compareExact,
  divideExact,
  type Exact,
  exactValue,
  integerPart,
  modExact,
  multiplyExact,
  orderKey,
  toExact,
} from "./exact.ts";

/**
 * The part of a `node:sqlite` `DatabaseSync` that registers functions.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import type { SqliteFunctionHost } from "./udf.ts";
 * const host: SqliteFunctionHost = new DatabaseSync(":memory:");
 * ```
 */
export interface SqliteFunctionHost {
  /** Registers a scalar function (`DatabaseSync.prototype.function`). */
  function(
    name: string,
    options: { deterministic?: boolean; directOnly?: boolean; varargs?: boolean },
    fn: (...args: SqlValue[]) => SqlValue,
  ): void;
  /** Registers an aggregate function (`DatabaseSync.prototype.aggregate`). */
  aggregate(
    name: string,
    options: {
      start: () => SqlValue;
      step: (accumulator: SqlValue, ...args: SqlValue[]) => SqlValue;
      result?: (accumulator: SqlValue) => SqlValue;
      deterministic?: boolean;
      directOnly?: boolean;
    },
  ): void;
}

function textFunction(transform: (text: string) => string): (value: SqlValue) => SqlValue {
  return (value) => value === null || value === undefined ? null : transform(String(value));
}

function numberOf(value: SqlValue): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isNaN(n) ? undefined : n;
}

/** A scale argument: a non-negative integer, or NULL when the exact scale is unknown. */
function scaleOf(scale: SqlValue): number | undefined {
  const digits = typeof scale === "number" || typeof scale === "bigint" ? Number(scale) : NaN;
  return Number.isInteger(digits) && digits >= 0 ? digits : undefined;
}

/** `oar_decimal(x, scale)`: a product, quotient or aggregate as a decimal; null stays null. */
function decimalResult(value: SqlValue, scale: SqlValue): SqlValue {
  const n = numberOf(value);
  return n === undefined ? null : roundDecimalResult(n, scaleOf(scale));
}

/** `oar_decimal_add(l, r, scale)`: the decimal sum (a difference adds `-r`); null stays null. */
function decimalSum(left: SqlValue, right: SqlValue, scale: SqlValue): SqlValue {
  const l = numberOf(left);
  const r = numberOf(right);
  return l === undefined || r === undefined ? null : addDecimals(l, r, scaleOf(scale));
}

/** Two exact operands, or `undefined` when one is NULL (or no decimal). */
function exactPair(left: SqlValue, right: SqlValue): [Exact, Exact] | undefined {
  const l = toExact(left);
  const r = l === undefined ? undefined : toExact(right);
  return r === undefined ? undefined : [l!, r];
}

function exactBinary(op: (l: Exact, r: Exact) => Exact | undefined) {
  return (left: SqlValue, right: SqlValue): SqlValue => {
    const pair = exactPair(left, right);
    const result = pair === undefined ? undefined : op(pair[0], pair[1]);
    return result === undefined ? null : exactValue(result);
  };
}

/** `oar_dec_div(l, r, minScale)`: the rounded quotient (see `exact.ts`); null for 0 or null. */
function exactQuotient(left: SqlValue, right: SqlValue, minScale: SqlValue): SqlValue {
  const pair = exactPair(left, right);
  const result = pair === undefined
    ? undefined
    : divideExact(pair[0], pair[1], scaleOf(minScale) ?? 0);
  return result === undefined ? null : exactValue(result);
}

/** `oar_dec_cmp(l, r)`: -1, 0 or 1; null when an operand is null. */
function exactComparison(left: SqlValue, right: SqlValue): SqlValue {
  const pair = exactPair(left, right);
  return pair === undefined ? null : BigInt(compareExact(pair[0], pair[1]));
}

/** `oar_dec_round(x, mode)`: round, floor or ceiling of a decimal, exactly; null stays null. */
function exactRounding(value: SqlValue, mode: SqlValue): SqlValue {
  const exact = toExact(value);
  if (exact === undefined) return null;
  const how = mode === "floor" || mode === "ceiling" ? mode : "round";
  return exactValue(integerPart(exact, how));
}

/** `oar_dec_key(x)`: the order key of a decimal (see `exact.ts`); null stays null. */
function exactKey(value: SqlValue): SqlValue {
  const exact = toExact(value);
  return exact === undefined ? null : orderKey(exact);
}

interface SumState {
  sum: Exact | undefined;
  count: number;
  scale?: number;
}

/**
 * The aggregate functions: exact decimal `sum`, `average` (rounded like a quotient, to at least
 * the scale given as second argument), `min` and `max` — all ignoring nulls and null over none.
 *
 * @example
 * ```ts
 * import { SQLITE_AGGREGATES } from "./udf.ts";
 * Object.keys(SQLITE_AGGREGATES); // ["oar_dec_sum", "oar_dec_avg", "oar_dec_min", "oar_dec_max"]
 * ```
 */
export const SQLITE_AGGREGATES: Readonly<
  Record<string, {
    start: () => SumState;
    step: (state: SumState, value: SqlValue, extra?: SqlValue) => SumState;
    result: (state: SumState, extra?: SqlValue) => SqlValue;
  }>
> = Object.freeze({
  oar_dec_sum: {
    start: () => ({ sum: undefined, count: 0 }),
    step: (state, value) => {
      const exact = toExact(value);
      if (exact !== undefined) {
        state.sum = state.sum === undefined ? exact : addExact(state.sum, exact);
        state.count++;
      }
      return state;
    },
    result: (state) => state.sum === undefined ? null : exactValue(state.sum),
  },
  oar_dec_avg: {
    start: () => ({ sum: undefined, count: 0 }),
    step: (state, value, scale) => {
      const exact = toExact(value);
      if (exact !== undefined) {
        state.sum = state.sum === undefined ? exact : addExact(state.sum, exact);
        state.count++;
        state.scale = scaleOf(scale ?? null) ?? 0;
      }
      return state;
    },
    result: (state) => {
      if (state.sum === undefined) return null;
      const quotient = divideExact(
        state.sum,
        { units: BigInt(state.count), scale: 0 },
        state.scale ?? 0,
      );
      return quotient === undefined ? null : exactValue(quotient);
    },
  },
  oar_dec_min: extremeAggregate(-1),
  oar_dec_max: extremeAggregate(1),
});

function extremeAggregate(direction: number) {
  return {
    start: (): SumState => ({ sum: undefined, count: 0 }),
    step: (state: SumState, value: SqlValue) => {
      const exact = toExact(value);
      if (exact !== undefined) {
        if (state.sum === undefined || compareExact(exact, state.sum) === direction) {
          state.sum = exact;
        }
      }
      return state;
    },
    result: (state: SumState) => state.sum === undefined ? null : exactValue(state.sum),
  };
}

/**
 * The functions, by name.
 *
 * @example
 * ```ts
 * import { SQLITE_FUNCTIONS } from "./udf.ts";
 * Object.keys(SQLITE_FUNCTIONS).slice(0, 2); // ["oar_lower", "oar_upper"]
 * ```
 */
export const SQLITE_FUNCTIONS: Readonly<Record<string, (...args: SqlValue[]) => SqlValue>> = Object
  .freeze({
    oar_lower: textFunction((text) => text.toLowerCase()),
    oar_upper: textFunction((text) => text.toUpperCase()),
    oar_decimal: decimalResult,
    oar_decimal_add: decimalSum,
    oar_dec_add: exactBinary(addExact),
    oar_dec_sub: exactBinary((l, r) => addExact(l, { units: -r.units, scale: r.scale })),
    oar_dec_mul: exactBinary(multiplyExact),
    oar_dec_mod: exactBinary(modExact),
    oar_dec_div: exactQuotient,
    oar_dec_cmp: exactComparison,
    oar_dec_key: exactKey,
    oar_dec_round: exactRounding,
  });

/**
 * Registers {@linkcode SQLITE_FUNCTIONS} on a connection: deterministic (the planner may reuse
 * results) and direct-only (triggers and views of a foreign database file cannot call them).
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { registerSqliteFunctions } from "./udf.ts";
 * const db = new DatabaseSync(":memory:");
 * registerSqliteFunctions(db);
 * db.prepare("SELECT oar_lower('ÄB') AS v").get(); // { v: "äb" }
 * db.close();
 * ```
 */
export function registerSqliteFunctions(db: SqliteFunctionHost): void {
  for (const [name, fn] of Object.entries(SQLITE_FUNCTIONS)) {
    db.function(name, { deterministic: true, directOnly: true }, fn);
  }
  for (const [name, aggregate] of Object.entries(SQLITE_AGGREGATES)) {
    db.aggregate(name, {
      // A fresh state object per group (`start` as a function is called for each); node:sqlite
      // keeps any JavaScript value as the accumulator, though its typings say SQL values.
      start: aggregate.start as unknown as () => SqlValue,
      step: aggregate.step as unknown as (accumulator: SqlValue, ...args: SqlValue[]) => SqlValue,
      result: aggregate.result as unknown as (accumulator: SqlValue) => SqlValue,
      deterministic: true,
      directOnly: true,
    });
  }
}
