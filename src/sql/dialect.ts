/**
 * What differs between SQL databases, and nothing else. The shared compiler (`src/sql/`) walks
 * the OData AST once — selection, filters, functions, lambdas and paths, `$search`, ordering,
 * paging, counts, batched `$expand`, `$apply`/`$compute`, writes — and asks a {@linkcode
 * SqlDialect} only where the SQL text or the bound values depend on the database (the way
 * Kysely has one query compiler and a small class per dialect).
 *
 * The contract, in short:
 * - Fragments are built with `?` placeholders; {@linkcode SqlDialect.finish} turns the final
 *   text into the driver's form (`?` stays for SQLite, `$1, $2, ...` for PostgreSQL).
 * - Identifiers are quoted the ANSI way by the core (`"a""b"`, NUL refused), which both
 *   dialects share; a dialect never sees a name.
 * - Values: {@linkcode SqlDialect.encodeLiteral} and {@linkcode SqlDialect.encodeValue} give
 *   the parameter value, {@linkcode SqlDialect.parameter} the SQL that binds it (a cast when
 *   the database needs the type, e.g. `?::numeric`).
 * - Semantics the core keeps itself: OData null rules, two-valued comparisons, the whole-day
 *   rule of dates against datetimes, 0-based `indexof`/`substring` argument handling, type
 *   checks and every error code. The dialect supplies the SQL of each operation.
 *
 * @module
 */

import type { LiteralNode } from "../odata/ast.ts";
import type { FieldType } from "../model/schema.ts";
import type { Fragment } from "./fragment.ts";
import type { Typed, ValueType } from "./context.ts";

/**
 * A literal ready to bind: its parameter value and the type it has in the query.
 *
 * @example
 * ```ts
 * import type { EncodedLiteral } from "./dialect.ts";
 * const literal: EncodedLiteral = { value: 1n, type: "integer" };
 * ```
 */
export interface EncodedLiteral {
  /** The parameter value, in the driver's form. */
  readonly value: unknown;
  /** The type it has in the query (`"null"` for the null literal). */
  readonly type: ValueType;
}

/**
 * What writing a value needs to know about its field; `FieldMetadata` fits.
 *
 * @example
 * ```ts
 * import type { ValueField } from "./dialect.ts";
 * const price: ValueField = { type: "decimal", definition: { scale: 2 } };
 * ```
 */
export interface ValueField {
  /** The field type. */
  readonly type: FieldType;
  /** Used in error messages. */
  readonly name?: string;
  /** `scale` fixes the digits after the point of decimals. */
  readonly definition?: { readonly scale?: number };
}

/**
 * An arithmetic operator of OData.
 *
 * @example
 * ```ts
 * import type { Arithmetic } from "./dialect.ts";
 * const op: Arithmetic = "divby";
 * ```
 */
export type Arithmetic = "add" | "sub" | "mul" | "div" | "divby" | "mod";

/**
 * A date/time part function of OData.
 *
 * @example
 * ```ts
 * import type { DatePart } from "./dialect.ts";
 * const part: DatePart = "year";
 * ```
 */
export type DatePart = "year" | "month" | "day" | "hour" | "minute" | "second";

/**
 * The SQL of the canonical functions. The core has checked arity and argument types and
 * handles null literals; each builder receives the compiled arguments.
 *
 * @example
 * ```ts
 * import { sql } from "./fragment.ts";
 * import type { FunctionSql } from "./dialect.ts";
 * const contains: FunctionSql["contains"] = (s, t) => sql`(instr(${s}, ${t}) > 0)`;
 * ```
 */
export interface FunctionSql {
  /** Case-sensitive, literal substring test (no pattern characters). */
  contains(s: Fragment, t: Fragment): Fragment;
  /** Case-sensitive, literal prefix test. */
  startswith(s: Fragment, t: Fragment): Fragment;
  /** Case-sensitive, literal suffix test (the empty suffix ends every non-null string). */
  endswith(s: Fragment, t: Fragment): Fragment;
  /** 0-based position of `t` in `s` in characters, -1 when absent. */
  indexof(s: Fragment, t: Fragment): Fragment;
  /** Length in characters. */
  length(s: Fragment): Fragment;
  /** 0-based substring; negative start and length count as 0. */
  substring(s: Fragment, start: Fragment, length?: Fragment): Fragment;
  /** Unicode lower case. */
  tolower(s: Fragment): Fragment;
  /** Unicode upper case. */
  toupper(s: Fragment): Fragment;
  /** Removes leading and trailing whitespace. */
  trim(s: Fragment): Fragment;
  /** Concatenation (null if a part is null). */
  concat(parts: readonly Fragment[]): Fragment;
  /** A date/time part as an integer, in UTC. */
  datePart(part: DatePart, x: Typed): Fragment;
  /** The fraction of the second as a decimal (0.5 for `...:05.500`). */
  fractionalseconds(x: Typed): Fragment;
  /** The date of a datetime (UTC), in the date representation. */
  date(x: Fragment): Fragment;
  /** The time of day of a datetime (UTC), in the time representation. */
  time(x: Fragment): Fragment;
  /** Offset minutes of a datetime: 0 for every non-null (stored in UTC) value. */
  totaloffsetminutes(x: Fragment): Fragment;
  /** The current instant as a datetime. */
  now(): Fragment;
  /** The smallest (`"min"`) or largest (`"max"`) datetime, as a bound value. */
  datetimeBound(which: "min" | "max"): Fragment;
  /** Rounds half away from zero (for non-integers; not called on exact text decimals). */
  round(x: Typed): Fragment;
  /** `floor`/`ceiling` of a non-integer (not called on exact text decimals). */
  rounding(name: "floor" | "ceiling", x: Typed): Fragment;
}

/**
 * Exact decimals. A dialect whose database computes decimals in floating point (SQLite) does
 * decimal arithmetic in functions of its own and sets {@linkcode DecimalSql.exactValues}: the
 * results may then be text, so the core compares and orders them through `compare`/`orderKey`.
 * A dialect with an exact numeric type (PostgreSQL `NUMERIC`) leaves it false.
 *
 * @example
 * ```ts
 * import type { DecimalSql } from "./dialect.ts";
 * declare const decimals: DecimalSql;
 * decimals.exactValues; // true on SQLite
 * ```
 */
export interface DecimalSql {
  /** Whether decimal results are flagged `exactDecimal` (compared through `compare`). */
  readonly exactValues: boolean;
  /** The significant digits a decimal keeps in this database's arithmetic (15 on SQLite). */
  readonly maxDigits: number;
  /** Decimal arithmetic; quotients round to 15 significant digits or `quotientScale` digits. */
  arithmetic(op: Arithmetic, l: Fragment, r: Fragment, quotientScale: number): Fragment;
  /** -1, 0 or 1 comparing two exact decimals (used when `exactValues`). */
  compare(l: Fragment, r: Fragment): Fragment;
  /** A key that orders exact decimals by value (used when `exactValues`). */
  orderKey(x: Fragment): Fragment;
  /** The negation of an exact decimal (used when `exactValues`). */
  negate(x: Fragment): Fragment;
  /** round/floor/ceiling of an exact decimal (used when `exactValues`). */
  round(x: Fragment, mode: "round" | "floor" | "ceiling"): Fragment;
  /** `sum` (exact), `avg` (rounded as a quotient to `scale`), `min`, `max` of decimals. */
  aggregate(method: "sum" | "avg" | "min" | "max", x: Fragment, scale: number): Fragment;
}

/**
 * Everything about SQL that differs between databases; see the module doc for the contract.
 *
 * @example
 * ```ts
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect;
 * dialect.finish("SELECT ? + ?"); // "SELECT $1 + $2" on PostgreSQL
 * ```
 */
export interface SqlDialect {
  /** The provider name errors report (`NOT_SUPPORTED` on "sqlite"). */
  readonly name: string;
  /** The final statement text: the core's `?` placeholders in the driver's form. */
  finish(text: string): string;
  /** A literal of the AST as a parameter value; `hint` is the type it meets. */
  encodeLiteral(literal: LiteralNode, hint?: FieldType): EncodedLiteral;
  /** A field's canonical value (validated) as a parameter value for writes and keys. */
  encodeValue(field: ValueField, canonical: unknown): unknown;
  /** The SQL binding an encoded value of `type` (a cast where the database needs one). */
  parameter(value: unknown, type: ValueType): Fragment;
  /** The boolean constants as SQL text (`1`/`0`, `TRUE`/`FALSE`). */
  readonly booleans: { readonly true: string; readonly false: string };
  /**
   * Null-safe (in)equality operators (null equals null and differs from every value), and
   * whether they use indexes as `=` does (else the core writes `=`/`<>` with explicit null
   * handling when one side is never null).
   */
  readonly nullSafe: { readonly eq: string; readonly ne: string; readonly indexed: boolean };
  /** The first instant of a day and of the next day, as bound datetime values. */
  dayBounds(day: string): readonly [Fragment, Fragment];
  /** Integer or floating-point arithmetic (integer `div` truncates toward zero). */
  arithmetic(op: Arithmetic, l: Fragment, r: Fragment, type: "integer" | "number"): Fragment;
  /** `sum` or `avg` of integers or doubles (an integer sum stays an integer, an average a double). */
  aggregate(method: "sum" | "avg", x: Fragment, type: "integer" | "number"): Fragment;
  /** Decimal handling. */
  readonly decimals: DecimalSql;
  /** The canonical functions. */
  readonly functions: FunctionSql;
  /** The SQL type `CAST` converts to for a `cast` to Edm.String, Edm.Double or Edm.Decimal. */
  castType(type: "string" | "number" | "decimal"): string;
  /**
   * `left in (items)` for a long list of constant, non-null items as one parameter (a JSON
   * array, an SQL array), or `undefined` to write `IN (?, ?, ...)`.
   */
  longList(left: Typed, items: readonly Typed[]): Fragment | undefined;
  /** Rows whose `column` (of `type`) is one of `values` (parents' keys of an expansion). */
  keyList(column: Fragment, type: FieldType, values: readonly unknown[]): Fragment;
  /** A `$search` term test on one text column: case-insensitive, literal. */
  searchTerm(column: Fragment, needle: string): Fragment;
  /**
   * An ORDER BY key with OData's null order: nulls first ascending, last descending (a key that
   * is never null may be written without, so that an index can give the order).
   */
  orderKey(key: Fragment, direction: "asc" | "desc", nullable: boolean): Fragment;
  /** The paging clause: `limit` rows (undefined: all) after `offset` (> 0, else none). */
  paging(limit: number | undefined, offset: number): Fragment;
  /** A result column as the decoder expects it (e.g. a PostgreSQL date as its text). */
  output(column: Fragment, type: ValueType): Fragment;
}
