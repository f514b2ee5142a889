/**
 * JSON arrays and objects in URLs (ABNF `arrayOrObject`): values are JSON strings (`"a"`) or any
 * common expression. An array of primitive literals becomes a `List` (so `Name in ["a","b"]`
 * equals `Name in ('a','b')`); anything else becomes a `Json` node whose value is plain JSON data
 * in which values without a JSON form (dates, enums, paths, arithmetic, ...) stay AST nodes.
 *
 * @module
 */

import type { Expression } from "../ast.ts";
import { parseExpression } from "./expression.ts";
import { CH, type ParserState } from "./state.ts";

const BACKSLASH = 92;

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
  return { kind: "Json", value: items.map(toJsonValue) };
}

function parseObject(state: ParserState): Expression {
  const text = state.text;
  state.enter();
  state.pos++;
  state.skipWhitespace();
  const value: Record<string, unknown> = {};
  if (text.charCodeAt(state.pos) !== CH.RBRACE) {
    for (;;) {
      if (text.charCodeAt(state.pos) !== CH.QUOTE) state.fail(['"']);
      const key = scanJsonString(state);
      state.skipWhitespace();
      state.expectChar(CH.COLON, ":");
      state.skipWhitespace();
      const member = toJsonValue(parseValue(state));
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
  return { kind: "Json", value };
}

/** `valueInUrl = stringInUrl / commonExpr`; a JSON string becomes a string literal. */
function parseValue(state: ParserState): Expression {
  if (state.text.charCodeAt(state.pos) !== CH.QUOTE) return parseExpression(state);
  const value = scanJsonString(state);
  state.countNode();
  return { kind: "Literal", type: "string", value };
}

/**
 * The JSON form of an item: JSON-representable literals become plain values (finite numbers,
 * bigints beyond 2^53, strings, booleans, null); arrays and objects their data; anything else
 * stays an expression node.
 */
function toJsonValue(expr: Expression): unknown {
  if (expr.kind === "List") return expr.items.map(toJsonValue);
  if (expr.kind === "Json") return expr.value;
  if (expr.kind !== "Literal") return expr;
  switch (expr.type) {
    case "null":
    case "boolean":
    case "string":
    case "int":
      return expr.value;
    case "decimal": {
      const n = Number(expr.value);
      return Number.isFinite(n) ? n : expr;
    }
    case "double":
      return Number.isFinite(expr.value) ? expr.value : expr;
    default:
      return expr;
  }
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
