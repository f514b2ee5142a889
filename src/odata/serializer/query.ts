/**
 * Prints an {@linkcode ODataQuery} as a canonical, URL-ready query string that `parseQuery`
 * reads back to an equal AST. Expressions are checked as the expression serializer checks them;
 * `$select`/`$expand` steps, `as` aliases, aggregation methods, transformation names, numbers,
 * raw arguments and custom option names are checked here, so that no value can end its option
 * or item early (`INVALID_ARGUMENT` otherwise).
 *
 * @module
 */

import type {
  AggregateItem,
  ComputeItem,
  ExpandItem,
  GroupingItem,
  ODataQuery,
  OrderByItem,
  SelectItem,
  SelectSegment,
  Transformation,
  TransformationArgument,
} from "../ast.ts";
import { optionKey } from "../parser/nested.ts";
import { invalidArgument, show } from "../arguments.ts";
import { asModuleError, isIdentifier, isQualifiedName, rawProblem } from "../validate.ts";
import { unknownKind, WriteContext, writeExpression } from "./expression.ts";
import { aggregationMethod, serializeAggregationPath } from "./path.ts";
import { searchText } from "./search.ts";

const SP = "%20";
const HEX = "0123456789ABCDEF";

/** True for chars that must be percent-encoded in a query value. */
function mustEncode(c: number): boolean {
  // controls, space, " # % & + < > \ ^ ` | DEL and everything non-ASCII
  return c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x23 || c === 0x25 || c === 0x26 ||
    c === 0x2b || c === 0x3c || c === 0x3e || c === 0x5c || c === 0x5e || c === 0x60 ||
    c === 0x7c;
}

/**
 * Percent-encodes what a query value cannot hold raw; with `extra`, that char code too. Keeps
 * `$ ( ) , ' : / @ ; * ! = { } [ ]` and the rest readable.
 */
function encode(text: string, extra = -1): string {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (mustEncode(c) || c === extra) break;
    i++;
  }
  if (i === n) return text;
  let out = text.slice(0, i);
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      out += mustEncode(c) || c === extra ? "%" + HEX[c >> 4] + HEX[c & 15] : text[i];
      i++;
      continue;
    }
    // Non-ASCII: UTF-8 via encodeURIComponent, a surrogate pair at a time. Only a high surrogate
    // followed by a low one is a pair; a lone surrogate has no UTF-8 form and becomes U+FFFD
    // without taking the next char with it.
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = text.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        out += encodeURIComponent(text.slice(i, i + 2));
        i += 2;
      } else {
        out += "%EF%BF%BD";
        i++;
      }
      continue;
    }
    out += encodeURIComponent(text[i]!);
    i++;
  }
  return out;
}

/** Search text: `;` is always encoded, since a raw `;` would end the search expression. */
function encodeSearch(text: string): string {
  return encode(text, 0x3b);
}

/**
 * An expression, percent-encoded. The `;` of a search word inside `$count(...)` is written as a
 * private-use mark that becomes `%3B`; the first mark char that the data does not also hold is
 * used (the number of marks in the text must be the number written).
 */
function expr(e: Parameters<typeof writeExpression>[0]): string {
  for (let code = 0xe000;; code++) {
    const mark = String.fromCharCode(code);
    const ctx = new WriteContext(mark);
    const text = writeExpression(e, ctx);
    if (ctx.marks === 0) return encode(text);
    if (text.split(mark).length - 1 === ctx.marks) {
      return text.split(mark).map((part) => encode(part)).join("%3B");
    }
  }
}

function search(e: Parameters<typeof searchText>[0]): string {
  return encodeSearch(searchText(e, undefined));
}

/** Throws `INVALID_ARGUMENT` for a value the serializer refuses to print. */
function refuse(message: string, context: Record<string, unknown> = {}): never {
  throw invalidArgument(message, context);
}

/** An `as` alias or parameter name: one identifier. */
function alias(name: string, what = "alias"): string {
  if (!isIdentifier(name)) refuse(`Invalid ${what} ${show(name)}`, { name: show(name) });
  return name;
}

function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    refuse(`${what} must be a non-negative integer, got ${show(value)}`, { value: show(value) });
  }
  return value;
}

/**
 * Serializes a query to a canonical query string without the leading `?`: system options in the
 * fixed order `$filter, $search, $apply, $compute, $select, $expand, $orderby, $skip, $top,
 * $count, $levels, $skiptoken, $deltatoken, $format, $index, $schemaversion`, then custom options
 * in their own order. Values are percent-encoded minimally (`%`, `&`, `#`, `+`, `"`, spaces as
 * `%20`, controls and non-ASCII); `$ ( ) , ' : / @ ; * !` stay readable. Parameter aliases are
 * never written: the parser has already substituted them. A name or value that would read back
 * differently (a `$select` step `Name,Secret`, a custom option named `$filter`, `top: "5&..."`),
 * an unknown node kind or a value of the wrong type throws `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { serializeQuery } from "./query.ts";
 * serializeQuery({ top: 5, skip: 10, count: true }); // "$skip=10&$top=5&$count=true"
 * ```
 */
export function serializeQuery(query: ODataQuery): string {
  if (typeof query !== "object" || query === null || Array.isArray(query)) {
    throw invalidArgument(
      `serializeQuery() takes a query object such as { filter: ..., top: 10 }, got ${show(query)}`,
      { value: show(query) },
    );
  }
  try {
    return writeQuery(query);
  } catch (error) {
    throw asModuleError(error, "serializeQuery()");
  }
}

function writeQuery(query: ODataQuery): string {
  const parts = writeOptions(query, false);
  const custom = query.custom;
  if (custom !== undefined) {
    for (const name of Object.keys(custom)) {
      const value = custom[name]!;
      checkCustomName(name);
      if (typeof value !== "string") {
        refuse(`The custom option ${show(name)} needs a string value, got ${show(value)}`);
      }
      let encodedName = encode(name, 0x3d);
      // A "?" at the very start would be taken for the one that may precede a query string.
      if (parts.length === 0 && encodedName.charCodeAt(0) === 0x3f) {
        encodedName = "%3F" + encodedName.slice(1);
      }
      parts.push(value === "" ? encodedName : `${encodedName}=${encode(value)}`);
    }
  }
  return parts.join("&");
}

/**
 * A custom option name must read back as a custom option: not empty, not a parameter alias
 * (`@p`), not a system option with or without `$` (`$filter`, `filter`); `$id` and the names
 * that are system options only with `$` (`skiptoken`, `deltatoken`, `levels`) are custom.
 */
function checkCustomName(name: string): void {
  if (name.length === 0) refuse("A custom query option needs a name");
  const first = name.charCodeAt(0);
  const lower = name.toLowerCase();
  let system: boolean;
  if (first === 0x40) system = true; // "@"
  else if (first === 0x24) system = lower !== "$id"; // "$"
  else {
    const key = optionKey(lower);
    system = key !== undefined && key !== "skiptoken" && key !== "deltatoken" && key !== "levels";
  }
  if (system) {
    refuse(
      `The custom query option name ${show(name)} would read back as a system query option ` +
        "or a parameter alias",
      { name: show(name) },
    );
  }
}

/**
 * The system options of `query` as encoded `$name=value` strings in canonical order. Nested
 * option lists (`$expand=Items(...)`) take `$levels` but no tokens, `$format`, `$index`,
 * `$schemaversion` or custom options; the top level takes no `$levels`.
 */
function writeOptions(query: ODataQuery, nested: boolean): string[] {
  const parts: string[] = [];
  if (query.filter !== undefined) parts.push(`$filter=${expr(query.filter)}`);
  if (query.search !== undefined) parts.push(`$search=${search(query.search)}`);
  if (query.apply !== undefined) parts.push(`$apply=${writeSequence(query.apply)}`);
  if (query.compute !== undefined) parts.push(`$compute=${writeCompute(query.compute)}`);
  if (query.select !== undefined) parts.push(`$select=${list(query.select, writeSelect)}`);
  if (query.expand !== undefined) parts.push(`$expand=${list(query.expand, writeExpand)}`);
  if (query.orderby !== undefined) parts.push(`$orderby=${writeOrderBy(query.orderby)}`);
  if (query.skip !== undefined) parts.push(`$skip=${count(query.skip, "$skip")}`);
  if (query.top !== undefined) parts.push(`$top=${count(query.top, "$top")}`);
  if (query.count !== undefined) {
    if (typeof query.count !== "boolean") {
      refuse(`$count must be a boolean, got ${show(query.count)}`);
    }
    parts.push(`$count=${query.count}`);
  }
  if (query.levels !== undefined) {
    if (!nested) refuse("$levels is only allowed in $expand options");
    const levels = query.levels;
    if (levels !== "max" && (count(levels, "$levels") === 0)) {
      refuse('$levels must be a positive integer or "max", got 0');
    }
    parts.push(`$levels=${levels}`);
  }
  if (
    nested &&
    (query.skiptoken ?? query.deltatoken ?? query.format ?? query.index ?? query.schemaversion ??
        query.custom) !== undefined
  ) {
    refuse(
      "Nested options take no $skiptoken, $deltatoken, $format, $index, $schemaversion or " +
        "custom options",
    );
  }
  if (query.skiptoken !== undefined) {
    parts.push(`$skiptoken=${token(query.skiptoken, "$skiptoken")}`);
  }
  if (query.deltatoken !== undefined) {
    parts.push(`$deltatoken=${token(query.deltatoken, "$deltatoken")}`);
  }
  if (query.format !== undefined) parts.push(`$format=${token(query.format, "$format")}`);
  if (query.index !== undefined) {
    if (!Number.isSafeInteger(query.index)) {
      refuse(`$index must be an integer, got ${show(query.index)}`);
    }
    parts.push(`$index=${query.index}`);
  }
  if (query.schemaversion !== undefined) {
    parts.push(`$schemaversion=${token(query.schemaversion, "$schemaversion")}`);
  }
  return parts;
}

/** A verbatim option value: a non-empty string, percent-encoded. */
function token(value: string, what: string): string {
  if (typeof value !== "string" || value.length === 0) {
    refuse(`${what} must be a non-empty string, got ${show(value)}`);
  }
  return encode(value);
}

function list<T>(items: readonly T[], write: (item: T) => string): string {
  if (items.length === 0) refuse("A list option needs at least one item");
  return items.map(write).join(",");
}

function writeNested(options: ODataQuery | undefined): string {
  if (options === undefined) return "";
  if (typeof options !== "object" || options === null) {
    refuse(`Nested options must be a query object, got ${show(options)}`);
  }
  const parts = writeOptions(options, true);
  return parts.length === 0 ? "" : `(${parts.join(";")})`;
}

/** `Name`, `Model.Vip`, `@Core.Messages#Q`: a path step of `$select` and `$expand`. */
function isStep(step: string): boolean {
  if (step.charCodeAt(0) !== 0x40) return isQualifiedName(step, false);
  const hash = step.indexOf("#");
  return hash === -1
    ? isQualifiedName(step.slice(1), false)
    : isQualifiedName(step.slice(1, hash), false) && isIdentifier(step.slice(hash + 1));
}

function badStep(step: unknown, what: string): never {
  return refuse(`Invalid ${what} path step ${show(step)}`, { step: show(step) });
}

function writeSelect(item: SelectItem): string {
  const segments = item?.segments;
  if (!Array.isArray(segments) || segments.length === 0) {
    refuse("A $select item needs its path as a non-empty array of segments", {
      segments: show(segments),
    });
  }
  const last = segments.length - 1;
  const out = segments.map((segment, i) => encode(writeSelectSegment(segment, i === last)))
    .join("/");
  if (item.options !== undefined) {
    const kind = segments[last]!.kind;
    if (kind === "Star" || kind === "AllOperations" || kind === "Operation") {
      refuse(
        `A $select item ending in ${kind === "Operation" ? "an operation" : "*"} takes no ` +
          "nested options",
      );
    }
  }
  return out + writeNested(item.options);
}

/**
 * One `$select` step. Steps that the ABNF allows only at the end of a path (`*`, `Model.*`, an
 * operation with parameter names) are refused elsewhere, since the parser would refuse them.
 */
function writeSelectSegment(segment: SelectSegment, last: boolean): string {
  switch (segment?.kind) {
    case "Property":
      if (isIdentifier(segment.name)) return segment.name;
      break;
    case "TypeCast":
      if (isQualifiedName(segment.type, true)) return segment.type;
      break;
    case "Annotation":
      if (!isQualifiedName(segment.term, false)) break;
      if (segment.qualifier === undefined) return "@" + segment.term;
      if (isIdentifier(segment.qualifier)) return "@" + segment.term + "#" + segment.qualifier;
      break;
    case "Star":
      if (last) return "*";
      break;
    case "AllOperations":
      if (last && isQualifiedName(segment.namespace, false)) return segment.namespace + ".*";
      break;
    case "Operation":
      if (
        last && isQualifiedName(segment.name, false) && Array.isArray(segment.parameters) &&
        segment.parameters.length > 0 && segment.parameters.every((p) => isIdentifier(p))
      ) {
        return segment.name + "(" + segment.parameters.join(",") + ")";
      }
      break;
    default:
      return unknownKind(segment, "$select path segment", SELECT_SEGMENT_KINDS);
  }
  return badStep(segment, "$select");
}

const SELECT_SEGMENT_KINDS = [
  "Property",
  "TypeCast",
  "Annotation",
  "Star",
  "AllOperations",
  "Operation",
] as const;

function writeExpand(item: ExpandItem): string {
  const path = item.path;
  if (path.length === 0) refuse("An $expand item needs a path");
  if (item.ref === true && item.count === true) {
    refuse("An $expand item is $ref or $count, not both");
  }
  if (path.length === 1 && path[0] === "$value") {
    if (item.ref !== undefined || item.count !== undefined || item.options !== undefined) {
      refuse("$expand=$value takes no $ref, $count or options");
    }
    return "$value";
  }
  const last = path.length - 1;
  const out = path.map((step, i) =>
    typeof step === "string" && (isStep(step) || (i === last && step === "*"))
      ? encode(step)
      : badStep(step, "$expand")
  ).join("/");
  if (path[last] === "*" && item.count === true) refuse("$expand=* takes no /$count");
  const suffix = item.ref === true ? "/$ref" : item.count === true ? "/$count" : "";
  return out + suffix + writeNested(item.options);
}

function writeOrderBy(items: readonly OrderByItem[]): string {
  if (items.length === 0) refuse("$orderby needs at least one item");
  return items.map((i) => {
    if (i.direction !== "asc" && i.direction !== "desc") {
      refuse(`Unknown sort direction ${show(i.direction)}; expected asc or desc`);
    }
    return expr(i.expression) + (i.direction === "desc" ? `${SP}desc` : "");
  }).join(",");
}

function writeCompute(items: readonly ComputeItem[]): string {
  if (items.length === 0) refuse("$compute needs at least one item");
  return items.map((i) => `${expr(i.expression)}${SP}as${SP}${alias(i.alias)}`).join(",");
}

function writeSequence(sequence: readonly Transformation[]): string {
  if (sequence.length === 0) refuse("A transformation sequence needs at least one step");
  return sequence.map(writeTransformation).join("/");
}

/** Transformations that a `Generic` node may carry (the rest have their own node kinds). */
const GENERIC_NAMES: ReadonlySet<string> = new Set([
  "aggregate",
  "groupby",
  "topcount",
  "topsum",
  "toppercent",
  "bottomcount",
  "bottomsum",
  "bottompercent",
  "nest",
  "addnested",
  "join",
  "outerjoin",
  "ancestors",
  "descendants",
  "traverse",
]);

function writeTransformation(t: Transformation): string {
  switch (t?.kind) {
    case "Aggregate":
      return `aggregate(${list(t.items, writeAggregateItem)})`;
    case "GroupBy": {
      const groupings = list(t.groupings, writeGrouping);
      const rest = t.transformations.length > 0 ? `,${writeSequence(t.transformations)}` : "";
      return `groupby((${groupings})${rest})`;
    }
    case "Filter":
      return `filter(${expr(t.expression)})`;
    case "Search":
      return `search(${search(t.search)})`;
    case "OrderBy":
      return `orderby(${writeOrderBy(t.items)})`;
    case "Top":
      return `top(${count(t.count, "top()")})`;
    case "Skip":
      return `skip(${count(t.count, "skip()")})`;
    case "Compute":
      return `compute(${writeCompute(t.items)})`;
    case "Concat":
      if (t.sequences.length < 2) refuse("concat() needs at least two transformation sequences");
      return `concat(${t.sequences.map(writeSequence).join(",")})`;
    case "Identity":
      return "identity";
    case "Generic": {
      const name = t.name;
      const custom = isQualifiedName(name, true);
      if (!custom && !GENERIC_NAMES.has(name)) {
        refuse(`Unknown generic transformation ${show(name)}`, { name: show(name) });
      }
      return `${encode(name)}(${
        t.args.map((a, i) => writeArgument(a, name, i, custom)).join(",")
      })`;
    }
    default:
      return unknownKind(t, "transformation", [
        "Aggregate",
        "GroupBy",
        "Filter",
        "Search",
        "OrderBy",
        "Top",
        "Skip",
        "Compute",
        "Concat",
        "Identity",
        "Generic",
      ]);
  }
}

function writeAggregateItem(item: AggregateItem): string {
  switch (item?.kind) {
    case "AggregateExpression": {
      let out = `${expr(item.expression)}${SP}with${SP}${aggregationMethod(item.method)}`;
      for (const from of item.from ?? []) {
        out += `${SP}from${SP}${pathArg(from.path)}${SP}with${SP}${aggregationMethod(from.method)}`;
      }
      return `${out}${SP}as${SP}${alias(item.alias)}`;
    }
    case "AggregateCount":
      return `$count${SP}as${SP}${alias(item.alias)}`;
    case "AggregateCustom":
      return expr(item.path) +
        (item.alias === undefined ? "" : `${SP}as${SP}${alias(item.alias)}`);
    default:
      return unknownKind(item, "aggregate item", [
        "AggregateExpression",
        "AggregateCount",
        "AggregateCustom",
      ]);
  }
}

/** A data aggregation path, which is read as names only (see `serializeAggregationPath`). */
function pathArg(path: Parameters<typeof serializeAggregationPath>[0]): string {
  return encode(serializeAggregationPath(path));
}

function writeGrouping(item: GroupingItem): string {
  switch (item?.kind) {
    case "GroupProperty":
      return pathArg(item.path);
    case "Rollup":
      return `rollup(${list(item.paths, pathArg)})`;
    default:
      return unknownKind(item, "grouping item", ["GroupProperty", "Rollup"]);
  }
}

/**
 * True for the arguments of generic transformations that the parser reads as data aggregation
 * paths: the first of `addnested`, `join` and `outerjoin`, the third of the hierarchy functions.
 */
function isPathArgument(name: string, index: number): boolean {
  switch (name) {
    case "addnested":
    case "join":
    case "outerjoin":
      return index === 0;
    case "ancestors":
    case "descendants":
    case "traverse":
      return index === 2;
    default:
      return false;
  }
}

function writeArgument(
  arg: TransformationArgument,
  name: string,
  index: number,
  custom: boolean,
): string {
  switch (arg?.kind) {
    case "Expression": {
      const e = arg.expression;
      let text: string;
      if (isPathArgument(name, index) && e?.kind === "Path") {
        const head = e.segments[0];
        // `join(@Core.Annotation as A)`: an annotation term stands for the property.
        text = e.segments.length === 1 && head?.kind === "Annotation" &&
            head.qualifier === undefined && e.root === "implicit"
          ? (isQualifiedName(head.term, false)
            ? "@" + head.term
            : refuse(`Invalid annotation term ${show(head.term)}`))
          : pathArg(e);
      } else text = expr(e);
      if (arg.alias === undefined) return text;
      return custom
        ? `${alias(arg.alias, "parameter name")}=${text}`
        : `${text}${SP}as${SP}${alias(arg.alias)}`;
    }
    case "Sequence":
      return writeSequence(arg.transformations) +
        (arg.alias === undefined ? "" : `${SP}as${SP}${alias(arg.alias)}`);
    case "Raw": {
      const problem = rawProblem(arg.text);
      if (problem !== undefined) refuse(`Invalid raw text ${show(arg.text)}: ${problem}`);
      // Raw text may hold search words with a decoded ";", which must not become a separator.
      return encodeSearch(arg.text);
    }
    default:
      return unknownKind(arg, "transformation argument", ["Expression", "Sequence", "Raw"]);
  }
}
