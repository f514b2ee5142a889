/**
 * Parsers for the values of the simple system query options (`$orderby`, `$compute`, `$top`,
 * `$skip`, `$count`, `$levels`, `$format`, `$index`, `$schemaversion`, `$skiptoken`,
 * `$deltatoken`) and the scanning helpers shared by the option, `$select`/`$expand` and
 * `$apply` parsers. Every parser starts at `state.pos` and stops before anything it does not
 * own (`,` handled inside lists; `;`, `)` and the end belong to the caller).
 *
 * @module
 */

import { QueryLimitError } from "../../errors/errors.ts";
import type { ComputeItem, OrderByItem } from "../ast.ts";
import { parseExpression } from "./expression.ts";
import { CH, isDigit, isIdentifierPart, isIdentifierStart, type ParserState } from "./state.ts";

/**
 * True for the whitespace allowed between tokens (spaces, tabs, line breaks).
 *
 * @example
 * ```ts
 * import { isSpace } from "./options.ts";
 * isSpace(" ".charCodeAt(0)); // true
 * ```
 */
export function isSpace(c: number): boolean {
  return c === CH.SPACE || c === CH.TAB || c === 10 || c === 13;
}

/**
 * Skips optional whitespace, then consumes `code` if present (for `BWS "," BWS` separators the
 * whitespace after the char is skipped too). Restores the position when `code` is absent.
 *
 * @example
 * ```ts
 * import { eatSeparator } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const state = new ParserState("a , b", DEFAULT_QUERY_LIMITS);
 * state.pos = 1;
 * eatSeparator(state, 44); // true, state.pos === 4
 * ```
 */
export function eatSeparator(state: ParserState, code: number): boolean {
  // Called after every list item: scan locally and move the cursor only on success.
  const text = state.text;
  let p = state.pos;
  let c = text.charCodeAt(p);
  while (isSpace(c)) c = text.charCodeAt(++p);
  if (c !== code) return false;
  c = text.charCodeAt(++p);
  while (isSpace(c)) c = text.charCodeAt(++p);
  state.pos = p;
  return true;
}

/**
 * Consumes the `,` between the items of a query option list (`$select`, `$expand`, `$orderby`,
 * `$compute`, `$select` parameter names), where the ABNF's `COMMA` allows no whitespace on
 * either side, just as `EQ` allows none after `$filter=`: whitespace next to the comma is a syntax
 * error that says so. Returns false, without moving, when no comma follows.
 *
 * @example
 * ```ts
 * import { eatListComma } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const state = new ParserState("a,b", DEFAULT_QUERY_LIMITS);
 * state.pos = 1;
 * eatListComma(state, "$select items"); // true, state.pos === 2
 * ```
 */
export function eatListComma(state: ParserState, what: string): boolean {
  const text = state.text;
  const p = state.pos;
  const c = text.charCodeAt(p);
  if (c === CH.COMMA) {
    if (isSpace(text.charCodeAt(p + 1))) {
      state.fail([], p + 1, `No whitespace is allowed after the "," between ${what}`);
    }
    state.pos = p + 1;
    return true;
  }
  if (isSpace(c)) {
    let q = p + 1;
    while (isSpace(text.charCodeAt(q))) q++;
    if (text.charCodeAt(q) === CH.COMMA) {
      state.fail([], p, `No whitespace is allowed before the "," between ${what}`);
    }
  }
  return false;
}

/**
 * If `word` is at `i` and not followed by an identifier char, the index after it; else -1.
 * `caseInsensitive` compares ASCII letters without case (for ABNF's case-insensitive strings).
 *
 * @example
 * ```ts
 * import { wordAt } from "./options.ts";
 * wordAt("Name desc", 5, "desc", false); // 9
 * wordAt("Name descending", 5, "desc", false); // -1
 * ```
 */
export function wordAt(text: string, i: number, word: string, caseInsensitive: boolean): number {
  const n = word.length;
  for (let k = 0; k < n; k++) {
    let c = text.charCodeAt(i + k);
    if (caseInsensitive && c >= CH.A && c <= CH.Z) c += 32;
    if (c !== word.charCodeAt(k)) return -1;
  }
  const next = text.charCodeAt(i + n);
  return next === next && (isIdentifierPart(next) || next === CH.DOT) ? -1 : i + n;
}

/**
 * Consumes required whitespace, `word` and required whitespace (`RWS word RWS`), failing at the
 * first char after the leading whitespace when `word` is missing.
 *
 * @example
 * ```ts
 * import { expectKeyword } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const state = new ParserState("X as Y", DEFAULT_QUERY_LIMITS);
 * state.pos = 1;
 * expectKeyword(state, "as", false); // state.pos === 5
 * ```
 */
export function expectKeyword(state: ParserState, word: string, caseInsensitive: boolean): void {
  if (!state.skipWhitespace()) state.fail([word]);
  const end = wordAt(state.text, state.pos, word, caseInsensitive);
  if (end === -1 || !isSpace(state.text.charCodeAt(end))) state.fail([word]);
  state.pos = end;
  state.skipWhitespace();
}

/**
 * If whitespace, `word` and whitespace follow, consumes them and returns true; else leaves the
 * cursor where it was.
 *
 * @example
 * ```ts
 * import { eatKeyword } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const state = new ParserState("X with sum", DEFAULT_QUERY_LIMITS);
 * state.pos = 1;
 * eatKeyword(state, "with"); // true, state.pos === 7
 * ```
 */
export function eatKeyword(state: ParserState, word: string): boolean {
  const save = state.pos;
  if (state.skipWhitespace()) {
    const end = wordAt(state.text, state.pos, word, false);
    if (end !== -1 && isSpace(state.text.charCodeAt(end))) {
      state.pos = end;
      state.skipWhitespace();
      return true;
    }
  }
  state.pos = save;
  return false;
}

/**
 * Reads an `odataIdentifier` at the cursor or fails expecting `what`.
 *
 * @example
 * ```ts
 * import { readIdentifier } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * readIdentifier(new ParserState("Name,", DEFAULT_QUERY_LIMITS), "alias"); // "Name"
 * ```
 */
export function readIdentifier(state: ParserState, what: string): string {
  const text = state.text;
  const start = state.pos;
  if (!isIdentifierStart(text.charCodeAt(start))) state.fail([what]);
  let i = start + 1;
  while (isIdentifierPart(text.charCodeAt(i))) i++;
  state.pos = i;
  return text.slice(start, i);
}

/**
 * Reads a dotted name (`Name`, `Model.Type`, `Core.Messages`) at the cursor or fails expecting
 * `what`. A trailing `.` not followed by an identifier is left unread.
 *
 * @example
 * ```ts
 * import { readQualifiedName } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * readQualifiedName(new ParserState("Model.Vip/Name", DEFAULT_QUERY_LIMITS), "type"); // "Model.Vip"
 * ```
 */
export function readQualifiedName(state: ParserState, what: string): string {
  const text = state.text;
  const start = state.pos;
  if (!isIdentifierStart(text.charCodeAt(start))) state.fail([what]);
  let i = start + 1;
  for (;;) {
    while (isIdentifierPart(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) === CH.DOT && isIdentifierStart(text.charCodeAt(i + 1))) {
      i += 2;
      continue;
    }
    break;
  }
  state.pos = i;
  return text.slice(start, i);
}

/**
 * Reads `1*DIGIT` as a safe integer, failing expecting `what`.
 *
 * @example
 * ```ts
 * import { readDigits } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * readDigits(new ParserState("20", DEFAULT_QUERY_LIMITS), "number"); // 20
 * ```
 */
export function readDigits(state: ParserState, what: string): number {
  const text = state.text;
  const start = state.pos;
  let i = start;
  let value = 0;
  while (isDigit(text.charCodeAt(i))) {
    value = value * 10 + (text.charCodeAt(i) - CH.D0);
    i++;
  }
  if (i === start) state.fail([what]);
  if (!Number.isSafeInteger(value)) state.fail([what], start, "Number is too large");
  state.pos = i;
  return value;
}

/**
 * Parses `$top`: a non-negative integer no larger than `limits.maxTop`. Any longer run of digits
 * is over the limit too (`QueryLimitError`, however many digits), not a syntax error.
 *
 * @example
 * ```ts
 * import { parseTop } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseTop(new ParserState("20", DEFAULT_QUERY_LIMITS)); // 20
 * ```
 */
export function parseTop(state: ParserState): number {
  const text = state.text;
  const start = state.pos;
  const max = state.limits.maxTop;
  let i = start;
  let value = 0;
  for (let c = text.charCodeAt(i); isDigit(c); c = text.charCodeAt(++i)) {
    // Stop accumulating once over the limit: the value is refused anyway, and stays exact.
    if (value <= max) value = value * 10 + (c - CH.D0);
  }
  if (i === start) state.fail(["non-negative integer"]);
  if (value > max) throw new QueryLimitError("maxTop", max);
  state.pos = i;
  return value;
}

/**
 * Parses `$skip`: a non-negative integer.
 *
 * @example
 * ```ts
 * import { parseSkip } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseSkip(new ParserState("40", DEFAULT_QUERY_LIMITS)); // 40
 * ```
 */
export function parseSkip(state: ParserState): number {
  return readDigits(state, "non-negative integer");
}

/**
 * Parses `$count`: `true` or `false` (case-insensitive, as ABNF strings are).
 *
 * @example
 * ```ts
 * import { parseCount } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseCount(new ParserState("true", DEFAULT_QUERY_LIMITS)); // true
 * ```
 */
export function parseCount(state: ParserState): boolean {
  let end = wordAt(state.text, state.pos, "true", true);
  if (end !== -1) {
    state.pos = end;
    return true;
  }
  end = wordAt(state.text, state.pos, "false", true);
  if (end === -1) state.fail(["true", "false"]);
  state.pos = end;
  return false;
}

/**
 * Parses `$levels`: a positive integer without leading zeros no larger than `limits.maxLevels`
 * (`QueryLimitError` beyond it), or `max`.
 *
 * @example
 * ```ts
 * import { parseLevels } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseLevels(new ParserState("max", DEFAULT_QUERY_LIMITS)); // "max"
 * ```
 */
export function parseLevels(state: ParserState): number | "max" {
  const end = wordAt(state.text, state.pos, "max", true);
  if (end !== -1) {
    state.pos = end;
    return "max";
  }
  const c = state.peek();
  if (!(c > CH.D0 && c <= CH.D9)) state.fail(["positive integer", "max"]);
  const max = state.limits.maxLevels;
  const text = state.text;
  let i = state.pos;
  let value = 0;
  for (let d = text.charCodeAt(i); isDigit(d); d = text.charCodeAt(++i)) {
    // As for $top: stop accumulating once over the limit, so the value stays exact.
    if (value <= max) value = value * 10 + (d - CH.D0);
  }
  if (value > max) throw new QueryLimitError("maxLevels", max);
  state.pos = i;
  return value;
}

/**
 * Parses `$index`: an optionally negative integer.
 *
 * @example
 * ```ts
 * import { parseIndex } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseIndex(new ParserState("-42", DEFAULT_QUERY_LIMITS)); // -42
 * ```
 */
export function parseIndex(state: ParserState): number {
  const negative = state.eatChar(CH.MINUS);
  const value = readDigits(state, "integer");
  return negative ? -value : value;
}

/**
 * Parses `$format`: `json`, `xml` or `atom` (returned lower-case, the value is case-insensitive)
 * or a media type `type/subtype` with optional parameters. Consumes the rest of the text.
 *
 * @example
 * ```ts
 * import { parseFormat } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseFormat(new ParserState("JSON", DEFAULT_QUERY_LIMITS)); // "json"
 * ```
 */
export function parseFormat(state: ParserState): string {
  const text = state.text;
  const start = state.pos;
  const value = text.slice(start);
  const lower = value.toLowerCase();
  if (lower === "json" || lower === "xml" || lower === "atom") {
    state.pos = text.length;
    return lower;
  }
  // 1*pchar "/" 1*pchar, where pchar excludes whitespace and a few delimiters.
  let slash = -1;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= CH.SPACE || c === CH.QUOTE || c === CH.HASH || c === 0x3c || c === 0x3e) {
      state.fail(["media type"], i);
    }
    if (c === CH.SLASH && slash === -1) slash = i;
  }
  if (slash <= start || slash === text.length - 1) {
    state.fail(["json", "xml", "atom", "media type"], start);
  }
  state.pos = text.length;
  return value;
}

/**
 * Parses `$schemaversion`: `*` or `1*unreserved` (letters, digits, `-._~`). Consumes the rest.
 *
 * @example
 * ```ts
 * import { parseSchemaVersion } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseSchemaVersion(new ParserState("1.42.2", DEFAULT_QUERY_LIMITS)); // "1.42.2"
 * ```
 */
export function parseSchemaVersion(state: ParserState): string {
  const text = state.text;
  const start = state.pos;
  if (text.length - start === 1 && text.charCodeAt(start) === CH.STAR) {
    state.pos++;
    return "*";
  }
  let i = start;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const unreserved = isDigit(c) || (c >= CH.A && c <= CH.Z) || (c >= CH.a && c <= CH.z) ||
      c === CH.MINUS || c === CH.DOT || c === CH.UNDERSCORE || c === 126;
    if (!unreserved) break;
  }
  if (i === start || i < text.length) state.fail(["schema version"], i);
  state.pos = i;
  return text.slice(start, i);
}

/**
 * Parses `$skiptoken`/`$deltatoken`: any non-empty opaque text. Consumes the rest.
 *
 * @example
 * ```ts
 * import { parseToken } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseToken(new ParserState("Start@Next", DEFAULT_QUERY_LIMITS)); // "Start@Next"
 * ```
 */
export function parseToken(state: ParserState): string {
  const start = state.pos;
  if (start >= state.text.length) state.fail(["token"]);
  state.pos = state.text.length;
  return state.text.slice(start);
}

/**
 * Parses `$orderby` items (`expr [asc|desc]`, comma-separated). Stops before anything else. As
 * the `$orderby` option (`option`, the default) no whitespace may surround a comma (ABNF `COMMA`);
 * in `$apply=orderby(...)` it may (aggregation ABNF).
 *
 * @example
 * ```ts
 * import { parseOrderByItems } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseOrderByItems(new ParserState("UnitPrice desc,Name", DEFAULT_QUERY_LIMITS)).length; // 2
 * ```
 */
export function parseOrderByItems(state: ParserState, option = true): OrderByItem[] {
  const items: OrderByItem[] = [];
  do {
    const expression = parseExpression(state);
    let direction: "asc" | "desc" = "asc";
    const save = state.pos;
    if (state.skipWhitespace()) {
      const text = state.text;
      let end = wordAt(text, state.pos, "desc", true);
      if (end !== -1) direction = "desc";
      else end = wordAt(text, state.pos, "asc", true);
      state.pos = end === -1 ? save : end;
    }
    state.countNode();
    items.push({ expression, direction });
  } while (option ? eatListComma(state, "$orderby items") : eatSeparator(state, CH.COMMA));
  return items;
}

/**
 * Parses `$compute` items (`expr as Alias`, comma-separated). Stops before anything else. As the
 * `$compute` option (`option`, the default) no whitespace may surround a comma (ABNF `COMMA`); in
 * `$apply=compute(...)` it may (aggregation ABNF).
 *
 * @example
 * ```ts
 * import { parseComputeItems } from "./options.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseComputeItems(new ParserState("Price mul 2 as Double", DEFAULT_QUERY_LIMITS))[0]?.alias; // "Double"
 * ```
 */
export function parseComputeItems(state: ParserState, option = true): ComputeItem[] {
  const items: ComputeItem[] = [];
  do {
    const expression = parseExpression(state);
    expectKeyword(state, "as", true);
    const alias = readIdentifier(state, "alias");
    state.countNode();
    items.push({ expression, alias });
  } while (option ? eatListComma(state, "$compute items") : eatSeparator(state, CH.COMMA));
  return items;
}
