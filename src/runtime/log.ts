/**
 * Library-first logging through LogTape: the library only logs to categories under
 * `"odata-active-record"` and never configures sinks; applications do (`configure()`).
 *
 * @module
 */

import { getLogger, type Logger } from "@logtape/logtape";

/** The root category of every log record the library writes. */
export const LOG_CATEGORY = "odata-active-record";

/** The logger of one part of the library, e.g. `libraryLogger("pool")`. */
export function libraryLogger(part: string): Logger {
  return getLogger([LOG_CATEGORY, part]);
}

/**
 * Escapes a pre-rendered message for LogTape's template syntax, so the text shows exactly as
 * written (the design's readable lines) while `properties` still reach structured sinks.
 */
export function literal(message: string): string {
  return message.replaceAll("{", "{{").replaceAll("}", "}}");
}
