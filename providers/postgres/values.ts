/**
 * PostgreSQL column types of the field types, and the conversions between canonical values and
 * what the driver sends and receives.
 *
 * @module
 */

import type { FieldMetadata, FieldType } from "../../src/model/schema.ts";

/**
 * The column type of a field in CREATE TABLE: exact `NUMERIC(p,s)` for decimals, `timestamptz`,
 * `uuid`, `jsonb`, `bytea`, `VARCHAR(n)` for strings with a `maxLength`.
 *
 * @example
 * ```ts
 * import { columnTypeOf } from "./values.ts";
 * columnTypeOf({ type: "guid", definition: { type: "guid" } }); // "uuid"
 * ```
 */
export function columnTypeOf(
  field: Pick<FieldMetadata, "type" | "definition">,
): string {
  const definition = field.definition;
  switch (field.type) {
    case "string":
      return definition.maxLength === undefined ? "text" : `varchar(${definition.maxLength})`;
    case "decimal":
      if (definition.precision !== undefined) {
        return `numeric(${definition.precision},${definition.scale ?? 0})`;
      }
      return "numeric";
    default:
      return SQL_TYPES[field.type];
  }
}

/**
 * The PostgreSQL type of each field type, as columns are created and parameters cast.
 *
 * @example
 * ```ts
 * import { SQL_TYPES } from "./values.ts";
 * SQL_TYPES.decimal; // "numeric"
 * ```
 */
export const SQL_TYPES: Readonly<Record<FieldType, string>> = Object.freeze({
  string: "text",
  integer: "bigint",
  number: "double precision",
  decimal: "numeric",
  boolean: "boolean",
  date: "date",
  datetime: "timestamptz",
  time: "time",
  guid: "uuid",
  json: "jsonb",
  binary: "bytea",
});

/**
 * The `information_schema.columns.data_type` a field's column has, for drift reports.
 *
 * @example
 * ```ts
 * import { informationSchemaType } from "./values.ts";
 * informationSchemaType("datetime"); // "timestamp with time zone"
 * ```
 */
export function informationSchemaType(type: FieldType): string {
  return INFORMATION_SCHEMA_TYPES[type];
}

const INFORMATION_SCHEMA_TYPES: Readonly<Record<FieldType, string>> = Object.freeze({
  string: "text|character varying",
  integer: "bigint|integer|smallint",
  number: "double precision|real",
  decimal: "numeric",
  boolean: "boolean",
  date: "date",
  datetime: "timestamp with time zone",
  time: "time without time zone",
  guid: "uuid",
  json: "jsonb|json",
  binary: "bytea",
});

/**
 * A placeholder for parameter `index` of a field type, cast so that the server and the driver
 * agree on the type whatever the statement. Dates, times and JSON travel as text (the driver
 * would otherwise reformat them).
 *
 * @example
 * ```ts
 * import { placeholder } from "./values.ts";
 * placeholder(1, "json"); // "($1::text)::jsonb"
 * ```
 */
export function placeholder(index: number, type: FieldType): string {
  return typedSlot(`$${index}`, type);
}

/**
 * Field types sent as text and cast on the server: the driver would reformat them otherwise.
 *
 * @example
 * ```ts
 * import { TEXT_TRAVEL } from "./values.ts";
 * TEXT_TRAVEL.has("json"); // true
 * ```
 */
export const TEXT_TRAVEL: ReadonlySet<string> = new Set<FieldType>(["date", "time", "json"]);

/**
 * A parameter slot (`$1`, or `?` before numbering) with the cast of `type`.
 *
 * @example
 * ```ts
 * import { typedSlot } from "./values.ts";
 * typedSlot("?", "date"); // "(?::text)::date"
 * ```
 */
export function typedSlot(slot: string, type: FieldType): string {
  return TEXT_TRAVEL.has(type)
    ? `(${slot}::text)::${SQL_TYPES[type]}`
    : `${slot}::${SQL_TYPES[type]}`;
}

/**
 * A canonical value as the driver parameter for a placeholder of its field type.
 *
 * @example
 * ```ts
 * import { encodeValue } from "./values.ts";
 * encodeValue({ a: 1 }, "json"); // '{"a":1}'
 * ```
 */
export function encodeValue(value: unknown, type: FieldType): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "json":
      return JSON.stringify(value);
    case "decimal":
    case "integer":
      return typeof value === "bigint" ? value.toString() : value;
    default:
      return value;
  }
}

/** Turns one value read from the driver into the canonical value of its field type. */
export type ValueDecoder = (value: unknown) => unknown;

const toNumber: ValueDecoder = (value) =>
  value === null || value === undefined ? null : typeof value === "number" ? value : Number(value);
const toDecimal: ValueDecoder = (value) =>
  value === null || value === undefined ? null : String(value);
const toBytes: ValueDecoder = (value) =>
  value === null || value === undefined ? null : value instanceof Uint8Array
    // A copy: the driver's buffer may be a view into a larger one it reuses.
    ? new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength))
    : value;
const toDate: ValueDecoder = (value) =>
  value === null || value === undefined
    ? null
    : value instanceof Date
    ? value
    : new Date(String(value));
const toGuid: ValueDecoder = (value) =>
  value === null || value === undefined ? null : String(value).toLowerCase();
const asIs: ValueDecoder = (value) => value === undefined ? null : value;

const DECODERS: Readonly<Record<FieldType, ValueDecoder>> = Object.freeze({
  string: asIs,
  integer: toNumber,
  number: toNumber,
  decimal: toDecimal,
  boolean: asIs,
  date: asIs,
  datetime: toDate,
  time: asIs,
  guid: toGuid,
  json: asIs,
  binary: toBytes,
});

/**
 * The decoder of a field type's values (chosen once per column, not once per value).
 *
 * @example
 * ```ts
 * import { fieldDecoder } from "./values.ts";
 * fieldDecoder("decimal")(12.5); // "12.5"
 * ```
 */
export function fieldDecoder(type: FieldType): ValueDecoder {
  return DECODERS[type] ?? asIs;
}

/**
 * A value read from the driver as the canonical value of its field type.
 *
 * @example
 * ```ts
 * import { decodeValue } from "./values.ts";
 * decodeValue("42", "integer"); // 42
 * ```
 */
export function decodeValue(value: unknown, type: FieldType): unknown {
  return fieldDecoder(type)(value);
}
