/**
 * The OData JSON format writer: rows with canonical values (see the provider contract) become
 * JSON text, written by hand so that decimals keep their exact digits (`19.0000` as a JSON
 * number), Int64/Decimal become strings under `IEEE754Compatible=true`, and control information
 * (`@odata.context`, `@odata.etag`, `@odata.id`, ...) follows `odata.metadata=minimal|none|full`
 * in the 4.0 (`@odata.x`) or 4.01 (`@x`) spelling.
 *
 * @module
 */

import type { EntityMetadata, FieldMetadata, SchemaResolver } from "../model/schema.ts";
import type { ExpandItem, ODataQuery } from "../odata/ast.ts";
import type { Row } from "../provider/provider.ts";
import { etagOf } from "./etag.ts";
import { keyLiteral } from "./path.ts";

/** How a response is written. */
export interface JsonStyle {
  /** `odata.metadata`. */
  readonly metadata: "minimal" | "none" | "full";
  /** `IEEE754Compatible=true`: Int64 and Decimal as strings. */
  readonly ieee754: boolean;
  /** 4.01 annotation spelling (`@context` instead of `@odata.context`). */
  readonly v401: boolean;
  /** The absolute service root URL ending in `/`. */
  readonly serviceRoot: string;
  /** The qualified type name of an entity (`NorthwindModel.Product`). */
  readonly typeName: (entity: EntityMetadata) => string;
  /** Resolves navigation targets. */
  readonly schema: SchemaResolver;
}

/** The control information name in the style's spelling: `context` → `"@odata.context"`. */
export function annotation(style: JsonStyle, name: string): string {
  return style.v401 ? `@${name}` : `@odata.${name}`;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** One primitive value as JSON text. */
export function writeValue(field: FieldMetadata, value: unknown, style: JsonStyle): string {
  if (value === null || value === undefined) return "null";
  switch (field.type) {
    case "string":
    case "date":
    case "time":
    case "guid":
      return JSON.stringify(value);
    case "integer":
      return style.ieee754 ? `"${value}"` : String(value);
    case "number": {
      const n = value as number;
      if (Number.isFinite(n)) return String(n);
      return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"INF"' : '"-INF"';
    }
    case "decimal": {
      const text = String(value);
      return style.ieee754 || !DECIMAL.test(text) ? JSON.stringify(text) : text;
    }
    case "boolean":
      return value ? "true" : "false";
    case "datetime":
      return JSON.stringify(value instanceof Date ? value.toISOString() : String(value));
    case "binary":
      return value instanceof Uint8Array ? JSON.stringify(base64url(value)) : "null";
    default:
      return JSON.stringify(value) ?? "null";
  }
}

/** The canonical URL of an entity relative to the service root: `Products(1)`. */
export function entityPath(entity: EntityMetadata, row: Row): string | undefined {
  const parts: string[] = [];
  for (const name of entity.key) {
    const value = row[name];
    if (value === undefined) return undefined;
    parts.push(keyLiteral(entity.fields.get(name)!.type, value));
  }
  if (entity.key.length === 1) return `${entity.name}(${parts[0]})`;
  return `${entity.name}(${entity.key.map((name, i) => `${name}=${parts[i]}`).join(",")})`;
}

const EDM_SHORT: Readonly<Record<string, string | undefined>> = {
  integer: "#Int64",
  decimal: "#Decimal",
  date: "#Date",
  datetime: "#DateTimeOffset",
  time: "#TimeOfDay",
  guid: "#Guid",
  binary: "#Binary",
};

/** What to write of one entity: its selection and the expansions under it. */
export interface EntityShape {
  /** Only these fields (undefined: every field present in the row). */
  readonly selected?: ReadonlySet<string>;
  /** Expansions by navigation name. */
  readonly expand: ReadonlyMap<string, EntityShape>;
}

/** The shape of a query: its `$select` and `$expand`, recursively. */
export function shapeOf(query: ODataQuery | undefined): EntityShape {
  const expand = new Map<string, EntityShape>();
  for (const item of query?.expand ?? []) addExpand(expand, item);
  const select = query?.select;
  if (select === undefined || select.some((item) => item.path[0] === "*")) {
    return { expand };
  }
  return { selected: new Set(select.map((item) => item.path[0]!)), expand };
}

function addExpand(expand: Map<string, EntityShape>, item: ExpandItem): void {
  const name = item.path[0];
  if (name === undefined || name === "*") return;
  expand.set(name, shapeOf(item.options));
}

/** Writes one entity object (without the surrounding context annotation). */
export function writeEntity(
  entity: EntityMetadata,
  row: Row,
  shape: EntityShape,
  style: JsonStyle,
  leading = "",
): string {
  let out = "{" + leading;
  let first = leading === "";
  const comma = () => {
    if (first) first = false;
    else out += ",";
  };
  if (style.metadata !== "none") {
    const full = style.metadata === "full";
    if (full) {
      comma();
      out += `"${annotation(style, "type")}":${JSON.stringify("#" + style.typeName(entity))}`;
      const path = entityPath(entity, row);
      if (path !== undefined) {
        out += `,"${annotation(style, "id")}":${JSON.stringify(path)}`;
        out += `,"${annotation(style, "editLink")}":${JSON.stringify(path)}`;
      }
    }
    const etag = shape.selected === undefined ? etagOf(entity, row) : undefined;
    if (etag !== undefined) {
      comma();
      out += `"${annotation(style, "etag")}":${JSON.stringify(etag)}`;
    }
  }
  const full = style.metadata === "full";
  for (const field of entity.fieldList) {
    if (shape.selected !== undefined && !shape.selected.has(field.name)) continue;
    const value = row[field.name];
    if (value === undefined) continue;
    comma();
    if (full) {
      const type = EDM_SHORT[field.type];
      if (type !== undefined) {
        out += `"${field.name}${annotation(style, "type")}":"${type}",`;
      }
    }
    out += JSON.stringify(field.name) + ":" + writeValue(field, value, style);
  }
  for (const relation of entity.relations.values()) {
    const nested = shape.expand.get(relation.name);
    if (full && nested === undefined) {
      const path = entityPath(entity, row);
      if (path !== undefined) {
        comma();
        out += `"${relation.name}${annotation(style, "navigationLink")}":` +
          JSON.stringify(`${path}/${relation.name}`);
      }
    }
    if (nested === undefined) continue;
    const value = row[relation.name];
    if (value === undefined) continue;
    const target = style.schema.getEntityMetadata(relation.target);
    if (target === undefined) continue;
    comma();
    out += JSON.stringify(relation.name) + ":";
    if (value === null) out += "null";
    else if (Array.isArray(value)) {
      out += "[";
      for (let i = 0; i < value.length; i++) {
        if (i > 0) out += ",";
        out += writeEntity(target, value[i] as Row, nested, style);
      }
      out += "]";
    } else out += writeEntity(target, value as Row, nested, style);
  }
  return out + "}";
}

/** The `$metadata#...` context URL of a response, absolute from the service root. */
export function contextUrl(style: JsonStyle, fragment: string): string {
  return `${style.serviceRoot}$metadata#${fragment}`;
}

/** The select list of a context URL: `Products(ProductID,ProductName)`. */
export function contextSelect(
  entity: EntityMetadata,
  shape: EntityShape,
  v401 = false,
): string {
  const parts: string[] = shape.selected === undefined ? [] : [...shape.selected];
  for (const [name, nested] of shape.expand) {
    const target = entity.relations.get(name);
    if (target === undefined) continue;
    if (nested.selected === undefined && !v401) continue; // 4.0: only expansions with a select
    parts.push(`${name}(${nested.selected === undefined ? "" : [...nested.selected].join(",")})`);
  }
  return parts.length === 0 ? "" : `(${parts.join(",")})`;
}

/** Reads a base64url (or base64) text into bytes; undefined when it is not valid. */
export function fromBase64url(text: string): Uint8Array | undefined {
  try {
    const plain = text.replaceAll("-", "+").replaceAll("_", "/");
    const padded = plain + "=".repeat((4 - (plain.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}
