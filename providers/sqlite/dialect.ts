/**
 * The SQLite dialect of the shared SQL compiler (`src/sql/`): `?` placeholders as they are,
 * values in the storage forms of `values.ts` (datetimes as fixed-width UTC text, booleans as
 * 0/1), exact decimals through the `oar_dec_*` functions (`udf.ts`, `exact.ts`) since SQLite
 * computes with floats, Unicode case folding through `oar_lower`/`oar_upper`, long `in` lists as
 * one JSON parameter, and `LIMIT` as an integer literal.
 *
 * Strings: `contains`/`startswith`/`endswith` use `instr`/`substr` (case-sensitive, never the
 * ASCII-case-insensitive LIKE). Dates: parts are read from fixed positions of the storage text.
 * Numbers: `round` is SQLite's (half away from zero); `floor`/`ceiling` are computed without
 * SQLite's optional math functions.
 *
 * Paging: SQLite takes the value of a bound `LIMIT ?` into its plan, so it re-prepares the
 * statement whenever that parameter is bound (measured with SQLite 3.53: about 6 µs per run,
 * more than a key lookup costs); a bound `OFFSET ?` costs nothing of the kind.
 *
 * @module
 */

import type {
  Arithmetic,
  DatePart,
  DecimalSql,
  FunctionSql,
  SqlDialect,
  Typed,
} from "../../src/sql/mod.ts";
import { join, param, raw, sql } from "../../src/sql/mod.ts";
import { encodeLiteral, encodeValue, MAX_DATETIME, MIN_DATETIME, nextDayStart } from "./values.ts";
import { MAX_DECIMAL_DIGITS } from "./decimals.ts";

/** Whitespace `trim` removes: JavaScript's `\s` set. */
const WHITESPACE =
  " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" +
  "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";

/** Where each date/time part sits in the storage text of each type: [start, length]. */
const PART_POSITIONS: Readonly<Record<DatePart, Partial<Record<string, [number, number]>>>> = {
  year: { date: [1, 4], datetime: [1, 4] },
  month: { date: [6, 2], datetime: [6, 2] },
  day: { date: [9, 2], datetime: [9, 2] },
  hour: { datetime: [12, 2], time: [1, 2] },
  minute: { datetime: [15, 2], time: [4, 2] },
  second: { datetime: [18, 2], time: [7, 2] },
};

const FUNCTIONS: FunctionSql = {
  contains: (s, t) => sql`(instr(${s}, ${t}) > 0)`,
  startswith: (s, t) => sql`(substr(${s}, 1, length(${t})) = ${t})`,
  // substr(s, -0) is the whole string, so the empty suffix needs its own case.
  endswith: (s, t) =>
    sql`(substr(${s}, -length(${t})) = ${t} OR (length(${t}) = 0 AND ${s} IS NOT NULL))`,
  indexof: (s, t) => sql`(instr(${s}, ${t}) - 1)`,
  length: (s) => sql`length(${s})`,
  substring: (s, start, length) =>
    length === undefined
      ? sql`substr(${s}, max(${start}, 0) + 1)`
      : sql`substr(${s}, max(${start}, 0) + 1, max(${length}, 0))`,
  tolower: (s) => sql`oar_lower(${s})`,
  toupper: (s) => sql`oar_upper(${s})`,
  trim: (s) => sql`trim(${s}, ${param(WHITESPACE)})`,
  concat: (parts) => sql`(${join(parts, " || ")})`,
  datePart: (part, x) => {
    const [start, length] = PART_POSITIONS[part][x.type]!;
    return sql`CAST(substr(${x.sql}, ${raw(String(start))}, ${raw(String(length))}) AS INTEGER)`;
  },
  fractionalseconds: (x) => {
    const start = x.type === "time" ? "9" : "20"; // the ".sss" of HH:MM:SS.sss / ...THH:MM:SS.sssZ
    return sql`CAST('0' || substr(${x.sql}, ${raw(start)}, 4) AS REAL)`;
  },
  date: (x) => sql`substr(${x}, 1, 10)`,
  time: (x) => sql`substr(${x}, 12, 12)`,
  // Stored in UTC: the offset is 0 for every non-null value.
  totaloffsetminutes: (x) => sql`(CASE WHEN ${x} IS NULL THEN NULL ELSE 0 END)`,
  now: () => raw("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"),
  datetimeBound: (which) => param(which === "min" ? MIN_DATETIME : MAX_DATETIME),
  round: (x) => sql`round(${x.sql})`, // half away from zero
  // Doubles beyond 2^52 are integral already; CAST truncates toward zero.
  rounding: (name, x) => {
    const v = x.sql;
    const trunc = sql`CAST(${v} AS INTEGER)`;
    const body = name === "floor"
      ? sql`WHEN ${v} < ${trunc} THEN ${trunc} - 1.0`
      : sql`WHEN ${v} > ${trunc} THEN ${trunc} + 1.0`;
    return sql`(CASE WHEN abs(${v}) >= 4503599627370496.0 THEN ${v} ${body} ELSE CAST(${trunc} AS REAL) END)`;
  },
};

const EXACT_FUNCTIONS: Readonly<Record<Arithmetic, string>> = {
  add: "oar_dec_add",
  sub: "oar_dec_sub",
  mul: "oar_dec_mul",
  div: "oar_dec_div",
  divby: "oar_dec_div",
  mod: "oar_dec_mod",
};

const EXACT_AGGREGATES: Readonly<Record<"sum" | "avg" | "min" | "max", string>> = {
  sum: "oar_dec_sum",
  avg: "oar_dec_avg",
  min: "oar_dec_min",
  max: "oar_dec_max",
};

/**
 * Exact decimals on bigints (`exact.ts`): sums, differences, products and remainders are exact;
 * quotients are rounded to 15 significant digits or to `quotientScale` fraction digits when that
 * keeps more. Results are a REAL up to 15 significant digits, decimal TEXT beyond.
 */
const DECIMALS: DecimalSql = {
  exactValues: true,
  maxDigits: MAX_DECIMAL_DIGITS,
  arithmetic: (op, l, r, quotientScale) =>
    op === "div" || op === "divby"
      ? sql`oar_dec_div(${l}, ${r}, ${raw(String(quotientScale))})`
      : sql`${raw(EXACT_FUNCTIONS[op])}(${l}, ${r})`,
  compare: (l, r) => sql`oar_dec_cmp(${l}, ${r})`,
  orderKey: (x) => sql`oar_dec_key(${x})`,
  negate: (x) => sql`oar_dec_sub(0, ${x})`,
  round: (x, mode) => sql`oar_dec_round(${x}, ${raw(`'${mode}'`)})`,
  aggregate: (method, x, scale) =>
    method === "avg"
      ? sql`oar_dec_avg(${x}, ${raw(String(scale))})`
      : sql`${raw(EXACT_AGGREGATES[method])}(${x})`,
};

/**
 * The constants of an `in` list as one JSON array text, or `undefined` when one has no JSON
 * form that reads back as the same SQLite value (bytes, infinities). `json_each` gives JSON
 * integers as INTEGER, other numbers as REAL and strings as TEXT: the values bound one by one.
 */
function jsonList(items: readonly Typed[]): string | undefined {
  const parts: string[] = [];
  for (const item of items) {
    const value = item.constant;
    if (typeof value === "bigint") parts.push(String(value));
    else if (typeof value === "string") parts.push(JSON.stringify(value));
    else if (typeof value === "number" && Number.isFinite(value)) {
      // A whole float must stay REAL: "2" would read back as the INTEGER 2.
      parts.push(Number.isInteger(value) ? value.toFixed(1) : String(value));
    } else return undefined;
  }
  return `[${parts.join(",")}]`;
}

/** The LIMIT count as SQL text (-1: none). */
function limitText(limit: number | undefined): string {
  return limit === undefined ? "-1" : String(limit);
}

const ORDER_ASC = raw(" ASC");
const ORDER_DESC = raw(" DESC");

/**
 * The SQLite dialect (see the module doc).
 *
 * @example
 * ```ts
 * import { SQLITE_DIALECT } from "./dialect.ts";
 * SQLITE_DIALECT.finish("SELECT ?"); // "SELECT ?"
 * ```
 */
export const SQLITE_DIALECT: SqlDialect = {
  name: "sqlite",
  finish: (text) => text,
  encodeLiteral,
  encodeValue,
  parameter: (value) => param(value),
  booleans: { true: "1", false: "0" },
  nullSafe: { eq: "IS", ne: "IS NOT", indexed: true },
  dayBounds: (day) => [param(`${day}T00:00:00.000Z`), param(nextDayStart(day))],
  arithmetic: (op, l, r, type) => {
    const integer = type === "integer";
    switch (op) {
      case "add":
        return sql`(${l} + ${r})`;
      case "sub":
        return sql`(${l} - ${r})`;
      case "mul":
        return sql`(${l} * ${r})`;
      // SQLite divides integers with truncation toward zero, as OData's div on integers.
      case "div":
        return integer ? sql`(${l} / ${r})` : sql`(CAST(${l} AS REAL) / ${r})`;
      case "divby":
        return sql`(CAST(${l} AS REAL) / ${r})`;
      // SQLite's % truncates its operands to integers first, so non-integers use a - b*trunc(a/b).
      case "mod":
        return integer
          ? sql`(${l} % ${r})`
          : sql`(${l} - ${r} * CAST(CAST(${l} AS REAL) / ${r} AS INTEGER))`;
    }
  },
  aggregate: (method, x) => method === "sum" ? sql`SUM(${x})` : sql`AVG(${x})`,
  decimals: DECIMALS,
  functions: FUNCTIONS,
  castType: (type) => type === "string" ? "TEXT" : "REAL",
  longList: (left, items) => {
    const json = jsonList(items);
    if (json === undefined) return undefined;
    return sql`(${left.sql} IN (SELECT value FROM json_each(${param(json)})))`;
  },
  keyList: (column, _type, values) => sql`${column} IN (${join(values.map(param), ", ")})`,
  searchTerm: (column, needle) =>
    sql`(instr(oar_lower(COALESCE(${column}, '')), ${param(needle)}) > 0)`,
  // SQLite's own order is OData's: nulls first ascending, last descending.
  orderKey: (key, direction) => sql`${key}${direction === "asc" ? ORDER_ASC : ORDER_DESC}`,
  paging: (limit, offset) => {
    const text = raw(`LIMIT ${limitText(limit)}`);
    return offset > 0 ? sql`${text} OFFSET ${param(BigInt(offset))}` : text;
  },
  output: (column) => column,
};
