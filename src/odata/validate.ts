/**
 * Checks shared by the builders and the serializers: OData identifiers, qualified and type names,
 * canonical function names, the values of typed literals and raw text. The serializers run them
 * on every name and text they print, so that nothing in an AST can end its slot early and change
 * how the printed text reads back (OData injection such as a property named
 * `Name eq 'y' or true or Name`); the builders run them where the value is given.
 *
 * Names are checked with the parser's own character classes (char codes, no regular expressions
 * on the hot path), so every name the parser produces passes.
 *
 * @module
 */

import { ODataActiveRecordError, ODataSyntaxError, QueryLimitError } from "../errors/errors.ts";
import { show } from "./arguments.ts";
import type { CanonicalFunction, LiteralNode, LiteralType } from "./ast.ts";
import { DEFAULT_QUERY_LIMITS } from "./limits.ts";
import { scanLiteral } from "./parser/literal.ts";
import { CH, isIdentifierPart, isIdentifierStart, ParserState } from "./parser/state.ts";

/**
 * True if `name` is one identifier as the parser reads it: a letter, `_` or non-ASCII char, then
 * letters, digits, `_` or non-ASCII chars. (The length limit of 128 is the builders' concern: the
 * parser does not apply it to every name.)
 *
 * @example
 * ```ts
 * import { isIdentifier } from "./validate.ts";
 * isIdentifier("Größe"); // true
 * isIdentifier("Name eq 1"); // false
 * ```
 */
export function isIdentifier(name: unknown): name is string {
  if (typeof name !== "string" || !isIdentifierStart(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) {
    if (!isIdentifierPart(name.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * True if `name` is identifiers joined by `.` (`Model.VipCustomer`, `Name`); with `dotted`, at
 * least two of them (a type cast or an enum type, which the parser tells from a property by the
 * dot).
 *
 * @example
 * ```ts
 * import { isQualifiedName } from "./validate.ts";
 * isQualifiedName("Model.Vip", true); // true
 * isQualifiedName("Vip", true); // false
 * isQualifiedName("Model.", false); // false
 * ```
 */
export function isQualifiedName(name: unknown, dotted: boolean): name is string {
  if (typeof name !== "string") return false;
  const n = name.length;
  let i = 0;
  let dots = 0;
  for (;;) {
    if (!isIdentifierStart(name.charCodeAt(i))) return false;
    i++;
    while (i < n && isIdentifierPart(name.charCodeAt(i))) i++;
    if (i === n) return !dotted || dots > 0;
    if (name.charCodeAt(i) !== CH.DOT) return false;
    dots++;
    i++;
  }
}

/**
 * True if `name` is an `optionallyQualifiedTypeName` as `cast`/`isof` take it: `Edm.String`,
 * `Customer`, `Collection(Edm.Int32)`.
 *
 * @example
 * ```ts
 * import { isTypeName } from "./validate.ts";
 * isTypeName("Collection(Edm.String)"); // true
 * isTypeName("Edm.String) or (true"); // false
 * ```
 */
export function isTypeName(name: unknown): name is string {
  if (typeof name !== "string") return false;
  if (name.startsWith("Collection(") && name.charCodeAt(name.length - 1) === CH.RPAREN) {
    return isQualifiedName(name.slice(11, -1), false);
  }
  return isQualifiedName(name, false);
}

const NAME_START = /^[\p{L}\p{Nl}_]$/u;
const NAME_PART = /^[\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}\p{Pc}\p{Cf}]$/u;

/**
 * True if `name` is an OData `odataIdentifier` as the ABNF defines it: a letter (any script) or
 * `_`, then letters, digits, `_` and combining marks, at most 128 characters. Stricter than the
 * parser, which takes any non-ASCII char; the builders use it.
 *
 * @example
 * ```ts
 * import { isODataIdentifier } from "./validate.ts";
 * isODataIdentifier("Größe"); // true
 * isODataIdentifier("a\u00a0b"); // false: a no-break space is no letter
 * ```
 */
export function isODataIdentifier(name: unknown): name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > 128) return false;
  let first = true;
  for (const ch of name) {
    const c = ch.charCodeAt(0);
    const ok = c < 128
      ? (first ? isIdentifierStart(c) : isIdentifierPart(c))
      : (first ? NAME_START : NAME_PART).test(ch);
    if (!ok) return false;
    first = false;
  }
  return true;
}

/**
 * True if `name` is `odataIdentifier`s joined by `.`; with `dotted`, at least two of them.
 *
 * @example
 * ```ts
 * import { isODataQualifiedName } from "./validate.ts";
 * isODataQualifiedName("Model.Color", true); // true
 * ```
 */
export function isODataQualifiedName(name: unknown, dotted: boolean): name is string {
  if (typeof name !== "string") return false;
  const parts = name.split(".");
  if (dotted && parts.length < 2) return false;
  return parts.every(isODataIdentifier);
}

/** Every canonical function; `satisfies` keeps the table in step with {@linkcode CanonicalFunction}. */
const CANONICAL_TABLE = {
  concat: 1,
  contains: 1,
  endswith: 1,
  indexof: 1,
  length: 1,
  startswith: 1,
  substring: 1,
  matchesPattern: 1,
  tolower: 1,
  toupper: 1,
  trim: 1,
  hassubset: 1,
  hassubsequence: 1,
  year: 1,
  month: 1,
  day: 1,
  hour: 1,
  minute: 1,
  second: 1,
  fractionalseconds: 1,
  totalseconds: 1,
  date: 1,
  time: 1,
  totaloffsetminutes: 1,
  mindatetime: 1,
  maxdatetime: 1,
  now: 1,
  round: 1,
  floor: 1,
  ceiling: 1,
  "geo.distance": 1,
  "geo.intersects": 1,
  "geo.length": 1,
  isdefined: 1,
} as const satisfies Record<CanonicalFunction, 1>;

const CANONICAL_FUNCTIONS: ReadonlySet<string> = new Set(Object.keys(CANONICAL_TABLE));

/**
 * Lower-case names the parser reads as a call whatever their case: the canonical functions but
 * the case-sensitive `isdefined`, plus `cast`, `isof` and `case`.
 */
const CALL_NAMES_FOLDED: ReadonlySet<string> = new Set([
  ...[...CANONICAL_FUNCTIONS].filter((name) => name !== "isdefined").map((n) => n.toLowerCase()),
  "cast",
  "isof",
  "case",
]);

/**
 * True if `name` is a canonical function in its canonical spelling (`contains`, `geo.distance`).
 *
 * @example
 * ```ts
 * import { isCanonicalFunction } from "./validate.ts";
 * isCanonicalFunction("startswith"); // true
 * isCanonicalFunction("STARTSWITH"); // false
 * ```
 */
export function isCanonicalFunction(name: unknown): name is CanonicalFunction {
  return typeof name === "string" && CANONICAL_FUNCTIONS.has(name);
}

/**
 * True if the parser reads `name(` at the start of an expression as a function call (canonical
 * functions in any case but `isdefined`, `cast`, `isof`, `case`).
 *
 * @example
 * ```ts
 * import { isCallName } from "./validate.ts";
 * isCallName("TOLOWER"); // true
 * isCallName("Products"); // false
 * ```
 */
export function isCallName(name: string): boolean {
  return CANONICAL_FUNCTIONS.has(name) || CALL_NAMES_FOLDED.has(name.toLowerCase());
}

/**
 * True if a name at the start of an expression reads as a keyword literal (`null`, `true`,
 * `false` in any case, `INF`, `NaN`) rather than as a property or lambda variable.
 *
 * @example
 * ```ts
 * import { isKeywordLiteral } from "./validate.ts";
 * isKeywordLiteral("True"); // true
 * isKeywordLiteral("Null"); // false: only `null` is the keyword
 * ```
 */
export function isKeywordLiteral(name: string): boolean {
  switch (name.length) {
    case 3:
      return name === "INF" || name === "NaN";
    case 4:
      return name === "null" || name.toLowerCase() === "true";
    case 5:
      return name.toLowerCase() === "false";
    default:
      return false;
  }
}

const LITERAL_TYPES: ReadonlySet<string> = new Set(
  Object.keys(
    {
      null: 1,
      boolean: 1,
      int: 1,
      decimal: 1,
      double: 1,
      string: 1,
      date: 1,
      datetimeoffset: 1,
      timeofday: 1,
      duration: 1,
      guid: 1,
      binary: 1,
      enum: 1,
      geography: 1,
      geometry: 1,
    } as const satisfies Record<LiteralType, 1>,
  ),
);

/**
 * True if `type` is one of the {@linkcode LiteralType}s.
 *
 * @example
 * ```ts
 * import { isLiteralType } from "./validate.ts";
 * isLiteralType("guid"); // true
 * ```
 */
export function isLiteralType(type: unknown): type is LiteralType {
  return typeof type === "string" && LITERAL_TYPES.has(type);
}

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

function isDigitCode(c: number): boolean {
  return c >= CH.D0 && c <= CH.D9;
}

/** `[-]digits[.digits]`: the text of a decimal literal. */
function isDecimalText(text: string): boolean {
  let i = text.charCodeAt(0) === CH.MINUS ? 1 : 0;
  const start = i;
  while (isDigitCode(text.charCodeAt(i))) i++;
  if (i === start) return false;
  if (i === text.length) return true;
  if (text.charCodeAt(i) !== CH.DOT) return false;
  const fraction = ++i;
  while (isDigitCode(text.charCodeAt(i))) i++;
  return i > fraction && i === text.length;
}

/**
 * Why a literal of `type` with `value` (and `enumType`) cannot be printed as OData text that
 * reads back as the same literal, or `undefined` when it can. Values must have the
 * representation documented on {@linkcode LiteralNode}; the texts of dates, times, durations,
 * guids, binaries, enums and geo literals are checked with the parser's literal scanner.
 *
 * @example
 * ```ts
 * import { literalProblem } from "./validate.ts";
 * literalProblem("guid", "01234567-89ab-cdef-0123-456789abcdef"); // undefined
 * literalProblem("guid", "01234567-89ab-cdef-0123-456789abcdef or true");
 * // 'the text goes on after the guid: " or true"'
 * ```
 */
export function literalProblem(
  type: LiteralType,
  value: unknown,
  enumType?: unknown,
): string | undefined {
  switch (type) {
    case "null":
      return value === null ? undefined : "a null literal has the value null";
    case "boolean":
      return typeof value === "boolean" ? undefined : "a boolean literal needs true or false";
    case "int":
      if (typeof value === "number") {
        return Number.isSafeInteger(value)
          ? undefined
          : "an int literal needs a safe integer (a bigint beyond 2^53)";
      }
      if (typeof value === "bigint") {
        return value >= INT64_MIN && value <= INT64_MAX
          ? undefined
          : "an int literal must fit in 64 bits (larger integers are decimals)";
      }
      return "an int literal needs a number or a bigint";
    case "decimal":
      if (typeof value === "string") {
        return isDecimalText(value) ? undefined : "a decimal literal needs text like -12.50";
      }
      if (typeof value === "number") {
        return Number.isFinite(value) && isDecimalText(String(value))
          ? undefined
          : "a decimal literal needs a finite number without exponent (or its text)";
      }
      return typeof value === "bigint" ? undefined : "a decimal literal needs text like -12.50";
    case "double":
      return typeof value === "number" ? undefined : "a double literal needs a number";
    case "string":
      return typeof value === "string" ? undefined : "a string literal needs a string";
    case "enum":
      if (typeof value !== "string") return "an enum literal needs its member text as a string";
      if (!isQualifiedName(enumType, true)) {
        return `an enum literal needs a qualified enumType such as Model.Color, got ${
          show(enumType)
        }`;
      }
      return scannedProblem(type, value, `${enumType}'${value}'`, enumType);
    case "date":
    case "datetimeoffset":
    case "timeofday":
    case "guid": {
      if (typeof value !== "string") return `a ${type} literal needs its text as a string`;
      // Char-code checks that accept exactly what the scanner reads as one such literal (the
      // common types stay cheap); the scanner words the problem.
      const ok = type === "date"
        ? dateEnd(value) === value.length
        : type === "datetimeoffset"
        ? isDateTimeOffsetText(value)
        : type === "timeofday"
        ? timeEnd(value, 0) === value.length
        : isGuidText(value);
      return ok ? undefined : scannedProblem(type, value, value, undefined) ?? `not a ${type}`;
    }
    case "duration":
    case "binary":
    case "geography":
    case "geometry":
      if (typeof value !== "string") return `a ${type} literal needs its text as a string`;
      return scannedProblem(type, value, `${type}'${value}'`, undefined);
    default:
      return `unknown literal type ${show(type)}`;
  }
}

/**
 * {@linkcode literalProblem} for the types with text values, done by the parser's literal scanner
 * only (no char-code shortcuts): the reference the shortcuts are tested against.
 *
 * @example
 * ```ts
 * import { scannedLiteralProblem } from "./validate.ts";
 * scannedLiteralProblem("date", "2024-02-30"); // undefined (the day is checked as 01-31)
 * ```
 */
export function scannedLiteralProblem(
  type: LiteralType,
  value: string,
  enumType?: string,
): string | undefined {
  const text = type === "enum"
    ? `${enumType}'${value}'`
    : type === "duration" || type === "binary" || type === "geography" || type === "geometry"
    ? `${type}'${value}'`
    : value;
  return scannedProblem(type, value, text, enumType);
}

/** True if two digits at `p` form a number in `lo`..`hi`. */
function twoDigitsIn(text: string, p: number, lo: number, hi: number): boolean {
  const a = text.charCodeAt(p) - CH.D0;
  const b = text.charCodeAt(p + 1) - CH.D0;
  // NaN (past the end) fails every comparison.
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return false;
  const value = a * 10 + b;
  return value >= lo && value <= hi;
}

/** End of the date `[-]YYYY-MM-DD` at the start of `text` (the scanner's rules), or -1. */
function dateEnd(text: string): number {
  let p = text.charCodeAt(0) === CH.MINUS ? 1 : 0;
  const p0 = p;
  while (isDigitCode(text.charCodeAt(p))) p++;
  const digits = p - p0;
  if (digits < 4 || (digits > 4 && text.charCodeAt(p0) === CH.D0)) return -1;
  if (
    text.charCodeAt(p) !== CH.MINUS || !twoDigitsIn(text, p + 1, 1, 12) ||
    text.charCodeAt(p + 3) !== CH.MINUS || !twoDigitsIn(text, p + 4, 1, 31)
  ) return -1;
  return p + 6;
}

/** End of `HH:MM[:SS[.fraction]]` at `p` (the scanner's rules), or -1. */
function timeEnd(text: string, p: number): number {
  if (!twoDigitsIn(text, p, 0, 23) || text.charCodeAt(p + 2) !== CH.COLON) return -1;
  if (!twoDigitsIn(text, p + 3, 0, 59)) return -1;
  p += 5;
  if (
    text.charCodeAt(p) === CH.COLON && isDigitCode(text.charCodeAt(p + 1)) &&
    isDigitCode(text.charCodeAt(p + 2))
  ) {
    if (!twoDigitsIn(text, p + 1, 0, 60)) return -1;
    p += 3;
    if (text.charCodeAt(p) === CH.DOT) {
      const f = p + 1;
      let q = f;
      while (isDigitCode(text.charCodeAt(q))) q++;
      if (q === f || q - f > 12) return -1;
      p = q;
    }
  }
  return p;
}

function isDateTimeOffsetText(text: string): boolean {
  let p = dateEnd(text);
  if (p < 0 || (text.charCodeAt(p) | 0x20) !== 116) return false; // "T" / "t"
  p = timeEnd(text, p + 1);
  if (p < 0) return false;
  const z = text.charCodeAt(p);
  if ((z | 0x20) === 122) return p + 1 === text.length; // "Z" / "z"
  if (z !== CH.PLUS && z !== CH.MINUS) return false;
  return twoDigitsIn(text, p + 1, 0, 23) && text.charCodeAt(p + 3) === CH.COLON &&
    twoDigitsIn(text, p + 4, 0, 59) && p + 6 === text.length;
}

function isHexCode(c: number): boolean {
  return (c >= CH.D0 && c <= CH.D9) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
}

/** `8-4-4-4-12` hexadecimal digits. */
function isGuidText(text: string): boolean {
  if (text.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = text.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23 ? c !== CH.MINUS : !isHexCode(c)) return false;
  }
  return true;
}

/** Scans `text` (the printed literal) and compares the result with the literal meant. */
function scannedProblem(
  type: LiteralType,
  value: string,
  text: string,
  enumType: string | undefined,
): string | undefined {
  const state = new ParserState(text, DEFAULT_QUERY_LIMITS);
  let node: LiteralNode | undefined;
  try {
    node = scanLiteral(state);
  } catch (error) {
    if (error instanceof ODataSyntaxError) return error.message.split("\n")[0];
    if (error instanceof QueryLimitError) return error.message;
    throw error;
  }
  if (node === undefined) return `not a ${type} literal`;
  if (node.type !== type) return `the text reads back as a ${node.type} literal`;
  if (!state.atEnd()) return `the text goes on after the ${type}: ${show(text.slice(state.pos))}`;
  if (node.value !== value || node.enumType !== enumType) {
    return `the text does not read back as the same ${type}`;
  }
  return undefined;
}

/**
 * Why raw text (the `Raw` arguments of generic `$apply` transformations, kept as written) could
 * reach outside its argument, or `undefined`: it must be non-empty, close every quote it opens
 * and keep its parentheses balanced, so that it cannot end the transformation around it. A `'`
 * right after a letter or digit is part of a word (`Daniel's`) unless the word is a literal
 * prefix (`duration'...'`, `Model.Color'...'`).
 *
 * @example
 * ```ts
 * import { rawProblem } from "./validate.ts";
 * rawProblem("Name desc,Price"); // undefined
 * rawProblem("Name)/filter(true"); // "unbalanced parentheses"
 * ```
 */
export function rawProblem(text: unknown): string | undefined {
  if (typeof text !== "string" || text.length === 0) return "raw text must be a non-empty string";
  let depth = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH.LPAREN) depth++;
    else if (c === CH.RPAREN) {
      if (--depth < 0) return "unbalanced parentheses";
    } else if (c === CH.SQUOTE && opensQuote(text, i)) {
      // `'...'` with `''` for a quote
      for (i++;; i++) {
        if (i >= n) return "unterminated quote";
        if (text.charCodeAt(i) === CH.SQUOTE) {
          if (text.charCodeAt(i + 1) !== CH.SQUOTE) break;
          i++;
        }
      }
    } else if (c === CH.QUOTE) {
      // `"..."` with backslash escapes (JSON strings, search phrases)
      for (i++;; i++) {
        if (i >= n) return "unterminated quote";
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === CH.QUOTE) break;
      }
    }
    i++;
  }
  return depth === 0 ? undefined : "unbalanced parentheses";
}

const LITERAL_PREFIXES: ReadonlySet<string> = new Set([
  "duration",
  "binary",
  "geography",
  "geometry",
]);

/** True if the `'` at `i` opens a quoted text rather than being part of a word. */
function opensQuote(text: string, i: number): boolean {
  let start = i;
  while (start > 0) {
    const c = text.charCodeAt(start - 1);
    if (!isIdentifierPart(c) && c !== CH.DOT) break;
    start--;
  }
  if (start === i) return true;
  const word = text.slice(start, i);
  return word.includes(".") || LITERAL_PREFIXES.has(word.toLowerCase());
}

/**
 * Converts what an entry point must not leak (a `TypeError` from a malformed AST, a stack
 * overflow from a too deeply nested one) into `INVALID_ARGUMENT`; errors of the module hierarchy
 * and anything else pass through unchanged.
 *
 * @example
 * ```ts
 * import { asModuleError } from "./validate.ts";
 * (asModuleError(new TypeError("x is null"), "serializeQuery()") as Error).message;
 * // "serializeQuery() got a malformed AST: x is null"
 * ```
 */
export function asModuleError(error: unknown, caller: string): unknown {
  if (error instanceof TypeError) {
    return new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `${caller} got a malformed AST: ${error.message}`,
      { cause: error, suggestion: "Build ASTs with the builders or take them from the parsers." },
    );
  }
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `${caller} got an AST nested too deeply to print`,
      { cause: error },
    );
  }
  return error;
}
