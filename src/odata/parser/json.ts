/**
 * JSON arrays and objects in URLs (ABNF `arrayOrObject`): values are JSON strings (`"a"`) or any
 * common expression. An array of primitive literals becomes a `List` (so `Name in ["a","b"]`
 * equals `Name in ('a','b')`); anything else becomes a `Json` node whose `value` is pure JSON
 * data. Values without a JSON form (dates, enums, paths, arithmetic, ...) go to its `expressions`
 * with the location of their slot, which holds `null` in the data: an object in `value` is always
 * data, even `{"kind":"Alias","name":"x"}`.
 *
 * @module
 */

import type { Expression, JsonEmbeddedExpression } from "../ast.ts";
import { parseExpression } from "./expression.ts";
import { CH, type ParserState } from "./state.ts";

const BACKSLASH = 92;

/** A slot location inside JSON data (object keys and array indexes). */
type JsonPath = readonly (string | number)[];

/**
 * Parses a JSON array or object at a `[` or `{` at the cursor.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { parseArrayOrObject } from "./json.ts";
 * parseArrayOrObject(new ParserState('["a",1]', resolveLimits(undefined))).kind; // "List"
 * parseArrayOrObject(new ParserState('{"a":[1]}', resolveLimits(undefined))); // { kind: "Json", value: { a: [1] } }
 * parseArrayOrObject(new ParserState('{"a":Name}', resolveLimits(undefined)));
 * // { kind: "Json", value: { a: null }, expressions: [{ path: ["a"], expression: <Name> }] }
 * ```
 */
export function parseArrayOrObject(state: ParserState): Expression {
  return state.text.charCodeAt(state.pos) === CH.LBRACKET ? parseArray(state) : parseObject(state);
}

function parseArray(state: ParserState): Expression {
  const text = state.text;
  state.enter();
  state.pos++;
  state.skipWhitespace();
  const items: Expression[] = [];
  let primitive = true;
  if (text.charCodeAt(state.pos) !== CH.RBRACKET) {
    for (;;) {
      const item = parseValue(state);
      if (item.kind !== "Literal") primitive = false;
      items.push(item);
      state.skipWhitespace();
      const c = text.charCodeAt(state.pos);
      if (c === CH.RBRACKET) break;
      if (c !== CH.COMMA) state.fail([",", "]"]);
      state.pos++;
      state.skipWhitespace();
    }
  }
  state.pos++;
  state.leave();
  state.countNode();
  if (primitive) return { kind: "List", items };
  const embedded: JsonEmbeddedExpression[] = [];
  const value = items.map((item, i) => toJsonValue(item, [i], embedded));
  return jsonNode(value, embedded);
}

function parseObject(state: ParserState): Expression {
  const text = state.text;
  state.enter();
  state.pos++;
  state.skipWhitespace();
  const value: Record<string, unknown> = {};
  // Embedded expressions by member: a repeated key replaces the earlier member's, as in `value`.
  let byKey: Map<string, JsonEmbeddedExpression[]> | undefined;
  if (text.charCodeAt(state.pos) !== CH.RBRACE) {
    for (;;) {
      if (text.charCodeAt(state.pos) !== CH.QUOTE) state.fail(['"']);
      const key = scanJsonString(state);
      state.skipWhitespace();
      state.expectChar(CH.COLON, ":");
      state.skipWhitespace();
      const embedded: JsonEmbeddedExpression[] = [];
      const member = toJsonValue(parseValue(state), [key], embedded);
      if (embedded.length > 0) (byKey ??= new Map()).set(key, embedded);
      else byKey?.delete(key);
      // A member named __proto__ must stay data, not replace the prototype.
      if (key === "__proto__") {
        Object.defineProperty(value, key, {
          value: member,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        value[key] = member;
      }
      state.skipWhitespace();
      const c = text.charCodeAt(state.pos);
      if (c === CH.RBRACE) break;
      if (c !== CH.COMMA) state.fail([",", "}"]);
      state.pos++;
      state.skipWhitespace();
    }
  }
  state.pos++;
  state.leave();
  state.countNode();
  const embedded: JsonEmbeddedExpression[] = [];
  if (byKey !== undefined) {
    // In the order the data enumerates (integer-like keys first), which is the printed order, so
    // a parsed node and the parse of its printed text list them alike.
    for (const key of Object.keys(value)) embedded.push(...byKey.get(key) ?? []);
  }
  return jsonNode(value, embedded);
}

function jsonNode(value: unknown, embedded: JsonEmbeddedExpression[]): Expression {
  return embedded.length === 0
    ? { kind: "Json", value }
    : { kind: "Json", value, expressions: embedded };
}

/** `valueInUrl = stringInUrl / commonExpr`; a JSON string becomes a string literal. */
function parseValue(state: ParserState): Expression {
  if (state.text.charCodeAt(state.pos) !== CH.QUOTE) return parseExpression(state);
  const value = scanJsonString(state);
  state.countNode();
  return { kind: "Literal", type: "string", value };
}

/**
 * The JSON data of an item at `path`: JSON-representable literals become plain values (finite
 * numbers, bigints beyond 2^53, strings, booleans, null); lists and nested JSON their data (the
 * nested node's embedded expressions move here, under `path`); anything else goes to `embedded`
 * and leaves `null` in its slot.
 */
function toJsonValue(
  expr: Expression,
  path: JsonPath,
  embedded: JsonEmbeddedExpression[],
): unknown {
  switch (expr.kind) {
    case "List":
      return expr.items.map((item, i) => toJsonValue(item, [...path, i], embedded));
    case "Json":
      for (const inner of expr.expressions ?? []) {
        embedded.push({ path: [...path, ...inner.path], expression: inner.expression });
      }
      return expr.value;
    case "Literal":
      switch (expr.type) {
        case "null":
        case "boolean":
        case "string":
        case "int":
          return expr.value;
        case "decimal": {
          const n = Number(expr.value);
          if (Number.isFinite(n)) return n;
          break;
        }
        case "double":
          if (Number.isFinite(expr.value)) return expr.value;
          break;
      }
  }
  embedded.push({ path, expression: expr });
  return null;
}

function hexDigit(c: number): number {
  if (c >= CH.D0 && c <= CH.D9) return c - CH.D0;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** A JSON string `"..."` with JSON escapes at the cursor; returns its value. */
function scanJsonString(state: ParserState): string {
  const text = state.text;
  let p = state.pos + 1;
  let from = p;
  let out = "";
  for (;;) {
    const c = text.charCodeAt(p);
    if (c !== c) state.fail(['"'], text.length);
    if (c === CH.QUOTE) {
      state.pos = p + 1;
      return out + text.slice(from, p);
    }
    if (c !== BACKSLASH) {
      p++;
      continue;
    }
    out += text.slice(from, p);
    const e = text.charCodeAt(p + 1);
    switch (e) {
      case CH.QUOTE:
        out += '"';
        break;
      case BACKSLASH:
        out += "\\";
        break;
      case CH.SLASH:
        out += "/";
        break;
      case 98: // b
        out += "\b";
        break;
      case 102: // f
        out += "\f";
        break;
      case 110: // n
        out += "\n";
        break;
      case 114: // r
        out += "\r";
        break;
      case 116: // t
        out += "\t";
        break;
      case 117: { // u
        let code = 0;
        for (let i = 2; i < 6; i++) {
          const h = hexDigit(text.charCodeAt(p + i));
          if (h < 0) state.fail(["hexadecimal digit"], p + i);
          code = code * 16 + h;
        }
        out += String.fromCharCode(code);
        p += 4;
        break;
      }
      default:
        state.fail(["escape sequence"], p + 1);
    }
    p += 2;
    from = p;
  }
}
