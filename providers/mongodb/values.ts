/**
 * Canonical values (see `src/provider/provider.ts`) to BSON and back.
 *
 * Storage: `string`, `time`, `date` (`YYYY-MM-DD`, which sorts and compares as text) and `guid`
 * (lower case) as strings; `integer` and `number` as numbers; `decimal` as `Decimal128` (exact,
 * the default) or as a double when the namespace asks for `decimal: "double"` (servers without
 * decimal arithmetic); `boolean`; `datetime` as a BSON date; `json` as embedded BSON; `binary`
 * as BSON binary. A key mapped to `_id` holds an `ObjectId` when its value is 24 hex digits.
 *
 * Written documents never carry keys that MongoDB would read as operators or paths: a JSON value
 * whose object keys start with `$` or contain `.` is refused with `VALIDATION_FAILED`.
 *
 * @module
 */

import { Binary, Decimal128, Long, ObjectId } from "mongodb";
import type { LiteralNode } from "../../src/odata/ast.ts";
import { ValidationError } from "../../src/errors/errors.ts";
import { formatDecimal } from "../../src/model/coerce.ts";
import type { EntityMetadata, FieldMetadata, FieldType } from "../../src/model/schema.ts";
import type { Row } from "../../src/provider/provider.ts";

/** A MongoDB document. */
export type Document = Record<string, unknown>;

/** How values are stored. */
export interface StorageOptions {
  /** `decimal128` (exact, default) or `double`. */
  readonly decimal: "decimal128" | "double";
}

const OBJECT_ID = /^[0-9a-f]{24}$/i;

function storeDecimal(text: string, storage: StorageOptions): unknown {
  return storage.decimal === "decimal128" ? Decimal128.fromString(text) : Number(text);
}

/**
 * A literal as stored for a field of type `type` (or in its own type when `type` is undefined).
 *
 * @example
 * ```ts
 * import { literalToStored } from "./values.ts";
 * literalToStored({ kind: "Literal", type: "int", value: 20 }, "integer", { decimal: "double" }); // 20
 * ```
 */
export function literalToStored(
  node: LiteralNode,
  type: FieldType | undefined,
  storage: StorageOptions,
): unknown {
  const value = node.value;
  if (value === null) return null;
  switch (node.type) {
    case "decimal":
      return type === "decimal" || type === undefined
        ? storeDecimal(String(value), storage)
        : Number(value);
    case "int":
      if (type === "decimal") return storeDecimal(String(value), storage);
      return typeof value === "bigint" ? Long.fromBigInt(value) : value;
    case "double":
      return type === "decimal" && storage.decimal === "decimal128" && Number.isFinite(value)
        ? Decimal128.fromString(String(value))
        : value;
    case "datetimeoffset":
      return new Date(String(value));
    case "guid":
      return String(value).toLowerCase();
    case "binary":
      return new Binary(base64UrlDecode(String(value)));
    default:
      return value;
  }
}

function base64UrlDecode(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - base64.length % 4) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function assertSafeJson(value: unknown, entity: string, field: string): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const item of value) assertSafeJson(item, entity, field);
    return;
  }
  if (value instanceof Date || value instanceof Uint8Array) return;
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith("$") || key.includes(".") || key.includes("\u0000")) {
      throw new ValidationError(entity, [{
        field,
        reason: `holds the object key ${JSON.stringify(key)}, which MongoDB would read as an ` +
          "operator or a path",
        suggestion: "Rename keys that start with '$' or contain '.'",
      }]);
    }
    assertSafeJson(item, entity, field);
  }
}

/**
 * A value compared with the `_id` column: 24 hex digits are an `ObjectId` there.
 *
 * @example
 * ```ts
 * import { idValue } from "./values.ts";
 * idValue("_id", "65a1b2c3d4e5f60718293a4b"); // ObjectId
 * ```
 */
export function idValue(column: string, value: unknown): unknown {
  return column === "_id" && typeof value === "string" && OBJECT_ID.test(value)
    ? ObjectId.createFromHexString(value)
    : value;
}

/**
 * A canonical value as stored in a document.
 *
 * @example
 * ```ts
 * import { toStored } from "./values.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const e = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true }, At: { type: "datetime" } } });
 * toStored(e, e.fields.get("At")!, new Date(0), { decimal: "double" }); // Date
 * ```
 */
export function toStored(
  entity: EntityMetadata,
  field: FieldMetadata,
  value: unknown,
  storage: StorageOptions,
): unknown {
  if (value === null || value === undefined) return null;
  if (field.column === "_id" && typeof value === "string" && OBJECT_ID.test(value)) {
    return ObjectId.createFromHexString(value);
  }
  switch (field.type) {
    case "decimal":
      return storeDecimal(String(value), storage);
    case "integer":
      return typeof value === "bigint" ? Long.fromBigInt(value) : value;
    case "binary":
      return new Binary(value as Uint8Array);
    case "json":
      assertSafeJson(value, entity.name, field.name);
      return value;
    default:
      return value;
  }
}

/**
 * A row of canonical values as a document (fields absent from the row are left out).
 *
 * @example
 * ```ts
 * import { toDocument } from "./values.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const e = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * toDocument(e, { Id: 1 }, { decimal: "double" }); // { Id: 1 }
 * ```
 */
export function toDocument(entity: EntityMetadata, row: Row, storage: StorageOptions): Document {
  const document: Document = {};
  for (const field of entity.fieldList) {
    if (!Object.hasOwn(row, field.name)) continue;
    document[field.column] = toStored(entity, field, row[field.name], storage);
  }
  return document;
}

/**
 * A stored value in its canonical form for a field of `type` (decimals formatted to `scale`).
 *
 * @example
 * ```ts
 * import { fromStored } from "./values.ts";
 * fromStored("decimal", 18.5, 2); // "18.50"
 * ```
 */
export function fromStored(type: FieldType | "null", value: unknown, scale?: number): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "decimal": {
      if (typeof value === "number") {
        return scale === undefined
          ? formatDecimal(String(value), decimalsOf(value))
          : value.toFixed(scale);
      }
      const text = value instanceof Decimal128 ? value.toString() : String(value);
      if (scale === undefined) return formatDecimal(text, decimalsOf(Number(text), text));
      return formatDecimal(roundText(text, scale), scale);
    }
    case "integer":
      if (value instanceof Long) return value.toNumber();
      if (value instanceof Decimal128) return Number(value.toString());
      return typeof value === "number" ? value : Number(value);
    case "number":
      if (value instanceof Decimal128 || value instanceof Long) return Number(value.toString());
      return value;
    case "string":
    case "guid":
      return value instanceof ObjectId ? value.toHexString() : value;
    case "binary":
      return value instanceof Binary ? new Uint8Array(value.buffer) : value;
    case "datetime":
      return value instanceof Date ? value : new Date(String(value));
    default:
      return value instanceof ObjectId ? value.toHexString() : value;
  }
}

function decimalsOf(n: number, text = String(n)): number {
  const plain = text.includes("e") || text.includes("E") ? n.toFixed(20).replace(/0+$/, "") : text;
  const dot = plain.indexOf(".");
  return dot < 0 ? 0 : plain.length - dot - 1;
}

/** Rounds decimal text half away from zero to `scale` places (results of averages may have more). */
function roundText(text: string, scale: number): string {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE][+-]?\d+)?$/.exec(text);
  if (match === null || /[eE]/.test(text)) return Number(text).toFixed(scale);
  const [, sign, whole = "0", fraction = ""] = match;
  if (fraction.length <= scale) return text;
  const digits = BigInt((whole || "0") + fraction.slice(0, scale));
  const rounded = Number(fraction[scale]) >= 5 ? digits + 1n : digits;
  const padded = rounded.toString().padStart(scale + 1, "0");
  const cut = padded.length - scale;
  return `${sign}${padded.slice(0, cut)}${scale > 0 ? "." + padded.slice(cut) : ""}`;
}

/**
 * A document as a row of canonical values, keeping only the entity's fields.
 *
 * @example
 * ```ts
 * import { fromDocument } from "./values.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const e = resolveEntity("T", { fields: { Id: { type: "integer", primaryKey: true } } });
 * fromDocument(e, { Id: 1, _id: "x" }); // { Id: 1 }
 * ```
 */
export function fromDocument(
  entity: EntityMetadata,
  document: Document,
  fields: readonly FieldMetadata[] = entity.fieldList,
): Row {
  const row: Row = {};
  for (const field of fields) {
    row[field.name] = fromStored(field.type, document[field.column], field.definition.scale);
  }
  return row;
}
