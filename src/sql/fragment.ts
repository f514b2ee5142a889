/**
 * SQL fragments: text plus the parameters its `?` placeholders bind, composed only with other
 * fragments (the dialect numbers the placeholders of a finished statement, see `dialect.ts`). Values never become text; identifiers enter through {@linkcode ident}, which uses
 * the one quoting function.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";

/** A bound value, in whatever form the dialect's driver takes. */
type SqlValue = unknown;

/**
 * Quotes an identifier the ANSI way, which every supported database reads: wrapped in double
 * quotes with inner `"` doubled. A NUL character (which SQLite would silently cut the
 * identifier at, and PostgreSQL refuses) or an empty name is refused.
 *
 * @example
 * ```ts
 * import { quoteIdentifier } from "./fragment.ts";
 * quoteIdentifier('Order "Details"'); // "\"Order \"\"Details\"\"\""
 * ```
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes("\0")) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      "An SQL identifier must be non-empty and free of NUL characters",
      { context: { identifier: name.replace(/\0/g, "\\0") } },
    );
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A compiled statement: SQL text with positional `?` placeholders and their values in order.
 *
 * @example
 * ```ts
 * import type { CompiledQuery } from "./fragment.ts";
 * const query: CompiledQuery = { sql: 'SELECT 1 WHERE ? = 1', params: [1n] };
 * ```
 */
export interface CompiledQuery {
  /** SQL text with `?` placeholders. */
  readonly sql: string;
  /** The placeholder values, in order. */
  readonly params: readonly unknown[];
}

/**
 * A piece of SQL with the parameters of its placeholders, in order.
 *
 * @example
 * ```ts
 * import { param, sql, type Fragment } from "./fragment.ts";
 * const where: Fragment = sql`x = ${param(1n)}`;
 * ```
 */
export type Fragment = CompiledQuery;

/** The parameters of a fragment without placeholders (frozen: fragments share it). */
const NO_PARAMS: readonly SqlValue[] = Object.freeze([]);

/**
 * Trusted SQL text without parameters (keywords, operators, generated constants).
 *
 * @example
 * ```ts
 * import { raw } from "./fragment.ts";
 * raw("NULL");
 * ```
 */
export function raw(text: string): Fragment {
  return { sql: text, params: NO_PARAMS };
}

/**
 * One bound value.
 *
 * @example
 * ```ts
 * import { param } from "./fragment.ts";
 * param("x' OR '1'='1"); // { sql: "?", params: ["x' OR '1'='1"] }
 * ```
 */
export function param(value: SqlValue): Fragment {
  return { sql: "?", params: [value] };
}

/**
 * A quoted identifier, optionally qualified by a table alias.
 *
 * @example
 * ```ts
 * import { ident } from "./fragment.ts";
 * ident("t0", "ProductName"); // { sql: '"t0"."ProductName"', params: [] }
 * ```
 */
export function ident(...parts: readonly string[]): Fragment {
  let text = quoteIdentifier(parts[0]!);
  for (let i = 1; i < parts.length; i++) text += `.${quoteIdentifier(parts[i]!)}`;
  return { sql: text, params: NO_PARAMS };
}

/**
 * Joins fragments with a separator.
 *
 * @example
 * ```ts
 * import { join, param } from "./fragment.ts";
 * join([param(1n), param(2n)], ", "); // { sql: "?, ?", params: [1n, 2n] }
 * ```
 */
export function join(parts: readonly Fragment[], separator: string): Fragment {
  if (parts.length === 0) return { sql: "", params: NO_PARAMS };
  let text = parts[0]!.sql;
  let params = parts[0]!.params;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    text += separator + part.sql;
    params = concatParams(params, part.params);
  }
  return { sql: text, params };
}

/**
 * Tagged template that only interpolates fragments, so a value cannot slip into the text.
 *
 * @example
 * ```ts
 * import { ident, param, sql } from "./fragment.ts";
 * sql`${ident("t0", "Price")} > ${param(10)}`; // { sql: '"t0"."Price" > ?', params: [10] }
 * ```
 */
export function sql(strings: TemplateStringsArray, ...parts: readonly Fragment[]): Fragment {
  let text = strings[0]!;
  let params: readonly SqlValue[] = NO_PARAMS;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    text += part.sql + strings[i + 1]!;
    params = concatParams(params, part.params);
  }
  return { sql: text, params };
}

/** Fragments are immutable, so parameter lists are shared rather than copied when one side is empty. */
function concatParams(a: readonly SqlValue[], b: readonly SqlValue[]): readonly SqlValue[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...a, ...b];
}

/**
 * Generates statement-unique table aliases (`t0`, `t1`, ...).
 *
 * @example
 * ```ts
 * import { AliasGenerator } from "./fragment.ts";
 * const aliases = new AliasGenerator();
 * aliases.next(); // "t0"
 * ```
 */
export class AliasGenerator {
  #count = 0;

  /** The next unused alias. */
  next(): string {
    return `t${this.#count++}`;
  }
}
