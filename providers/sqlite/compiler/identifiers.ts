/**
 * The one function through which every identifier (table, column, alias) reaches SQL text.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../../src/errors/errors.ts";

/**
 * Quotes an identifier for SQLite: wrapped in double quotes with inner `"` doubled. A NUL
 * character (which SQLite would silently cut the identifier at) or an empty name is refused.
 *
 * @example
 * ```ts
 * import { quoteIdentifier } from "./identifiers.ts";
 * quoteIdentifier('Order "Details"'); // "\"Order \"\"Details\"\"\""
 * ```
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes("\0")) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      "An SQL identifier must be non-empty and free of NUL characters",
      {
        context: { identifier: name.replace(/\0/g, "\\0") },
      },
    );
  }
  return `"${name.replace(/"/g, '""')}"`;
}
