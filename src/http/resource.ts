/**
 * Resolves a parsed resource path against a namespace: entity sets, key predicates (single and
 * composite), navigation (reading the parent row for its link values), properties, `/$value`,
 * `/$count` and `/$query`. The result names the target entity and the filter that selects it.
 *
 * @module
 */

import type { Expression, LiteralNode } from "../odata/ast.ts";
import {
  type EntityMetadata,
  type FieldMetadata,
  resolveRelation,
  type SchemaResolver,
} from "../model/schema.ts";
import type { Row } from "../provider/provider.ts";
import { httpError } from "./errors.ts";
import type { PathKeyValue, PathSegmentText } from "./path.ts";

/** Where a request points. */
export type Resource =
  | { readonly kind: "service" }
  | { readonly kind: "metadata" }
  | { readonly kind: "batch" }
  | {
    readonly kind: "collection";
    readonly entity: EntityMetadata;
    /** The filter from navigation (undefined for a whole entity set). */
    readonly filter: Expression | undefined;
    /** `/$count`. */
    readonly count: boolean;
    /** `/$query` (POST with the query in the body). */
    readonly query: boolean;
    /** Values a created entity gets from the navigation it was posted to. */
    readonly linkValues?: Row;
  }
  | {
    readonly kind: "entity";
    readonly entity: EntityMetadata;
    readonly filter: Expression;
    /** The key values from the path, by field (undefined when reached through a to-one). */
    readonly key?: Row;
    /** A to-one navigation whose link is null: there is no entity. */
    readonly none?: boolean;
  }
  | {
    readonly kind: "property";
    readonly entity: EntityMetadata;
    readonly filter: Expression;
    readonly field: FieldMetadata;
    /** `/$value`. */
    readonly value: boolean;
  };

/** Reads one row of an entity (link fields only) for navigation; undefined when none. */
export type ParentReader = (
  entity: EntityMetadata,
  filter: Expression,
  fields: readonly string[],
) => Promise<Row | undefined>;

function eqFilter(field: FieldMetadata, value: Expression): Expression {
  return {
    kind: "Binary",
    operator: "eq",
    left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name: field.name }] },
    right: value,
  };
}

function andAll(parts: readonly Expression[]): Expression {
  return parts.reduce((left, right) => ({ kind: "Binary", operator: "and", left, right }));
}

/** The literal of a canonical value, for filters built from stored link values. */
export function literalOf(field: FieldMetadata, value: unknown): LiteralNode {
  if (value === null || value === undefined) return { kind: "Literal", type: "null", value: null };
  switch (field.type) {
    case "integer":
      return { kind: "Literal", type: "int", value: value as number };
    case "number":
      return { kind: "Literal", type: "double", value: value as number };
    case "decimal":
      return { kind: "Literal", type: "decimal", value: String(value) };
    case "boolean":
      return { kind: "Literal", type: "boolean", value: value as boolean };
    case "date":
      return { kind: "Literal", type: "date", value: String(value) };
    case "datetime":
      return {
        kind: "Literal",
        type: "datetimeoffset",
        value: value instanceof Date ? value.toISOString() : String(value),
      };
    case "time":
      return { kind: "Literal", type: "timeofday", value: String(value) };
    case "guid":
      return { kind: "Literal", type: "guid", value: String(value) };
    default:
      return { kind: "Literal", type: "string", value: String(value) };
  }
}

function keyFilter(
  entity: EntityMetadata,
  key: readonly PathKeyValue[],
): { filter: Expression; values: Row } {
  const wrong = () => {
    const shape = entity.key.length === 1
      ? `${entity.name}(value)`
      : `${entity.name}(${entity.key.map((k) => `${k}=value`).join(",")})`;
    return httpError(
      "INVALID_ARGUMENT",
      `The key predicate does not fit ${entity.name}: use ${shape}`,
      {
        target: "key",
        entity: entity.name,
      },
    );
  };
  const values: Row = {};
  const parts: Expression[] = [];
  if (key.length === 1 && key[0]!.name === undefined) {
    if (entity.key.length !== 1) throw wrong();
    const field = entity.fields.get(entity.key[0]!)!;
    values[field.name] = key[0]!.value.value;
    parts.push(eqFilter(field, key[0]!.value));
  } else {
    if (key.length !== entity.key.length) throw wrong();
    for (const item of key) {
      if (item.name === undefined || !entity.key.includes(item.name) || item.name in values) {
        throw wrong();
      }
      values[item.name] = item.value.value;
      parts.push(eqFilter(entity.fields.get(item.name)!, item.value));
    }
  }
  for (const part of parts) {
    const literal = (part as { right: LiteralNode }).right;
    if (literal.type === "null") throw wrong();
  }
  return { filter: andAll(parts), values };
}

function notFound(message: string, context: Record<string, unknown>) {
  return httpError("NOT_FOUND", message, context);
}

/** Resolves `segments` (after the service root) to a resource. */
export async function resolveResource(
  segments: readonly PathSegmentText[],
  entities: (name: string) => EntityMetadata | undefined,
  schema: SchemaResolver,
  readParent: ParentReader,
): Promise<Resource> {
  const first = segments[0];
  if (first === undefined) return { kind: "service" };
  if (first.name === "$metadata" && first.key === undefined && segments.length === 1) {
    return { kind: "metadata" };
  }
  if (first.name === "$batch" && first.key === undefined && segments.length === 1) {
    return { kind: "batch" };
  }
  if (first.name.startsWith("$")) {
    if (["$crossjoin", "$all", "$entity", "$root", "$id"].includes(first.name)) {
      throw httpError("NOT_SUPPORTED", `${first.name} is not supported by this service`, {
        target: first.name,
      });
    }
    throw notFound(`No resource ${first.name} in this service`, { target: first.name });
  }
  const root = entities(first.name);
  if (root === undefined) {
    throw httpError("UNKNOWN_ENTITY", `No entity set '${first.name}' in this service`, {
      target: first.name,
    });
  }
  let entity = root;
  let filter: Expression | undefined;
  let single = false;
  let key: Row | undefined;
  let none = false;
  let linkValues: Row | undefined;
  if (first.key !== undefined) {
    const resolved = keyFilter(entity, first.key);
    filter = resolved.filter;
    key = resolved.values;
    single = true;
  }
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment.name === "$count" || segment.name === "$query") {
      if (single || !last || segment.key !== undefined) {
        throw notFound(`${segment.name} applies to a collection, as the last segment`, {
          target: segment.name,
        });
      }
      return {
        kind: "collection",
        entity,
        filter,
        count: segment.name === "$count",
        query: segment.name === "$query",
        linkValues,
      };
    }
    if (segment.name === "$ref") {
      throw httpError("NOT_SUPPORTED", "$ref is not supported by this service", {
        target: "$ref",
      });
    }
    if (!single) {
      throw notFound(
        `'${segment.name}' cannot follow a collection; address one ${entity.name} by key first`,
        { target: segment.name },
      );
    }
    const field = entity.fields.get(segment.name);
    if (field !== undefined && segment.key === undefined) {
      const next = segments[i + 1];
      if (next === undefined) {
        return { kind: "property", entity, filter: filter!, field, value: false };
      }
      if (next.name === "$value" && next.key === undefined && i + 2 === segments.length) {
        return { kind: "property", entity, filter: filter!, field, value: true };
      }
      throw notFound(`Nothing can follow the property ${segment.name} but /$value`, {
        target: next.name,
      });
    }
    if (!entity.relations.has(segment.name)) {
      throw notFound(`${entity.name} has no property or navigation '${segment.name}'`, {
        target: segment.name,
        entity: entity.name,
      });
    }
    const { relation, target } = resolveRelation(schema, entity, segment.name);
    if (none) {
      throw notFound(`The ${entity.name} navigated to does not exist`, { target: segment.name });
    }
    const parent = await readParent(entity, filter!, relation.localFields);
    if (parent === undefined) {
      throw notFound(`${entity.name} not found`, { target: segments[i - 1]!.name });
    }
    const values = relation.localFields.map((name) => parent[name]);
    const parts = relation.targetFields.map((name, j) => {
      const targetField = target.fields.get(name)!;
      return eqFilter(targetField, literalOf(targetField, values[j]));
    });
    const missing = values.some((value) => value === null || value === undefined);
    entity = target;
    filter = andAll(parts);
    key = undefined;
    if (relation.kind === "one") {
      single = true;
      none = missing;
      if (segment.key !== undefined) {
        throw notFound(`${segment.name} is single-valued: it takes no key`, {
          target: segment.name,
        });
      }
    } else {
      single = false;
      linkValues = missing
        ? undefined
        : Object.fromEntries(relation.targetFields.map((name, j) => [name, values[j]]));
      if (missing) filter = { kind: "Literal", type: "boolean", value: false };
      if (segment.key !== undefined) {
        const resolved = keyFilter(entity, segment.key);
        filter = andAll([filter, resolved.filter]);
        key = resolved.values;
        single = true;
      }
    }
  }
  if (single) return { kind: "entity", entity, filter: filter!, key, none };
  return { kind: "collection", entity, filter, count: false, query: false, linkValues };
}

/** The filter selecting one row by its key values (or by the values of `fields`). */
export function keyFilterOf(
  entity: EntityMetadata,
  row: Row,
  fields: readonly string[] = entity.key,
): Expression {
  const parts = fields.map((name): Expression => ({
    kind: "Binary",
    operator: "eq",
    left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name }] },
    right: literalOf(entity.fields.get(name)!, row[name]),
  }));
  return parts.reduce((left, right) => ({ kind: "Binary", operator: "and", left, right }));
}

/** `a and b`, either side optional. */
export function and2(a: Expression | undefined, b: Expression | undefined): Expression | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return { kind: "Binary", operator: "and", left: a, right: b };
}

/** `a and b and c`, each optional. */
export function and3(
  a: Expression | undefined,
  b: Expression | undefined,
  c: Expression | undefined,
): Expression | undefined {
  return and2(and2(a, b), c);
}
