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
import type { ODataQuery } from "../odata/ast.ts";
import type { Row } from "../provider/provider.ts";
import { etagOf } from "./etag.ts";
import { keyLiteral } from "./path.ts";
import { selectStepText } from "../odata/select_path.ts";
import { expandedCount } from "../provider/expanded_counts.ts";

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

/** A value of a computed or aggregated property, typed by its JavaScript value. */
function dynamicValue(value: unknown, style: JsonStyle): string {
  if (value === null) return "null";
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (value instanceof Uint8Array) return JSON.stringify(base64url(value));
  if (typeof value === "bigint") return style.ieee754 ? `"${value}"` : String(value);
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? '"NaN"' : value > 0 ? '"INF"' : '"-INF"';
  }
  return JSON.stringify(value) ?? "null";
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
  /** `$expand=*`: every other navigation property is expanded too. */
  readonly expandAll?: boolean;
  /** `$compute` / `$apply`: rows carry properties the entity does not declare. */
  readonly dynamic?: boolean;
  /** `$expand=Nav($count=true)` (written as `Nav@odata.count`) or, `"only"`, `Nav/$count`. */
  readonly count?: true | "only";
  /** `Nav/$ref`: entity references (`@odata.id`) instead of entities. */
  readonly ref?: true;
}

/** Every field, nothing expanded: the shape of a query without `$select`/`$expand`. */
const WHOLE: EntityShape = Object.freeze({ expand: new Map<string, EntityShape>() });

/** `Nav/$count`: the count alone, no related entities. */
const COUNT_ONLY: EntityShape = Object.freeze({ expand: new Map(), count: "only" as const });

/** `Nav/$ref`: references to the related entities, with their count or without. */
const REF: EntityShape = Object.freeze({ expand: new Map(), ref: true as const });
const REF_COUNTED: EntityShape = Object.freeze({ ...REF, count: true as const });

/** The shape of a query: its `$select` and `$expand`, recursively. */
export function shapeOf(query: ODataQuery | undefined): EntityShape {
  if (
    query === undefined ||
    (query.expand === undefined && query.select === undefined && query.compute === undefined &&
      query.apply === undefined)
  ) {
    return WHOLE; // a key lookup's common case: nothing to build
  }
  const expand = new Map<string, EntityShape>();
  let expandAll = false;
  for (const item of query?.expand ?? []) {
    const name = item.path[0];
    if (name === "*") expandAll = true;
    else if (name !== undefined && item.count === true) expand.set(name, COUNT_ONLY);
    else if (name !== undefined && item.ref === true) {
      expand.set(name, item.options?.count === true ? REF_COUNTED : REF);
    } else if (name !== undefined) {
      const nested = shapeOf(item.options);
      expand.set(name, item.options?.count === true ? { ...nested, count: true } : nested);
    }
  }
  const select = query?.select;
  const all = {
    ...(expandAll ? { expandAll } : {}),
    ...(query?.compute !== undefined || query?.apply !== undefined ? { dynamic: true } : {}),
  };
  if (select === undefined || select.some((item) => item.segments[0]?.kind === "Star")) {
    return { expand, ...all };
  }
  return {
    selected: new Set(select.map((item) => selectStepText(item.segments[0]!))),
    expand,
    ...all,
  };
}

/**
 * Writes entity objects of one shape; `leading` is text put first (a context annotation) and
 * `etag` the row's ETag when the caller has computed it already.
 */
export type EntityWriter = (row: Row, leading?: string, etag?: string) => string;

/** One field's part of a writer: its `"Name":` prefix and its value formatter. */
interface FieldPart {
  readonly name: string;
  readonly key: string;
  readonly typeAnnotation: string;
  readonly format: (value: unknown) => string;
}

/**
 * `"<ISO timestamp>"` of a date. `toISOString()` is slow next to a map lookup and the same
 * instants recur (order dates, birth dates), so texts are kept in a bounded cache. An ISO
 * timestamp has no character that JSON escapes.
 */
function isoText(date: Date): string {
  const time = date.getTime();
  if (Number.isNaN(time)) return "null"; // an invalid Date has no ISO text
  let text = isoTexts.get(time);
  if (text === undefined) {
    if (isoTexts.size >= 10000) isoTexts.clear();
    text = `"${date.toISOString()}"`;
    isoTexts.set(time, text);
  }
  return text;
}

const isoTexts = new Map<number, string>();

/** The value formatter of a field type, chosen once per writer instead of per value. */
function formatter(field: FieldMetadata, style: JsonStyle): (value: unknown) => string {
  switch (field.type) {
    case "string":
    case "date":
    case "time":
    case "guid":
      return (value) => JSON.stringify(value);
    case "integer":
      return style.ieee754 ? (value) => `"${value}"` : (value) => String(value);
    case "boolean":
      return (value) => (value ? "true" : "false");
    case "datetime":
      return (value) => value instanceof Date ? isoText(value) : writeValue(field, value, style);
    case "decimal":
      return style.ieee754 ? (value) => `"${value}"` : (value) => {
        const text = value as string;
        return typeof text === "string" && DECIMAL.test(text) ? text : JSON.stringify(String(text));
      };
    default:
      return (value) => writeValue(field, value, style);
  }
}

/**
 * Compiles the writer of an entity shape once (per response), so that each row costs only its
 * values: field prefixes, formatters, annotation names and nested writers are made up front.
 */
export function compileWriter(
  entity: EntityMetadata,
  shape: EntityShape,
  style: JsonStyle,
): EntityWriter {
  // Writers depend on the entity, the shape and the style's flags: made once per combination.
  let cache = writers.get(style.schema);
  if (cache === undefined) writers.set(style.schema, cache = new Map());
  const key = `${
    style.typeName(entity)
  }|${entity.name}|${style.metadata}|${style.ieee754}|${style.v401}|${shapeKey(shape)}`;
  let writer = cache.get(key);
  if (writer === undefined) {
    if (cache.size >= 500) cache.clear(); // shapes come from clients: keep the cache bounded
    writer = buildWriter(entity, shape, style);
    cache.set(key, writer);
  }
  return writer;
}

const writers = new WeakMap<SchemaResolver, Map<string, EntityWriter>>();

function shapeKey(shape: EntityShape): string {
  let key = (shape.selected === undefined ? "*" : [...shape.selected].join(",")) +
    (shape.expandAll ? "+" : "") + (shape.dynamic ? "~" : "") +
    (shape.count === undefined ? "" : `#${shape.count}`) + (shape.ref ? "@" : "");
  for (const [name, nested] of shape.expand) key += `;${name}(${shapeKey(nested)})`;
  return key;
}

function buildWriter(
  entity: EntityMetadata,
  shape: EntityShape,
  style: JsonStyle,
): EntityWriter {
  if (shape.ref) {
    // An entity reference: the entity's id alone.
    const idKey = `{"${annotation(style, "id")}":`;
    return (row) => `${idKey}${JSON.stringify(entityPath(entity, row) ?? null)}}`;
  }
  const full = style.metadata === "full";
  const control = style.metadata !== "none";
  const withEtag = control && shape.selected === undefined;
  const etagKey = `"${annotation(style, "etag")}":`;
  const typeKey = `"${annotation(style, "type")}":`;
  const typeValue = JSON.stringify("#" + style.typeName(entity));
  const idKey = `,"${annotation(style, "id")}":`;
  const editKey = `,"${annotation(style, "editLink")}":`;
  const fields: FieldPart[] = [];
  for (const field of entity.fieldList) {
    if (shape.selected !== undefined && !shape.selected.has(field.name)) continue;
    const type = EDM_SHORT[field.type];
    fields.push({
      name: field.name,
      key: JSON.stringify(field.name) + ":",
      typeAnnotation: full && type !== undefined
        ? `"${field.name}${annotation(style, "type")}":"${type}",`
        : "",
      format: formatter(field, style),
    });
  }
  const navigations: {
    name: string;
    key: string;
    link: string;
    /** `"Name@odata.count":` when the expansion asked for the count. */
    countKey?: string;
    countOnly: boolean;
    write?: EntityWriter;
    written: WeakMap<Row, string>;
  }[] = [];
  for (const relation of entity.relations.values()) {
    const nested: EntityShape | undefined = shape.expand.get(relation.name) ??
      (shape.expandAll ? { expand: new Map() } : undefined);
    const target = style.schema.getEntityMetadata(relation.target);
    if (nested === undefined && !full) continue;
    navigations.push({
      name: relation.name,
      key: JSON.stringify(relation.name) + ":",
      link: `"${relation.name}${annotation(style, "navigationLink")}":`,
      countKey: nested?.count === undefined
        ? undefined
        : `"${relation.name}${annotation(style, "count")}":`,
      countOnly: nested?.count === "only",
      write: nested === undefined || target === undefined || nested.count === "only"
        ? undefined
        : compileWriter(target, nested, style),
      written: new WeakMap(),
    });
  }
  const dynamic = shape.dynamic === true;
  const declared = new Set<string>([...entity.fields.keys(), ...entity.relations.keys()]);
  return (row, leading = "", knownEtag) => {
    let out = "{" + leading;
    let first = leading === "";
    if (full) {
      out += (first ? "" : ",") + typeKey + typeValue;
      first = false;
      const path = entityPath(entity, row);
      if (path !== undefined) {
        const text = JSON.stringify(path);
        out += idKey + text + editKey + text;
      }
    }
    if (withEtag) {
      const etag = knownEtag ?? etagOf(entity, row);
      if (etag !== undefined) {
        out += (first ? "" : ",") + etagKey + JSON.stringify(etag);
        first = false;
      }
    }
    for (let i = 0; i < fields.length; i++) {
      const part = fields[i]!;
      const value = row[part.name];
      if (value === undefined) continue;
      out += (first ? "" : ",") + part.typeAnnotation + part.key +
        (value === null ? "null" : part.format(value));
      first = false;
    }
    if (dynamic) {
      for (const name in row) {
        const value = row[name];
        if (value === undefined || declared.has(name)) continue;
        out += (first ? "" : ",") + JSON.stringify(name) + ":" + dynamicValue(value, style);
        first = false;
      }
    }
    for (const navigation of navigations) {
      if (navigation.countKey !== undefined) {
        const count = expandedCount(row, navigation.name);
        if (count !== undefined) {
          out += (first ? "" : ",") + navigation.countKey +
            (style.ieee754 ? `"${count}"` : String(count));
          first = false;
        }
      }
      if (navigation.write === undefined) {
        if (navigation.countOnly && !full) continue; // Nav/$count: the count is the answer
        const path = entityPath(entity, row);
        if (path === undefined) continue;
        out += (first ? "" : ",") + navigation.link + JSON.stringify(`${path}/${navigation.name}`);
        first = false;
        continue;
      }
      const value = row[navigation.name];
      if (value === undefined) continue;
      out += (first ? "" : ",") + navigation.key;
      first = false;
      if (value === null) out += "null";
      else if (Array.isArray(value)) {
        out += "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          out += navigation.write(value[i] as Row);
        }
        out += "]";
      } else {
        // A to-one target shared by many rows (the Product of many order lines) is one
        // object: it is written once per object.
        let text = navigation.written.get(value as Row);
        if (text === undefined) {
          text = navigation.write(value as Row);
          navigation.written.set(value as Row, text);
        }
        out += text;
      }
    }
    return out + "}";
  };
}

/** Writes one entity object (see {@linkcode compileWriter}). */
export function writeEntity(
  entity: EntityMetadata,
  row: Row,
  shape: EntityShape,
  style: JsonStyle,
  leading = "",
  etag?: string,
): string {
  return compileWriter(entity, shape, style)(row, leading, etag);
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
    if (target === undefined || nested.count === "only" || nested.ref) continue;
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
