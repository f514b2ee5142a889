/**
 * Server-driven paging with an opaque, key-based `$skiptoken`: the sort is made total by adding
 * the key fields, the token holds the sort values of the last row sent, and the next page is
 * the rows after that row in the sort (a filter, not an offset, so inserts and deletes between
 * pages neither repeat nor skip rows). Sorts on anything but plain properties fall back to an
 * offset token. Nulls sort first ascending and last descending, as OData specifies.
 *
 * @module
 */

import type { Expression, LiteralNode, LiteralType, OrderByItem } from "../odata/ast.ts";
import type { EntityMetadata, FieldMetadata } from "../model/schema.ts";
import type { Row } from "../provider/provider.ts";
import { httpError } from "./errors.ts";

/** A decoded token. */
export type SkipToken =
  | { readonly kind: "key"; readonly values: readonly unknown[] }
  | { readonly kind: "offset"; readonly offset: number };

/** The plain property sort of a query made total with the key, or undefined if not plain. */
export function totalOrder(
  entity: EntityMetadata,
  orderby: readonly OrderByItem[] | undefined,
): { field: FieldMetadata; direction: "asc" | "desc" }[] | undefined {
  const order: { field: FieldMetadata; direction: "asc" | "desc" }[] = [];
  for (const item of orderby ?? []) {
    const expression = item.expression;
    if (expression.kind !== "Path" || expression.root !== "implicit") return undefined;
    const [segment, ...rest] = expression.segments;
    if (segment?.kind !== "Property" || rest.length > 0) return undefined;
    const field = entity.fields.get(segment.name);
    if (field === undefined || field.type === "binary" || field.type === "json") return undefined;
    if (!order.some((o) => o.field === field)) {
      order.push({ field, direction: item.direction });
    }
  }
  for (const name of entity.key) {
    const field = entity.fields.get(name)!;
    if (!order.some((o) => o.field === field)) order.push({ field, direction: "asc" });
  }
  return order;
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): string {
  const plain = text.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(plain + "=".repeat((4 - (plain.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/** The token after `row` for a key-based sort. */
export function keyToken(
  order: readonly { field: FieldMetadata }[],
  row: Row,
): string {
  const values = order.map(({ field }) => {
    const value = row[field.name];
    return value instanceof Date ? value.toISOString() : value ?? null;
  });
  return base64url(JSON.stringify({ k: values }));
}

/** The token for an offset-based continuation. */
export function offsetToken(offset: number): string {
  return base64url(JSON.stringify({ o: offset }));
}

/** Decodes a token; anything not made by this service is a 400. */
export function decodeToken(token: string): SkipToken {
  const bad = () =>
    httpError("INVALID_ARGUMENT", "The $skiptoken is not valid for this service", {
      target: "$skiptoken",
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromBase64url(token));
  } catch {
    throw bad();
  }
  if (parsed !== null && typeof parsed === "object") {
    const object = parsed as { k?: unknown; o?: unknown };
    if (Array.isArray(object.k)) return { kind: "key", values: object.k };
    if (Number.isSafeInteger(object.o) && (object.o as number) >= 0) {
      return { kind: "offset", offset: object.o as number };
    }
  }
  throw bad();
}

const LITERAL_TYPES: Readonly<Record<string, LiteralType>> = {
  string: "string",
  integer: "int",
  number: "double",
  decimal: "decimal",
  boolean: "boolean",
  date: "date",
  datetime: "datetimeoffset",
  time: "timeofday",
  guid: "guid",
};

function literalFor(field: FieldMetadata, value: unknown): LiteralNode {
  const bad = () =>
    httpError("INVALID_ARGUMENT", "The $skiptoken does not fit this query", {
      target: "$skiptoken",
    });
  if (value === null) return { kind: "Literal", type: "null", value: null };
  const type = LITERAL_TYPES[field.type];
  if (type === undefined) throw bad();
  if (type === "boolean") {
    if (typeof value !== "boolean") throw bad();
    return { kind: "Literal", type, value };
  }
  if (type === "int" || type === "double") {
    if (typeof value !== "number" || !Number.isFinite(value)) throw bad();
    if (type === "int" && !Number.isSafeInteger(value)) throw bad();
    return { kind: "Literal", type, value };
  }
  if (typeof value !== "string") throw bad();
  if (type === "decimal" && !/^-?\d+(\.\d+)?$/.test(value)) throw bad();
  if (type !== "string" && type !== "decimal" && !/^[0-9A-Za-z:.\-+]+$/.test(value)) throw bad();
  return { kind: "Literal", type, value };
}

function path(field: FieldMetadata): Expression {
  return { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: field.name }] };
}

function binary(operator: "eq" | "ne" | "gt" | "lt", left: Expression, right: Expression) {
  return { kind: "Binary", operator, left, right } as const satisfies Expression;
}

const or = (a: Expression, b: Expression): Expression => ({
  kind: "Binary",
  operator: "or",
  left: a,
  right: b,
});
const and = (a: Expression, b: Expression): Expression => ({
  kind: "Binary",
  operator: "and",
  left: a,
  right: b,
});

/** The filter selecting the rows after the token's row in the total sort `order`. */
export function afterFilter(
  order: readonly { field: FieldMetadata; direction: "asc" | "desc" }[],
  values: readonly unknown[],
): Expression {
  if (values.length !== order.length) {
    throw httpError("INVALID_ARGUMENT", "The $skiptoken does not fit this query", {
      target: "$skiptoken",
    });
  }
  const NULL: LiteralNode = { kind: "Literal", type: "null", value: null };
  let result: Expression | undefined;
  for (let i = order.length - 1; i >= 0; i--) {
    const { field, direction } = order[i]!;
    const literal = literalFor(field, values[i]);
    const column = path(field);
    const isNull = literal.type === "null";
    // The rows strictly after the value in this column, ignoring later columns.
    let after: Expression | undefined;
    if (direction === "asc") {
      after = isNull ? binary("ne", column, NULL) : binary("gt", column, literal);
    } else {
      after = isNull ? undefined : or(binary("lt", column, literal), binary("eq", column, NULL));
    }
    const equal = binary("eq", column, isNull ? NULL : literal);
    const tie = result === undefined ? undefined : and(equal, result);
    result = after === undefined
      ? tie ?? { kind: "Literal", type: "boolean", value: false } // nothing after trailing nulls
      : tie === undefined
      ? after
      : or(after, tie);
  }
  return result!;
}
