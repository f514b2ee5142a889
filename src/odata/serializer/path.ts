/**
 * Prints member paths and the aggregation parts of expressions (`Sales/aggregate(...)`, `from`
 * steps, data aggregation paths) for the expression serializer, checking every name and refusing
 * the shapes that would read back as something else.
 *
 * @module
 */

import type { AggregateFunction, KeySegment, PathExpression, PathSegment } from "../ast.ts";
import { show } from "../arguments.ts";
import { isCallName, isIdentifier, isKeywordLiteral, isQualifiedName } from "../validate.ts";
import { refuse, unknownKind, WriteContext, writeExpression } from "./expression.ts";
import { searchText } from "./search.ts";

const SEGMENT_KINDS = [
  "Property",
  "TypeCast",
  "Key",
  "Function",
  "Lambda",
  "Count",
  "Annotation",
  "FilterSegment",
  "AggregateSegment",
] as const satisfies readonly PathSegment["kind"][];

/** True for `not` in any case: the unary operator when a space or `(` follows it. */
function isNot(name: string): boolean {
  return name.length === 3 && name.toLowerCase() === "not";
}

/** True for the segments after which a path cannot continue. */
function endsPath(segment: PathSegment): boolean {
  const kind = segment.kind;
  return kind === "Lambda" || kind === "Count" || kind === "AggregateSegment";
}

/**
 * Prints a member path, refusing the shapes that would read back as something else: a first
 * name that is a keyword literal (`true`, `null`, ...), a function (`now(1)`) or `not` before a
 * key (`not(1)`); a lone annotation without namespace or qualifier at the start (`@Currency`
 * reads as a parameter alias); a key predicate after a segment that takes none; segments after a
 * lambda, `$count` or `aggregate(...)`. A path that is just the property `not` prints as `(not)`.
 *
 * @example
 * ```ts
 * import { serializePath } from "./path.ts";
 * serializePath({
 *   kind: "Path",
 *   root: "implicit",
 *   segments: [{ kind: "Property", name: "Category" }, { kind: "Property", name: "Name" }],
 * }); // "Category/Name"
 * ```
 */
export function serializePath(path: PathExpression): string {
  return writePath(path, new WriteContext());
}

/**
 * Prints a member path in the lambda scope of `ctx` (see {@linkcode serializePath}): a path
 * that starts at a variable needs it bound by an enclosing lambda, and a property path may not
 * start with the name of a bound variable (it would read back as that variable).
 *
 * @example
 * ```ts
 * import { WriteContext } from "./expression.ts";
 * import { writePath } from "./path.ts";
 * const ctx = new WriteContext();
 * ctx.variables.push("d");
 * writePath({ kind: "Path", root: "variable", variable: "d", segments: [] }, ctx); // "d"
 * ```
 */
export function writePath(path: PathExpression, ctx: WriteContext): string {
  const segments = path.segments;
  const n = segments.length;
  const root = path.root;
  let out: string;
  let i = 0;
  if (root === "implicit") {
    if (n === 0) refuse("A member path needs at least one segment");
    const head = segments[0]!;
    out = segmentText(head, ctx);
    checkHead(head, n);
    if (
      head.kind === "Property" && ctx.variables.includes(head.name) &&
      segments[1]?.kind !== "Key"
    ) {
      refuse(
        `The property path ${show(head.name)} starts with the name of the lambda variable ` +
          `${head.name} in scope and would read back as that variable; use $it/${head.name}`,
        { name: head.name },
      );
    }
    if (n === 1) return head.kind === "Property" && isNot(head.name) ? `(${out})` : out;
    i = 1;
  } else if (root === "variable") {
    const name = path.variable;
    if (!isIdentifier(name)) refuse(`Invalid lambda variable name ${show(name)}`);
    if (isKeywordLiteral(name)) {
      refuse(`The lambda variable name ${show(name)} reads back as a literal`, { name });
    }
    if (!ctx.variables.includes(name)) {
      refuse(
        `The lambda variable ${name} is not bound by an enclosing any() or all(); it would ` +
          "read back as a property",
        { name },
      );
    }
    if (n === 0) return isNot(name) ? `(${name})` : name;
    out = name;
  } else if (root === "$it" || root === "$this") {
    out = root;
  } else if (root === "$root" || root === "$these") {
    if (n === 0) refuse(`${root} needs a path after it, e.g. ${root}/Name`);
    out = root;
  } else {
    return refuse(`Unknown path root ${show(root)}`, { root: show(root) });
  }
  for (; i < n; i++) {
    const segment = segments[i]!;
    const previous = i > 0 ? segments[i - 1]! : undefined;
    if (previous !== undefined && endsPath(previous)) {
      refuse(`A path cannot continue after a ${previous.kind} segment`);
    }
    if (segment?.kind === "Key") checkKeyPosition(previous, root === "implicit" && i === 1);
    else out += "/";
    out += segmentText(segment, ctx);
  }
  return out;
}

/** The first segment of a path with the implicit root: the start of an expression. */
function checkHead(segment: PathSegment, n: number): void {
  switch (segment.kind) {
    case "Property":
      if (isKeywordLiteral(segment.name)) {
        refuse(`The property name ${show(segment.name)} reads back as a literal`, {
          name: segment.name,
        });
      }
      return;
    case "TypeCast":
      return;
    case "Function":
      // Unqualified names there are canonical functions or unknown ones; `geo.distance(...)` is
      // the canonical function.
      if (
        typeof segment.name === "string" &&
        (!segment.name.includes(".") || isCallName(segment.name))
      ) {
        refuse(
          `A function segment at the start of a path needs a qualified name that is no ` +
            `canonical function, got ${show(segment.name)}`,
        );
      }
      return;
    case "Annotation":
      if (
        n === 1 && segment.qualifier === undefined && typeof segment.term === "string" &&
        !segment.term.includes(".")
      ) {
        refuse(`The lone annotation @${segment.term} reads back as a parameter alias`);
      }
      return;
    default:
      // Key, Lambda, Count, FilterSegment, AggregateSegment (other kinds fail in segmentText).
      refuse(`A ${segment.kind} segment cannot start a path without a root`);
  }
}

/** A key predicate follows a property, a function or a `$filter(...)` segment. */
function checkKeyPosition(previous: PathSegment | undefined, afterHead: boolean): void {
  switch (previous?.kind) {
    case "Property": {
      const name = previous.name;
      if (typeof name !== "string") return;
      if (afterHead ? isCallName(name) || isNot(name) : lambdaOrAggregate(name)) {
        refuse(`${name}(...) reads back as a function call, not as a key predicate`);
      }
      return;
    }
    case "Function":
    case "FilterSegment":
      return;
    default:
      refuse("A key predicate must follow a property, function or $filter segment");
  }
}

/** `any`/`all` in any case and `aggregate`: names that a `(` after a `/` makes special. */
function lambdaOrAggregate(name: string): boolean {
  if (name === "aggregate") return true;
  if (name.length !== 3) return false;
  const lower = name.toLowerCase();
  return lower === "any" || lower === "all";
}

function segmentText(segment: PathSegment, ctx: WriteContext): string {
  switch (segment?.kind) {
    case "Property":
      if (!isIdentifier(segment.name)) {
        refuse(`Invalid property name ${show(segment.name)}`, { name: show(segment.name) });
      }
      return segment.name;
    case "TypeCast":
      if (!isQualifiedName(segment.type, true)) {
        refuse(`Invalid type cast ${show(segment.type)}: a qualified name such as Model.Vip`, {
          type: show(segment.type),
        });
      }
      return segment.type;
    case "Key":
      return keyText(segment, ctx);
    case "Function": {
      const name = segment.name;
      if (!isQualifiedName(name, false)) refuse(`Invalid function name ${show(name)}`);
      const unqualified = !name.includes(".");
      if (unqualified && lambdaOrAggregate(name)) {
        refuse(`A function named ${name} reads back as ${name}(...) of the path grammar`);
      }
      let keyShaped = unqualified && segment.args.length > 0;
      const args = segment.args.map((a) => {
        if (!isIdentifier(a.name)) refuse(`Invalid parameter name ${show(a.name)} of ${name}`);
        const kind = a.value?.kind;
        if (kind !== "Literal" && kind !== "Alias") keyShaped = false;
        return a.name + "=" + writeExpression(a.value, ctx);
      });
      if (keyShaped) {
        refuse(
          `${name}(${args.join(",")}) reads back as a key predicate; qualify the function name`,
        );
      }
      return name + "(" + args.join(",") + ")";
    }
    case "Lambda": {
      const { operator, variable, predicate } = segment;
      if (operator !== "any" && operator !== "all") {
        refuse(`Unknown lambda operator ${show(operator)}; expected any or all`);
      }
      if (variable === undefined && predicate === undefined && operator === "any") return "any()";
      if (variable === undefined || predicate === undefined) {
        refuse(`${operator}() needs both a lambda variable and a predicate`);
      }
      if (!isIdentifier(variable)) refuse(`Invalid lambda variable name ${show(variable)}`);
      if (isKeywordLiteral(variable)) {
        refuse(`The lambda variable name ${show(variable)} reads back as a literal`);
      }
      ctx.variables.push(variable);
      try {
        return operator + "(" + variable + ":" + writeExpression(predicate, ctx) + ")";
      } finally {
        ctx.variables.pop();
      }
    }
    case "Count": {
      const options: string[] = [];
      if (segment.filter !== undefined) {
        options.push("$filter=" + writeExpression(segment.filter, ctx));
      }
      // A raw `;` ends a search word here: see searchText.
      if (segment.search !== undefined) options.push("$search=" + searchText(segment.search, ctx));
      return options.length === 0 ? "$count" : "$count(" + options.join(";") + ")";
    }
    case "Annotation":
      if (!isQualifiedName(segment.term, false)) {
        refuse(`Invalid annotation term ${show(segment.term)}`);
      }
      if (segment.qualifier === undefined) return "@" + segment.term;
      if (!isIdentifier(segment.qualifier)) {
        refuse(`Invalid annotation qualifier ${show(segment.qualifier)}`);
      }
      return "@" + segment.term + "#" + segment.qualifier;
    case "FilterSegment":
      return "$filter(" + writeExpression(segment.predicate, ctx) + ")";
    case "AggregateSegment":
      return "aggregate(" + aggregateFunctionText(segment.aggregate, ctx) + ")";
    default:
      return unknownKind(segment, "path segment", SEGMENT_KINDS);
  }
}

/** `(1)`, `('a')`, `(@k)` or `(A=1,B='x')`: literal or alias values, all named when several. */
function keyText(segment: KeySegment, ctx: WriteContext): string {
  const values = segment.values;
  if (values.length === 0) refuse("A key predicate needs at least one value");
  return "(" + values.map((v) => {
    const kind = v.value?.kind;
    if (kind !== "Literal" && kind !== "Alias") {
      refuse(`A key value must be a literal or a parameter alias, got ${show(kind)}`);
    }
    const value = writeExpression(v.value, ctx);
    if (v.name === undefined) {
      if (values.length > 1) refuse("The values of a compound key must all be named");
      return value;
    }
    if (!isIdentifier(v.name)) refuse(`Invalid key property name ${show(v.name)}`);
    return v.name + "=" + value;
  }).join(",") + ")";
}

const BUILT_IN_METHODS: ReadonlySet<string> = new Set([
  "sum",
  "min",
  "max",
  "average",
  "countdistinct",
]);

/**
 * Checks an aggregation method (`sum`, `min`, `max`, `average`, `countdistinct`, or a qualified
 * custom one) and returns it.
 *
 * @example
 * ```ts
 * import { aggregationMethod } from "./path.ts";
 * aggregationMethod("sum"); // "sum"
 * ```
 */
export function aggregationMethod(method: string): string {
  if (!BUILT_IN_METHODS.has(method) && !isQualifiedName(method, true)) {
    refuse(`Unknown aggregation method ${show(method)}`, { method: show(method) });
  }
  return method;
}

/**
 * Prints a data aggregation path (`groupby` properties, `from` steps): property names and
 * qualified type casts separated by `/`. These are read as names only, so a property may be
 * called `null` or `not` here.
 *
 * @example
 * ```ts
 * import { serializeAggregationPath } from "./path.ts";
 * serializeAggregationPath({
 *   kind: "Path",
 *   root: "implicit",
 *   segments: [{ kind: "Property", name: "Sales" }, { kind: "Property", name: "Amount" }],
 * }); // "Sales/Amount"
 * ```
 */
export function serializeAggregationPath(path: PathExpression): string {
  if (path?.kind !== "Path" || path.root !== "implicit" || path.segments.length === 0) {
    refuse(`Expected a property path such as Sales/Amount, got ${show(path)}`);
  }
  let out = "";
  for (const segment of path.segments) {
    if (segment?.kind !== "Property" && segment?.kind !== "TypeCast") {
      refuse(`A data aggregation path holds properties and type casts only, got ${show(segment)}`);
    }
    if (out.length > 0) out += "/";
    out += segmentText(segment, new WriteContext());
  }
  return out;
}

/** `Amount with sum from Time with average`, `$count`, `Product/Budget`. */
function aggregateFunctionText(aggregate: AggregateFunction, ctx: WriteContext): string {
  let out: string;
  switch (aggregate?.kind) {
    case "AggregateExpression":
      out = writeExpression(aggregate.expression, ctx) + " with " +
        aggregationMethod(aggregate.method);
      break;
    case "AggregateCount":
      out = "$count";
      break;
    case "AggregateCustom":
      return writePath(aggregate.path, ctx);
    default:
      return unknownKind(aggregate, "aggregate", [
        "AggregateExpression",
        "AggregateCount",
        "AggregateCustom",
      ]);
  }
  for (const step of aggregate.from ?? []) {
    out += " from " + serializeAggregationPath(step.path) + " with " +
      aggregationMethod(step.method);
  }
  return out;
}
