/**
 * Coercion of user input to the canonical JavaScript value of each field type (listed in
 * `src/provider/provider.ts`). A value is accepted only when its meaning is certain; every refusal
 * carries a reason and a suggestion with a valid example. Decisions:
 * - Surrounding whitespace is ignored except for `string` fields, where it may be meaningful.
 * - `integer`: safe integers, digit strings, bigints in the safe range (`"4.5"`, `"1e3"` refused).
 * - `decimal`: numbers (via their shortest round-trip text, so `0.1 + 0.2` fails a scale of 2
 *   rather than being rounded), numeric strings (exponents expanded exactly) and bigints. Leading
 *   zeros and `+` are dropped, trailing fractional zeros kept. With `scale` the result has exactly
 *   `scale` decimals: extra zero digits are dropped, any other extra digit is refused, never
 *   rounded. `precision` bounds the integer digits to `precision - scale` (the significant digits
 *   when no scale is declared).
 * - `boolean`: booleans, the numbers 0/1 and `"true"`/`"false"` in any case; nothing else.
 * - `string`: strings only (a number is refused with a hint); `maxLength` counts code points.
 * - `date`: `"YYYY-MM-DD"`; an ISO date-time only at midnight (date as written, whatever the
 *   offset), as another time means the wrong field type; `Date`s and epoch ms give their UTC date.
 * - `datetime`: ISO 8601 with `Z` or an offset. Without one it is refused: OData requires it and a
 *   guessed zone shifts the instant. Date-only ISO means midnight UTC. Non-zero sub-millisecond
 *   digits are refused (a `Date` cannot hold them, and cutting them silently moves the instant);
 *   zeros beyond the milliseconds are fine.
 * - Other date formats only when declared; the field's `formats` replace the namespace's
 *   `dateFormats`. Day-first vs month-first is never guessed: an undeclared `01/02/2024` is
 *   refused, and with both slash formats declared a value readable as two different dates is
 *   refused too. Declared formats give a date (midnight UTC for datetimes). `"relative"` accepts
 *   today, yesterday, tomorrow, now, `N <unit>s ago`, `in N <unit>s` (seconds to years, UTC;
 *   months clamp to the month's end).
 * - `time`: `H:MM[:SS[.f…]]` → `"HH:MM:SS[.f…]"`, fraction kept as given.
 * - `guid`: 8-4-4-4-12 hex, optionally in braces → lowercase without braces.
 * - `json`: plain objects, arrays, strings, finite numbers, booleans, null; deep-copied. What would
 *   not round-trip (functions, bigints, NaN, class instances incl. `Date`, cycles) is refused.
 * - `binary`: `Uint8Array` (as is), other views and `ArrayBuffer` (copied), base64/base64url text.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import type { DateInputFormat, FieldMetadata, FieldType } from "./schema.ts";

/** The outcome of {@linkcode coerceValue}. */
export type CoerceResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: string; suggestion: string };

/** Options of {@linkcode coerceValue}. */
export interface CoerceOptions {
  /** Extra date formats of the namespace; a field's own `formats` replace them. */
  readonly dateFormats?: readonly DateInputFormat[];
  /** The clock for relative dates. @default {() => new Date()} */
  readonly now?: () => Date;
}

type Failure = { ok: false; reason: string; suggestion: string };

const ok = (value: unknown): CoerceResult => ({ ok: true, value });
const fail = (reason: string, suggestion: string): Failure => ({ ok: false, reason, suggestion });
/** A failure whose reason starts with the described value. */
const bad = (value: unknown, what: string, suggestion: string): Failure =>
  fail(`${describeValue(value)} ${what}`, suggestion);

const HINTS: Readonly<Record<FieldType, string>> = {
  string: `Pass a string such as "Chai".`,
  integer: `Pass a whole number such as 42 (digit strings like "42" work too).`,
  number: `Pass a finite number such as 18.5 (numeric strings like "18.5" work too).`,
  decimal: `Pass the exact digits as a string such as "18.50" (numbers work too).`,
  boolean: `Pass true or false (also accepted: 1/0 and the strings "true"/"false").`,
  date: `Pass an ISO date such as "2024-01-31" (a Date or epoch milliseconds work too).`,
  datetime: `Pass an ISO date-time with an offset such as "2024-01-31T10:00:00Z" or ` +
    `"2024-01-31T10:00:00+02:00" (a Date or epoch milliseconds work too).`,
  time: `Pass a time of day such as "10:30:00" or "10:30:00.250".`,
  guid: `Pass a GUID such as "0f8fad5b-d9cb-469f-a165-70867728950e" (see crypto.randomUUID()).`,
  json: `Pass plain objects, arrays, strings, finite numbers, booleans and null, e.g. ` +
    `{ "tags": ["a"] } (convert dates with toISOString() and bigints with String()).`,
  binary: `Pass a Uint8Array such as new Uint8Array([1, 2, 3]) or base64 text such as "AQID".`,
};

/**
 * What a valid value of a field type looks like, with an example, for suggestions.
 *
 * @example
 * ```ts
 * import { typeHint } from "./coerce.ts";
 * typeHint("integer"); // 'Pass a whole number such as 42 (digit strings like "42" work too).'
 * ```
 */
export function typeHint(type: FieldType): string {
  return HINTS[type];
}

/** A failure "expected <what>, got <value>" with the type's hint. */
const expected = (type: FieldType, what: string, value: unknown): Failure =>
  fail(`expected ${what}, got ${describeValue(value)}`, HINTS[type]);

/**
 * A short description of a value for messages: strings quoted and cut at 40 characters, never
 * the content of objects or binary data.
 *
 * @example
 * ```ts
 * import { describeValue } from "./coerce.ts";
 * describeValue("abc"); // '"abc"'
 * describeValue([1]); // "an array"
 * ```
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function" || typeof value === "symbol") return `a ${typeof value}`;
  if (typeof value !== "object" || value === null) return String(value);
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "an invalid Date" : `the Date ${value.toISOString()}`;
  }
  if (Array.isArray(value)) return "an array";
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? "binary data" : "an object";
}

type Coercer = (field: FieldMetadata, value: unknown, options: CoerceOptions) => CoerceResult;

/**
 * Converts user input to the canonical value of `field`'s type, or explains why it cannot.
 * `null` and `undefined` are the caller's business (see `validateRecord`). `maxLength`,
 * `precision` and `scale` are enforced here; `enum` and `validate` are not.
 *
 * @example
 * ```ts
 * import { coerceValue, type FieldMetadata } from "@oar/odata-active-record";
 * declare const price: FieldMetadata; // { type: "decimal", scale: 2, ... }
 * coerceValue(price, "018.5"); // { ok: true, value: "18.50" }
 * coerceValue(price, "18.555"); // { ok: false, reason: "...", suggestion: "..." }
 * ```
 */
export function coerceValue(
  field: FieldMetadata,
  value: unknown,
  options: CoerceOptions = {},
): CoerceResult {
  return COERCERS[field.type](field, value, options);
}

function coerceString(field: FieldMetadata, value: unknown): CoerceResult {
  if (typeof value !== "string") {
    const failure = expected("string", "text", value);
    const scalar = ["number", "boolean", "bigint"].includes(typeof value);
    return scalar ? { ...failure, suggestion: `Pass it as text: "${String(value)}".` } : failure;
  }
  const max = field.definition.maxLength;
  // Code points, not UTF-16 units: what databases count as characters (never more than units).
  if (max === undefined || value.length <= max) return ok(value);
  const length = [...value].length;
  if (max !== undefined && length > max) {
    const what = `is ${length} characters long; at most ${max} are allowed`;
    return bad(value, what, `Shorten it to ${max} characters or fewer.`);
  }
  return ok(value);
}

function coerceInteger(_field: FieldMetadata, value: unknown): CoerceResult {
  let n: number | undefined;
  if (typeof value === "number") n = value;
  else if (typeof value === "bigint") n = Number(value);
  else if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) n = Number(value);
  if (n === undefined || !Number.isInteger(n)) {
    return expected("integer", "an integer", value);
  }
  if (!Number.isSafeInteger(n)) {
    const what = `is outside the safe integer range ±${Number.MAX_SAFE_INTEGER}`;
    return bad(value, what, "Use a decimal field (exact digits as text) for values this large.");
  }
  return ok(n === 0 ? 0 : n); // -0 would not survive storage
}

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function coerceNumber(_field: FieldMetadata, value: unknown): CoerceResult {
  const hint = HINTS.number;
  let n: number | undefined;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && NUMERIC.test(value.trim())) n = Number(value);
  else if (typeof value === "bigint") {
    n = Number(value);
    if (BigInt(n) !== value) return bad(value, "cannot be held exactly by a number", hint);
  }
  if (n === undefined) return expected("number", "a number", value);
  if (!Number.isFinite(n)) return bad(value, "is not a finite number", hint);
  return ok(n === 0 ? 0 : n);
}

/** A decimal as sign and digit strings (integer part without leading zeros). */
type DecimalParts = { negative: boolean; int: string; frac: string };

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

function parseDecimal(text: string): DecimalParts | undefined {
  const match = DECIMAL.exec(text.trim());
  if (!match) return undefined;
  const [, sign = "", int = "", frac = "", exponent = "0"] = match;
  if (int === "" && frac === "") return undefined;
  const digits = int + frac;
  // Shifting the point within the digit string keeps exponents exact.
  const point = int.length + Number(exponent);
  if (Math.abs(point) > 1000) return undefined;
  let [i, f] = [digits.slice(0, Math.max(point, 0)), digits.slice(Math.max(point, 0))];
  if (point < 0) f = "0".repeat(-point) + digits;
  else if (point > digits.length) i = digits + "0".repeat(point - digits.length);
  return { negative: sign === "-" && /[1-9]/.test(digits), int: i.replace(/^0+/, ""), frac: f };
}

function renderDecimal(parts: DecimalParts): string {
  return `${parts.negative ? "-" : ""}${parts.int || "0"}${parts.frac ? `.${parts.frac}` : ""}`;
}

/** Pads or trims `frac` to `scale` digits; `undefined` when a non-zero digit would be lost. */
function applyScale(parts: DecimalParts, scale: number): DecimalParts | undefined {
  if (/[1-9]/.test(parts.frac.slice(scale))) return undefined;
  return { ...parts, frac: parts.frac.slice(0, scale).padEnd(scale, "0") };
}

/** Rounds half away from zero to `scale` digits, only to show a valid example. */
function roundForExample(parts: DecimalParts, scale: number): string {
  const up = (parts.frac[scale] ?? "0") >= "5" ? 1n : 0n;
  const digits = String(BigInt(parts.int + parts.frac.slice(0, scale) || "0") + up)
    .padStart(scale + 1, "0");
  const split = digits.length - scale;
  const int = digits.slice(0, split).replace(/^0+/, "");
  return renderDecimal({ negative: parts.negative, int, frac: digits.slice(split) });
}

/** Decimal text that is canonical already when it has the declared scale: `-12.50`, `0.5`. */
const PLAIN_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

function coerceDecimal(field: FieldMetadata, value: unknown): CoerceResult {
  if (typeof value === "string" && PLAIN_DECIMAL.test(value)) {
    // The common case (bulk writes of canonical values) without taking the text apart.
    const { precision, scale } = field.definition;
    const dot = value.indexOf(".");
    const fraction = dot < 0 ? 0 : value.length - dot - 1;
    const negative = value.charCodeAt(0) === 45;
    const integer = (dot < 0 ? value.length : dot) - (negative ? 1 : 0);
    if (
      (scale === undefined ? precision === undefined : fraction === scale) &&
      (precision === undefined || integer + (scale ?? 0) <= precision) &&
      !(negative && /^-0(?:\.0*)?$/.test(value)) // "-0.00" is "0.00"
    ) {
      return ok(value);
    }
  }
  const finite = typeof value === "number" && Number.isFinite(value);
  const text = typeof value === "string" || typeof value === "bigint" || finite
    ? String(value)
    : undefined;
  let parts = text === undefined ? undefined : parseDecimal(text);
  if (parts === undefined) return expected("decimal", "a decimal number", value);
  const { precision, scale } = field.definition;
  if (scale !== undefined) {
    const scaled = applyScale(parts, scale);
    if (scaled === undefined) {
      return bad(
        value,
        `has ${parts.frac.length} decimal places; at most ${scale} are allowed`,
        `Round it to ${scale} decimal place(s) first, e.g. "${roundForExample(parts, scale)}"` +
          " (values are never rounded silently).",
      );
    }
    parts = scaled;
  }
  if (precision !== undefined) {
    const maxInt = precision - (scale ?? 0);
    const significant = parts.int.length + parts.frac.replace(/0+$/, "").length;
    const suggestion = `Pass a smaller value such as "${"9".repeat(Math.max(1, maxInt))}".`;
    const what = scale === undefined
      ? `has ${significant} significant digits; at most ${precision} are allowed`
      : `has ${parts.int.length} digits before the decimal point; at most ${maxInt} are ` +
        `allowed (precision ${precision}, scale ${scale})`;
    if (scale === undefined ? significant > precision : parts.int.length > maxInt) {
      return bad(value, what, suggestion);
    }
  }
  return ok(renderDecimal(parts));
}

/**
 * Normalises a decimal literal (sign, leading zeros, exponent) to exactly `scale` decimals, for
 * providers that read decimals back as numbers or loose text. Throws `INVALID_ARGUMENT` when the
 * text is not a decimal or when reaching `scale` would need rounding.
 *
 * @example
 * ```ts
 * import { formatDecimal } from "@oar/odata-active-record";
 * formatDecimal("018.5", 2); // "18.50"
 * formatDecimal("1.5e2", 0); // "150"
 * ```
 */
export function formatDecimal(text: string, scale: number): string {
  const parts = parseDecimal(text);
  const scaled = parts && applyScale(parts, scale);
  if (scaled === undefined) {
    const what = parts ? `has more than ${scale} decimal places` : "is not a decimal number";
    throw new ODataActiveRecordError("INVALID_ARGUMENT", `${describeValue(text)} ${what}`, {
      context: { text, scale },
      suggestion: `Pass a decimal such as "18.50".`,
    });
  }
  return renderDecimal(scaled);
}

function coerceBoolean(_field: FieldMetadata, value: unknown): CoerceResult {
  if (typeof value === "boolean") return ok(value);
  if (value === 0 || value === 1) return ok(value === 1);
  const word = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  if (word === "true" || word === "false") return ok(word === "true");
  return expected("boolean", "a boolean", value);
}

// ---------------------------------------------------------------------------------------------
// Dates and times

const DAY_MS = 86_400_000;
type DateParts = { y: number; m: number; d: number };

function daysInMonth(y: number, m: number): number {
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return m === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
}

function isRealDate({ y, m, d }: DateParts): boolean {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

/** Epoch ms of a UTC date and time; unlike `Date.UTC`, years 0–99 are not mapped to 19xx. */
function utcMs({ y, m, d }: DateParts, timeMs = 0): number {
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  return date.getTime() + timeMs;
}

function partsOf(ms: number): DateParts {
  const date = new Date(ms);
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
const isoDate = ({ y, m, d }: DateParts): string => `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
const timeOfDay = (ms: number): number => ((ms % DAY_MS) + DAY_MS) % DAY_MS;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

const DECLARED: Readonly<Record<string, { pattern: RegExp; dayFirst: boolean }>> = {
  "MM/DD/YYYY": { pattern: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, dayFirst: false },
  "DD/MM/YYYY": { pattern: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, dayFirst: true },
  "DD-MM-YYYY": { pattern: /^(\d{1,2})-(\d{1,2})-(\d{4})$/, dayFirst: true },
  "DD.MM.YYYY": { pattern: /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/, dayFirst: true },
};

const NUMERIC_DATE = /^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}$/;
const UNITS = "second|minute|hour|day|week|month|year";
const RELATIVE = new RegExp(
  `^(?:(today|yesterday|tomorrow|now)|(\\d{1,6}|an?) (${UNITS})s? ago|in (\\d{1,6}|an?) (${UNITS})s?)$`,
);
const RELATIVE_LOOK = new RegExp(`^(?:today|yesterday|tomorrow|now|.*\\b(?:${UNITS})s?\\b.*)$`);
const UNIT_MS: Record<string, number> = { second: 1e3, minute: 6e4, hour: 36e5, day: DAY_MS };

/** Adds calendar months in UTC, clamping the day (31 January + 1 month = 29 February 2024). */
function addMonths(ms: number, months: number): number {
  const { y, m, d } = partsOf(ms);
  const total = y * 12 + (m - 1) + months;
  const target = { y: Math.floor(total / 12), m: (total % 12) + 1, d: 1 };
  target.d = Math.min(d, daysInMonth(target.y, target.m));
  return utcMs(target, timeOfDay(ms));
}

function relativeMs(text: string, now: Date): number | undefined {
  const match = RELATIVE.exec(text);
  if (!match) return undefined;
  const base = now.getTime();
  const [, word, agoCount, agoUnit, inCount, inUnit] = match;
  const midnight = base - timeOfDay(base);
  if (word === "now") return base;
  if (word !== undefined) {
    return midnight + DAY_MS * ["yesterday", "today", "tomorrow"].indexOf(word) - DAY_MS;
  }
  const count = agoCount ?? inCount!;
  const amount = (count === "a" || count === "an" ? 1 : Number(count)) * (agoUnit ? -1 : 1);
  const unit = (agoUnit ?? inUnit)!;
  if (unit === "month" || unit === "year") {
    return addMonths(base, amount * (unit === "year" ? 12 : 1));
  }
  return base + amount * (unit === "week" ? 7 * DAY_MS : UNIT_MS[unit]!);
}

/** Reads `text` with the declared day/month formats; never picks between two valid readings. */
function parseDeclared(
  text: string,
  formats: readonly DateInputFormat[],
): DateParts | Failure | undefined {
  const readings: { format: string; parts: DateParts }[] = [];
  for (const format of formats) {
    const spec = DECLARED[format];
    const match = spec?.pattern.exec(text);
    if (!spec || !match) continue;
    const [a, b, y] = [Number(match[1]), Number(match[2]), Number(match[3])];
    readings.push({ format, parts: spec.dayFirst ? { y, m: b, d: a } : { y, m: a, d: b } });
  }
  if (readings.length === 0) return undefined;
  const valid = readings.filter((r) => isRealDate(r.parts));
  const distinct = new Map(valid.map((r) => [isoDate(r.parts), r.format]));
  if (distinct.size === 1) return valid[0]!.parts;
  const example = valid.length > 0 ? isoDate(valid[0]!.parts) : "2024-01-31";
  if (distinct.size > 1) {
    const both = [...distinct].map(([iso, format]) => `${iso} (${format})`).join(" or ");
    return bad(
      text,
      `is ambiguous: it reads as ${both}, and both formats are declared`,
      `Pass an ISO date such as "${example}", or declare only one of these formats.`,
    );
  }
  return bad(
    text,
    `is not a real calendar date (read as ${readings.map((r) => r.format).join(" / ")})`,
    `Check the day and month (February has 28 days, 29 in leap years).`,
  );
}

function coerceTemporal(
  field: FieldMetadata,
  value: unknown,
  options: CoerceOptions,
): CoerceResult {
  const isDate = field.type === "date";
  const kind = isDate ? "date" : "date-time";
  const suggestion = HINTS[field.type];
  const done = (ms: number): CoerceResult => {
    if (!(Math.abs(ms) <= 8.64e15) || !isRealDate(partsOf(ms))) {
      return bad(value, "is outside the years 0001–9999", suggestion);
    }
    return ok(isDate ? isoDate(partsOf(ms)) : new Date(ms));
  };
  if (value instanceof Date) {
    const ms = value.getTime();
    // Years 0001..9999 (the common case: no calendar parts needed).
    if (!isDate && ms >= -62135596800000 && ms <= 253402300799999) return ok(new Date(ms));
    return Number.isNaN(ms)
      ? fail("expected a valid Date, got an invalid one", suggestion)
      : done(ms);
  }
  if (typeof value === "number" && Number.isInteger(value)) return done(value); // epoch ms
  if (typeof value !== "string") return expected(field.type, `a ${kind}`, value);
  const text = value.trim();
  const iso = ISO.exec(text);
  if (iso) return isoDateTime(iso, value, isDate, suggestion, done);

  const formats = field.definition.formats ?? options.dateFormats ?? [];
  const declared = parseDeclared(text, formats);
  if (declared !== undefined) return "ok" in declared ? declared : done(utcMs(declared));
  const spoken = text.toLowerCase().replace(/\s+/g, " ");
  const relative = formats.includes("relative");
  const ms = relative ? relativeMs(spoken, options.now?.() ?? new Date()) : undefined;
  if (ms !== undefined) return done(ms);
  if (NUMERIC_DATE.test(text)) {
    if (/^\d{4}/.test(text)) return bad(value, "is not an ISO date (YYYY-MM-DD)", suggestion);
    return bad(
      value,
      "is ambiguous: day-first or month-first is never guessed",
      `Pass an ISO date such as "2024-01-31", or declare the format on the field ` +
        `(formats: ["DD/MM/YYYY"] or ["MM/DD/YYYY"]) or on the namespace (dateFormats).`,
    );
  }
  if (RELATIVE_LOOK.test(spoken)) {
    const how = `Use today, yesterday, tomorrow, now, "3 days ago" or "in 2 weeks"`;
    const declare = `Declare formats: ["relative"] on the field (or dateFormats on the namespace)`;
    const what = relative ? "is not a relative date this field understands" : "is a relative date";
    const otherwise = `or p${suggestion.slice(1)}`; // "Pass …" → "or pass …"
    return bad(value, what, `${relative ? how : declare}, ${otherwise}`);
  }
  return bad(value, `is not a recognised ${kind}`, suggestion);
}

function isoDateTime(
  match: RegExpExecArray,
  value: unknown,
  isDate: boolean,
  suggestion: string,
  done: (ms: number) => CoerceResult,
): CoerceResult {
  const [, y, mo, d, h, mi, s = "0", fraction = "", offset] = match;
  const parts = { y: Number(y), m: Number(mo), d: Number(d) };
  const [hours, minutes, seconds] = [Number(h), Number(mi), Number(s)];
  if (!isRealDate(parts)) return bad(value, "is not a real calendar date", suggestion);
  if (h === undefined) return done(utcMs(parts)); // a date alone: midnight UTC
  if (hours > 23 || minutes > 59 || seconds > 59) {
    return bad(value, "has an impossible time of day", suggestion);
  }
  if (isDate) {
    // The date is kept as written; a time other than midnight means the wrong field type.
    if (hours + minutes + seconds > 0 || /[1-9]/.test(fraction)) {
      const only = `Pass only the date, "${isoDate(parts)}", or declare the field as a datetime.`;
      return bad(value, "has a time of day, but this is a date field", only);
    }
    return done(utcMs(parts));
  }
  if (offset === undefined) {
    const base = `${y}-${mo}-${d}T${h}:${mi}:${pad(seconds)}`;
    return bad(
      value,
      "has no time zone offset, which OData requires",
      `Add Z for UTC ("${base}Z") or the offset it was written in ("${base}+02:00").`,
    );
  }
  let offsetMinutes = 0;
  if (offset !== "Z" && offset !== "z") {
    const digits = offset.replace(":", "");
    const [oh, om] = [Number(digits.slice(1, 3)), Number(digits.slice(3))];
    if (oh > 23 || om > 59) return bad(value, "has an impossible offset", suggestion);
    offsetMinutes = (offset[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  if (/[1-9]/.test(fraction.slice(3))) {
    return bad(
      value,
      `has digits below the millisecond (.${fraction}), which a datetime cannot keep`,
      `Round it to milliseconds (".${fraction.slice(0, 3)}"), or keep the exact text in a ` +
        "string field.",
    );
  }
  const ms = Number(fraction.padEnd(3, "0").slice(0, 3)); // Date holds milliseconds only
  return done(utcMs(parts, ((hours * 60 + minutes - offsetMinutes) * 60 + seconds) * 1000 + ms));
}

const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?$/;

function coerceTime(_field: FieldMetadata, value: unknown): CoerceResult {
  const match = typeof value === "string" ? TIME.exec(value.trim()) : null;
  if (!match) return expected("time", "a time of day HH:MM[:SS[.fff]]", value);
  const [, h, m, s = "00", fraction] = match;
  if (Number(h) > 23 || Number(m) > 59 || Number(s) > 59) {
    return bad(value, "is not a valid time of day (00:00:00–23:59:59)", HINTS.time);
  }
  return ok(`${pad(Number(h))}:${m}:${s}${fraction === undefined ? "" : `.${fraction}`}`);
}

const GUID_TEXT = "[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}";
const GUID = new RegExp(`^(?:\\{(${GUID_TEXT})\\}|(${GUID_TEXT}))$`, "i");

function coerceGuid(_field: FieldMetadata, value: unknown): CoerceResult {
  const match = typeof value === "string" ? GUID.exec(value.trim()) : null;
  if (match) return ok((match[1] ?? match[2])!.toLowerCase());
  return expected("guid", "a GUID (8-4-4-4-12 hexadecimal digits)", value);
}

const MAX_JSON_DEPTH = 512;

function coerceJson(_field: FieldMetadata, value: unknown): CoerceResult {
  const ancestors: object[] = [];
  let problem: string | undefined;
  const refuse = (path: string, why: string): undefined => {
    problem ??= `${path === "" ? "the value" : path.replace(/^\./, "")} ${why}`;
    return undefined;
  };
  const copy = (item: unknown, path: string, depth: number): unknown => {
    if (problem !== undefined) return undefined;
    if (item === null || typeof item === "string" || typeof item === "boolean") return item;
    if (typeof item === "number" && Number.isFinite(item)) return item;
    if (typeof item !== "object") return refuse(path, `is ${describeValue(item)}, not JSON`);
    if (ancestors.includes(item)) return refuse(path, "refers back to itself (a cycle)");
    if (depth > MAX_JSON_DEPTH) return refuse(path, `is nested over ${MAX_JSON_DEPTH} levels deep`);
    const proto = Object.getPrototypeOf(item);
    if (!Array.isArray(item) && proto !== Object.prototype && proto !== null) {
      const what = item instanceof Date ? "a Date" : "not a plain object";
      return refuse(path, `is ${what}, which would not round-trip through JSON`);
    }
    ancestors.push(item);
    let result: unknown;
    if (Array.isArray(item)) {
      result = item.map((element, i) =>
        element === undefined
          ? refuse(`${path}[${i}]`, "is undefined, not JSON")
          : copy(element, `${path}[${i}]`, depth + 1)
      );
    } else {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(item)) {
        // Like JSON.stringify, undefined properties are left out rather than refused.
        if (child !== undefined) out[key] = copy(child, `${path}.${key}`, depth + 1);
      }
      result = out;
    }
    ancestors.pop();
    return result;
  };
  const result = copy(value, "", 0);
  return problem === undefined ? ok(result) : fail(problem, HINTS.json);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function coerceBinary(_field: FieldMetadata, value: unknown): CoerceResult {
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return ok(value);
  if (value instanceof ArrayBuffer) return ok(new Uint8Array(value.slice(0)));
  if (ArrayBuffer.isView(value)) {
    // Copies the viewed bytes only, and turns subclasses such as Node's Buffer into Uint8Array.
    const { buffer, byteOffset, byteLength } = value;
    return ok(new Uint8Array(buffer.slice(byteOffset, byteOffset + byteLength)));
  }
  if (typeof value !== "string") return expected("binary", "binary data", value);
  const text = value.trim();
  const body = text.replace(/=+$/, "");
  const padded = text.length !== body.length;
  if (!BASE64.test(text) || body.length % 4 === 1 || (padded && text.length % 4 !== 0)) {
    return expected("binary", "base64 text", value);
  }
  const standard = body.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
  return ok(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

const COERCERS: Readonly<Record<FieldType, Coercer>> = {
  string: coerceString,
  integer: coerceInteger,
  number: coerceNumber,
  decimal: coerceDecimal,
  boolean: coerceBoolean,
  date: coerceTemporal,
  datetime: coerceTemporal,
  time: coerceTime,
  guid: coerceGuid,
  json: coerceJson,
  binary: coerceBinary,
};
