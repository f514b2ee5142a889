/**
 * The canonical functions of OData as aggregation expressions: string functions (literal
 * needles through escaped regular expressions), date parts, rounding (half away from zero, as
 * OData says, unlike `$round`), all null-propagating.
 *
 * @module
 */

import type { CallExpression } from "../../../src/odata/ast.ts";
import { ODataActiveRecordError } from "../../../src/errors/errors.ts";
import {
  type Compiled,
  compileValue,
  escapeRegex,
  lit,
  type MongoContext,
  notSupported,
  nullSafe,
  orNull,
  regexFor,
  requireNumeric,
  typeMismatch,
  type ValueType,
} from "./expression.ts";

function args(e: CallExpression, ctx: MongoContext, count: readonly number[]): Compiled[] {
  if (!count.includes(e.args.length)) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `${e.name}() takes ${count.join(" or ")} arguments; got ${e.args.length}`,
    );
  }
  return e.args.map((a) => compileValue(a, ctx));
}

function requireType(c: Compiled, types: readonly ValueType[], fn: string): void {
  if (c.type !== "null" && !types.includes(c.type)) {
    throw typeMismatch(`${fn}() does not take a ${c.type} argument`);
  }
}

/** Applies `make` to a value bound to a variable, null when the value is null. */
function withValue(c: Compiled, ctx: MongoContext, make: (ref: string) => unknown): unknown {
  if (c.literal !== undefined) {
    return c.literal.value === null ? null : make(c.expr as string);
  }
  const name = `v${ctx.counter.value++}`;
  return {
    $let: {
      vars: { [name]: orNull(c.expr) },
      in: { $cond: [{ $eq: [`$$${name}`, null] }, null, make(`$$${name}`)] },
    },
  };
}

const DATE_PARTS: Readonly<Record<string, { op: string; fromText?: [number, number] }>> = {
  year: { op: "$year", fromText: [0, 4] },
  month: { op: "$month", fromText: [5, 2] },
  day: { op: "$dayOfMonth", fromText: [8, 2] },
  hour: { op: "$hour", fromText: [0, 2] },
  minute: { op: "$minute", fromText: [3, 2] },
  second: { op: "$second", fromText: [6, 2] },
};

/**
 * Compiles a canonical function call.
 *
 * @example
 * ```ts ignore
 * compileCall(parseFilter("length(Name)") as CallExpression, ctx).type; // "integer"
 * ```
 */
export function compileCall(e: CallExpression, ctx: MongoContext): Compiled {
  switch (e.name) {
    case "contains":
    case "startswith":
    case "endswith": {
      const [subject, needle] = args(e, ctx, [2]);
      requireType(subject!, ["string"], e.name);
      requireType(needle!, ["string"], e.name);
      const text = needle!.literal?.value;
      if (typeof text === "string") {
        // A literal needle: an anchored, escaped regular expression.
        const regex = regexFor(e.name, text);
        return {
          expr: withValue(subject!, ctx, (s) => ({ $regexMatch: { input: s, regex } })),
          type: "boolean",
        };
      }
      const test = (s: unknown, n: unknown) => {
        if (e.name === "contains") return { $gte: [{ $indexOfCP: [s, n] }, 0] };
        if (e.name === "startswith") {
          return { $eq: [{ $substrCP: [s, 0, { $strLenCP: n }] }, n] };
        }
        return {
          $let: {
            vars: { d: { $subtract: [{ $strLenCP: s }, { $strLenCP: n }] } },
            in: {
              $and: [{ $gte: ["$$d", 0] }, {
                $eq: [{ $substrCP: [s, "$$d", { $strLenCP: n }] }, n],
              }],
            },
          },
        };
      };
      return {
        expr: withValue(subject!, ctx, (s) => withValue(needle!, ctx, (n) => test(s, n))),
        type: "boolean",
      };
    }
    case "length": {
      const [s] = args(e, ctx, [1]);
      requireType(s!, ["string"], "length");
      return { expr: withValue(s!, ctx, (v) => ({ $strLenCP: v })), type: "integer" };
    }
    case "tolower":
    case "toupper": {
      const [s] = args(e, ctx, [1]);
      requireType(s!, ["string"], e.name);
      const op = e.name === "tolower" ? "$toLower" : "$toUpper";
      return { expr: withValue(s!, ctx, (v) => ({ [op]: v })), type: "string" };
    }
    case "trim": {
      const [s] = args(e, ctx, [1]);
      requireType(s!, ["string"], "trim");
      return {
        expr: withValue(s!, ctx, (v) => ({ $trim: { input: v, chars: " " } })),
        type: "string",
      };
    }
    case "concat": {
      const [a, b] = args(e, ctx, [2]);
      requireType(a!, ["string"], "concat");
      requireType(b!, ["string"], "concat");
      return { expr: nullSafe([a!, b!], { $concat: [a!.expr, b!.expr] }), type: "string" };
    }
    case "indexof": {
      const [s, n] = args(e, ctx, [2]);
      requireType(s!, ["string"], "indexof");
      requireType(n!, ["string"], "indexof");
      const text = n!.literal?.value;
      if (typeof text === "string") {
        // $regexFind reports the code point index of a literal needle (-1 when absent).
        const found = (v: unknown) => ({
          $let: {
            vars: { m: { $regexFind: { input: v, regex: escapeRegex(text) } } },
            in: { $cond: [{ $eq: [{ $ifNull: ["$$m", null] }, null] }, -1, "$$m.idx"] },
          },
        });
        return { expr: withValue(s!, ctx, found), type: "integer" };
      }
      return { expr: nullSafe([s!, n!], { $indexOfCP: [s!.expr, n!.expr] }), type: "integer" };
    }
    case "substring": {
      const [s, start, length] = args(e, ctx, [2, 3]);
      requireType(s!, ["string"], "substring");
      requireType(start!, ["integer"], "substring");
      const operands = length === undefined ? [s!, start!] : [s!, start!, length];
      // OData clamps a negative start to 0; $substrCP refuses it.
      const from = { $max: [start!.expr, 0] };
      const count = length === undefined ? { $strLenCP: s!.expr } : { $max: [length.expr, 0] };
      return { expr: nullSafe(operands, { $substrCP: [s!.expr, from, count] }), type: "string" };
    }
    case "year":
    case "month":
    case "day":
    case "hour":
    case "minute":
    case "second": {
      const [d] = args(e, ctx, [1]);
      const part = DATE_PARTS[e.name]!;
      if (d!.type === "datetime") {
        return { expr: withValue(d!, ctx, (v) => ({ [part.op]: v })), type: "integer" };
      }
      const textual = (e.name === "year" || e.name === "month" || e.name === "day")
        ? "date"
        : "time";
      requireType(d!, [textual], e.name);
      const [from, count] = part.fromText!;
      return {
        expr: withValue(d!, ctx, (v) => ({ $toInt: { $substrCP: [v, from, count] } })),
        type: "integer",
      };
    }
    case "date":
    case "time": {
      const [d] = args(e, ctx, [1]);
      requireType(d!, ["datetime"], e.name);
      const format = e.name === "date" ? "%Y-%m-%d" : "%H:%M:%S";
      return {
        expr: withValue(d!, ctx, (v) => ({ $dateToString: { date: v, format } })),
        type: e.name === "date" ? "date" : "time",
      };
    }
    case "now":
      args(e, ctx, [0]);
      return lit(new Date(), "datetime");
    case "round":
    case "floor":
    case "ceiling": {
      const [n] = args(e, ctx, [1]);
      requireNumeric(n!, e.name);
      const make = (v: unknown) => {
        if (e.name === "floor") return { $floor: v };
        if (e.name === "ceiling") return { $ceil: v };
        // OData rounds half away from zero; $round rounds half to even.
        return {
          $cond: [{ $gte: [v, 0] }, { $floor: { $add: [v, 0.5] } }, {
            $ceil: { $subtract: [v, 0.5] },
          }],
        };
      };
      return { expr: withValue(n!, ctx, make), type: n!.type };
    }
    default:
      throw notSupported(`${e.name}()`);
  }
}
