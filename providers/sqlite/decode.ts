/**
 * Row decoding for the read executor: per result shape, a decoder that turns the column values
 * of a stored row (in SELECT order) into a canonical row (keyed by property), built once and
 * reused for every row and every execution of the same compiled read.
 *
 * Each column decoder is {@linkcode decodeValue} with the common case answered first: a stored
 * value that is already canonical (a TEXT string, an INTEGER number) passes through, decimals
 * format directly, booleans compare, and datetimes in the fixed-width storage form are read
 * without `Date`'s general parser. Anything else falls back to `decodeValue`, so results and
 * errors are exactly its own.
 *
 * @module
 */

import type { Row, RowBuilder } from "../../src/provider/provider.ts";
import type { ResultColumn } from "../../src/sql/mod.ts";
import { decimalText, decodeValue, type ValueField } from "./values.ts";

/**
 * Decodes one stored value.
 *
 * @example
 * ```ts
 * import type { ColumnDecoder } from "./decode.ts";
 * const decode: ColumnDecoder = (stored) => stored;
 * ```
 */
export type ColumnDecoder = (stored: unknown) => unknown;

/**
 * Decodes the column values of one stored row (in SELECT order) into a new canonical row: an
 * ordinary object, hidden columns left out.
 *
 * @example
 * ```ts
 * import type { RowDecoder } from "./decode.ts";
 * const decode: RowDecoder = (values) => ({ Id: values[0] });
 * ```
 */
export type RowDecoder = (values: readonly unknown[]) => Row;

const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
const DAY_MS = 86_400_000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) +
    dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * Reads the datetime storage form `YYYY-MM-DDTHH:MM:SS.sssZ` (a valid instant only), or returns
 * `undefined` for any other text.
 *
 * @example
 * ```ts
 * import { parseStoredDatetime } from "./decode.ts";
 * parseStoredDatetime("2024-01-31T10:00:00.000Z")?.toISOString(); // "2024-01-31T10:00:00.000Z"
 * parseStoredDatetime("2024-01-31"); // undefined
 * ```
 */
export function parseStoredDatetime(text: string): Date | undefined {
  if (
    text.length !== 24 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 || text.charCodeAt(23) !== 90
  ) {
    return undefined; // not "-", "-", "T", ":", ":", ".", "Z" where the storage form has them
  }
  for (const i of DIGIT_POSITIONS) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = (i: number, length: number): number => {
    let value = 0;
    for (let k = i; k < i + length; k++) value = value * 10 + text.charCodeAt(k) - 48;
    return value;
  };
  const year = n(0, 4);
  const month = n(5, 2);
  const day = n(8, 2);
  const hour = n(11, 2);
  const minute = n(14, 2);
  const second = n(17, 2);
  if (
    month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 ||
    minute > 59 || second > 59
  ) {
    return undefined;
  }
  const time = ((hour * 60 + minute) * 60 + second) * 1000 + n(20, 3);
  return new Date(daysFromCivil(year, month, day) * DAY_MS + time);
}

/**
 * The decoder of one column: {@linkcode decodeValue} for `field`, with its common cases first.
 *
 * @example
 * ```ts
 * import { columnDecoder } from "./decode.ts";
 * columnDecoder({ type: "decimal", definition: { scale: 2 } })(1.5); // "1.50"
 * ```
 */
export function columnDecoder(field: ValueField): ColumnDecoder {
  const general: ColumnDecoder = (stored) => decodeValue(field, stored);
  switch (field.type) {
    case "string":
      return (stored) => typeof stored === "string" ? stored : general(stored);
    case "integer":
    case "number":
      return (stored) => typeof stored === "number" ? stored : general(stored);
    case "decimal": {
      const scale = field.definition?.scale;
      return (stored) => typeof stored === "number" ? decimalText(stored, scale) : general(stored);
    }
    case "boolean":
      return (stored) => stored === 1 ? true : stored === 0 ? false : general(stored);
    case "datetime":
      return (stored) =>
        (typeof stored === "string" ? parseStoredDatetime(stored) : undefined) ?? general(stored);
    default:
      return general;
  }
}

/**
 * Sets a property even when its name is `__proto__`.
 *
 * @example
 * ```ts
 * import { setOwn } from "./decode.ts";
 * const row: Record<string, unknown> = {};
 * setOwn(row, "__proto__", 1);
 * Object.keys(row); // ["__proto__"]
 * ```
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

function columnField(column: ResultColumn): ValueField {
  return { type: column.type, name: column.alias, definition: { scale: column.scale } };
}

/** Rows with nested paths (grouped navigation properties) or a `__proto__` property. */
function nestedDecoder(columns: readonly ResultColumn[]): RowDecoder {
  const decoders = columns.map((column) => columnDecoder(columnField(column)));
  return (values) => {
    const row: Row = {};
    columns.forEach((column, i) => {
      if (column.hidden) return;
      let target: Record<string, unknown> = row;
      for (const step of column.path.slice(0, -1)) {
        if (!Object.hasOwn(target, step)) setOwn(target, step, {});
        target = target[step] as Record<string, unknown>;
      }
      setOwn(target, column.path[column.path.length - 1]!, decoders[i]!(values[i]));
    });
    return row;
  };
}

const decoders = new WeakMap<readonly ResultColumn[], RowDecoder>();

/** A shape whose visible columns are single properties: decoded property by property. */
interface FlatShape {
  readonly names: readonly string[];
  readonly positions: readonly number[];
  readonly decode: readonly ColumnDecoder[];
}

const flatShapes = new WeakMap<readonly ResultColumn[], FlatShape | null>();

function flatShape(columns: readonly ResultColumn[]): FlatShape | null {
  let shape = flatShapes.get(columns);
  if (shape !== undefined) return shape;
  const visible = columns.filter((column) => !column.hidden);
  shape = visible.some((column) => column.path.length !== 1 || column.path[0] === "__proto__")
    ? null
    : {
      names: visible.map((column) => column.path[0]!),
      positions: visible.map((column) => columns.indexOf(column)),
      decode: visible.map((column) => columnDecoder(columnField(column))),
    };
  flatShapes.set(columns, shape);
  return shape;
}

const fieldOnly = new WeakMap<readonly ResultColumn[], WeakMap<object, boolean>>();

/** True when every visible column of a flat shape is a field of the entity (no computed ones). */
function onlyFields(
  columns: readonly ResultColumn[],
  shape: FlatShape,
  fields: ReadonlySet<string> | ReadonlyMap<string, unknown>,
): boolean {
  let known = fieldOnly.get(columns);
  if (known === undefined) fieldOnly.set(columns, known = new WeakMap());
  let answer = known.get(fields);
  if (answer === undefined) {
    answer = shape.names.every((name) => fields.has(name));
    known.set(fields, answer);
  }
  return answer;
}

/**
 * A row decoder that decodes each row straight into an object made by `builder` (an Active
 * Record), or `undefined` when the shape has a property that is not one of `fields` (computed
 * or aggregated values, grouped navigations): such rows stay plain.
 *
 * @example
 * ```ts
 * import { builtRowDecoder } from "./decode.ts";
 * const columns = [{ alias: "Id", path: ["Id"], type: "integer" as const, hidden: false }];
 * const decode = builtRowDecoder(columns, new Set(["Id"]), {
 *   create: () => ({}),
 *   attach: () => {},
 * });
 * decode?.([1]); // { Id: 1 }
 * ```
 */
export function builtRowDecoder(
  columns: readonly ResultColumn[],
  fields: ReadonlySet<string> | ReadonlyMap<string, unknown>,
  builder: RowBuilder,
): RowDecoder | undefined {
  const shape = flatShape(columns);
  if (shape === null || !onlyFields(columns, shape, fields)) return undefined;
  const { names, positions, decode } = shape;
  const count = names.length;
  const snapshot = rowDecoder(columns);
  return (values) => {
    const row = builder.create(values, snapshot);
    for (let i = 0; i < count; i++) row[names[i]!] = decode[i]!(values[positions[i]!]);
    return row;
  };
}

/**
 * The row decoder for a compiled read's columns (made once per columns array).
 *
 * @example
 * ```ts
 * import { rowDecoder } from "./decode.ts";
 * const decode = rowDecoder([{ alias: "Id", path: ["Id"], type: "integer", hidden: false }]);
 * decode([1]); // { Id: 1 }
 * ```
 */
export function rowDecoder(columns: readonly ResultColumn[]): RowDecoder {
  let decoder = decoders.get(columns);
  if (decoder !== undefined) return decoder;
  const visible = columns.filter((column) => !column.hidden);
  if (visible.some((column) => column.path.length !== 1 || column.path[0] === "__proto__")) {
    decoder = nestedDecoder(columns);
  } else {
    const positions = visible.map((column) => columns.indexOf(column));
    const names = visible.map((column) => column.path[0]!);
    const decode = visible.map((column) => columnDecoder(columnField(column)));
    const count = visible.length;
    decoder = (values) => {
      const row: Row = {};
      for (let i = 0; i < count; i++) row[names[i]!] = decode[i]!(values[positions[i]!]);
      return row;
    };
  }
  decoders.set(columns, decoder);
  return decoder;
}
