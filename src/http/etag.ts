/**
 * ETags: from the entity's version field when it declares one (`version: true` on a field), else
 * a hash of every field of the row. Weak validators (`W/"..."`): they change whenever the entity
 * changes, which is all that `If-Match` and `If-None-Match` need.
 *
 * @module
 */

import type { EntityMetadata, FieldMetadata } from "../model/schema.ts";
import type { Row } from "../provider/provider.ts";

/** The version field of an entity, read defensively (the flag may not exist in the model yet). */
export function versionField(entity: EntityMetadata): FieldMetadata | undefined {
  for (const field of entity.fieldList) {
    if ((field.definition as { version?: unknown }).version === true) return field;
  }
  return undefined;
}

const versionFields = new WeakMap<EntityMetadata, FieldMetadata | null>();

function cachedVersionField(entity: EntityMetadata): FieldMetadata | null {
  let field = versionFields.get(entity);
  if (field === undefined) {
    field = versionField(entity) ?? null;
    versionFields.set(entity, field);
  }
  return field;
}

/**
 * cyrb53, a fast 53-bit hash, fed value by value (no concatenated row text): enough to tell
 * versions of one row apart.
 */
class RowHash {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;

  add(text: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    // A separator after every value: ("ab", "c") and ("a", "bc") differ.
    h1 = Math.imul(h1 ^ 1, 2654435761);
    h2 = Math.imul(h2 ^ 1, 1597334677);
    this.h1 = h1;
    this.h2 = h2;
  }

  digest(): number {
    let h1 = this.h1;
    let h2 = this.h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
}

function valueText(value: unknown): string {
  if (value === null || value === undefined) return "\u0000";
  if (typeof value === "string") return value;
  if (value instanceof Date) return String(value.getTime());
  if (value instanceof Uint8Array) {
    let text = "b";
    for (const byte of value) text += byte.toString(16).padStart(2, "0");
    return text;
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * The ETag of a row, or `undefined` when the row lacks the fields it is computed from (a
 * `$select` that leaves some out).
 */
export function etagOf(entity: EntityMetadata, row: Row): string | undefined {
  const version = cachedVersionField(entity);
  if (version !== null) {
    const value = row[version.name];
    return value === undefined ? undefined : `W/"${encodeURIComponent(valueText(value))}"`;
  }
  const hash = new RowHash();
  const fields = entity.fieldList;
  for (let i = 0; i < fields.length; i++) {
    const value = row[fields[i]!.name];
    if (value === undefined) return undefined;
    hash.add(valueText(value));
  }
  return `W/"${hash.digest().toString(36)}"`;
}

/** True when an `If-Match` / `If-None-Match` header value lists `etag` (or is `*`). */
export function etagMatches(header: string, etag: string | undefined): boolean {
  const list = header.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (list.includes("*")) return etag !== undefined;
  if (etag === undefined) return false;
  const weak = (tag: string) => tag.startsWith("W/") ? tag.slice(2) : tag;
  return list.some((item) => weak(item) === weak(etag));
}
