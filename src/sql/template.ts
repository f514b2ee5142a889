/**
 * Hooks that let a compilation double as a statement template: while a recorder is active,
 * every literal the compiler turns into a parameter is reported (with the type hint it was
 * encoded under) and may be replaced by a placeholder, and every place where a literal's
 * *value* (not just its type) shapes the SQL reports that the result cannot be reused for other
 * values. Without a recorder (the normal case) the hooks do nothing.
 *
 * Compilation is synchronous, so one module-level recorder at a time is enough; `recording()`
 * restores the previous one however the compilation ends.
 *
 * @module
 */

import type { LiteralNode } from "../odata/ast.ts";
import type { FieldType } from "../model/schema.ts";
import type { EncodedLiteral } from "./dialect.ts";

/**
 * What a template compilation is told.
 *
 * @example
 * ```ts
 * import type { TemplateRecorder } from "./template.ts";
 * const recorder: TemplateRecorder = {
 *   literal: (_node, _hint, encoded) => encoded.value,
 *   valueDependent: () => {},
 * };
 * ```
 */
export interface TemplateRecorder {
  /** A literal was encoded; returns the parameter value to place in the SQL fragment. */
  literal(node: LiteralNode, hint: FieldType | undefined, encoded: EncodedLiteral): unknown;
  /** The SQL depends on a literal's value, so it is only valid for these very values. */
  valueDependent(): void;
}

let active: TemplateRecorder | undefined;

/**
 * Runs `compile` with `recorder` receiving the compiler's reports.
 *
 * @example
 * ```ts
 * import { recording } from "./template.ts";
 * const seen: unknown[] = [];
 * recording({ literal: (_n, _h, e) => (seen.push(e.value), e.value), valueDependent() {} }, () => 1);
 * ```
 */
export function recording<T>(recorder: TemplateRecorder, compile: () => T): T {
  const previous = active;
  active = recorder;
  try {
    return compile();
  } finally {
    active = previous;
  }
}

/**
 * The parameter value for an encoded literal: the value itself unless a recorder substitutes it.
 *
 * @example
 * ```ts
 * import { literalParameter } from "./template.ts";
 * literalParameter({ kind: "Literal", type: "int", value: 1 }, undefined, { value: 1n, type: "integer" }); // 1n
 * ```
 */
export function literalParameter(
  node: LiteralNode,
  hint: FieldType | undefined,
  encoded: EncodedLiteral,
): unknown {
  return active === undefined ? encoded.value : active.literal(node, hint, encoded);
}

/**
 * Reports that the SQL being built depends on a literal's value (a literal divisor checked for
 * zero, a day expanded into a range, ...).
 *
 * @example
 * ```ts
 * import { valueDependent } from "./template.ts";
 * valueDependent();
 * ```
 */
export function valueDependent(): void {
  active?.valueDependent();
}
