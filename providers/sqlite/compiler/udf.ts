/**
 * Scalar functions the compiled SQL relies on and SQLite lacks: Unicode case folding (SQLite's
 * `lower`/`upper` fold ASCII only, which would make `tolower(Name) eq 'ärger'` miss 'Ärger').
 * The driver registers them once per connection with {@linkcode registerSqliteFunctions}.
 *
 * @module
 */

import type { SqlValue } from "../values.ts";

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

/**
 * The functions, by name.
 *
 * @example
 * ```ts
 * import { SQLITE_FUNCTIONS } from "./udf.ts";
 * Object.keys(SQLITE_FUNCTIONS); // ["oar_lower", "oar_upper"]
 * ```
 */
export const SQLITE_FUNCTIONS: Readonly<Record<string, (value: SqlValue) => SqlValue>> = Object
  .freeze({
    oar_lower: textFunction((text) => text.toLowerCase()),
    oar_upper: textFunction((text) => text.toUpperCase()),
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
    db.function(
      name,
      { deterministic: true, directOnly: true },
      fn as (...args: SqlValue[]) => SqlValue,
    );
  }
}
