/**
 * Canonical values ↔ SQLite storage. Every value that reaches SQLite passes `encodeValue` (rows)
 * or `encodeLiteral` (query literals), and every value read back passes `decodeValue`, so the
 * storage forms below hold everywhere:
 *
 * | field type | column type | stored as                                                   |
 * | ---------- | ----------- | ----------------------------------------------------------- |
 * | string     | TEXT        | the string                                                  |
 * | integer    | INTEGER     | 64-bit integer (bound as `bigint`, so arithmetic stays integer) |
 * | number     | REAL        | double                                                      |
 * | decimal    | REAL        | double (REAL, not NUMERIC: NUMERIC affinity would store `7.0` as the integer 7 and make `div` an integer division) |
 * | boolean    | INTEGER     | 0 / 1                                                       |
 * | date       | TEXT        | `YYYY-MM-DD`                                                |
 * | datetime   | TEXT        | `YYYY-MM-DDTHH:MM:SS.sssZ` in UTC, fixed width: text order is time order |
 * | time       | TEXT        | `HH:MM:SS.sss`, fixed width for the same reason             |
 * | guid       | TEXT        | lowercase                                                   |
 * | json       | TEXT        | `JSON.stringify` text                                       |
 * | binary     | BLOB        | bytes                                                       |
 *
 * Precision: datetimes and times keep milliseconds; a literal with non-zero digits below the
 * millisecond is refused (NOT_SUPPORTED) rather than rounded into a wrong comparison. Decimals
 * are doubles, exact up to 15 significant digits (`decimals.ts`): the provider refuses to write
 * a longer one, and a decimal literal met by a decimal value is refused (NOT_SUPPORTED) rather
 * than compared as a nearby float. Computed decimals (sums, arithmetic) are exact and may come
 * back as decimal TEXT beyond 15 digits (`exact.ts`); decoding keeps every digit.
 *
 * @module
 */

import type { LiteralNode, LiteralType } from "../../src/odata/ast.ts";
import type { FieldType } from "../../src/model/schema.ts";
import { NotSupportedError, ODataActiveRecordError } from "../../src/errors/errors.ts";
import { DECIMAL_LIMIT_REASON, decimalText as formatDecimal, isExactDecimal } from "./decimals.ts";
import { exactDecimalText } from "./exact.ts";

/**
 * A value SQLite accepts as a parameter and returns in rows (`node:sqlite` cannot bind booleans
 * or `undefined`).
 *
 * @example
 * ```ts
 * import type { SqlValue } from "./values.ts";
 * const params: SqlValue[] = [1n, "x", null];
 * ```
 */
export type SqlValue = null | number | bigint | string | Uint8Array;

/**
 * What encoding and decoding need to know about a field; `FieldMetadata` fits.
 *
 * @example
 * ```ts
 * import type { ValueField } from "./values.ts";
 * const price: ValueField = { type: "decimal", definition: { scale: 2 } };
 * ```
 */
export interface ValueField {
  /** The field type. */
  readonly type: FieldType;
  /** Used in error messages. */
  readonly name?: string;
  /** `scale` fixes the digits after the point of decoded decimals. */
  readonly definition?: { readonly scale?: number };
}

/** The type of an encoded query value: a field type, or `"null"` for the null literal. */
export type EncodedType = FieldType | "null";

/**
 * A literal ready to bind.
 *
 * @example
 * ```ts
 * import type { EncodedLiteral } from "./values.ts";
 * const literal: EncodedLiteral = { value: 1n, type: "integer" };
 * ```
 */
export interface EncodedLiteral {
  /** The parameter value. */
  readonly value: SqlValue;
  /** The type it has in the query. */
  readonly type: EncodedType;
}

const STORE_TYPES: Readonly<Record<FieldType, string>> = Object.freeze({
  string: "TEXT",
  integer: "INTEGER",
  number: "REAL",
  decimal: "REAL",
  boolean: "INTEGER",
  date: "TEXT",
  datetime: "TEXT",
  time: "TEXT",
  guid: "TEXT",
  json: "TEXT",
  binary: "BLOB",
});

/**
 * The declared column type for a field type, as used by CREATE TABLE and drift checks.
 *
 * @example
 * ```ts
 * import { storeTypeOf } from "./values.ts";
 * storeTypeOf("decimal"); // "REAL"
 * ```
 */
export function storeTypeOf(type: FieldType): string {
  return STORE_TYPES[type];
}

/** The earliest and latest datetimes the fixed-width storage form can hold. */
export const MIN_DATETIME = "0001-01-01T00:00:00.000Z";
/** See {@linkcode MIN_DATETIME}. */
export const MAX_DATETIME = "9999-12-31T23:59:59.999Z";

function mismatch(field: ValueField, value: unknown, expected: string): ODataActiveRecordError {
  const shown = value instanceof Uint8Array ? "binary data" : safeText(value);
  const name = field.name === undefined ? "" : ` for ${field.name}`;
  return new ODataActiveRecordError(
    "TYPE_MISMATCH",
    `Expected ${expected}${name} (a ${field.type} field), got ${shown}`,
    { context: { field: field.name, type: field.type } },
  );
}

function safeText(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  }
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date) {
    return `Date(${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()})`;
  }
  if (typeof value === "object" && value !== null) {
    return Array.isArray(value) ? "an array" : "an object";
  }
  return String(value);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInteger(field: ValueField, value: unknown): bigint {
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "bigint" && value >= INT64_MIN && value <= INT64_MAX) return value;
  throw mismatch(field, value, "an integer within 64 bits");
}

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const PLAIN_DECIMAL_TEXT = /^-?\d+(?:\.\d+)?$/;

function toDecimalNumber(field: ValueField, value: unknown): number {
  if (typeof value === "string" && PLAIN_DECIMAL_TEXT.test(value)) return Number(value);
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && DECIMAL_TEXT.test(value.trim())) return Number(value);
  throw mismatch(field, value, "a decimal (digits as text or a finite number)");
}

// --- dates and times ------------------------------------------------------------------------

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}:\d{2})?$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/;

function validDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // days of `month` in a leap year
  if (day > days) return false;
  return !(month === 2 && day === 29 &&
    !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
}

/** Milliseconds of a fraction text; non-zero digits below the millisecond are refused. */
function milliseconds(fraction: string | undefined): number {
  if (fraction === undefined) return 0;
  if (/[1-9]/.test(fraction.slice(3))) {
    throw new NotSupportedError("time values with sub-millisecond precision", "sqlite", {
      suggestion: "Round the value to milliseconds; the store keeps milliseconds.",
    });
  }
  return Number(fraction.slice(0, 3).padEnd(3, "0"));
}

/** Parses `YYYY-MM-DD` (validated) or returns `undefined`. */
function parseDate(text: string): string | undefined {
  const m = DATE.exec(text);
  if (m === null) return undefined;
  return validDay(Number(m[1]), Number(m[2]), Number(m[3])) ? text : undefined;
}

/** Formats a Date into the datetime storage form, or `undefined` when out of range/invalid. */
function formatDatetime(date: Date): string | undefined {
  const ms = date.getTime();
  if (Number.isNaN(ms)) return undefined;
  const text = date.toISOString();
  return text.length === 24 && text >= MIN_DATETIME && text <= MAX_DATETIME ? text : undefined;
}

/**
 * Parses an ISO 8601 datetime with optional offset (none = UTC) into the storage form, or
 * `undefined` when it is not one.
 */
function parseDatetime(text: string): string | undefined {
  const m = DATETIME.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (!validDay(year!, month!, day!) || hour! > 23 || minute! > 59 || second > 59) return undefined;
  const offset = m[8] === undefined || m[8].toUpperCase() === "Z"
    ? 0
    : (m[8][0] === "-" ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  date.setUTCHours(hour!, minute! - offset, second, milliseconds(m[7]));
  return formatDatetime(date);
}

/** Parses `HH:MM[:SS[.f]]` into `HH:MM:SS.sss`, or `undefined`. */
function parseTime(text: string): string | undefined {
  const m = TIME.exec(text);
  if (m === null) return undefined;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = m[3] === undefined ? 0 : Number(m[3]);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = milliseconds(m[4]);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(hour)}:${two(minute)}:${two(second)}.${String(ms).padStart(3, "0")}`;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function decodeBase64(text: string): Uint8Array | undefined {
  const normal = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(normal) || normal.length % 4 === 1) return undefined;
  const binary = atob(normal.padEnd(Math.ceil(normal.length / 4) * 4, "="));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

// --- encoding rows --------------------------------------------------------------------------

type Encoder = (field: ValueField, value: unknown) => SqlValue;

const ENCODERS: Readonly<Record<FieldType, Encoder>> = {
  string: (field, value) => {
    if (typeof value === "string") return value;
    throw mismatch(field, value, "a string");
  },
  integer: toInteger,
  number: (field, value) => {
    // NaN would silently become NULL in SQLite; the infinities round-trip.
    if (typeof value === "number" && !Number.isNaN(value)) return value;
    if (typeof value === "bigint") return Number(value);
    throw mismatch(field, value, "a number");
  },
  decimal: toDecimalNumber,
  boolean: (field, value) => {
    if (typeof value === "boolean") return value ? 1n : 0n;
    throw mismatch(field, value, "true or false");
  },
  date: (field, value) => {
    const text = typeof value === "string" ? parseDate(value) : undefined;
    if (text !== undefined) return text;
    throw mismatch(field, value, "a date YYYY-MM-DD");
  },
  datetime: (field, value) => {
    const text = value instanceof Date
      ? formatDatetime(value)
      : typeof value === "string"
      ? parseDatetime(value) ??
        (parseDate(value) === undefined ? undefined : `${value}T00:00:00.000Z`)
      : typeof value === "number"
      ? formatDatetime(new Date(value))
      : undefined;
    if (text !== undefined) return text;
    throw mismatch(field, value, "a Date (or ISO 8601 text) between years 0001 and 9999");
  },
  time: (field, value) => {
    const text = typeof value === "string" ? parseTime(value) : undefined;
    if (text !== undefined) return text;
    throw mismatch(field, value, "a time HH:MM:SS[.fff]");
  },
  guid: (field, value) => {
    if (typeof value === "string" && GUID.test(value)) return value.toLowerCase();
    throw mismatch(field, value, "a GUID");
  },
  json: (field, value) => {
    const text = JSON.stringify(value);
    if (typeof text === "string") return text;
    throw mismatch(field, value, "a JSON-serialisable value");
  },
  binary: (field, value) => {
    if (value instanceof Uint8Array) return value;
    throw mismatch(field, value, "a Uint8Array");
  },
};

/**
 * Encodes a canonical value for storage; `null`/`undefined` become SQL NULL. Throws a
 * `TYPE_MISMATCH` error for a value of the wrong kind.
 *
 * @example
 * ```ts
 * import { encodeValue } from "./values.ts";
 * encodeValue({ type: "datetime" }, new Date("2024-01-01T10:00:00+02:00")); // "2024-01-01T08:00:00.000Z"
 * encodeValue({ type: "boolean" }, true); // 1n
 * ```
 */
export function encodeValue(field: ValueField, canonical: unknown): SqlValue {
  if (canonical === null || canonical === undefined) return null;
  return ENCODERS[field.type](field, canonical);
}

/**
 * {@linkcode encodeValue} for one field, its encoder looked up once (bulk writes).
 *
 * @example
 * ```ts
 * import { fieldEncoder } from "./values.ts";
 * fieldEncoder({ type: "boolean" })(false); // 0n
 * ```
 */
export function fieldEncoder(field: ValueField): (canonical: unknown) => SqlValue {
  const encode = ENCODERS[field.type];
  return (canonical) =>
    canonical === null || canonical === undefined ? null : encode(field, canonical);
}

// --- decoding rows --------------------------------------------------------------------------

type Decoder = (field: ValueField, stored: SqlValue) => unknown;

/**
 * Decimal text of a stored float, without exponent: its shortest round-trip text padded (or
 * rounded) to `scale` fraction digits when a scale is declared. See `decimals.ts`.
 *
 * @example
 * ```ts
 * import { decimalText } from "./values.ts";
 * decimalText(1.5, 2); // "1.50"
 * ```
 */
export const decimalText: (value: number, scale: number | undefined) => string = formatDecimal;

function asNumber(field: ValueField, stored: SqlValue): number {
  if (typeof stored === "number") return stored;
  if (typeof stored === "bigint") return Number(stored);
  if (typeof stored === "string" && DECIMAL_TEXT.test(stored.trim())) return Number(stored);
  throw mismatch(field, stored, "a stored number");
}

const DECODERS: Readonly<Record<FieldType, Decoder>> = {
  string: (_field, stored) =>
    stored instanceof Uint8Array ? new TextDecoder().decode(stored) : String(stored),
  integer: (field, stored) => {
    if (typeof stored === "bigint") {
      return stored >= BigInt(Number.MIN_SAFE_INTEGER) && stored <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(stored)
        : stored; // not representable as a number: keep it exact
    }
    return asNumber(field, stored);
  },
  number: asNumber,
  decimal: (field, stored) => {
    // Computed decimals beyond 15 digits arrive as exact TEXT (`exact.ts`): never via a float.
    if (typeof stored === "string") {
      const text = exactDecimalText(stored, field.definition?.scale);
      if (text !== undefined) return text;
    }
    return decimalText(asNumber(field, stored), field.definition?.scale);
  },
  boolean: (field, stored) => {
    if (stored === 1 || stored === 1n) return true;
    if (stored === 0 || stored === 0n) return false;
    throw mismatch(field, stored, "a stored 0 or 1");
  },
  date: (field, stored) => {
    if (typeof stored === "string") return stored.slice(0, 10);
    throw mismatch(field, stored, "a stored date text");
  },
  datetime: (field, stored) => {
    const date = typeof stored === "string" || typeof stored === "number"
      ? new Date(stored)
      : undefined;
    if (date !== undefined && !Number.isNaN(date.getTime())) return date;
    throw mismatch(field, stored, "a stored ISO 8601 datetime");
  },
  time: (field, stored) => {
    // Canonical form drops a zero fraction: "10:00:00.000" → "10:00:00".
    if (typeof stored === "string") return stored.endsWith(".000") ? stored.slice(0, -4) : stored;
    throw mismatch(field, stored, "a stored time text");
  },
  guid: (_field, stored) => String(stored).toLowerCase(),
  json: (field, stored) => {
    try {
      return JSON.parse(String(stored));
    } catch (cause) {
      throw new ODataActiveRecordError(
        "TYPE_MISMATCH",
        `Stored JSON of ${field.name ?? "a field"} is malformed`,
        {
          cause,
          context: { field: field.name },
        },
      );
    }
  },
  binary: (field, stored) => {
    if (stored instanceof Uint8Array) return stored;
    if (typeof stored === "string") return new TextEncoder().encode(stored);
    throw mismatch(field, stored, "stored bytes");
  },
};

/**
 * Decodes a stored value to its canonical form (see the provider contract); NULL becomes `null`.
 *
 * @example
 * ```ts
 * import { decodeValue } from "./values.ts";
 * decodeValue({ type: "decimal", definition: { scale: 2 } }, 1.5); // "1.50"
 * decodeValue({ type: "boolean" }, 1); // true
 * ```
 */
export function decodeValue(field: ValueField, stored: unknown): unknown {
  if (stored === null || stored === undefined) return null;
  return DECODERS[field.type](field, stored as SqlValue);
}

// --- query literals -------------------------------------------------------------------------

const NUMERIC: ReadonlySet<string> = new Set(["integer", "number", "decimal"]);

function literalMismatch(literal: LiteralNode, hint: FieldType): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "TYPE_MISMATCH",
    `Cannot compare a ${hint} value with the ${literal.type} literal ${safeText(literal.value)}`,
    {
      context: { expected: hint, literalType: literal.type },
      suggestion: hint === "string" ? "Quote string literals: 'text'." : undefined,
    },
  );
}

function notSupportedLiteral(type: LiteralType): never {
  throw new NotSupportedError(`${type} literals`, "sqlite");
}

type LiteralEncoder = (literal: LiteralNode, hint: FieldType | undefined) => EncodedLiteral;

/** A string literal given where a typed value is expected: accepted when it parses. */
function fromText(literal: LiteralNode, hint: FieldType, text: string): EncodedLiteral {
  const parsers: Partial<Record<FieldType, () => EncodedLiteral | undefined>> = {
    guid: () => GUID.test(text) ? { value: text.toLowerCase(), type: "guid" } : undefined,
    date: () => parseDate(text) === undefined ? undefined : { value: text, type: "date" },
    datetime: () => {
      if (parseDate(text) !== undefined) return { value: text, type: "date" }; // whole-day rule
      const value = parseDatetime(text);
      return value === undefined ? undefined : { value, type: "datetime" };
    },
    time: () => {
      const value = parseTime(text);
      return value === undefined ? undefined : { value, type: "time" };
    },
  };
  const parsed = parsers[hint]?.();
  if (parsed === undefined) throw literalMismatch(literal, hint);
  return parsed;
}

function numeric(type: FieldType, value: SqlValue): LiteralEncoder {
  return (literal, hint) => {
    if (hint !== undefined && !NUMERIC.has(hint)) throw literalMismatch(literal, hint);
    return { value, type };
  };
}

const LITERALS: Readonly<Record<LiteralType, LiteralEncoder>> = {
  null: () => ({ value: null, type: "null" }),
  boolean: (literal, hint) => {
    if (hint !== undefined && hint !== "boolean") throw literalMismatch(literal, hint);
    return { value: literal.value === true ? 1n : 0n, type: "boolean" };
  },
  int: (literal, hint) => {
    const value = toInteger({ type: "integer", name: "literal" }, literal.value);
    return numeric("integer", value)(literal, hint);
  },
  decimal: (literal, hint) => {
    if (hint === "decimal" && isExactDecimal(literal.value) === false) {
      // Compared as the nearest float it would match values it does not equal.
      throw new NotSupportedError(`the decimal literal ${safeText(literal.value)}`, "sqlite", {
        suggestion: `${DECIMAL_LIMIT_REASON}; use a value with at most 15 significant digits.`,
      });
    }
    const value = toDecimalNumber({ type: "decimal", name: "literal" }, literal.value);
    return numeric("decimal", value)(literal, hint);
  },
  double: (literal, hint) => {
    const value = Number(literal.value);
    if (Number.isNaN(value)) throw new NotSupportedError("NaN literals", "sqlite");
    return numeric("number", value)(literal, hint);
  },
  string: (literal, hint) => {
    const text = String(literal.value);
    if (hint === undefined || hint === "string") return { value: text, type: "string" };
    return fromText(literal, hint, text);
  },
  date: (literal, hint) => {
    if (hint !== undefined && hint !== "date" && hint !== "datetime") {
      throw literalMismatch(literal, hint);
    }
    const value = parseDate(String(literal.value));
    if (value === undefined) throw literalMismatch(literal, hint ?? "date");
    return { value, type: "date" };
  },
  datetimeoffset: (literal, hint) => {
    if (hint !== undefined && hint !== "datetime") throw literalMismatch(literal, hint);
    const value = parseDatetime(String(literal.value));
    if (value === undefined) {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `The datetime ${
          safeText(literal.value)
        } is outside the storable range 0001-01-01 to 9999-12-31`,
      );
    }
    return { value, type: "datetime" };
  },
  timeofday: (literal, hint) => {
    if (hint !== undefined && hint !== "time") throw literalMismatch(literal, hint);
    const value = parseTime(String(literal.value));
    if (value === undefined) throw literalMismatch(literal, "time");
    return { value, type: "time" };
  },
  guid: (literal, hint) => {
    if (hint !== undefined && hint !== "guid" && hint !== "string") {
      throw literalMismatch(literal, hint);
    }
    return {
      value: String(literal.value).toLowerCase(),
      type: hint === "string" ? "string" : "guid",
    };
  },
  binary: (literal, hint) => {
    if (hint !== undefined && hint !== "binary") throw literalMismatch(literal, hint);
    const value = decodeBase64(String(literal.value));
    if (value === undefined) throw literalMismatch(literal, "binary");
    return { value, type: "binary" };
  },
  duration: () => notSupportedLiteral("duration"),
  enum: () => notSupportedLiteral("enum"),
  geography: () => notSupportedLiteral("geography"),
  geometry: () => notSupportedLiteral("geometry"),
};

/**
 * Encodes a query literal as a parameter. `hint` is the type of the value it is compared with
 * (or otherwise combined with): it checks compatibility (`TYPE_MISMATCH`) and converts where the
 * storage form differs — a `datetimeoffset` becomes UTC storage text, a string compared with a
 * guid/date/datetime/time field is parsed as one. A `date` literal compared with a datetime keeps
 * type `"date"`: the caller applies the whole-day rule.
 *
 * @example
 * ```ts
 * import { encodeLiteral } from "./values.ts";
 * encodeLiteral({ kind: "Literal", type: "datetimeoffset", value: "2024-01-01T00:00:00+02:00" }, "datetime");
 * // { value: "2023-12-31T22:00:00.000Z", type: "datetime" }
 * ```
 */
export function encodeLiteral(literal: LiteralNode, hint?: FieldType): EncodedLiteral {
  if (!Object.hasOwn(LITERALS, literal.type)) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `Unknown literal type '${String(literal.type)}'`,
    );
  }
  return LITERALS[literal.type](literal, hint);
}

/**
 * The day after a `YYYY-MM-DD` date, as datetime storage text of its midnight (UTC).
 *
 * @example
 * ```ts
 * import { nextDayStart } from "./values.ts";
 * nextDayStart("2024-02-29"); // "2024-03-01T00:00:00.000Z"
 * ```
 */
export function nextDayStart(date: string): string {
  const next = new Date(`${date}T00:00:00.000Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  // Past year 9999 a sentinel that sorts after every storable datetime of the last day.
  return next.toISOString().length === 24 ? next.toISOString() : "9999-12-31T24:00:00.000Z";
}
