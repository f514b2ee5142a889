/**
 * Scalar functions the compiled SQL relies on and SQLite lacks: Unicode case folding (SQLite's
 * `lower`/`upper` fold ASCII only, which would make `tolower(Name) eq 'ärger'` miss 'Ärger'),
 * and `oar_decimal(x, scale)` / `oar_decimal_add(l, r, scale)`, which turn the float result of
 * decimal arithmetic or a decimal aggregate back into the decimal it stands for (see
 * `decimals.ts`; SQL's `ROUND` cannot cap at 15 significant digits, which is what removes the
 * noise of results such as `0.1 + 0.2` when no scale is declared). The driver registers them on
 * every connection with {@linkcode registerSqliteFunctions}.
 *
 * @module
 */

import type { SqlValue } from "../values.ts";
import { addDecimals, roundDecimalResult } from "../decimals.ts";

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

/**
 * The functions, by name.
 *
 * @example
 * ```ts
 * import { SQLITE_FUNCTIONS } from "./udf.ts";
 * Object.keys(SQLITE_FUNCTIONS); // ["oar_lower", "oar_upper", "oar_decimal", "oar_decimal_add"]
 * ```
 */
export const SQLITE_FUNCTIONS: Readonly<Record<string, (...args: SqlValue[]) => SqlValue>> = Object
  .freeze({
    oar_lower: textFunction((text) => text.toLowerCase()),
    oar_upper: textFunction((text) => text.toUpperCase()),
    oar_decimal: decimalResult,
    oar_decimal_add: decimalSum,
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
}
