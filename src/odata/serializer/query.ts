/**
 * Prints an {@linkcode ODataQuery} as a canonical, URL-ready query string that `parseQuery`
 * reads back to an equal AST.
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
  Transformation,
  TransformationArgument,
} from "../ast.ts";
import { serializeExpression } from "./expression.ts";
import { serializeSearch } from "./search.ts";

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

function expr(e: Parameters<typeof serializeExpression>[0]): string {
  return encode(serializeExpression(e));
}

/**
 * Serializes a query to a canonical query string without the leading `?`: system options in the
 * fixed order `$filter, $search, $apply, $compute, $select, $expand, $orderby, $skip, $top,
 * $count, $levels, $skiptoken, $deltatoken, $format, $index, $schemaversion`, then custom options
 * in their own order. Values are percent-encoded minimally (`%`, `&`, `#`, `+`, `"`, spaces as
 * `%20`, controls and non-ASCII); `$ ( ) , ' : / @ ; * !` stay readable. Parameter aliases are
 * never written: the parser has already substituted them.
 *
 * @example
 * ```ts
 * import { serializeQuery } from "./query.ts";
 * serializeQuery({ top: 5, skip: 10, count: true }); // "$skip=10&$top=5&$count=true"
 * ```
 */
export function serializeQuery(query: ODataQuery): string {
  const parts = writeOptions(query);
  const custom = query.custom;
  if (custom !== undefined) {
    for (const name of Object.keys(custom)) {
      const value = custom[name]!;
      const encodedName = encode(name, 0x3d);
      parts.push(value === "" ? encodedName : `${encodedName}=${encode(value)}`);
    }
  }
  return parts.join("&");
}

/** The system options of `query` as encoded `$name=value` strings in canonical order. */
function writeOptions(query: ODataQuery): string[] {
  const parts: string[] = [];
  if (query.filter !== undefined) parts.push(`$filter=${expr(query.filter)}`);
  if (query.search !== undefined) {
    parts.push(`$search=${encodeSearch(serializeSearch(query.search))}`);
  }
  if (query.apply !== undefined) parts.push(`$apply=${writeSequence(query.apply)}`);
  if (query.compute !== undefined) parts.push(`$compute=${writeCompute(query.compute)}`);
  if (query.select !== undefined) parts.push(`$select=${query.select.map(writeSelect).join(",")}`);
  if (query.expand !== undefined) parts.push(`$expand=${query.expand.map(writeExpand).join(",")}`);
  if (query.orderby !== undefined) parts.push(`$orderby=${writeOrderBy(query.orderby)}`);
  if (query.skip !== undefined) parts.push(`$skip=${query.skip}`);
  if (query.top !== undefined) parts.push(`$top=${query.top}`);
  if (query.count !== undefined) parts.push(`$count=${query.count}`);
  if (query.levels !== undefined) parts.push(`$levels=${query.levels}`);
  if (query.skiptoken !== undefined) parts.push(`$skiptoken=${encode(query.skiptoken)}`);
  if (query.deltatoken !== undefined) parts.push(`$deltatoken=${encode(query.deltatoken)}`);
  if (query.format !== undefined) parts.push(`$format=${encode(query.format)}`);
  if (query.index !== undefined) parts.push(`$index=${query.index}`);
  if (query.schemaversion !== undefined) {
    parts.push(`$schemaversion=${encode(query.schemaversion)}`);
  }
  return parts;
}

function writeNested(options: ODataQuery | undefined): string {
  if (options === undefined) return "";
  const parts = writeOptions(options);
  return parts.length === 0 ? "" : `(${parts.join(";")})`;
}

function writePath(path: readonly string[]): string {
  return path.map((step) => encode(step)).join("/");
}

function writeSelect(item: SelectItem): string {
  return writePath(item.path) + writeNested(item.options);
}

function writeExpand(item: ExpandItem): string {
  const suffix = item.ref === true ? "/$ref" : item.count === true ? "/$count" : "";
  return writePath(item.path) + suffix + writeNested(item.options);
}

function writeOrderBy(items: readonly OrderByItem[]): string {
  return items.map((i) => expr(i.expression) + (i.direction === "desc" ? `${SP}desc` : ""))
    .join(",");
}

function writeCompute(items: readonly ComputeItem[]): string {
  return items.map((i) => `${expr(i.expression)}${SP}as${SP}${encode(i.alias)}`).join(",");
}

function writeSequence(sequence: readonly Transformation[]): string {
  return sequence.map(writeTransformation).join("/");
}

function writeTransformation(t: Transformation): string {
  switch (t.kind) {
    case "Aggregate":
      return `aggregate(${t.items.map(writeAggregateItem).join(",")})`;
    case "GroupBy": {
      const groupings = t.groupings.map(writeGrouping).join(",");
      const rest = t.transformations.length > 0 ? `,${writeSequence(t.transformations)}` : "";
      return `groupby((${groupings})${rest})`;
    }
    case "Filter":
      return `filter(${expr(t.expression)})`;
    case "Search":
      return `search(${encodeSearch(serializeSearch(t.search))})`;
    case "OrderBy":
      return `orderby(${writeOrderBy(t.items)})`;
    case "Top":
      return `top(${t.count})`;
    case "Skip":
      return `skip(${t.count})`;
    case "Compute":
      return `compute(${writeCompute(t.items)})`;
    case "Concat":
      return `concat(${t.sequences.map(writeSequence).join(",")})`;
    case "Identity":
      return "identity";
    case "Generic": {
      const custom = t.name.includes(".");
      return `${encode(t.name)}(${t.args.map((a) => writeArgument(a, custom)).join(",")})`;
    }
  }
}

function writeAggregateItem(item: AggregateItem): string {
  switch (item.kind) {
    case "AggregateExpression": {
      let out = `${expr(item.expression)}${SP}with${SP}${encode(item.method)}`;
      for (const from of item.from ?? []) {
        out += `${SP}from${SP}${expr(from.path)}${SP}with${SP}${encode(from.method)}`;
      }
      return `${out}${SP}as${SP}${encode(item.alias)}`;
    }
    case "AggregateCount":
      return `$count${SP}as${SP}${encode(item.alias)}`;
    case "AggregateCustom":
      return expr(item.path) +
        (item.alias === undefined ? "" : `${SP}as${SP}${encode(item.alias)}`);
  }
}

function writeGrouping(item: GroupingItem): string {
  return item.kind === "GroupProperty"
    ? expr(item.path)
    : `rollup(${item.paths.map((p) => expr(p)).join(",")})`;
}

function writeArgument(arg: TransformationArgument, custom: boolean): string {
  switch (arg.kind) {
    case "Expression":
      if (arg.alias === undefined) return expr(arg.expression);
      return custom
        ? `${encode(arg.alias)}=${expr(arg.expression)}`
        : `${expr(arg.expression)}${SP}as${SP}${encode(arg.alias)}`;
    case "Sequence":
      return writeSequence(arg.transformations) +
        (arg.alias === undefined ? "" : `${SP}as${SP}${encode(arg.alias)}`);
    case "Raw":
      // Raw text may hold search words with a decoded ";", which must not become a separator.
      return encodeSearch(arg.text);
  }
}
