/**
 * The text of `$select` path steps, for consumers that match steps by name (providers, the
 * model's projection warnings).
 *
 * @module
 */

import type { SelectItem, SelectSegment } from "./ast.ts";

/**
 * The step of a `$select` path as written in a URL: a property name, a qualified type name,
 * `@Term#Qualifier`, `*`, `Model.*` or `Name(Param1,Param2)`.
 *
 * @example
 * ```ts
 * import { selectStepText } from "./select_path.ts";
 * selectStepText({ kind: "Operation", name: "Model.F", parameters: ["A", "B"] }); // "Model.F(A,B)"
 * ```
 */
export function selectStepText(segment: SelectSegment): string {
  switch (segment.kind) {
    case "Property":
      return segment.name;
    case "TypeCast":
      return segment.type;
    case "Annotation":
      return "@" + segment.term + (segment.qualifier === undefined ? "" : "#" + segment.qualifier);
    case "Star":
      return "*";
    case "AllOperations":
      return segment.namespace + ".*";
    case "Operation":
      return segment.name + "(" + segment.parameters.join(",") + ")";
  }
}

/**
 * The steps of a `$select` item as text (see {@linkcode selectStepText}).
 *
 * @example
 * ```ts
 * import { selectSteps } from "./select_path.ts";
 * selectSteps({ segments: [{ kind: "Property", name: "Address" }, { kind: "Star" }] });
 * // ["Address", "*"]
 * ```
 */
export function selectSteps(item: SelectItem): string[] {
  return item.segments.map(selectStepText);
}

/**
 * The `$select` item of one property: `selectProperty("Name")` is `$select=Name`.
 *
 * @example
 * ```ts
 * import { selectProperty } from "./select_path.ts";
 * selectProperty("Name"); // { segments: [{ kind: "Property", name: "Name" }] }
 * ```
 */
export function selectProperty(name: string): SelectItem {
  return { segments: [{ kind: "Property", name }] };
}
