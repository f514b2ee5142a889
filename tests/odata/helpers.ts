/** Helpers shared by the query-language tests. */
import type {
  CanonicalFunction,
  Expression,
  PathExpression,
  SelectItem,
  SelectSegment,
} from "../../src/odata/ast.ts";

/** True when the yaml package may read its environment variables (it does, on import). */
export function yamlCanRun(): boolean {
  return ["LOG_TOKENS", "LOG_STREAM"].every((variable) =>
    Deno.permissions.querySync({ name: "env", variable }).state === "granted"
  );
}

/** The path node of `A/B`, with `$count` and qualified steps as the parser makes them. */
export function path(text: string): PathExpression {
  return {
    kind: "Path",
    root: "implicit",
    segments: text.split("/").map((name) =>
      name === "$count"
        ? { kind: "Count" }
        : name.includes(".")
        ? { kind: "TypeCast", type: name }
        : { kind: "Property", name }
    ),
  };
}

/** An int literal node. */
export function int(value: number): Expression {
  return { kind: "Literal", type: "int", value };
}

/** Canonical functions by arity. */
export const FUNCTION_ARITY: Readonly<Record<CanonicalFunction, readonly number[]>> = {
  concat: [2],
  contains: [2],
  endswith: [2],
  indexof: [2],
  length: [1],
  startswith: [2],
  substring: [2, 3],
  matchesPattern: [2],
  tolower: [1],
  toupper: [1],
  trim: [1],
  hassubset: [2],
  hassubsequence: [2],
  year: [1],
  month: [1],
  day: [1],
  hour: [1],
  minute: [1],
  second: [1],
  fractionalseconds: [1],
  totalseconds: [1],
  date: [1],
  time: [1],
  totaloffsetminutes: [1],
  mindatetime: [0],
  maxdatetime: [0],
  now: [0],
  round: [1],
  floor: [1],
  ceiling: [1],
  "geo.distance": [2],
  "geo.intersects": [2],
  "geo.length": [1],
  isdefined: [1], // takes a member path: generated separately
};

/**
 * The `$select` item the parser makes of `steps` written as in a URL: `"*"`, `"Model.*"`,
 * `"@Term#Q"`, `"Fn(A,B)"`, qualified names as type casts, other names as properties.
 */
export function selectItem(...steps: string[]): SelectItem {
  return { segments: steps.map(selectSegment) };
}

function selectSegment(step: string): SelectSegment {
  if (step === "*") return { kind: "Star" };
  if (step.endsWith(".*")) return { kind: "AllOperations", namespace: step.slice(0, -2) };
  if (step.startsWith("@")) {
    const [term, qualifier] = step.slice(1).split("#");
    return qualifier === undefined
      ? { kind: "Annotation", term: term! }
      : { kind: "Annotation", term: term!, qualifier };
  }
  const open = step.indexOf("(");
  if (open !== -1) {
    return {
      kind: "Operation",
      name: step.slice(0, open),
      parameters: step.slice(open + 1, -1).split(",").map((p) => p.trim()),
    };
  }
  return step.includes(".") ? { kind: "TypeCast", type: step } : { kind: "Property", name: step };
}
