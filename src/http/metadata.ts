/**
 * `$metadata`: the service's CSDL, in XML (the default) and JSON, generated from the registered
 * entities and relations: Edm types with Precision/Scale/MaxLength/Nullable facets, keys,
 * navigation properties with partners and referential constraints, and one entity container
 * with an entity set per entity and its navigation property bindings.
 *
 * @module
 */

import {
  type EntityMetadata,
  type FieldMetadata,
  type RelationMetadata,
  resolveRelation,
  type SchemaResolver,
} from "../model/schema.ts";

/** Names of the schema: its namespace, the container, and each entity's type name. */
export interface SchemaNames {
  /** The schema namespace, e.g. `NorthwindModel`. */
  readonly namespace: string;
  /** The entity container name, e.g. `NorthwindEntities`. */
  readonly container: string;
  /** The entity type name (unqualified) of an entity set. */
  readonly typeName: (entity: EntityMetadata) => string;
}

interface NavigationInfo {
  readonly relation: RelationMetadata;
  readonly target: EntityMetadata;
  readonly partner?: string;
  readonly collection: boolean;
  readonly nullable: boolean;
  /** Local field → target field, for the side that holds the foreign key. */
  readonly constraints?: readonly [string, string][];
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((value, i) => value === b[i]);

function navigations(entity: EntityMetadata, schema: SchemaResolver): NavigationInfo[] {
  const result: NavigationInfo[] = [];
  for (const name of entity.relations.keys()) {
    let resolved;
    try {
      resolved = resolveRelation(schema, entity, name);
    } catch {
      continue; // a relation to an unregistered entity is not part of the service
    }
    const { relation, target } = resolved;
    let partner: string | undefined;
    for (const candidate of target.relations.keys()) {
      if (target === entity && candidate === name) continue;
      let back;
      try {
        back = resolveRelation(schema, target, candidate).relation;
      } catch {
        continue;
      }
      if (back.target !== entity.name) continue;
      if (
        same(back.localFields, relation.targetFields) &&
        same(back.targetFields, relation.localFields)
      ) {
        partner = candidate;
        break;
      }
    }
    const collection = relation.kind === "many";
    const nullable = collection
      ? false
      : relation.localFields.some((field) => entity.fields.get(field)?.nullable !== false);
    result.push({
      relation,
      target,
      partner,
      collection,
      nullable,
      constraints: relation.kind === "one"
        ? relation.localFields.map((field, i): [string, string] => [
          field,
          relation.targetFields[i]!,
        ])
        : undefined,
    });
  }
  return result;
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function xmlFacets(field: FieldMetadata): string {
  const definition = field.definition;
  let out = "";
  if (!field.nullable) out += ` Nullable="false"`;
  if (field.type === "string" && definition.maxLength !== undefined) {
    out += ` MaxLength="${definition.maxLength}"`;
  }
  if (field.type === "decimal") {
    if (definition.precision !== undefined) out += ` Precision="${definition.precision}"`;
    out += ` Scale="${definition.scale ?? "variable"}"`;
  }
  if (field.type === "datetime" || field.type === "time") out += ` Precision="3"`;
  return out;
}

/**
 * The CSDL XML document of the entities.
 *
 * @example
 * ```ts ignore
 * const xml = metadataXml(namespace.getEntityMetadata(), namespace.schema, names);
 * ```
 */
export function metadataXml(
  entities: readonly EntityMetadata[],
  schema: SchemaResolver,
  names: SchemaNames,
): string {
  const ns = names.namespace;
  let out = `<?xml version="1.0" encoding="utf-8"?>\n` +
    `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">\n` +
    `<edmx:DataServices>\n<Schema Namespace="${escapeXml(ns)}" ` +
    `xmlns="http://docs.oasis-open.org/odata/ns/edm">\n`;
  for (const entity of entities) {
    out += `<EntityType Name="${escapeXml(names.typeName(entity))}">\n<Key>`;
    for (const key of entity.key) out += `<PropertyRef Name="${key}"/>`;
    out += `</Key>\n`;
    for (const field of entity.fieldList) {
      out += `<Property Name="${field.name}" Type="${field.edmType}"${xmlFacets(field)}/>\n`;
    }
    for (const nav of navigations(entity, schema)) {
      const type = `${ns}.${names.typeName(nav.target)}`;
      out += `<NavigationProperty Name="${nav.relation.name}" Type="${
        nav.collection ? `Collection(${type})` : type
      }"${nav.collection || nav.nullable ? "" : ` Nullable="false"`}${
        nav.partner === undefined ? "" : ` Partner="${nav.partner}"`
      }`;
      if (nav.constraints === undefined) out += `/>\n`;
      else {
        out += `>`;
        for (const [property, referenced] of nav.constraints) {
          out +=
            `<ReferentialConstraint Property="${property}" ReferencedProperty="${referenced}"/>`;
        }
        out += `</NavigationProperty>\n`;
      }
    }
    out += `</EntityType>\n`;
  }
  out += `<EntityContainer Name="${escapeXml(names.container)}">\n`;
  for (const entity of entities) {
    out += `<EntitySet Name="${entity.name}" EntityType="${ns}.${
      escapeXml(names.typeName(entity))
    }">`;
    for (const nav of navigations(entity, schema)) {
      out += `<NavigationPropertyBinding Path="${nav.relation.name}" Target="${nav.target.name}"/>`;
    }
    out += `</EntitySet>\n`;
  }
  out += `</EntityContainer>\n</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n`;
  return out;
}

/**
 * The CSDL JSON document of the entities.
 *
 * @example
 * ```ts ignore
 * const csdl = metadataJson(namespace.getEntityMetadata(), namespace.schema, names);
 * ```
 */
export function metadataJson(
  entities: readonly EntityMetadata[],
  schema: SchemaResolver,
  names: SchemaNames,
): Record<string, unknown> {
  const ns = names.namespace;
  const schemaObject: Record<string, unknown> = {};
  const container: Record<string, unknown> = { $Kind: "EntityContainer" };
  for (const entity of entities) {
    const type: Record<string, unknown> = { $Kind: "EntityType", $Key: [...entity.key] };
    for (const field of entity.fieldList) {
      const property: Record<string, unknown> = {};
      if (field.edmType !== "Edm.String") property.$Type = field.edmType;
      if (field.nullable) property.$Nullable = true;
      const definition = field.definition;
      if (field.type === "string" && definition.maxLength !== undefined) {
        property.$MaxLength = definition.maxLength;
      }
      if (field.type === "decimal") {
        if (definition.precision !== undefined) property.$Precision = definition.precision;
        if (definition.scale !== undefined) property.$Scale = definition.scale;
      }
      if (field.type === "datetime" || field.type === "time") property.$Precision = 3;
      type[field.name] = property;
    }
    const bindings: Record<string, string> = {};
    for (const nav of navigations(entity, schema)) {
      const property: Record<string, unknown> = {
        $Kind: "NavigationProperty",
        $Type: `${ns}.${names.typeName(nav.target)}`,
      };
      if (nav.collection) property.$Collection = true;
      else if (nav.nullable) property.$Nullable = true;
      if (nav.partner !== undefined) property.$Partner = nav.partner;
      if (nav.constraints !== undefined) {
        property.$ReferentialConstraint = Object.fromEntries(nav.constraints);
      }
      type[nav.relation.name] = property;
      bindings[nav.relation.name] = nav.target.name;
    }
    schemaObject[names.typeName(entity)] = type;
    container[entity.name] = {
      $Collection: true,
      $Type: `${ns}.${names.typeName(entity)}`,
      ...(Object.keys(bindings).length === 0 ? {} : { $NavigationPropertyBinding: bindings }),
    };
  }
  schemaObject[names.container] = container;
  return {
    $Version: "4.0",
    $EntityContainer: `${ns}.${names.container}`,
    [ns]: schemaObject,
  };
}
