/**
 * Canonical functions and `cast`/`isof` with OData semantics: arity and argument types are
 * checked here, null literals give null, and the dialect (`dialect.ts`) writes the SQL of each
 * function. Strings: `contains`/`startswith`/`endswith` are case-sensitive and literal;
 * `indexof` and `substring` are 0-based and count characters; a negative `substring` start or
 * length counts as 0; `tolower`/`toupper` fold Unicode; `trim` removes whitespace; `concat` of
 * a null is null. Dates: parts are UTC; `totaloffsetminutes` is 0 since values are stored in
 * UTC; `now()` is the statement's time. Numbers: `round` is half away from zero.
 *
 * @module
 */

import type {
  CallExpression,
  CanonicalFunction,
  Expression,
  TypeFunctionExpression,
} from "../odata/ast.ts";
import type { FieldType } from "../model/schema.ts";
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
import { type Fragment, raw, sql } from "./fragment.ts";
import type { DatePart, SqlDialect } from "./dialect.ts";

type FunctionHandler = (
  args: readonly Expression[],
  ctx: ExprContext,
  c: Compilers,
  mode: Mode,
) => Typed;

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

type StringFunction =
  | "contains"
  | "startswith"
  | "endswith"
  | "indexof"
  | "length"
  | "tolower"
  | "toupper"
  | "trim";

/** A string function of fixed arity whose arguments are all strings. */
function strings(name: StringFunction, count: number, type: ValueType): FunctionHandler {
  return (args, ctx, c) => {
    arity(name, args, count);
    const typed = args.map((a) => arg(name, a, ctx, c, STRING, "a string"));
    const build = ctx.dialect.functions[name] as (...parts: Fragment[]) => Fragment;
    return result(build(...typed.map((t) => t.sql)), type, typed);
  };
}

/** A date/time part of the types it applies to. */
function part(name: DatePart, types: readonly ValueType[]): FunctionHandler {
  return (args, ctx, c) => {
    arity(name, args, 1);
    const x = arg(name, args[0]!, ctx, c, types, `a ${types.join(" or ")} value`);
    if (x.type === "null") return result(raw("NULL"), "integer", [x]);
    return result(ctx.dialect.functions.datePart(name, x), "integer", [x]);
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
  return result(ctx.dialect.functions.fractionalseconds(x), "decimal", [x]);
}

function convert(name: "date" | "time", from: ValueType): FunctionHandler {
  return (args, ctx, c) => {
    arity(name, args, 1);
    const x = arg(name, args[0]!, ctx, c, [from, name], `a ${from} value`);
    return result(x.type === name ? x.sql : ctx.dialect.functions[name](x.sql), name, [x]);
  };
}

/** round/floor/ceiling of an exact decimal (which the database would round as a float). */
function exactRounding(ctx: ExprContext, x: Typed, mode: "round" | "floor" | "ceiling"): Typed {
  return {
    ...x,
    constant: undefined,
    scale: 0,
    exactScale: 0,
    sql: ctx.dialect.decimals.round(x.sql, mode),
  };
}

function rounding(name: "round" | "floor" | "ceiling"): FunctionHandler {
  return (args, ctx, c) => {
    arity(name, args, 1);
    const x = arg(name, args[0]!, ctx, c, NUMBERS, "a number");
    if (x.type === "integer" || x.type === "null") return x;
    if (isExactText(x)) return exactRounding(ctx, x, name);
    const functions = ctx.dialect.functions;
    const sql = name === "round" ? functions.round(x) : functions.rounding(name, x);
    return { ...x, constant: undefined, sql };
  };
}

function bound(name: string, which: "min" | "max"): FunctionHandler {
  return (args, ctx) => {
    arity(name, args, 0);
    return { sql: ctx.dialect.functions.datetimeBound(which), type: "datetime", nullable: false };
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
    return result(ctx.dialect.functions.concat(typed.map((t) => t.sql)), "string", typed);
  },
  contains: strings("contains", 2, "boolean"),
  startswith: strings("startswith", 2, "boolean"),
  endswith: strings("endswith", 2, "boolean"),
  indexof: strings("indexof", 2, "integer"),
  length: strings("length", 1, "integer"),
  substring: (args, ctx, c) => {
    arity("substring", args, 2, 3);
    const s = arg("substring", args[0]!, ctx, c, STRING, "a string");
    const start = arg("substring", args[1]!, ctx, c, INTEGER, "an integer start");
    const typed = [s, start];
    let length: Typed | undefined;
    if (args[2] !== undefined) {
      length = arg("substring", args[2], ctx, c, INTEGER, "an integer length");
      typed.push(length);
    }
    return result(ctx.dialect.functions.substring(s.sql, start.sql, length?.sql), "string", typed);
  },
  matchesPattern: unsupported("matchesPattern (XML Schema regular expressions)"),
  tolower: strings("tolower", 1, "string"),
  toupper: strings("toupper", 1, "string"),
  trim: strings("trim", 1, "string"),
  hassubset: unsupported("hassubset (no collection fields)"),
  hassubsequence: unsupported("hassubsequence (no collection fields)"),
  year: part("year", ["date", "datetime"]),
  month: part("month", ["date", "datetime"]),
  day: part("day", ["date", "datetime"]),
  hour: part("hour", ["datetime", "time"]),
  minute: part("minute", ["datetime", "time"]),
  second: part("second", ["datetime", "time"]),
  fractionalseconds: fraction,
  totalseconds: unsupported("totalseconds (no duration type)"),
  date: convert("date", "datetime"),
  time: convert("time", "datetime"),
  totaloffsetminutes: (args, ctx, c) => {
    arity("totaloffsetminutes", args, 1);
    const x = arg("totaloffsetminutes", args[0]!, ctx, c, ["datetime"], "a datetime value");
    return result(ctx.dialect.functions.totaloffsetminutes(x.sql), "integer", [x]);
  },
  mindatetime: bound("mindatetime", "min"),
  maxdatetime: bound("maxdatetime", "max"),
  now: (args, ctx) => {
    arity("now", args, 0);
    return { sql: ctx.dialect.functions.now(), type: "datetime", nullable: false };
  },
  round: rounding("round"),
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

type Cast = (x: Typed, dialect: SqlDialect) => Typed | undefined;

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
  "Edm.String": (x, dialect) => {
    if (x.type === "string" || x.type === "guid" || x.type === "date") {
      return { ...x, type: "string" };
    }
    if (x.type === "integer") {
      return {
        ...x,
        type: "string",
        constant: undefined,
        sql: sql`CAST(${x.sql} AS ${raw(dialect.castType("string"))})`,
      };
    }
    if (x.type === "boolean") {
      return {
        ...x,
        type: "string",
        constant: undefined,
        sql: sql`(CASE WHEN ${x.sql} IS NULL THEN NULL WHEN ${x.sql} THEN 'true' ELSE 'false' END)`,
      };
    }
    return undefined; // doubles, datetimes, times print differently in SQL than in OData
  },
  "Edm.Int64": (x) => x.type === "integer" ? x : undefined,
  "Edm.Int32": integerRange(-2147483648, 2147483647),
  "Edm.Int16": integerRange(-32768, 32767),
  "Edm.Byte": integerRange(0, 255),
  "Edm.SByte": integerRange(-128, 127),
  "Edm.Double": (x, dialect) =>
    isNumeric(x.type)
      ? {
        ...x,
        type: "number",
        constant: undefined,
        sql: sql`CAST(${x.sql} AS ${raw(dialect.castType("number"))})`,
      }
      : undefined,
  "Edm.Decimal": (x, dialect) =>
    isExactText(x) ? x : isNumeric(x.type)
      ? {
        ...x,
        type: "decimal",
        constant: undefined,
        sql: sql`CAST(${x.sql} AS ${raw(dialect.castType("decimal"))})`,
      }
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
    const converted = cast(x, ctx.dialect);
    if (converted === undefined) throw notSupported(`cast from a ${x.type} value to ${node.type}`);
    return converted;
  },
  isof: (node) => {
    throw notSupported(`isof(${node.type})`);
  },
};

/**
 * Compiles `cast(...)` (to Edm primitive types where the dialect gives the OData result) and
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
