/**
 * Decimals on SQLite. SQLite has no exact decimal type: decimal columns hold 64-bit floats
 * (REAL), which represent every decimal of at most {@linkcode MAX_DECIMAL_DIGITS} significant
 * digits exactly in the sense that matters here — the shortest text that reads back as the same
 * float is the decimal that was written. So:
 *
 * - writes refuse a decimal that needs more digits (or lies outside the float range) instead of
 *   storing a nearby value ({@linkcode decimalIssue});
 * - decimal arithmetic, sums and comparisons of computed decimals are exact, on bigints
 *   (`exact.ts`), never float operations ({@linkcode roundDecimalResult} and
 *   {@linkcode addDecimals} remain for callers that hold floats);
 * - decoding formats the shortest text of the float, padded or rounded to the declared scale
 *   ({@linkcode decimalText}), never the float's binary expansion.
 *
 * @module
 */

import type { FieldIssue } from "../../src/errors/errors.ts";

/**
 * The most significant digits a decimal may have on SQLite: every decimal with at most 15
 * significant digits survives the round trip through a 64-bit float.
 *
 * @example
 * ```ts
 * import { MAX_DECIMAL_DIGITS } from "./decimals.ts";
 * MAX_DECIMAL_DIGITS; // 15
 * ```
 */
export const MAX_DECIMAL_DIGITS = 15;

/**
 * Why a decimal is refused (the start of every such issue's reason).
 *
 * @example
 * ```ts
 * import { DECIMAL_LIMIT_REASON } from "./decimals.ts";
 * DECIMAL_LIMIT_REASON.startsWith("SQLite stores decimals"); // true
 * ```
 */
export const DECIMAL_LIMIT_REASON =
  "SQLite stores decimals as 64-bit floats: at most 15 significant digits";

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Plain decimal text (no exponent, no spaces). */
const SHORT = /^[+-]?\d+(?:\.\d+)?$/;

/** A decimal as `digits × 10^exponent`, digits without leading or trailing zeros. */
interface Significand {
  readonly negative: boolean;
  readonly digits: string;
  readonly exponent: number;
}

function significand(text: string): Significand | undefined {
  const m = DECIMAL.exec(text.trim());
  if (m === null) return undefined;
  const [, sign = "", int = "", frac = "", exponent = "0"] = m;
  if (int === "" && frac === "") return undefined;
  const all = int + frac;
  const digits = all.replace(/^0+/, "").replace(/0+$/, "");
  if (digits === "") return { negative: false, digits: "", exponent: 0 };
  const trailing = all.length - all.replace(/0+$/, "").length;
  return {
    negative: sign === "-",
    digits,
    exponent: Number(exponent) - frac.length + trailing,
  };
}

/**
 * The shortest text that reads back as `value`, without exponent (`1e-7` → `"0.0000001"`).
 *
 * @example
 * ```ts
 * import { plainNumberText } from "./decimals.ts";
 * plainNumberText(1.5e21); // "1500000000000000000000"
 * ```
 */
export function plainNumberText(value: number): string {
  const text = String(value);
  if (!text.includes("e")) return text;
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (m === null) return text;
  const digits = m[2]! + (m[3] ?? "");
  const exponent = Number(m[4]);
  if (exponent >= 0) return m[1] + digits.padEnd(exponent + 1, "0");
  return `${m[1]}0.${"0".repeat(-exponent - 1)}${digits}`;
}

/**
 * Rounds plain decimal text (no exponent) to `scale` fraction digits, half away from zero, on
 * the decimal digits themselves (so `"1.005"` becomes `"1.01"`, unlike `(1.005).toFixed(2)`).
 *
 * @example
 * ```ts
 * import { roundDecimalText } from "./decimals.ts";
 * roundDecimalText("-9.96", 1); // "-10.0"
 * ```
 */
export function roundDecimalText(text: string, scale: number): string {
  const negative = text.startsWith("-");
  const body = negative || text.startsWith("+") ? text.slice(1) : text;
  const dot = body.indexOf(".");
  const int = dot < 0 ? body : body.slice(0, dot);
  const frac = dot < 0 ? "" : body.slice(dot + 1);
  let digits = int + frac.slice(0, scale).padEnd(scale, "0");
  if (frac.length > scale && frac.charCodeAt(scale) >= 53) { // "5" or more: away from zero
    digits = (BigInt(digits) + 1n).toString().padStart(digits.length, "0");
  }
  const whole = digits.slice(0, digits.length - scale).replace(/^0+(?=\d)/, "") || "0";
  const sign = negative && /[1-9]/.test(digits) ? "-" : "";
  return scale === 0 ? sign + whole : `${sign}${whole}.${digits.slice(digits.length - scale)}`;
}

/**
 * Decimal text of a stored float: its shortest round-trip text, padded with zeros (or rounded,
 * for results with more digits) to `scale` fraction digits when a scale is declared.
 *
 * @example
 * ```ts
 * import { decimalText } from "./decimals.ts";
 * decimalText(1.5, 2); // "1.50"
 * decimalText(123456789.1, 10); // "123456789.1000000000", not the float's "...0999999940"
 * ```
 */
export function decimalText(value: number, scale: number | undefined): string {
  if (!Number.isFinite(value)) return String(value);
  const text = plainNumberText(value); // -0 prints as "0"
  if (scale === undefined) return text;
  const dot = text.indexOf(".");
  const digits = dot < 0 ? 0 : text.length - dot - 1;
  if (digits === scale) return text;
  if (digits < scale) return (dot < 0 ? `${text}.` : text) + "0".repeat(scale - digits);
  return roundDecimalText(text, scale);
}

/**
 * The number of fraction digits of decimal text (`"1.50"` → 2, `"1.5e-3"` → 4, `"15e1"` → 0):
 * the scale of a decimal literal.
 *
 * @example
 * ```ts
 * import { fractionDigits } from "./decimals.ts";
 * fractionDigits("-0.25"); // 2
 * ```
 */
export function fractionDigits(text: string): number | undefined {
  const m = DECIMAL.exec(text.trim());
  if (m === null) return undefined;
  return Math.max(0, (m[3] ?? "").length - Number(m[4] ?? "0"));
}

/**
 * Whether a 64-bit float holds the decimal exactly: at most {@linkcode MAX_DECIMAL_DIGITS}
 * significant digits, and the float's shortest text is the same decimal (not out of range).
 * Values that are not decimals at all give `undefined` (the encoder reports those).
 *
 * @example
 * ```ts
 * import { isExactDecimal } from "./decimals.ts";
 * isExactDecimal("0.1"); // true
 * isExactDecimal("12345678901234567890.1234567890"); // false
 * ```
 */
export function isExactDecimal(value: unknown): boolean | undefined {
  if (
    typeof value === "string" && value.length <= MAX_DECIMAL_DIGITS + 1 && SHORT.test(value) &&
    value.length - (value.includes(".") ? 1 : 0) - (/^[+-]/.test(value) ? 1 : 0) <=
      MAX_DECIMAL_DIGITS
  ) {
    return true; // the common case, decided without parsing: at most 15 digits in all
  }
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "bigint") text = String(value);
  else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
  else return undefined;
  const exact = significand(text);
  if (exact === undefined) return undefined;
  if (exact.digits.length > MAX_DECIMAL_DIGITS) return false;
  const float = Number(text.trim());
  if (!Number.isFinite(float)) return false;
  const stored = significand(String(float))!;
  return stored.digits === exact.digits && stored.exponent === exact.exponent &&
    stored.negative === exact.negative;
}

/**
 * The validation issue of a decimal value a float cannot hold exactly, or `undefined` when it is
 * storable (or not a decimal at all, which the encoder reports).
 *
 * @example
 * ```ts
 * import { decimalIssue } from "./decimals.ts";
 * decimalIssue("s", "12345678901234567890.1234567890")?.reason; // "SQLite stores decimals as ..."
 * decimalIssue("s", "18.50"); // undefined
 * ```
 */
export function decimalIssue(field: string, value: unknown): FieldIssue | undefined {
  if (isExactDecimal(value) !== false) return undefined;
  const float = Number(String(value).trim());
  const example = Number.isFinite(float)
    ? `, e.g. "${plainNumberText(Number(float.toPrecision(MAX_DECIMAL_DIGITS)))}"`
    : "";
  return {
    field,
    reason: `${DECIMAL_LIMIT_REASON}; ${describe(value)} cannot be stored exactly`,
    suggestion: `Round the value to at most ${MAX_DECIMAL_DIGITS} significant digits${example}, ` +
      "or keep decimals this precise in a string field.",
    value,
  };
}

function describe(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/**
 * A decimal operation's float result as the decimal it stands for: rounded to at most
 * {@linkcode MAX_DECIMAL_DIGITS} significant digits (dropping float noise such as the last digit
 * of `0.30000000000000004`), then to `scale` fraction digits when the exact result's scale is
 * known.
 *
 * @example
 * ```ts
 * import { roundDecimalResult } from "./decimals.ts";
 * roundDecimalResult(0.1 + 0.2, 1); // 0.3
 * roundDecimalResult(1.4000000000000001, undefined); // 1.4
 * ```
 */
export function roundDecimalResult(value: number, scale: number | undefined): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const rounded = Number(value.toPrecision(MAX_DECIMAL_DIGITS));
  if (scale === undefined) return rounded;
  return Number(decimalText(rounded, scale));
}

/** The decimal exponent of a finite non-zero number (`1234.5` → 3), exact at powers of ten. */
function exponentOf(value: number): number {
  const text = value.toExponential();
  return Number(text.slice(text.indexOf("e") + 1));
}

/**
 * The decimal sum `l + r` of two decimals held as floats (a difference is `l + -r`): rounded at
 * the 15th significant digit of the larger operand — below it the float sum holds only noise,
 * which {@linkcode roundDecimalResult} could not tell from digits after a cancellation
 * (`0.3 - 0.30000000000000004`) — and then like {@linkcode roundDecimalResult}.
 *
 * @example
 * ```ts
 * import { addDecimals } from "./decimals.ts";
 * addDecimals(1000000.1, -1000000, undefined); // 0.1, not 0.10000000009313226
 * ```
 */
export function addDecimals(l: number, r: number, scale: number | undefined): number {
  const sum = l + r;
  if (!Number.isFinite(sum) || sum === 0) return sum === 0 ? 0 : sum;
  const places = MAX_DECIMAL_DIGITS - 1 - exponentOf(Math.max(Math.abs(l), Math.abs(r)));
  // toFixed takes 0..100 places; beyond them relative rounding is all there is.
  const cleaned = places >= 0 && places <= 100 ? Number(sum.toFixed(places)) : sum;
  return roundDecimalResult(cleaned, scale);
}
