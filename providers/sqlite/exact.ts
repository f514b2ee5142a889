/**
 * Exact decimal arithmetic for SQLite, on `bigint`s: what the compiled SQL calls (through the
 * functions of `compiler/udf.ts`) for decimal sums, averages, arithmetic, comparisons and order,
 * so results are the exact decimals, never float approximations.
 *
 * A decimal value inside SQL is an *exact value*: a REAL when it has at most
 * {@linkcode MAX_DECIMAL_DIGITS} significant digits (such a float's shortest text is the
 * decimal itself, and stored decimal columns hold such floats), else the canonical decimal TEXT
 * (no exponent, no trailing fraction zeros). Equal decimals therefore have one SQL value, and
 * grouping and `DISTINCT` stay exact. SQLite orders REAL before TEXT, so comparisons and
 * ordering of computed decimals go through {@linkcode compareExact} and {@linkcode orderKey}.
 *
 * Quotients (`div`, `divby`, `average`) rarely terminate: they are rounded half away from zero
 * to 15 significant digits, or to the larger operand scale when that keeps more fraction digits.
 *
 * @module
 */

import { MAX_DECIMAL_DIGITS, plainNumberText } from "./decimals.ts";

/**
 * A decimal as `units × 10^-scale`.
 *
 * @example
 * ```ts
 * import type { Exact } from "./exact.ts";
 * const price: Exact = { units: 1850n, scale: 2 }; // 18.50
 * ```
 */
export interface Exact {
  /** The digits as an integer. */
  readonly units: bigint;
  /** Digits after the point (never negative). */
  readonly scale: number;
}

const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/** The largest exponent an exact value may reach (keeps bigint sizes sane). */
const MAX_EXPONENT = 400;

/**
 * Reads an SQL value (REAL, INTEGER, decimal TEXT) as an exact decimal; NULL and anything that
 * is no decimal give `undefined`. A REAL stands for its shortest decimal text.
 *
 * @example
 * ```ts
 * import { toExact } from "./exact.ts";
 * toExact(0.1); // { units: 1n, scale: 1 }
 * toExact("20000000000000.01"); // { units: 2000000000000001n, scale: 2 }
 * ```
 */
export function toExact(value: unknown): Exact | undefined {
  if (typeof value === "bigint") return { units: value, scale: 0 };
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    if (Number.isSafeInteger(value)) return { units: BigInt(value), scale: 0 };
    text = plainNumberText(value);
  } else if (typeof value === "string") text = value;
  else return undefined;
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  const [, sign = "", int = "", frac = "", exponentText = "0"] = m;
  if (int === "" && frac === "") return undefined;
  const exponent = Number(exponentText);
  if (Math.abs(exponent) > MAX_EXPONENT) return undefined;
  let units = BigInt(int + frac || "0");
  let scale = frac.length - exponent;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: sign === "-" ? -units : units, scale };
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Both operands at the larger scale. */
function aligned(l: Exact, r: Exact): [bigint, bigint, number] {
  if (l.scale === r.scale) return [l.units, r.units, l.scale];
  if (l.scale > r.scale) return [l.units, r.units * pow10(l.scale - r.scale), l.scale];
  return [l.units * pow10(r.scale - l.scale), r.units, r.scale];
}

/**
 * The exact sum.
 *
 * @example
 * ```ts
 * import { addExact, toExact } from "./exact.ts";
 * addExact(toExact("0.1")!, toExact("0.2")!); // { units: 3n, scale: 1 }
 * ```
 */
export function addExact(l: Exact, r: Exact): Exact {
  const [a, b, scale] = aligned(l, r);
  return { units: a + b, scale };
}

/**
 * The exact product.
 *
 * @example
 * ```ts
 * import { multiplyExact, toExact } from "./exact.ts";
 * multiplyExact(toExact("9999999999999.99")!, toExact(3)!); // 29999999999999.97
 * ```
 */
export function multiplyExact(l: Exact, r: Exact): Exact {
  return { units: l.units * r.units, scale: l.scale + r.scale };
}

/**
 * -1, 0 or 1 as `l` is less than, equal to or greater than `r`.
 *
 * @example
 * ```ts
 * import { compareExact, toExact } from "./exact.ts";
 * compareExact(toExact("1.50")!, toExact(1.5)!); // 0
 * ```
 */
export function compareExact(l: Exact, r: Exact): number {
  const [a, b] = aligned(l, r);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Integer division rounding half away from zero. */
function roundedQuotient(n: bigint, d: bigint): bigint {
  const negative = (n < 0n) !== (d < 0n);
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  let q = an / ad;
  if ((an % ad) * 2n >= ad) q += 1n;
  return negative ? -q : q;
}

/** The number of digits of a non-negative bigint (1 for 0). */
function digitCount(n: bigint): number {
  return (n < 0n ? -n : n).toString().length;
}

/**
 * The quotient `l / r` rounded half away from zero to 15 significant digits, or to `minScale`
 * fraction digits when that keeps more; `undefined` for a zero divisor.
 *
 * @example
 * ```ts
 * import { divideExact, toExact } from "./exact.ts";
 * divideExact(toExact(2)!, toExact(3)!, 0); // 0.666666666666667
 * ```
 */
export function divideExact(l: Exact, r: Exact, minScale: number): Exact | undefined {
  if (r.units === 0n) return undefined;
  if (l.units === 0n) return { units: 0n, scale: 0 };
  // The quotient's integer digits e (10^(e-1) <= |l/r| < 10^e), to place 15 significant digits:
  // the digit counts give e or e - 1, one comparison tells which.
  const left = (l.units < 0n ? -l.units : l.units) * pow10(r.scale);
  const right = (r.units < 0n ? -r.units : r.units) * pow10(l.scale);
  let integerDigits = digitCount(left) - digitCount(right);
  const reaches = integerDigits >= 0
    ? left >= right * pow10(integerDigits)
    : left * pow10(-integerDigits) >= right;
  if (reaches) integerDigits++;
  const scale = Math.max(minScale, MAX_DECIMAL_DIGITS - integerDigits, 0);
  // l/r × 10^scale = l.units × 10^(scale - l.scale + r.scale) / r.units
  const shift = scale - l.scale + r.scale;
  const n = shift >= 0 ? l.units * pow10(shift) : l.units;
  const d = shift >= 0 ? r.units : r.units * pow10(-shift);
  return { units: roundedQuotient(n, d), scale };
}

/**
 * The remainder `l - r × trunc(l / r)` (exact); `undefined` for a zero divisor.
 *
 * @example
 * ```ts
 * import { modExact, toExact } from "./exact.ts";
 * modExact(toExact("0.3")!, toExact("0.1")!); // { units: 0n, scale: 1 }
 * ```
 */
export function modExact(l: Exact, r: Exact): Exact | undefined {
  if (r.units === 0n) return undefined;
  const [a, b, scale] = aligned(l, r);
  return { units: a % b, scale }; // bigint % truncates toward zero, as OData's mod
}

/** Drops trailing zeros of the fraction. */
function normalised(value: Exact): Exact {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  return { units, scale };
}

/**
 * The canonical text of an exact decimal: no exponent, no trailing fraction zeros.
 *
 * @example
 * ```ts
 * import { exactText } from "./exact.ts";
 * exactText({ units: -150n, scale: 2 }); // "-1.5"
 * ```
 */
export function exactText(value: Exact): string {
  const { units, scale } = normalised(value);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString();
  if (scale === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(scale + 1, "0");
  const text = `${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/**
 * The SQL value of an exact decimal (see the module doc): a REAL up to 15 significant digits,
 * else canonical TEXT.
 *
 * @example
 * ```ts
 * import { exactValue, toExact } from "./exact.ts";
 * exactValue(toExact("0.30")!); // 0.3
 * exactValue(toExact("20000000000000.01")!); // "20000000000000.01"
 * ```
 */
export function exactValue(value: Exact): number | string {
  const { units } = normalised(value);
  if (digitCount(units) <= MAX_DECIMAL_DIGITS) return Number(exactText(value));
  return exactText(value);
}

/**
 * Rounds half away from zero to `scale` fraction digits (no change when it has fewer).
 *
 * @example
 * ```ts
 * import { roundExact } from "./exact.ts";
 * roundExact({ units: 1005n, scale: 3 }, 2); // { units: 101n, scale: 2 }
 * ```
 */
export function roundExact(value: Exact, scale: number): Exact {
  if (value.scale <= scale) return value;
  return { units: roundedQuotient(value.units, pow10(value.scale - scale)), scale };
}

/**
 * A text key whose binary order is the numeric order of the decimals (for ORDER BY of computed
 * decimals, which SQLite would otherwise order REAL before TEXT): a sign class, then for
 * positives the digit count of the integer part (offset, fixed width) and the digits; negatives
 * complement both so larger magnitudes sort first.
 *
 * @example
 * ```ts
 * import { orderKey, toExact } from "./exact.ts";
 * orderKey(toExact("-2")!) < orderKey(toExact("-1.5")!); // true
 * ```
 */
export function orderKey(value: Exact): string {
  const { units, scale } = normalised(value);
  if (units === 0n) return "1";
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString();
  const exponent = digits.length - scale + 1000; // integer digits, made positive: 0..2000ish
  const body = `${String(exponent).padStart(5, "0")}${digits}`;
  if (!negative) return `2${body}`;
  // Complement every digit, and end with a character above every digit so that a longer
  // mantissa (a larger magnitude at the same exponent) sorts first.
  let complement = "";
  for (const c of body) complement += String.fromCharCode(105 - c.charCodeAt(0)); // 9 - d
  return `0${complement}:`;
}

/**
 * The canonical text of exact decimal TEXT (as computed decimals are), padded or rounded half
 * away from zero to `scale` fraction digits when a scale is declared; `undefined` when the text
 * is no decimal.
 *
 * @example
 * ```ts
 * import { exactDecimalText } from "./exact.ts";
 * exactDecimalText("20000000000000.01", 2); // "20000000000000.01"
 * exactDecimalText("1.5", 3); // "1.500"
 * ```
 */
export function exactDecimalText(text: string, scale: number | undefined): string | undefined {
  const exact = toExact(text);
  if (exact === undefined) return undefined;
  if (scale === undefined) return exactText(exact);
  const rounded = roundExact(exact, scale);
  const units = rounded.units * pow10(scale - rounded.scale);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${body}` : body;
}

/**
 * The integer a decimal rounds to: `round` half away from zero, `floor` down, `ceiling` up.
 *
 * @example
 * ```ts
 * import { integerPart, toExact } from "./exact.ts";
 * integerPart(toExact("-2.5")!, "round"); // { units: -3n, scale: 0 }
 * ```
 */
export function integerPart(value: Exact, mode: "round" | "floor" | "ceiling"): Exact {
  if (value.scale === 0) return value;
  if (mode === "round") return roundExact(value, 0);
  const divisor = pow10(value.scale);
  let units = value.units / divisor; // toward zero
  const exact = units * divisor === value.units;
  if (!exact && mode === "floor" && value.units < 0n) units -= 1n;
  if (!exact && mode === "ceiling" && value.units > 0n) units += 1n;
  return { units, scale: 0 };
}
