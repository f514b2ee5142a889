/**
 * Key predicates (`(1)`, `(OrderID=10248,ProductID=11)`) from rows and from key filters, and the
 * small query helpers the provider's reads and writes share.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import type { Expression, ODataQuery } from "../../src/odata/ast.ts";
import { serializeLiteral } from "../../src/odata/serializer/expression.ts";
import { serializeQuery } from "../../src/odata/serializer/query.ts";
import { canonicalLiteral } from "../../src/model/conditions.ts";
import type { EntityMetadata } from "../../src/model/schema.ts";
import type { Row } from "../../src/provider/provider.ts";
import { selectProperty } from "../../src/odata/select_path.ts";
import type { SelectItem } from "../../src/odata/ast.ts";

const PROVIDER = "http-odata";

/** The key predicate of a row: `(1)` or `(OrderID=10248,ProductID=11)`, URL-ready. */
export function keyPredicate(entity: EntityMetadata, values: Row): string | undefined {
  const parts: string[] = [];
  for (const name of entity.key) {
    const value = values[name];
    if (value === undefined || value === null) return undefined;
    const field = entity.fields.get(name)!;
    // Integers and plain strings are the usual keys: printed directly, as the serializer would.
    const text = field.type === "integer" && Number.isSafeInteger(value)
      ? String(value)
      : field.type === "string" && typeof value === "string"
      ? encodeURIComponent(`'${value.replaceAll("'", "''")}'`)
      : encodeURIComponent(serializeLiteral(canonicalLiteral(field, value)));
    parts.push(entity.key.length === 1 ? text : `${name}=${text}`);
  }
  return `(${parts.join(",")})`;
}

/** The key predicate when `filter` is exactly `key eq literal [and ...]` over every key field. */
export function keyLookup(
  entity: EntityMetadata,
  filter: Expression | undefined,
): string | undefined {
  if (filter === undefined) return undefined;
  const found = new Map<string, string>();
  const visit = (e: Expression): boolean => {
    if (e.kind !== "Binary") return false;
    if (e.operator === "and") return visit(e.left) && visit(e.right);
    if (e.operator !== "eq") return false;
    const { left, right } = e;
    if (
      left.kind !== "Path" || left.root !== "implicit" || left.segments.length !== 1 ||
      right.kind !== "Literal" || right.value === null
    ) return false;
    const segment = left.segments[0]!;
    if (segment.kind !== "Property" || !entity.key.includes(segment.name)) return false;
    if (found.has(segment.name)) return false;
    found.set(segment.name, encodeURIComponent(serializeLiteral(right)));
    return true;
  };
  if (!visit(filter) || found.size !== entity.key.length) return undefined;
  const parts = entity.key.map((name) =>
    entity.key.length === 1 ? found.get(name)! : `${name}=${found.get(name)!}`
  );
  return `(${parts.join(",")})`;
}

/** True when a query holds only what a key lookup URL takes (`$select`, `$expand`). */
export function lookupOnly(query: ODataQuery): boolean {
  for (const name of Object.keys(query) as (keyof ODataQuery)[]) {
    if (query[name] === undefined) continue;
    if (name !== "filter" && name !== "select" && name !== "expand") return false;
  }
  return true;
}

export function assertPlainNames(entity: EntityMetadata): void {
  for (const field of entity.fieldList) {
    if (field.column !== field.name) {
      throw new ODataActiveRecordError(
        "NOT_SUPPORTED",
        `Field ${entity.name}.${field.name} maps to column ${field.column}: the http-odata ` +
          "provider uses field names as the remote property names",
        {
          suggestion: "Name the field like the remote property and drop `column`",
          context: { provider: PROVIDER, entity: entity.name, field: field.name },
        },
      );
    }
  }
}

export function queryString(query: ODataQuery): string {
  const text = serializeQuery(query);
  return text === "" ? "" : `?${text}`;
}

export function keySelect(entity: EntityMetadata): SelectItem[] {
  return entity.key.map(selectProperty);
}
