/**
 * The PostgreSQL dialect of the shared SQL compiler (`src/sql/`): `$1, $2, ...` placeholders
 * with the type cast each value needs, decimals as `NUMERIC` (exact in storage, arithmetic and
 * aggregates; quotients rounded as SQLite's exact decimals round them), `timestamptz` datetimes
 * read in UTC, `uuid`, `jsonb`, `bytea`, `TRUE`/`FALSE`, explicit `NULLS FIRST`/`NULLS LAST`,
 * and lists of values (long `in` lists, the parents' keys of an `$expand` level) as one array
 * parameter.
 *
 * Strings: `contains`/`startswith`/`endswith`/`indexof` use `strpos`/`starts_with`/`right`,
 * which match their argument literally (no LIKE pattern, so `%`, `_` and `\` need no escaping)
 * and case-sensitively; `$search` lower-cases the column (server) and the term (client).
 *
 * @module
 */

import type {
  Arithmetic,
  DecimalSql,
  EncodedLiteral,
  Fragment,
  FunctionSql,
  SqlDialect,
  ValueType,
} from "../../src/sql/mod.ts";
import { join, param, raw, sql } from "../../src/sql/mod.ts";
import type { LiteralNode } from "../../src/odata/ast.ts";
import type { FieldType } from "../../src/model/schema.ts";
import { NotSupportedError, ODataActiveRecordError } from "../../src/errors/errors.ts";
import { encodeValue, SQL_TYPES, typedSlot } from "./values.ts";

/** What NOT_SUPPORTED errors of this provider name. */
const WHERE = "the postgres provider";

/** Whitespace `trim` removes: JavaScript's `\s` set (as on SQLite). */
const WHITESPACE =
  " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" +
  "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";

/** A value of `type` bound with its cast (`?::numeric`); bigints travel as text. */
function bind(value: unknown, type: ValueType): Fragment {
  const bound = typeof value === "bigint" ? value.toString() : value;
  if (type === "null") return param(bound);
  return { sql: typedSlot("?", type), params: [bound] };
}

/** `$1, $2, ...` for the `?` placeholders outside quoted identifiers and string literals. */
function numberPlaceholders(text: string): string {
  if (!text.includes("?")) return text;
  let out = "";
  let quote = "";
  let n = 0;
  for (const c of text) {
    if (quote !== "") {
      if (c === quote) quote = ""; // a doubled quote closes and reopens: still inside
      out += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else out += c === "?" ? `$${++n}` : c;
  }
  return out;
}

// --- literals ---------------------------------------------------------------------------------

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const NUMERIC: ReadonlySet<string> = new Set(["integer", "number", "decimal"]);

function mismatch(literal: LiteralNode, hint: FieldType): ODataActiveRecordError {
  const shown = typeof literal.value === "string"
    ? JSON.stringify(literal.value)
    : String(literal.value);
  return new ODataActiveRecordError(
    "TYPE_MISMATCH",
    `Cannot compare a ${hint} value with the ${literal.type} literal ${shown}`,
    {
      context: { expected: hint, literalType: literal.type, provider: "postgres" },
      suggestion: hint === "string" ? "Quote string literals: 'text'." : undefined,
    },
  );
}

/** An instant from datetime text; invalid text is a TYPE_MISMATCH of the literal. */
function instant(literal: LiteralNode, text: string): Date {
  const value = new Date(text);
  if (Number.isNaN(value.getTime())) throw mismatch(literal, "datetime");
  return value;
}

type LiteralEncoder = (literal: LiteralNode, hint: FieldType | undefined) => EncodedLiteral;

function numeric(type: FieldType, value: unknown): LiteralEncoder {
  return (literal, hint) => {
    if (hint !== undefined && !NUMERIC.has(hint)) throw mismatch(literal, hint);
    return { value, type };
  };
}

/** A string literal where a typed value is expected: accepted when it parses as one. */
function fromText(literal: LiteralNode, hint: FieldType, text: string): EncodedLiteral {
  if (hint === "guid" && GUID.test(text)) return { value: text.toLowerCase(), type: "guid" };
  if ((hint === "date" || hint === "datetime") && DATE.test(text)) {
    return { value: text, type: "date" }; // against a datetime: the whole-day rule
  }
  if (hint === "datetime") return { value: instant(literal, text), type: "datetime" };
  if (hint === "time" && TIME.test(text)) return { value: text, type: "time" };
  throw mismatch(literal, hint);
}

const LITERALS: Readonly<Record<string, LiteralEncoder>> = {
  null: () => ({ value: null, type: "null" }),
  boolean: (literal, hint) => {
    if (hint !== undefined && hint !== "boolean") throw mismatch(literal, hint);
    return { value: literal.value === true, type: "boolean" };
  },
  int: (literal, hint) => numeric("integer", String(literal.value))(literal, hint),
  decimal: (literal, hint) => numeric("decimal", String(literal.value))(literal, hint),
  double: (literal, hint) => {
    const value = Number(literal.value);
    if (Number.isNaN(value)) throw new NotSupportedError("NaN literals", WHERE);
    const text = Number.isFinite(value) ? value : value > 0 ? "Infinity" : "-Infinity";
    return numeric("number", text)(literal, hint);
  },
  string: (literal, hint) => {
    const text = String(literal.value);
    if (hint === undefined || hint === "string") return { value: text, type: "string" };
    return fromText(literal, hint, text);
  },
  date: (literal, hint) => {
    if (hint !== undefined && hint !== "date" && hint !== "datetime") {
      throw mismatch(literal, hint);
    }
    return { value: String(literal.value), type: "date" };
  },
  datetimeoffset: (literal, hint) => {
    if (hint !== undefined && hint !== "datetime") throw mismatch(literal, hint);
    return { value: instant(literal, String(literal.value)), type: "datetime" };
  },
  timeofday: (literal, hint) => {
    if (hint !== undefined && hint !== "time") throw mismatch(literal, hint);
    return { value: String(literal.value), type: "time" };
  },
  guid: (literal, hint) => {
    if (hint !== undefined && hint !== "guid" && hint !== "string") throw mismatch(literal, hint);
    const type = hint === "string" ? "string" : "guid";
    return { value: String(literal.value).toLowerCase(), type };
  },
  binary: (literal, hint) => {
    if (hint !== undefined && hint !== "binary") throw mismatch(literal, hint);
    try {
      const bytes = Uint8Array.from(atob(String(literal.value)), (c) => c.charCodeAt(0));
      return { value: bytes, type: "binary" };
    } catch {
      throw mismatch(literal, "binary");
    }
  },
};

function encodeLiteral(literal: LiteralNode, hint?: FieldType): EncodedLiteral {
  const encoder = Object.hasOwn(LITERALS, literal.type) ? LITERALS[literal.type] : undefined;
  if (encoder === undefined) throw new NotSupportedError(`${literal.type} literals`, WHERE);
  return encoder(literal, hint);
}

// --- functions and decimals -------------------------------------------------------------------

/** Datetimes are read in UTC, as the canonical `Date` values are instants. */
function utc(x: { sql: Fragment; type: ValueType }): Fragment {
  return x.type === "datetime" ? sql`(${x.sql} AT TIME ZONE 'UTC')` : x.sql;
}

const FUNCTIONS: FunctionSql = {
  contains: (s, t) => sql`(strpos(${s}, ${t}) > 0)`,
  startswith: (s, t) => sql`starts_with(${s}, ${t})`,
  endswith: (s, t) => sql`(right(${s}, length(${t})) = ${t})`,
  indexof: (s, t) => sql`(strpos(${s}, ${t}) - 1)`,
  length: (s) => sql`length(${s})`,
  substring: (s, start, length) => {
    const from = sql`CAST(greatest(${start}, 0) + 1 AS integer)`;
    return length === undefined
      ? sql`substr(${s}, ${from})`
      : sql`substr(${s}, ${from}, CAST(greatest(${length}, 0) AS integer))`;
  },
  tolower: (s) => sql`lower(${s})`,
  toupper: (s) => sql`upper(${s})`,
  trim: (s) => sql`btrim(${s}, ${bind(WHITESPACE, "string")})`,
  concat: (parts) => sql`(${join(parts, " || ")})`,
  datePart: (part, x) =>
    part === "second"
      ? sql`CAST(floor(EXTRACT(SECOND FROM ${utc(x)})) AS bigint)`
      : sql`CAST(EXTRACT(${raw(part.toUpperCase())} FROM ${utc(x)}) AS bigint)`,
  fractionalseconds: (x) => {
    const seconds = sql`EXTRACT(SECOND FROM ${utc(x)})`;
    return sql`trim_scale(${seconds} - floor(${seconds}))`;
  },
  date: (x) => sql`CAST((${x} AT TIME ZONE 'UTC') AS date)`,
  time: (x) => sql`CAST((${x} AT TIME ZONE 'UTC') AS time)`,
  // Instants have no offset of their own: 0 for every non-null value, as on SQLite.
  totaloffsetminutes: (x) => sql`(CASE WHEN ${x} IS NULL THEN NULL ELSE 0 END)`,
  now: () => raw("now()"),
  datetimeBound: (which) =>
    bind(
      new Date(which === "min" ? "0001-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z"),
      "datetime",
    ),
  // round(double precision) rounds half to even; numeric rounds half away from zero (OData).
  round: (x) =>
    x.type === "decimal"
      ? sql`round(${x.sql})`
      : sql`CAST(round(CAST(${x.sql} AS numeric)) AS double precision)`,
  rounding: (name, x) => sql`${raw(name)}(${x.sql})`,
};

/**
 * A decimal quotient as SQLite's exact decimals give it: rounded half away from zero to 15
 * significant digits, or to the larger operand scale when that keeps more, without trailing
 * fraction zeros (computed from a 40-digit exact quotient).
 */
function exactQuotient(l: Fragment, r: Fragment): Fragment {
  const quotient = sql`(round(CAST(${l} AS numeric), 40) / CAST(${r} AS numeric))`;
  const digits = sql`(floor(log(abs(nullif(${quotient}, 0)))) + 1)`;
  const scale =
    sql`greatest(scale(CAST(${l} AS numeric)), scale(CAST(${r} AS numeric)), CAST(15 - ${digits} AS integer))`;
  return sql`trim_scale(round(${quotient}, ${scale}))`;
}

const OPERATORS: Readonly<Record<Arithmetic, string>> = {
  add: "+",
  sub: "-",
  mul: "*",
  div: "/",
  divby: "/",
  mod: "%",
};

/** `NUMERIC` is exact: plain operators, except quotients (rounded as on SQLite). */
const DECIMALS: DecimalSql = {
  exactValues: false,
  maxDigits: 1000,
  arithmetic: (op, l, r) =>
    op === "div" || op === "divby" ? exactQuotient(l, r) : sql`(${l} ${raw(OPERATORS[op])} ${r})`,
  compare: (l, r) => sql`sign(${l} - ${r})`,
  orderKey: (x) => x,
  negate: (x) => sql`(- ${x})`,
  round: (x, mode) => sql`${raw(mode)}(${x})`,
  aggregate: (method, x, scale) => {
    if (method !== "avg") return sql`${raw(method)}(${x})`;
    // The exact quotient (40 fraction digits), rounded to 15 significant digits or the scale.
    const quotient = sql`(round(sum(${x}), 40) / nullif(count(${x}), 0))`;
    const digits = sql`(floor(log(abs(nullif(${quotient}, 0)))) + 1)`;
    return sql`trim_scale(round(${quotient}, greatest(${
      raw(String(scale))
    }, CAST(15 - ${digits} AS integer))))`;
  },
};

const ORDER_ASC = raw(" ASC NULLS FIRST");
const ORDER_DESC = raw(" DESC NULLS LAST");
const PLAIN_ASC = raw(" ASC");
const PLAIN_DESC = raw(" DESC");

/**
 * The PostgreSQL dialect (see the module doc).
 *
 * @example
 * ```ts
 * import { POSTGRES_DIALECT } from "./dialect.ts";
 * POSTGRES_DIALECT.finish('SELECT ? AS "a?"'); // 'SELECT $1 AS "a?"'
 * ```
 */
export const POSTGRES_DIALECT: SqlDialect = {
  name: WHERE,
  finish: numberPlaceholders,
  encodeLiteral,
  encodeValue: (field, canonical) => encodeValue(canonical, field.type),
  parameter: bind,
  booleans: { true: "TRUE", false: "FALSE" },
  nullSafe: { eq: "IS NOT DISTINCT FROM", ne: "IS DISTINCT FROM", indexed: false },
  dayBounds: (day) => {
    const start = new Date(`${day}T00:00:00.000Z`);
    const next = new Date(start.getTime() + 86_400_000);
    return [bind(start, "datetime"), bind(next, "datetime")];
  },
  arithmetic: (op, l, r, type) => {
    const double = (x: Fragment) => sql`CAST(${x} AS double precision)`;
    switch (op) {
      case "div":
        // Integer division truncates toward zero (OData and PostgreSQL agree).
        return type === "integer" ? sql`(${l} / ${r})` : sql`(${double(l)} / ${r})`;
      case "divby":
        return sql`(${double(l)} / ${r})`;
      case "mod":
        // `%` is not defined on double precision: a - b * trunc(a / b).
        return type === "integer"
          ? sql`(${l} % ${r})`
          : sql`(${l} - ${r} * trunc(${double(l)} / ${r}))`;
      default:
        return sql`(${l} ${raw(OPERATORS[op])} ${r})`;
    }
  },
  // sum(bigint) and avg are numeric on the server: back to an integer or a double.
  aggregate: (method, x, type) =>
    method === "avg"
      ? sql`CAST(avg(${x}) AS double precision)`
      : type === "integer"
      ? sql`CAST(sum(${x}) AS bigint)`
      : sql`sum(${x})`,
  decimals: DECIMALS,
  functions: FUNCTIONS,
  castType: (type) =>
    type === "string" ? "text" : type === "number" ? "double precision" : "numeric",
  longList: (left, items) => {
    if (left.type === "null" || items.some((item) => item.type !== left.type)) return undefined;
    const values = items.map((item) => item.constant);
    return sql`(${left.sql} = ANY(${{ sql: `?::${SQL_TYPES[left.type]}[]`, params: [values] }}))`;
  },
  keyList: (column, type, values) =>
    sql`${column} = ANY(${{ sql: `?::${SQL_TYPES[type]}[]`, params: [values] }})`,
  searchTerm: (column, needle) =>
    sql`(strpos(lower(coalesce(CAST(${column} AS text), '') COLLATE "default"), ${
      bind(needle, "string")
    }) > 0)`,
  // PostgreSQL's own order puts nulls last ascending: only a key that may be null says where.
  orderKey: (key, direction, nullable) =>
    sql`${key}${
      nullable
        ? (direction === "asc" ? ORDER_ASC : ORDER_DESC)
        : (direction === "asc" ? PLAIN_ASC : PLAIN_DESC)
    }`,
  paging: (limit, offset) => {
    const parts = limit === undefined ? [] : [raw(`LIMIT ${limit}`)];
    if (offset > 0) parts.push(raw(`OFFSET ${offset}`));
    return join(parts, " ");
  },
  // Dates as their `YYYY-MM-DD` text (the canonical value; cheaper than a type parser).
  output: (column, type) => type === "date" ? sql`CAST(${column} AS text)` : column,
};
