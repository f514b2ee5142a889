/**
 * Library-first logging through LogTape: the library only logs to categories under
 * `"odata-active-record"` and never configures sinks; applications do (`configure()`).
 *
 * LogTape is loaded with a dynamic import so the library still runs (silently) where the package
 * cannot be resolved, e.g. a Node or Bun checkout without `node_modules`.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";

/**
 * The root category of every log record the library writes.
 *
 * @example
 * ```ts
 * import { LOG_CATEGORY } from "@oar/odata-active-record";
 * const loggers = [{ category: [LOG_CATEGORY], sinks: ["console"], lowestLevel: "info" as const }];
 * ```
 */
export const LOG_CATEGORY = "odata-active-record";

/** What the library needs of a logger (a LogTape `Logger` has it). */
export interface LibraryLogger {
  /** Logs at debug level. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Logs at info level. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs at warning level. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Logs at error level. */
  error(message: string, properties?: Record<string, unknown>): void;
}

const SILENT: LibraryLogger = { debug() {}, info() {}, warn() {}, error() {} };

const getLogger: ((category: readonly string[]) => Logger) | undefined = await import(
  "@logtape/logtape"
).then((module) => module.getLogger, () => undefined);

/** The logger of one part of the library, e.g. `libraryLogger("pool")`. */
export function libraryLogger(part: string): LibraryLogger {
  return getLogger?.([LOG_CATEGORY, part]) ?? SILENT;
}

/**
 * Escapes a pre-rendered message for LogTape's template syntax, so the text shows exactly as
 * written (the design's readable lines) while `properties` still reach structured sinks.
 */
export function literal(message: string): string {
  return message.replaceAll("{", "{{").replaceAll("}", "}}");
}
