/**
 * Argument checks of the public entry points (parsers, serializers, builders): wrong types raise
 * `INVALID_ARGUMENT` errors of the module hierarchy that say what was expected, never a raw
 * `TypeError` from deep inside.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";

/**
 * An `INVALID_ARGUMENT` error of the module hierarchy.
 *
 * @example
 * ```ts
 * import { invalidArgument } from "./arguments.ts";
 * invalidArgument('Invalid property name "a b"', { value: "a b" }).code; // "INVALID_ARGUMENT"
 * ```
 */
export function invalidArgument(
  message: string,
  context: Record<string, unknown> = {},
  suggestion?: string,
): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_ARGUMENT", message, { context, suggestion });
}

/**
 * A value as shown in messages: JSON text (strings quoted), cut after 80 characters.
 *
 * @example
 * ```ts
 * import { show } from "./arguments.ts";
 * show("Name eq 'y'"); // "\"Name eq 'y'\""
 * show(null); // "null"
 * ```
 */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === "bigint") text = `${value}n`;
  else if (typeof value === "string" || (typeof value === "object" && value !== null)) {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  } else text = String(value);
  return text.length > 80 ? text.slice(0, 79) + "…" : text;
}

/**
 * Throws `INVALID_ARGUMENT` unless `text` is a string: `caller` takes `what` as a string.
 *
 * @example
 * ```ts
 * import { expectText } from "./arguments.ts";
 * expectText("Price gt 5", "parseFilter()", "the $filter text"); // no error
 * ```
 */
export function expectText(text: unknown, caller: string, what: string): asserts text is string {
  if (typeof text !== "string") {
    throw invalidArgument(`${caller} takes ${what} as a string, got ${show(text)}`, {
      value: show(text),
    });
  }
}

/**
 * Throws `INVALID_ARGUMENT` unless `options` is undefined or a parse options object whose
 * `limits` is an object and whose `aliases` map names to OData text.
 *
 * @example
 * ```ts
 * import { checkParseOptions } from "./arguments.ts";
 * checkParseOptions({ aliases: { p: "'Chai'" } }, "parseFilter()"); // no error
 * ```
 */
export function checkParseOptions(options: unknown, caller: string): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw invalidArgument(
      `${caller} takes options such as { limits: { maxDepth: 32 } }, got ${show(options)}`,
    );
  }
  const { limits, aliases } = options as { limits?: unknown; aliases?: unknown };
  if (limits !== undefined && (typeof limits !== "object" || limits === null)) {
    throw invalidArgument(
      `${caller}: options.limits must be an object such as { maxDepth: 32 }, got ${show(limits)}`,
    );
  }
  if (aliases === undefined) return;
  if (typeof aliases !== "object" || aliases === null) {
    throw invalidArgument(
      `${caller}: options.aliases must map alias names to OData text such as ` +
        `{ p: "'Chai'" }, got ${show(aliases)}`,
    );
  }
  for (const [name, value] of Object.entries(aliases)) {
    if (typeof value !== "string") {
      throw invalidArgument(
        `${caller}: the value of alias ${show(name)} must be OData text (a string), ` +
          `got ${show(value)}`,
        { alias: name },
      );
    }
  }
}
