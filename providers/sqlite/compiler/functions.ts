/**
 * Canonical functions and `cast`/`isof` with OData semantics on the SQLite storage forms.
 *
 * Strings: `contains`/`startswith`/`endswith` are case-sensitive (`instr`/`substr`, never the
 * ASCII-case-insensitive LIKE); `indexof` and `substring` are 0-based and count characters
 * (code points); a negative `substring` start counts as 0 and a negative length as 0; `tolower`
 * and `toupper` fold Unicode (`oar_lower`/`oar_upper`, registered by the driver); `trim` removes
 * whitespace (not just spaces); `concat` of a null is null.
 * Dates: parts are read from the fixed-width UTC text (`year(OrderDate)` is the UTC year,
 * `totaloffsetminutes` is 0 since values are stored in UTC); `now()` is the statement's time.
 * Numbers: `round` is half away from zero (SQLite's `round`); `floor`/`ceiling` are computed
 * without SQLite's optional math functions.
 * Null arguments give null results.
 *
 * @module
 */

import type {
  CallExpression,
  CanonicalFunction,
  Expression,
  TypeFunctionExpression,
} from "../../../src/odata/ast.ts";
import type { FieldType } from "../../../src/model/schema.ts";
import { MAX_DATETIME, MIN_DATETIME } from "../values.ts";
import {
  type Compilers,
  dispatch,
  type ExprContext,
  invalidArgument,
  invalidOperator,
  isExactText,
  isNumeric,
  type Mode,
  notSupported,
  type Typed,
  type ValueType,
} from "./context.ts";
import { type Fragment, join, param, raw, sql } from "./fragment.ts";

type FunctionHandler = (
  args: readonly Expression[],
  ctx: ExprContext,
  c: Compilers,
  mode: Mode,
) => Typed;

/** Whitespace `trim` removes: JavaScript's `\s` set. */
const WHITESPACE =
  " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" +
  "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";

function arity(name: string, args: readonly Expression[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const count = min === max ? `${min}` : `${min} to ${max}`;
    throw invalidArgument(
      `${name}() takes ${count} argument${max === 1 ? "" : "s"}, got ${args.length}`,
      {
        function: name,
      },
    );
  }
}

/** Compiles an argument that must be one of `types` (or the null literal). */
function arg(
  name: string,
  expression: Expression,
  ctx: ExprContext,
  c: Compilers,
  types: readonly ValueType[],
  expected: string,
): Typed {
  const typed = c.value(expression, ctx, types[0] as FieldType);
  if (typed.type !== "null" && !types.includes(typed.type)) {
    throw invalidOperator(name, typed.type, expected);
  }
  return typed;
}

const STRING = ["string"] as const;
const INTEGER = ["integer"] as const;
const NUMBERS = ["integer", "decimal", "number"] as const;

function result(
  fragment: Fragment,
  type: ValueType,
  from: readonly Typed[],
  nullable?: boolean,
): Typed {
  return {
    sql: fragment,
    type,
    nullable: nullable ?? from.some((t) => t.nullable || t.type === "null"),
  };
}

/** A string function of fixed arity whose arguments are all strings. */
function strings(
  name: string,
  count: number,
  build: (...parts: Fragment[]) => Fragment,
  type: ValueType,
): FunctionHandler {
  return (args, ctx, c) => {
    arity(name, args, count);
    const typed = args.map((a) => arg(name, a, ctx, c, STRING, "a string"));
    return result(build(...typed.map((t) => t.sql)), type, typed);
  };
}

/** A date/time part read from fixed positions of the storage text. */
function part(
  name: string,
  positions: Partial<Record<ValueType, [number, number]>>,
): FunctionHandler {
  const types = Object.keys(positions) as ValueType[];
  return (args, ctx, c) => {
    arity(name, args, 1);
    const x = arg(name, args[0]!, ctx, c, types, `a ${types.join(" or ")} value`);
    if (x.type === "null") return result(raw("NULL"), "integer", [x]);
    const [start, length] = positions[x.type]!;
    return result(
      sql`CAST(substr(${x.sql}, ${raw(String(start))}, ${raw(String(length))}) AS INTEGER)`,
      "integer",
      [x],
    );
  };
}

function fraction(args: readonly Expression[], ctx: ExprContext, c: Compilers): Typed {
  arity("fractionalseconds", args, 1);
  const x = arg(
    "fractionalseconds",
    args[0]!,
    ctx,
    c,
    ["datetime", "time"],
    "a datetime or time value",
  );
  const start = x.type === "time" ? "9" : "20"; // the ".sss" of HH:MM:SS.sss / ...THH:MM:SS.sssZ
  return result(sql`CAST('0' || substr(${x.sql}, ${raw(start)}, 4) AS REAL)`, "decimal", [x]);
}

function convert(
  name: string,
  from: ValueType,
  to: ValueType,
  build: (x: Fragment) => Fragment,
): FunctionHandler {
  return (args, ctx, c) => {
    arity(name, args, 1);
    const x = arg(name, args[0]!, ctx, c, [from, to], `a ${from} value`);
    return result(x.type === to ? x.sql : build(x.sql), to, [x]);
  };
}

/** round/floor/ceiling of an exact decimal (which SQLite would round as a float). */
function exactRounding(x: Typed, mode: "round" | "floor" | "ceiling"): Typed {
  return {
    ...x,
    constant: undefined,
    scale: 0,
    exactScale: 0,
    sql: sql`oar_dec_round(${x.sql}, ${raw(`'${mode}'`)})`,
  };
}

/** floor/ceiling: doubles beyond 2^52 are integral already; CAST truncates toward zero. */
function rounding(name: "floor" | "ceiling"): FunctionHandler {
  return (args, ctx, c) => {
    arity(name, args, 1);
    const x = arg(name, args[0]!, ctx, c, NUMBERS, "a number");
    if (x.type === "integer" || x.type === "null") return x;
    if (isExactText(x)) return exactRounding(x, name);
    const v = x.sql;
    const trunc = sql`CAST(${v} AS INTEGER)`;
    const body = name === "floor"
      ? sql`WHEN ${v} < ${trunc} THEN ${trunc} - 1.0`
      : sql`WHEN ${v} > ${trunc} THEN ${trunc} + 1.0`;
    return {
      ...x,
      constant: undefined,
      sql:
        sql`(CASE WHEN abs(${v}) >= 4503599627370496.0 THEN ${v} ${body} ELSE CAST(${trunc} AS REAL) END)`,
    };
  };
}

function constant(name: string, value: string): FunctionHandler {
  return (args) => {
    arity(name, args, 0);
    return { sql: param(value), type: "datetime", nullable: false };
  };
}

function unsupported(feature: string): FunctionHandler {
  return () => {
    throw notSupported(feature);
  };
}

const FUNCTIONS: Readonly<Record<CanonicalFunction, FunctionHandler>> = {
  concat: (args, ctx, c) => {
    if (args.length < 2) arity("concat", args, 2);
    const typed = args.map((a) => arg("concat", a, ctx, c, STRING, "strings"));
    return result(sql`(${join(typed.map((t) => t.sql), " || ")})`, "string", typed);
  },
  contains: strings("contains", 2, (s, t) => sql`(instr(${s}, ${t}) > 0)`, "boolean"),
  startswith: strings(
    "startswith",
    2,
    (s, t) => sql`(substr(${s}, 1, length(${t})) = ${t})`,
    "boolean",
  ),
  // substr(s, -0) is the whole string, so the empty suffix needs its own case.
  endswith: strings(
    "endswith",
    2,
    (s, t) => sql`(substr(${s}, -length(${t})) = ${t} OR (length(${t}) = 0 AND ${s} IS NOT NULL))`,
    "boolean",
  ),
  indexof: strings("indexof", 2, (s, t) => sql`(instr(${s}, ${t}) - 1)`, "integer"),
  length: strings("length", 1, (s) => sql`length(${s})`, "integer"),
  substring: (args, ctx, c) => {
    arity("substring", args, 2, 3);
    const s = arg("substring", args[0]!, ctx, c, STRING, "a string");
    const start = arg("substring", args[1]!, ctx, c, INTEGER, "an integer start");
    const typed = [s, start];
    let fragment = sql`substr(${s.sql}, max(${start.sql}, 0) + 1)`;
    if (args[2] !== undefined) {
      const length = arg("substring", args[2], ctx, c, INTEGER, "an integer length");
      typed.push(length);
      fragment = sql`substr(${s.sql}, max(${start.sql}, 0) + 1, max(${length.sql}, 0))`;
    }
    return result(fragment, "string", typed);
  },
  matchesPattern: unsupported("matchesPattern (XML Schema regular expressions)"),
  tolower: strings("tolower", 1, (s) => sql`oar_lower(${s})`, "string"),
  toupper: strings("toupper", 1, (s) => sql`oar_upper(${s})`, "string"),
  trim: strings("trim", 1, (s) => sql`trim(${s}, ${param(WHITESPACE)})`, "string"),
  hassubset: unsupported("hassubset (no collection fields)"),
  hassubsequence: unsupported("hassubsequence (no collection fields)"),
  year: part("year", { date: [1, 4], datetime: [1, 4] }),
  month: part("month", { date: [6, 2], datetime: [6, 2] }),
  day: part("day", { date: [9, 2], datetime: [9, 2] }),
  hour: part("hour", { datetime: [12, 2], time: [1, 2] }),
  minute: part("minute", { datetime: [15, 2], time: [4, 2] }),
  second: part("second", { datetime: [18, 2], time: [7, 2] }),
  fractionalseconds: fraction,
  totalseconds: unsupported("totalseconds (no duration type)"),
  date: convert("date", "datetime", "date", (x) => sql`substr(${x}, 1, 10)`),
  time: convert("time", "datetime", "time", (x) => sql`substr(${x}, 12, 12)`),
  totaloffsetminutes: (args, ctx, c) => {
    arity("totaloffsetminutes", args, 1);
    const x = arg("totaloffsetminutes", args[0]!, ctx, c, ["datetime"], "a datetime value");
    // Stored in UTC: the offset is 0 for every non-null value.
    return result(sql`(CASE WHEN ${x.sql} IS NULL THEN NULL ELSE 0 END)`, "integer", [x]);
  },
  mindatetime: constant("mindatetime", MIN_DATETIME),
  maxdatetime: constant("maxdatetime", MAX_DATETIME),
  now: (args) => {
    arity("now", args, 0);
    return { sql: raw("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"), type: "datetime", nullable: false };
  },
  round: (args, ctx, c) => {
    arity("round", args, 1);
    const x = arg("round", args[0]!, ctx, c, NUMBERS, "a number");
    if (x.type === "integer" || x.type === "null") return x;
    if (isExactText(x)) return exactRounding(x, "round");
    return { ...x, constant: undefined, sql: sql`round(${x.sql})` }; // half away from zero
  },
  floor: rounding("floor"),
  ceiling: rounding("ceiling"),
  "geo.distance": unsupported("geo.distance"),
  "geo.intersects": unsupported("geo.intersects"),
  "geo.length": unsupported("geo.length"),
  isdefined: unsupported("isdefined (aggregation extension)"),
};

/**
 * Compiles a canonical function call.
 *
 * @example
 * ```ts
 * import { compileCall } from "./functions.ts";
 * import type { Compilers, ExprContext } from "./context.ts";
 * declare const ctx: ExprContext, compilers: Compilers;
 * compileCall({ kind: "Call", name: "now", args: [] }, ctx, compilers, "value").type; // "datetime"
 * ```
 */
export function compileCall(
  node: CallExpression,
  ctx: ExprContext,
  c: Compilers,
  mode: Mode,
): Typed {
  if (!Object.hasOwn(FUNCTIONS, node.name)) throw notSupported(`the function ${String(node.name)}`);
  return FUNCTIONS[node.name](node.args, ctx, c, mode);
}

// --- cast / isof ------------------------------------------------------------------------------

type Cast = (x: Typed) => Typed | undefined;

function integerRange(min: number, max: number): Cast {
  return (x) => {
    if (x.type !== "integer") return undefined;
    // OData: a value out of the target range casts to null.
    const range = sql`BETWEEN ${raw(String(min))} AND ${raw(String(max))}`;
    return {
      ...x,
      constant: undefined,
      nullable: true,
      sql: sql`(CASE WHEN ${x.sql} ${range} THEN ${x.sql} END)`,
    };
  };
}

const CASTS: Readonly<Record<string, Cast>> = {
  "Edm.String": (x) => {
    if (x.type === "string" || x.type === "guid" || x.type === "date") {
      return { ...x, type: "string" };
    }
    if (x.type === "integer") {
      return { ...x, type: "string", constant: undefined, sql: sql`CAST(${x.sql} AS TEXT)` };
    }
    if (x.type === "boolean") {
      return {
        ...x,
        type: "string",
        constant: undefined,
        sql: sql`(CASE WHEN ${x.sql} IS NULL THEN NULL WHEN ${x.sql} THEN 'true' ELSE 'false' END)`,
      };
    }
    return undefined; // doubles, datetimes, times print differently in SQLite than in OData
  },
  "Edm.Int64": (x) => x.type === "integer" ? x : undefined,
  "Edm.Int32": integerRange(-2147483648, 2147483647),
  "Edm.Int16": integerRange(-32768, 32767),
  "Edm.Byte": integerRange(0, 255),
  "Edm.SByte": integerRange(-128, 127),
  "Edm.Double": (x) =>
    isNumeric(x.type)
      ? { ...x, type: "number", constant: undefined, sql: sql`CAST(${x.sql} AS REAL)` }
      : undefined,
  "Edm.Decimal": (x) =>
    isExactText(x)
      ? x
      : isNumeric(x.type)
      ? { ...x, type: "decimal", constant: undefined, sql: sql`CAST(${x.sql} AS REAL)` }
      : undefined,
  "Edm.Boolean": (x) => x.type === "boolean" ? x : undefined,
  "Edm.Date": (x) => x.type === "date" ? x : undefined,
  "Edm.DateTimeOffset": (x) => x.type === "datetime" ? x : undefined,
  "Edm.TimeOfDay": (x) => x.type === "time" ? x : undefined,
  "Edm.Guid": (x) => x.type === "guid" ? x : undefined,
  "Edm.Binary": (x) => x.type === "binary" ? x : undefined,
};

const CAST_TARGET: Readonly<Record<string, ValueType>> = {
  "Edm.String": "string",
  "Edm.Int64": "integer",
  "Edm.Int32": "integer",
  "Edm.Int16": "integer",
  "Edm.Byte": "integer",
  "Edm.SByte": "integer",
  "Edm.Double": "number",
  "Edm.Decimal": "decimal",
  "Edm.Boolean": "boolean",
  "Edm.Date": "date",
  "Edm.DateTimeOffset": "datetime",
  "Edm.TimeOfDay": "time",
  "Edm.Guid": "guid",
  "Edm.Binary": "binary",
};

const TYPE_FUNCTIONS: Readonly<
  Record<
    TypeFunctionExpression["name"],
    (node: TypeFunctionExpression, ctx: ExprContext, c: Compilers) => Typed
  >
> = {
  cast: (node, ctx, c) => {
    if (node.operand === null) throw notSupported(`cast of the current entity to ${node.type}`);
    const cast = Object.hasOwn(CASTS, node.type) ? CASTS[node.type] : undefined;
    if (cast === undefined) throw notSupported(`cast to ${node.type}`);
    const x = c.value(node.operand, ctx);
    if (x.type === "null") return { ...x, type: CAST_TARGET[node.type]! };
    const converted = cast(x);
    if (converted === undefined) throw notSupported(`cast from a ${x.type} value to ${node.type}`);
    return converted;
  },
  isof: (node) => {
    throw notSupported(`isof(${node.type})`);
  },
};

/**
 * Compiles `cast(...)` (to Edm primitive types where SQLite gives the OData result) and
 * `isof(...)` (not supported).
 *
 * @example
 * ```ts
 * import { compileTypeFunction } from "./functions.ts";
 * import type { Compilers, ExprContext } from "./context.ts";
 * declare const ctx: ExprContext, compilers: Compilers;
 * compileTypeFunction({ kind: "TypeFunction", name: "cast", operand: { kind: "Literal", type: "int", value: 1 }, type: "Edm.Double" }, ctx, compilers);
 * ```
 */
export function compileTypeFunction(
  node: TypeFunctionExpression,
  ctx: ExprContext,
  c: Compilers,
): Typed {
  return dispatch(TYPE_FUNCTIONS, node.name, "type function")(node, ctx, c);
}
