/**
 * A compact, exact text form of parsed ASTs for tests that pin whole trees (the conformance
 * subset): expressions as s-expressions, everything else as JSON with expressions inside.
 */
import type { Expression, PathSegment, SearchExpression } from "../../src/odata/ast.ts";

/** The tree of any parsed value: an expression, a query, a search expression, a list of items. */
export function tree(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (Object.is(v, -0)) return "-0";
    if (isExpression(v)) return "«" + expression(v) + "»";
    if (isSearch(v)) return "«" + search(v) + "»";
    return v;
  }).replaceAll('"«', "").replaceAll('»"', "").replaceAll('\\"', '"');
}

function isExpression(v: unknown): v is Expression {
  const kind = (v as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" &&
    ["Literal", "Path", "Alias", "Binary", "Unary", "Call", "TypeFunction", "Case", "List", "Json"]
      .includes(kind);
}

function isSearch(v: unknown): v is SearchExpression {
  const kind = (v as { kind?: unknown } | null)?.kind;
  return kind === "SearchTerm" || kind === "SearchNot" || kind === "SearchBinary";
}

function search(s: SearchExpression): string {
  switch (s.kind) {
    case "SearchTerm":
      return s.phrase ? `"${s.text}"` : s.text;
    case "SearchNot":
      return `(NOT ${search(s.operand)})`;
    case "SearchBinary":
      return `(${s.operator} ${search(s.left)} ${search(s.right)})`;
  }
}

function literalValue(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  return JSON.stringify(v);
}

/** An expression as an s-expression; literals as `type:value`. */
export function expression(e: Expression): string {
  switch (e.kind) {
    case "Literal":
      return e.type === "null"
        ? "null"
        : `${e.type}${e.enumType === undefined ? "" : "<" + e.enumType + ">"}:${
          literalValue(e.value)
        }`;
    case "Path": {
      const root = e.root === "implicit"
        ? []
        : [e.root === "variable" ? `var:${e.variable}` : e.root];
      return [...root, ...e.segments.map(segment)].join("/");
    }
    case "Alias":
      return `@${e.name}`;
    case "Binary":
      return `(${e.operator} ${expression(e.left)} ${expression(e.right)})`;
    case "Unary":
      return `(${e.operator} ${expression(e.operand)})`;
    case "Call":
      return `${e.name}(${e.args.map(expression).join(",")})`;
    case "TypeFunction":
      return `${e.name}(${e.operand === null ? "" : expression(e.operand) + ","}${e.type})`;
    case "Case":
      return `case(${
        e.branches.map((b) => `${expression(b.when)}:${expression(b.then)}`).join(",")
      })`;
    case "List":
      return `[${e.items.map(expression).join(",")}]`;
    case "Json":
      return `json:${tree(e.value)}${
        e.expressions === undefined
          ? ""
          : "{" + e.expressions.map((x) => `${x.path.join(".")}=${expression(x.expression)}`)
            .join(",") +
            "}"
      }`;
  }
}

function segment(s: PathSegment): string {
  switch (s.kind) {
    case "Property":
      return s.name;
    case "TypeCast":
      return `<${s.type}>`;
    case "Key":
      return `(${
        s.values.map((v) => (v.name === undefined ? "" : v.name + "=") + expression(v.value))
          .join(",")
      })`;
    case "Function":
      return `${s.name}(${s.args.map((a) => `${a.name}=${expression(a.value)}`).join(",")})`;
    case "Lambda":
      return s.variable === undefined
        ? `${s.operator}()`
        : `${s.operator}(${s.variable}:${expression(s.predicate!)})`;
    case "Count":
      return `$count(${s.filter === undefined ? "" : "filter=" + expression(s.filter)}${
        s.search === undefined ? "" : ";search=" + search(s.search)
      })`;
    case "Annotation":
      return `@${s.term}${s.qualifier === undefined ? "" : "#" + s.qualifier}`;
    case "FilterSegment":
      return `$filter(${expression(s.predicate)})`;
    case "AggregateSegment":
      return `aggregate(${tree(s.aggregate)})`;
  }
}
