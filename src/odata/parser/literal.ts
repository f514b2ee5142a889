/**
 * Primitive literal scanning (`primitiveLiteral` of the OData ABNF): `null`, booleans, numbers,
 * strings, dates and times, durations, guids, binaries, enums and geo literals. Scanning works on
 * char codes of the {@linkcode ParserState} and validates what the ABNF validates (month 01-12,
 * hour 00-23, base64url padding, ...), failing at the first offending character.
 *
 * @module
 */

import type { LiteralNode, LiteralType } from "../ast.ts";
import { resolveLimits } from "../limits.ts";
import { scanGeoValue } from "./geo.ts";
import { CH, isIdentifierPart, isIdentifierStart, ParserState } from "./state.ts";

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const LOWER_E = 101;
const UPPER_E = 69;

function literal(
  state: ParserState,
  type: LiteralType,
  value: string | number | bigint | boolean | null,
): LiteralNode {
  state.countNode();
  return { kind: "Literal", type, value };
}

function isDigitCode(c: number): boolean {
  return c >= CH.D0 && c <= CH.D9;
}

function isHexCode(c: number): boolean {
  return (c >= CH.D0 && c <= CH.D9) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isHexRun(text: string, from: number, count: number): boolean {
  for (let i = from; i < from + count; i++) if (!isHexCode(text.charCodeAt(i))) return false;
  return true;
}

/** True if `word` (case-sensitive) is at `pos` and not followed by an identifier char. */
function isWordAt(text: string, pos: number, word: string): boolean {
  return text.startsWith(word, pos) && !isIdentifierPart(text.charCodeAt(pos + word.length));
}

/**
 * Scans one primitive literal at `state.pos`. Returns `undefined`, without moving, when no
 * literal starts there (e.g. at a property name); throws `ODataSyntaxError` when a literal starts
 * but is malformed (`2024-13-01`, `binary'Zg='x`, `42.`). On success `state.pos` is just after it.
 * Unprefixed `'P1D'` and `'Red'` are strings: only the model can tell durations or enums apart.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { scanLiteral } from "./literal.ts";
 * const state = new ParserState("2024-01-31T10:00:00Z eq X", resolveLimits(undefined));
 * scanLiteral(state); // { kind: "Literal", type: "datetimeoffset", value: "2024-01-31T10:00:00Z" }
 * state.pos; // 20
 * ```
 */
export function scanLiteral(state: ParserState): LiteralNode | undefined {
  const text = state.text;
  const start = state.pos;
  const c = text.charCodeAt(start);
  if (c === CH.SQUOTE) return literal(state, "string", scanQuoted(state, start));
  if (c >= CH.D0 && c <= CH.D9) return scanNumeric(state, start, start);
  if (c === CH.MINUS || c === CH.PLUS) {
    const d = text.charCodeAt(start + 1);
    if (d >= CH.D0 && d <= CH.D9) return scanNumeric(state, start, start + 1);
    if (c === CH.MINUS && isWordAt(text, start + 1, "INF")) {
      state.pos = start + 4;
      return literal(state, "double", -Infinity);
    }
    return undefined;
  }
  if (isIdentifierStart(c)) return scanWordLiteral(state, start);
  return undefined;
}

/**
 * True when a negative numeric, date or `-INF` literal starts at `pos` (a `-` directly followed by
 * a digit or `INF`), as opposed to the negation operator.
 *
 * @example
 * ```ts
 * import { startsNegativeLiteral } from "./literal.ts";
 * startsNegativeLiteral("-5", 0); // true
 * startsNegativeLiteral("-Price", 0); // false
 * ```
 */
export function startsNegativeLiteral(text: string, pos: number): boolean {
  const d = text.charCodeAt(pos + 1);
  return text.charCodeAt(pos) === CH.MINUS &&
    ((d >= CH.D0 && d <= CH.D9) || isWordAt(text, pos + 1, "INF"));
}

/**
 * Parses a whole text as one primitive literal, e.g. a key value or an alias value.
 *
 * @example
 * ```ts
 * import { parseLiteral } from "./literal.ts";
 * parseLiteral("duration'P1DT2H'"); // { kind: "Literal", type: "duration", value: "P1DT2H" }
 * ```
 */
export function parseLiteral(text: string): LiteralNode {
  const state: ParserState = new ParserState(text, resolveLimits(undefined));
  const node = scanLiteral(state);
  if (node === undefined) state.fail(["literal"], 0);
  if (!state.atEnd()) state.fail(["end of input"]);
  return node;
}

/** Scans `'...'` with `''` escapes from the quote at `start`; returns the unescaped content. */
function scanQuoted(state: ParserState, start: number): string {
  const text = state.text;
  let from = start + 1;
  let q = text.indexOf("'", from);
  if (q < 0) state.fail(["'"], text.length);
  // The common case has no escaped quote: one slice, no concatenation.
  if (text.charCodeAt(q + 1) !== CH.SQUOTE) {
    state.pos = q + 1;
    return text.slice(from, q);
  }
  let out = "";
  for (;;) {
    if (q < 0) state.fail(["'"], text.length);
    if (text.charCodeAt(q + 1) === CH.SQUOTE) {
      out += text.slice(from, q + 1);
      from = q + 2;
      q = text.indexOf("'", from);
      continue;
    }
    state.pos = q + 1;
    return out + text.slice(from, q);
  }
}

/** Numbers, dates, date-times, times of day and digit-led guids; `p0` is the first digit. */
function scanNumeric(state: ParserState, start: number, p0: number): LiteralNode {
  const text = state.text;
  const signed = p0 !== start;
  if (
    !signed && text.charCodeAt(start + 8) === CH.MINUS && isHexRun(text, start, 8) &&
    isHexRun(text, start + 9, 4)
  ) {
    return scanGuid(state, start);
  }
  let p = p0;
  let c = text.charCodeAt(p);
  let v = 0;
  while (c >= CH.D0 && c <= CH.D9) {
    v = v * 10 + (c - CH.D0);
    c = text.charCodeAt(++p);
  }
  const digits = p - p0;
  if (c === CH.MINUS && digits >= 4) return scanDate(state, start, p0, p);
  if (c === CH.COLON && digits === 2 && !signed) {
    const end = scanTime(state, start);
    checkBoundary(state, end, "time of day");
    state.pos = end;
    return literal(state, "timeofday", text.slice(start, end));
  }
  let kind: "int" | "decimal" | "double" = "int";
  if (c === CH.DOT) {
    let q = p + 1;
    while (isDigitCode(text.charCodeAt(q))) q++;
    if (q === p + 1) state.fail(["digit"], p + 1);
    kind = "decimal";
    p = q;
    c = text.charCodeAt(p);
  }
  if (c === LOWER_E || c === UPPER_E) {
    let q = p + 1;
    const s = text.charCodeAt(q);
    if (s === CH.PLUS || s === CH.MINUS) q++;
    const f = q;
    while (isDigitCode(text.charCodeAt(q))) q++;
    if (q === f) state.fail(["digit"], f);
    kind = "double";
    p = q;
  }
  checkBoundary(state, p, "number");
  state.pos = p;
  if (kind === "double") return literal(state, "double", doubleValue(state, start, p));
  const first = text.charCodeAt(start);
  if (kind === "decimal") {
    return literal(state, "decimal", text.slice(first === CH.PLUS ? start + 1 : start, p));
  }
  // Up to 15 digits the running value is exact; longer integers go through BigInt.
  if (digits <= 15) return literal(state, "int", first === CH.MINUS && v !== 0 ? -v : v);
  const big = BigInt(text.slice(start, p));
  if (big < INT64_MIN || big > INT64_MAX) {
    // Beyond Int64 an integer is only a valid Edm.Decimal (decimalLiteral without fraction).
    return literal(state, "decimal", text.slice(first === CH.PLUS ? start + 1 : start, p));
  }
  return literal(state, "int", big >= SAFE_MIN && big <= SAFE_MAX ? Number(big) : big);
}

/**
 * The value of the double literal `text[start, end)`, which must be exactly what the number
 * prints back as: a literal beyond the range of Edm.Double (`1e309`), one that underflows to 0
 * (`0.1e-400`) or one with more significant digits than a double holds
 * (`1234567890.123456789e0`) is a syntax error at the literal rather than a changed value.
 */
function doubleValue(state: ParserState, start: number, end: number): number {
  const written = state.text.slice(start, end);
  const value = Number(written);
  if (value === Infinity || value === -Infinity) {
    state.fail(
      [],
      start,
      `The double ${written} is beyond the range of Edm.Double (±1.7976931348623157e308)`,
    );
  }
  const digits = significantDigits(written);
  const held = value === 0 ? "" : significantDigits(String(value));
  if (digits !== held) {
    state.fail(
      [],
      start,
      value === 0
        ? `The double ${written} is too small for Edm.Double and would become 0`
        : `The double ${written} has more significant digits than Edm.Double holds (it would be ` +
          `${String(value).replace(/e\+?/, "e")}${String(value).includes("e") ? "" : "e0"}); ` +
          "write the value it holds, or a decimal without exponent",
    );
  }
  return value;
}

/** The significant digits of a number's text: no sign, point, exponent, leading or trailing 0. */
function significantDigits(text: string): string {
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === LOWER_E || c === UPPER_E) {
      end = i;
      break;
    }
  }
  let digits = "";
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= CH.D0 && c <= CH.D9) digits += text[i];
  }
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === CH.D0) first++;
  let last = digits.length;
  while (last > first && digits.charCodeAt(last - 1) === CH.D0) last--;
  return digits.slice(first, last);
}

/** Fails when a literal ending at `p` runs into an identifier char or a dot (`1d`, `1.5.2`). */
function checkBoundary(state: ParserState, p: number, what: string): void {
  const c = state.text.charCodeAt(p);
  if (isIdentifierPart(c) || c === CH.DOT) {
    state.fail([], p, `Unexpected ${JSON.stringify(state.text[p])} after a ${what}`);
  }
}

/** Two digits at `p` in the range `lo`..`hi` (as numbers), else fail at the bad digit. */
function twoDigits(state: ParserState, p: number, lo: number, hi: number, what: string): number {
  const text = state.text;
  const a = text.charCodeAt(p);
  if (!isDigitCode(a)) state.fail([what], p);
  const b = text.charCodeAt(p + 1);
  if (!isDigitCode(b)) state.fail([what], p + 1);
  const value = (a - CH.D0) * 10 + (b - CH.D0);
  if (value < lo || value > hi) {
    // Point at the digit that makes the value invalid, as the ABNF test cases do.
    const firstOk = (a - CH.D0) * 10 <= hi && (a - CH.D0) * 10 + 9 >= lo;
    state.fail([what], firstOk ? p + 1 : p, `Invalid ${what} ${text.slice(p, p + 2)}`);
  }
  return p + 2;
}

function expectCode(state: ParserState, p: number, code: number, shown: string): number {
  if (state.text.charCodeAt(p) !== code) state.fail([shown], p);
  return p + 1;
}

/** `date` and `dateTimeOffsetLiteral`: `p` is at the `-` after the year digits `p0..p`. */
function scanDate(state: ParserState, start: number, p0: number, p: number): LiteralNode {
  const text = state.text;
  if (text.charCodeAt(start) === CH.PLUS) state.fail([], start, "A year cannot have a + sign");
  if (text.charCodeAt(p0) === CH.D0 && p - p0 > 4) {
    state.fail([], p0, "A year of more than four digits cannot start with 0");
  }
  p = twoDigits(state, p + 1, 1, 12, "month");
  p = expectCode(state, p, CH.MINUS, "-");
  p = twoDigits(state, p, 1, 31, "day");
  const c = text.charCodeAt(p);
  if (c !== 84 && c !== 116) { // "T" / "t"
    checkBoundary(state, p, "date");
    state.pos = p;
    return literal(state, "date", text.slice(start, p));
  }
  p = scanTime(state, p + 1);
  const z = text.charCodeAt(p);
  if (z === 90 || z === 122) { // "Z" / "z"
    p++;
  } else if (z === CH.PLUS || z === CH.MINUS) {
    p = twoDigits(state, p + 1, 0, 23, "hour");
    p = expectCode(state, p, CH.COLON, ":");
    p = twoDigits(state, p, 0, 59, "minute");
  } else {
    state.fail(["Z", "+", "-"], p, "A date-time needs a time zone: Z or an offset like +02:00");
  }
  checkBoundary(state, p, "date-time");
  state.pos = p;
  return literal(state, "datetimeoffset", text.slice(start, p));
}

/** `hour ":" minute [":" second ["." fractionalSeconds]]` from `p`; returns the end. */
function scanTime(state: ParserState, p: number): number {
  const text = state.text;
  p = twoDigits(state, p, 0, 23, "hour");
  p = expectCode(state, p, CH.COLON, ":");
  p = twoDigits(state, p, 0, 59, "minute");
  // Seconds are taken only when two digits follow, so `case(X gt 10:20:1)` stays parseable.
  if (
    text.charCodeAt(p) === CH.COLON && isDigitCode(text.charCodeAt(p + 1)) &&
    isDigitCode(text.charCodeAt(p + 2))
  ) {
    p = twoDigits(state, p + 1, 0, 60, "second");
    if (text.charCodeAt(p) === CH.DOT) {
      const f = p + 1;
      let q = f;
      while (isDigitCode(text.charCodeAt(q))) q++;
      if (q === f) state.fail(["digit"], f);
      if (q - f > 12) state.fail([], f + 12, "At most 12 digits of fractional seconds");
      p = q;
    }
  }
  return p;
}

function scanGuid(state: ParserState, start: number): LiteralNode {
  const text = state.text;
  const groups = [8, 4, 4, 4, 12];
  let p = start;
  for (let g = 0; g < groups.length; g++) {
    if (g > 0) p = expectCode(state, p, CH.MINUS, "-");
    for (let i = 0; i < groups[g]!; i++, p++) {
      if (!isHexCode(text.charCodeAt(p))) state.fail(["hexadecimal digit"], p);
    }
  }
  checkBoundary(state, p, "guid");
  state.pos = p;
  return literal(state, "guid", text.slice(start, p));
}

/** Literals that start with a letter: keywords, prefixed literals, enums, letter-led guids. */
function scanWordLiteral(state: ParserState, start: number): LiteralNode | undefined {
  const text = state.text;
  let p = start + 1;
  while (isIdentifierPart(text.charCodeAt(p))) p++;
  const c = text.charCodeAt(p);
  const length = p - start;
  if (c === CH.SQUOTE) return scanPrefixed(state, start, p);
  if (c === CH.DOT) {
    let q = p;
    while (text.charCodeAt(q) === CH.DOT && isIdentifierStart(text.charCodeAt(q + 1))) {
      q += 2;
      while (isIdentifierPart(text.charCodeAt(q))) q++;
    }
    return q > p && text.charCodeAt(q) === CH.SQUOTE ? scanEnum(state, start, q) : undefined;
  }
  if (length === 8 && c === CH.MINUS && isHexRun(text, start, 8) && isHexRun(text, start + 9, 4)) {
    return scanGuid(state, start);
  }
  return scanKeywordLiteral(state, start, p);
}

/**
 * The keyword literal (`null`, `true`, `false` in any case; `INF`, `NaN`) spelled by the
 * identifier `text[start, end)`, moving past it; `undefined` (not moved) for any other word.
 * Callers that have scanned an identifier use it to rule out literals without a second scan.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { scanKeywordLiteral } from "./literal.ts";
 * scanKeywordLiteral(new ParserState("TRUE", resolveLimits(undefined)), 0, 4)?.value; // true
 * ```
 */
export function scanKeywordLiteral(
  state: ParserState,
  start: number,
  end: number,
): LiteralNode | undefined {
  const text = state.text;
  const length = end - start;
  const c0 = text.charCodeAt(start) | 0x20;
  if (length === 4) {
    if (text.startsWith("null", start)) return wordLiteral(state, end, "null", null);
    if (
      c0 === 116 && (text.charCodeAt(start + 1) | 0x20) === 114 &&
      (text.charCodeAt(start + 2) | 0x20) === 117 && (text.charCodeAt(start + 3) | 0x20) === 101
    ) return wordLiteral(state, end, "boolean", true);
  } else if (length === 5) {
    if (
      c0 === 102 && (text.charCodeAt(start + 1) | 0x20) === 97 &&
      (text.charCodeAt(start + 2) | 0x20) === 108 && (text.charCodeAt(start + 3) | 0x20) === 115 &&
      (text.charCodeAt(start + 4) | 0x20) === 101
    ) return wordLiteral(state, end, "boolean", false);
  } else if (length === 3) {
    if (text.startsWith("INF", start)) return wordLiteral(state, end, "double", Infinity);
    if (text.startsWith("NaN", start)) return wordLiteral(state, end, "double", NaN);
  }
  return undefined;
}

function wordLiteral(
  state: ParserState,
  end: number,
  type: LiteralType,
  value: boolean | number | null,
): LiteralNode {
  state.pos = end;
  return literal(state, type, value);
}

/** `duration'...'`, `binary'...'`, `geography'...'`, `geometry'...'`; `q` is at the quote. */
function scanPrefixed(state: ParserState, start: number, q: number): LiteralNode {
  const prefix = state.text.slice(start, q).toLowerCase();
  switch (prefix) {
    case "duration":
      return scanDuration(state, q);
    case "binary":
      return scanBinary(state, q);
    case "geography":
    case "geometry": {
      const end = scanGeoValue(state, q + 1);
      state.pos = end + 1;
      return literal(state, prefix, state.text.slice(q + 1, end));
    }
    case "x":
      return state.fail(
        ["binary'...'"],
        start,
        "X'...' is not an OData 4 literal; write binary data as binary'<base64url>'",
      );
    default: {
      const v2 = V2_PREFIXES.get(prefix);
      if (v2 !== undefined) {
        const close = state.text.indexOf("'", q + 1);
        const value = close === -1 ? "..." : state.text.slice(q + 1, close);
        const bare = v2.bare(value);
        return state.fail(
          [],
          start,
          `${state.text.slice(start, q)}'...' is an OData 2 literal; OData 4 writes ${v2.what} ` +
            `bare: ${bare}`,
          `Write ${bare} without the ${state.text.slice(start, q)}'...' wrapper.`,
        );
      }
      return state.fail(
        [],
        start,
        `Unknown literal prefix ${JSON.stringify(state.text.slice(start, q))}; ` +
          "enum literals need a qualified type name (Namespace.Type'Member')",
      );
    }
  }
}

/** OData 2 literal forms (`guid'...'`, `datetime'...'`) and how OData 4 writes them. */
const V2_PREFIXES: ReadonlyMap<
  string,
  { readonly what: string; readonly bare: (value: string) => string }
> = new Map([
  ["guid", { what: "guids", bare: (value: string) => value }],
  ["datetime", {
    what: "date-times (Edm.DateTimeOffset, with a time zone)",
    bare: (value: string) => /([Zz]|[+-]\d\d:\d\d)$/.test(value) ? value : value + "Z",
  }],
  ["datetimeoffset", { what: "date-times", bare: (value: string) => value }],
  ["time", {
    what: "times of day (and durations as duration'...')",
    bare: (value: string) =>
      value.startsWith("P") || value.startsWith("-P") ? `duration'${value}'` : value,
  }],
]);

/** `duration'[-]P[nD][T[nH][nM][n[.n]S]]'` (an xs:dayTimeDuration); `q` is at the quote. */
function scanDuration(state: ParserState, q: number): LiteralNode {
  const text = state.text;
  let p = q + 1;
  if (text.charCodeAt(p) === CH.MINUS) p++;
  if ((text.charCodeAt(p) | 0x20) !== 112) state.fail(["P"], p); // "P"
  p++;
  let components = 0;
  let unit = 0; // order: 1 D, 2 T, 3 H, 4 M, 5 S
  for (;;) {
    const c = text.charCodeAt(p);
    if ((c | 0x20) === 116 && unit < 2) { // "T"
      if (!isDigitCode(text.charCodeAt(p + 1))) state.fail(["digit"], p + 1);
      unit = 2;
      p++;
      continue;
    }
    if (!isDigitCode(c)) break;
    const numberStart = p;
    while (isDigitCode(text.charCodeAt(p))) p++;
    let fraction = false;
    if (text.charCodeAt(p) === CH.DOT) {
      if (!isDigitCode(text.charCodeAt(p + 1))) state.fail(["digit"], p + 1);
      p++;
      while (isDigitCode(text.charCodeAt(p))) p++;
      fraction = true;
    }
    const u = text.charCodeAt(p) | 0x20;
    let next = 0;
    if (u === 100 && unit === 0) next = 1; // "D" before "T"
    else if (u === 104 && unit === 2) next = 3; // "H"
    else if (u === 109 && unit >= 2 && unit < 4) next = 4; // "M"
    else if (u === 115 && unit >= 2 && unit < 5) next = 5; // "S"
    if (next === 0 || (fraction && next !== 5)) {
      state.fail(unit < 2 ? ["D", "T"] : ["H", "M", "S"], fraction && next !== 0 ? numberStart : p);
    }
    unit = next;
    components++;
    p++;
  }
  if (components === 0) state.fail(["digit"], p, "A duration needs at least one component");
  if (text.charCodeAt(p) !== CH.SQUOTE) state.fail(["'"], p);
  state.pos = p + 1;
  return literal(state, "duration", text.slice(q + 1, p));
}

function isBase64UrlCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= CH.D0 && c <= CH.D9) ||
    c === CH.MINUS || c === CH.UNDERSCORE;
}

/** `binary'<base64url>'` with optional padding; `q` is at the quote. */
function scanBinary(state: ParserState, q: number): LiteralNode {
  const text = state.text;
  let p = q + 1;
  while (isBase64UrlCode(text.charCodeAt(p))) p++;
  const count = p - q - 1;
  const rest = count % 4;
  if (rest === 1) state.fail(["base64url character"], p);
  if (rest !== 0) {
    // The last char of a partial group may only carry bits that the decoded bytes use.
    const last = text[p - 1]!;
    const allowed = rest === 2 ? "AQgw" : "AEIMQUYcgkosw048";
    if (!allowed.includes(last)) {
      state.fail([], p - 1, `Invalid last base64url character ${JSON.stringify(last)}`);
    }
    const pad = rest === 2 ? "==" : "=";
    if (text.charCodeAt(p) === 61) { // "="
      if (!text.startsWith(pad, p)) state.fail(["="], p + 1);
      p += pad.length;
    }
  }
  if (text.charCodeAt(p) !== CH.SQUOTE) state.fail(["'"], p);
  state.pos = p + 1;
  return literal(state, "binary", text.slice(q + 1, p));
}

/** `Namespace.Type'Member,Member'` (members are names or Int64 values); `q` is at the quote. */
function scanEnum(state: ParserState, start: number, q: number): LiteralNode {
  const text = state.text;
  let p = q + 1;
  for (;;) {
    const c = text.charCodeAt(p);
    if (isIdentifierStart(c)) {
      const s = p;
      while (isIdentifierPart(text.charCodeAt(++p)));
      if (p - s > 128) state.fail([], s, "An enum member name has at most 128 characters");
    } else {
      const s = p;
      if (c === CH.PLUS || c === CH.MINUS) p++;
      const d = p;
      while (isDigitCode(text.charCodeAt(p))) p++;
      if (p === d) state.fail(["enum member"], s);
      const value = BigInt(text.slice(s, p));
      if (value < INT64_MIN || value > INT64_MAX) {
        state.fail([], s, "An enum member value must be an Int64");
      }
    }
    const e = text.charCodeAt(p);
    if (e === CH.SQUOTE) break;
    if (e !== CH.COMMA) state.fail([",", "'"], p);
    p++;
  }
  state.pos = p + 1;
  state.countNode();
  return {
    kind: "Literal",
    type: "enum",
    value: text.slice(q + 1, p),
    enumType: text.slice(start, q),
  };
}
