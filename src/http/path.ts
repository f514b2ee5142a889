/**
 * Resource paths: `Products(1)/Category`, `Order_Details(OrderID=10248,ProductID=11)`,
 * `Customers('ALFKI')/Orders/$count`, `Products(1)/ProductName/$value`. The text after the base
 * path is split into segments (a `/` inside a quoted key value does not split), each segment is
 * percent-decoded and its key predicate parsed with the query language's literal parser.
 *
 * @module
 */

import type { LiteralNode } from "../odata/ast.ts";
import { parseLiteral } from "../odata/parser/literal.ts";
import { ODataSyntaxError } from "../errors/errors.ts";

/** One value of a key predicate (`name` absent in the single-key shorthand). */
export interface PathKeyValue {
  /** The key property, when named. */
  readonly name?: string;
  /** The literal. */
  readonly value: LiteralNode;
}

/** One segment of a resource path. */
export interface PathSegmentText {
  /** The identifier (`Products`, `$count`, `$value`, `$metadata`). */
  readonly name: string;
  /** The key predicate, when the segment has one. */
  readonly key?: readonly PathKeyValue[];
}

const SEGMENT = /^([A-Za-z_$][A-Za-z0-9_.]*)(?:\((.*)\))?$/s;

/** Splits `raw` (still percent-encoded) into segments; `/` inside `'...'` does not split. */
function splitRaw(raw: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "'") quoted = !quoted;
    else if (c === "/" && !quoted) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  return parts;
}

function decode(text: string, whole: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ODataSyntaxError(whole, Math.max(0, whole.indexOf("%")), ["a valid %XX escape"], {
      context: { target: "path" },
    });
  }
}

/** Splits a key predicate's inside on top-level commas (outside quotes). */
function splitKey(text: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (c === "," && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const NAMED = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/s;

function parseKey(inside: string): PathKeyValue[] {
  const parts = splitKey(inside);
  const named = NAMED;
  if (parts.length === 1 && !named.test(parts[0]!)) {
    return [{ value: literalOf(parts[0]!.trim(), inside) }];
  }
  return parts.map((part) => {
    const match = named.exec(part);
    if (match === null || match[2]!.trim() === "") {
      throw new ODataSyntaxError(inside, Math.max(0, inside.indexOf(part)), ["Name=value"], {
        context: { target: "key" },
      });
    }
    return { name: match[1]!, value: literalOf(match[2]!.trim(), inside) };
  });
}

function literalOf(text: string, inside: string): LiteralNode {
  try {
    return parseLiteral(text);
  } catch (error) {
    if (error instanceof ODataSyntaxError) {
      const offset = Math.max(0, inside.indexOf(text));
      throw new ODataSyntaxError(inside, offset + error.position, error.expected, {
        context: { target: "key" },
      });
    }
    throw error;
  }
}

/**
 * Parses the resource path after the service root (without leading `/`) into segments.
 * An empty path is the service document (no segments).
 */
export function parseResourcePath(raw: string): PathSegmentText[] {
  const trimmed = raw.endsWith("/") ? raw.slice(0, -1) : raw;
  if (trimmed === "") return [];
  return splitRaw(trimmed).map((rawSegment) => {
    const text = decode(rawSegment, trimmed);
    const match = SEGMENT.exec(text);
    if (match === null) {
      throw new ODataSyntaxError(text, 0, ["an entity set, property or $-segment"], {
        context: { target: "path" },
      });
    }
    const [, name, inside] = match;
    if (inside === undefined) return { name: name! };
    if (name!.startsWith("$")) return { name: name!, key: [] }; // $crossjoin(...): refused later
    return { name: name!, key: parseKey(inside) };
  });
}

/** Formats one canonical value as a literal for a key predicate in a URL. */
export function keyLiteral(type: string, value: unknown): string {
  if (value === null || value === undefined) return "null";
  switch (type) {
    case "string":
      return encodeURIComponent(`'${String(value).replaceAll("'", "''")}'`)
        .replaceAll("%27", "'");
    case "datetime":
      return value instanceof Date ? value.toISOString() : String(value);
    case "binary":
      return `binary'${btoa(String.fromCharCode(...(value as Uint8Array)))}'`;
    default:
      return encodeURIComponent(String(value));
  }
}
