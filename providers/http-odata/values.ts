/**
 * Canonical values ⇄ OData JSON wire values. Reads accept both the plain and the
 * `IEEE754Compatible=true` forms (Int64 and Decimal as numbers or strings); writes send Decimal
 * as strings (the provider announces `IEEE754Compatible=true`), so no digit is lost.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import { formatDecimal } from "../../src/model/coerce.ts";
import type { EntityMetadata, FieldMetadata, SchemaResolver } from "../../src/model/schema.ts";
import type { Row } from "../../src/provider/provider.ts";
import { setExpandedCount } from "../../src/provider/expanded_counts.ts";

function wireError(field: FieldMetadata, value: unknown, what: string): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "PROVIDER_ERROR",
    `The remote service sent ${JSON.stringify(value)} for ${field.name}, expected ${what}`,
    { context: { provider: "http-odata", field: field.name, type: field.type } },
  );
}

function base64ToBytes(text: string): Uint8Array {
  // OData JSON uses base64url; atob wants the standard alphabet with padding.
  let b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  while (b64.length % 4 !== 0) b64 += "=";
  const raw = atob(b64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function bytesToBase64Url(bytes: Uint8Array): string {
  let raw = "";
  for (const byte of bytes) raw += String.fromCharCode(byte);
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Decodes one wire value of `field` to its canonical form.
 *
 * @example
 * ```ts
 * import { decodeWireValue } from "./values.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const meta = resolveEntity("T", { fields: { id: { type: "integer", primaryKey: true } } });
 * decodeWireValue(meta.fields.get("id")!, "42"); // 42
 * ```
 */
export function decodeWireValue(field: FieldMetadata, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case "string":
      if (typeof value === "string") return value;
      throw wireError(field, value, "a string");
    case "integer":
    case "number": {
      if (typeof value === "number") return value;
      if (typeof value === "string" && value.trim() !== "") {
        if (field.type === "number" && (value === "INF" || value === "-INF" || value === "NaN")) {
          return value === "INF" ? Infinity : value === "-INF" ? -Infinity : NaN;
        }
        const n = Number(value);
        if (Number.isFinite(n)) return n;
      }
      throw wireError(field, value, "a number");
    }
    case "decimal": {
      const text = typeof value === "number" ? String(value) : value;
      if (typeof text !== "string") throw wireError(field, value, "a decimal");
      const scale = field.definition.scale;
      const fast = scale === undefined ? undefined : padDecimal(text, scale);
      if (fast !== undefined) return fast;
      if (scale === undefined) return text.includes("e") || text.includes("E") ? plain(text) : text;
      try {
        return formatDecimal(plain(text), scale);
      } catch {
        return text; // more digits than the declared scale: keep what the service said
      }
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      throw wireError(field, value, "a boolean");
    case "date":
      if (typeof value === "string") return value.slice(0, 10);
      throw wireError(field, value, "a date");
    case "datetime": {
      const date = typeof value === "string" ? parseInstant(value) : undefined;
      if (date !== undefined && !Number.isNaN(date.getTime())) return date;
      throw wireError(field, value, "a DateTimeOffset");
    }
    case "time":
      if (typeof value === "string") return value;
      throw wireError(field, value, "a TimeOfDay");
    case "guid":
      if (typeof value === "string") return value.toLowerCase();
      throw wireError(field, value, "a Guid");
    case "json":
      return value;
    case "binary":
      if (typeof value === "string") return base64ToBytes(value);
      throw wireError(field, value, "base64url binary");
  }
}

/** `32.38` with scale 4 → `32.3800` for plain digit strings; `undefined` for anything else. */
function padDecimal(text: string, scale: number): string | undefined {
  const n = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0; // "-"
  const start = i;
  while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  if (i === start) return undefined;
  if (i === n) return scale === 0 ? text : `${text}.${"0".repeat(scale)}`;
  if (text.charCodeAt(i) !== 46) return undefined; // "."
  const point = i++;
  while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  const digits = i - point - 1;
  if (i !== n || digits === 0 || digits > scale) return undefined;
  return digits === scale ? text : text + "0".repeat(scale - digits);
}

/** The digit positions of `YYYY-MM-DDTHH:MM:SS.fffZ`. */
const INSTANT_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/**
 * `YYYY-MM-DDTHH:MM:SS[.fff]Z` without `Date`'s general parser (the usual wire form); anything
 * else (offsets, more digits) goes to `Date`.
 */
function parseInstant(text: string): Date {
  const n = text.length;
  if (
    (n === 20 || n === 24) && text.charCodeAt(n - 1) === 90 && text.charCodeAt(10) === 84 &&
    text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45 && text.charCodeAt(13) === 58 &&
    text.charCodeAt(16) === 58 && (n === 20 || text.charCodeAt(19) === 46)
  ) {
    const d = INSTANT_DIGIT_VALUES;
    let ok = true;
    for (let i = 0; i < (n === 24 ? 17 : 14); i++) {
      const c = text.charCodeAt(INSTANT_DIGITS[i]!) - 48;
      if (c < 0 || c > 9) {
        ok = false;
        break;
      }
      d[i] = c;
    }
    if (ok) {
      const year = d[0]! * 1000 + d[1]! * 100 + d[2]! * 10 + d[3]!;
      const month = d[4]! * 10 + d[5]!;
      const day = d[6]! * 10 + d[7]!;
      const hour = d[8]! * 10 + d[9]!;
      const minute = d[10]! * 10 + d[11]!;
      const second = d[12]! * 10 + d[13]!;
      const ms = n === 24 ? d[14]! * 100 + d[15]! * 10 + d[16]! : 0;
      const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
      // Date.UTC rolls out-of-range parts over (month 13): only an exact round trip is taken.
      if (
        year >= 100 && hour < 24 && minute < 60 && second < 60 && date.getUTCDate() === day &&
        date.getUTCMonth() === month - 1
      ) return date;
    }
  }
  return new Date(text);
}

const INSTANT_DIGIT_VALUES: number[] = new Array(17).fill(0);

/** `1.5e-7` → `0.00000015`: decimals travel as plain digits. */
function plain(text: string): string {
  if (!/[eE]/.test(text)) return text;
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  return n.toLocaleString("en-US", { useGrouping: false, maximumFractionDigits: 20 });
}

/**
 * Encodes one canonical value of `field` for a JSON request body.
 *
 * @example
 * ```ts
 * import { encodeWireValue } from "./values.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const meta = resolveEntity("T", { fields: { at: { type: "datetime", primaryKey: true } } });
 * encodeWireValue(meta.fields.get("at")!, new Date(0)); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function encodeWireValue(field: FieldMetadata, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case "datetime":
      return value instanceof Date ? value.toISOString() : value;
    case "binary":
      return value instanceof Uint8Array ? bytesToBase64Url(value) : value;
    case "number":
      if (typeof value === "number" && !Number.isFinite(value)) {
        return Number.isNaN(value) ? "NaN" : value > 0 ? "INF" : "-INF";
      }
      return value;
    default:
      return value;
  }
}

/**
 * Encodes a canonical row (only the fields it holds) for a request body.
 *
 * @example
 * ```ts
 * import { encodeRow } from "./values.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const meta = resolveEntity("T", { fields: { id: { type: "integer", primaryKey: true } } });
 * encodeRow(meta, { id: 1 }); // { id: 1 }
 * ```
 */
export function encodeRow(entity: EntityMetadata, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(row)) {
    const field = entity.fields.get(name);
    if (field === undefined) continue;
    out[field.column] = encodeWireValue(field, row[name]);
  }
  return out;
}

/**
 * Decodes a wire entity to a canonical row: registered fields by type, expanded navigations
 * recursively with their target's fields, annotations (`@odata.etag`) left out but for the
 * counts of expanded collections (`Orders@odata.count`, kept as in
 * `src/provider/expanded_counts.ts`), and unregistered properties (`$apply` aliases, `$compute` results) passed through.
 *
 * @example
 * ```ts
 * import { decodeRow } from "./values.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const meta = resolveEntity("T", { fields: { id: { type: "integer", primaryKey: true } } });
 * decodeRow(meta, { getEntityMetadata: () => undefined }, { "@odata.etag": "W/\"1\"", id: 1 });
 * ```
 */
export function decodeRow(
  entity: EntityMetadata,
  schema: SchemaResolver,
  wire: Record<string, unknown>,
): Row {
  const row: Row = {};
  for (const name in wire) {
    const value = wire[name];
    const field = entity.fields.get(name);
    if (field !== undefined) {
      row[name] = decodeWireValue(field, value);
      continue;
    }
    if (name.includes("@")) {
      // `Orders@odata.count` (4.01: `Orders@count`) of an expanded collection: kept for callers.
      const at = name.indexOf("@");
      const annotation = name.slice(at);
      const navigation = name.slice(0, at);
      if (
        (annotation === "@odata.count" || annotation === "@count") &&
        entity.relations.has(navigation)
      ) {
        setExpandedCount(row, navigation, Number(value));
      }
      continue;
    }
    const relation = entity.relations.get(name);
    const target = relation === undefined ? undefined : schema.getEntityMetadata(relation.target);
    if (target !== undefined) {
      if (Array.isArray(value)) {
        row[name] = value.map((item) => decodeRow(target, schema, item as Record<string, unknown>));
      } else {
        row[name] = value === null || typeof value !== "object"
          ? null
          : decodeRow(target, schema, value as Record<string, unknown>);
      }
      continue;
    }
    row[name] = value;
  }
  return row;
}
