/**
 * `$metadata` introspection: CSDL XML (read with fast-xml-parser) and CSDL JSON become one small
 * model of entity types and sets, then entity definitions named by entity set, ready for
 * `namespace.registerEntity()`. Navigation properties become relations from their referential
 * constraints (a to-many side takes its partner's); without constraints, a foreign key named like
 * the other side's key is assumed, and a navigation that fits neither is left out with a warning.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import { importProvider } from "../../src/provider/registry.ts";
import type {
  EntityDefinition,
  FieldDefinition,
  FieldType,
  RelationDefinition,
} from "../../src/model/schema.ts";

interface CsdlProperty {
  readonly name: string;
  readonly type: string;
  readonly collection: boolean;
  readonly nullable: boolean;
  readonly maxLength?: number;
  readonly precision?: number;
  readonly scale?: number;
  readonly hasDefault: boolean;
  readonly computed: boolean;
}

interface CsdlNavigation {
  readonly name: string;
  readonly type: string;
  readonly collection: boolean;
  readonly partner?: string;
  /** [property on this type, referenced property on the target]. */
  readonly constraints: readonly (readonly [string, string])[];
}

interface CsdlEntityType {
  readonly name: string;
  readonly baseType?: string;
  readonly key: readonly string[];
  readonly properties: readonly CsdlProperty[];
  readonly navigations: readonly CsdlNavigation[];
}

interface CsdlEntitySet {
  readonly name: string;
  readonly type: string;
  readonly bindings: ReadonlyMap<string, string>;
}

/** The parts of a CSDL document that entity definitions need. */
export interface CsdlModel {
  /** Entity types by qualified name (aliases resolved). */
  readonly types: ReadonlyMap<string, CsdlEntityType>;
  /** Entity sets of the entity container. */
  readonly sets: readonly CsdlEntitySet[];
}

/** What introspection found: a definition per entity set, and what it had to leave out. */
export interface IntrospectedSchema {
  /** Entity definitions by entity set name. */
  readonly entities: Readonly<Record<string, EntityDefinition>>;
  /** Entity sets, properties and navigations left out, with the reason. */
  readonly warnings: readonly string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function metadataError(message: string, cause?: unknown): ODataActiveRecordError {
  return new ODataActiveRecordError("PROVIDER_ERROR", `Remote $metadata: ${message}`, {
    cause,
    context: { provider: "http-odata" },
  });
}

const asArray = <T>(value: T | readonly T[] | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? value as readonly T[] : [value as T];

const int = (value: unknown): number | undefined => {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  return Number.isInteger(n) ? n : undefined;
};

/** `Collection(NS.T)` → `{ type: "NS.T", collection: true }`. */
function typeRef(text: string): { type: string; collection: boolean } {
  const match = /^Collection\((.+)\)$/.exec(text);
  return match ? { type: match[1]!, collection: true } : { type: text, collection: false };
}

const ARRAY_ELEMENTS = new Set([
  "Reference",
  "Include",
  "Schema",
  "EntityType",
  "ComplexType",
  "EnumType",
  "Property",
  "NavigationProperty",
  "PropertyRef",
  "ReferentialConstraint",
  "EntityContainer",
  "EntitySet",
  "Singleton",
  "NavigationPropertyBinding",
  "Annotation",
  "Annotations",
  "Action",
  "Function",
  "ActionImport",
  "FunctionImport",
  "TypeDefinition",
  "Term",
]);

type XmlNode = Record<string, unknown>;

/**
 * Parses CSDL XML. The XML parser (`fast-xml-parser`) is loaded on first use, so the provider
 * itself needs nothing but `fetch` (a missing package is `PROVIDER_DEPENDENCY_MISSING`).
 *
 * @example
 * ```ts
 * import { parseCsdlXml } from "./metadata.ts";
 * const model = await parseCsdlXml(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
 *   <edmx:DataServices><Schema Namespace="NS" xmlns="http://docs.oasis-open.org/odata/ns/edm">
 *     <EntityType Name="T"><Key><PropertyRef Name="ID"/></Key><Property Name="ID" Type="Edm.Int32" Nullable="false"/></EntityType>
 *     <EntityContainer Name="C"><EntitySet Name="Ts" EntityType="NS.T"/></EntityContainer>
 *   </Schema></edmx:DataServices></edmx:Edmx>`);
 * model.sets[0]?.name; // "Ts"
 * ```
 */
export async function parseCsdlXml(text: string): Promise<CsdlModel> {
  const { XMLParser } = await importProvider(
    "http-odata",
    "the fast-xml-parser package for CSDL XML (mapped in deno.json imports)",
    () => import("fast-xml-parser"),
  );
  let document: XmlNode;
  try {
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "",
      removeNSPrefix: true,
      parseAttributeValue: false,
      parseTagValue: false,
      isArray: (name: string) => ARRAY_ELEMENTS.has(name),
    });
    document = parser.parse(text) as XmlNode;
  } catch (cause) {
    throw metadataError("the CSDL XML document cannot be parsed", cause);
  }
  const edmx = document.Edmx as XmlNode | undefined;
  const services = edmx?.DataServices as XmlNode | undefined;
  if (services === undefined) throw metadataError("no edmx:Edmx/edmx:DataServices element");
  const schemas = asArray(services.Schema as XmlNode[]);
  const aliases = new Map<string, string>();
  for (const schema of schemas) {
    if (typeof schema.Alias === "string") aliases.set(schema.Alias, String(schema.Namespace));
  }
  const qualify = (name: string): string => {
    const dot = name.lastIndexOf(".");
    if (dot === -1) return name;
    const prefix = name.slice(0, dot);
    return `${aliases.get(prefix) ?? prefix}${name.slice(dot)}`;
  };
  const types = new Map<string, CsdlEntityType>();
  const sets: CsdlEntitySet[] = [];
  for (const schema of schemas) {
    const namespace = String(schema.Namespace);
    for (const type of asArray(schema.EntityType as XmlNode[])) {
      const key = asArray((type.Key as XmlNode | undefined)?.PropertyRef as XmlNode[]).map((
        ref,
      ) => String(ref.Name));
      const properties = asArray(type.Property as XmlNode[]).map((p): CsdlProperty => {
        const ref = typeRef(String(p.Type));
        const annotations = asArray(p.Annotation as XmlNode[]);
        return {
          name: String(p.Name),
          type: qualify(ref.type),
          collection: ref.collection,
          nullable: p.Nullable !== "false",
          maxLength: int(p.MaxLength),
          precision: int(p.Precision),
          scale: int(p.Scale),
          hasDefault: p.DefaultValue !== undefined,
          computed: annotations.some((a) =>
            /(^|\.)Computed$/.test(String(a.Term)) && a.Bool !== "false"
          ),
        };
      });
      const navigations = asArray(type.NavigationProperty as XmlNode[]).map(
        (n): CsdlNavigation => {
          const ref = typeRef(String(n.Type));
          return {
            name: String(n.Name),
            type: qualify(ref.type),
            collection: ref.collection,
            partner: typeof n.Partner === "string" ? n.Partner : undefined,
            constraints: asArray(n.ReferentialConstraint as XmlNode[]).map((c) =>
              [String(c.Property), String(c.ReferencedProperty)] as const
            ),
          };
        },
      );
      types.set(`${namespace}.${String(type.Name)}`, {
        name: `${namespace}.${String(type.Name)}`,
        baseType: typeof type.BaseType === "string" ? qualify(type.BaseType) : undefined,
        key,
        properties,
        navigations,
      });
    }
    for (const container of asArray(schema.EntityContainer as XmlNode[])) {
      for (const set of asArray(container.EntitySet as XmlNode[])) {
        sets.push({
          name: String(set.Name),
          type: qualify(String(set.EntityType)),
          bindings: new Map(
            asArray(set.NavigationPropertyBinding as XmlNode[]).map((b) => [
              String(b.Path),
              String(b.Target),
            ]),
          ),
        });
      }
    }
  }
  return { types, sets };
}

/**
 * Parses CSDL JSON (`$metadata?$format=json`).
 *
 * @example
 * ```ts
 * import { parseCsdlJson } from "./metadata.ts";
 * const model = parseCsdlJson({
 *   $Version: "4.01",
 *   $EntityContainer: "NS.C",
 *   NS: {
 *     T: { $Kind: "EntityType", $Key: ["ID"], ID: { $Type: "Edm.Int32" } },
 *     C: { $Kind: "EntityContainer", Ts: { $Collection: true, $Type: "NS.T" } },
 *   },
 * });
 * model.types.get("NS.T")?.key; // ["ID"]
 * ```
 */
export function parseCsdlJson(document: unknown): CsdlModel {
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw metadataError("the CSDL JSON document is not an object");
  }
  const root = document as Record<string, unknown>;
  const aliases = new Map<string, string>();
  const schemas: [string, Record<string, unknown>][] = [];
  for (const [name, value] of Object.entries(root)) {
    if (name.startsWith("$") || value === null || typeof value !== "object") continue;
    const schema = value as Record<string, unknown>;
    schemas.push([name, schema]);
    if (typeof schema.$Alias === "string") aliases.set(schema.$Alias, name);
  }
  const qualify = (name: string): string => {
    const dot = name.lastIndexOf(".");
    if (dot === -1) return name;
    const prefix = name.slice(0, dot);
    return `${aliases.get(prefix) ?? prefix}${name.slice(dot)}`;
  };
  const types = new Map<string, CsdlEntityType>();
  const sets: CsdlEntitySet[] = [];
  const containerName = typeof root.$EntityContainer === "string"
    ? qualify(root.$EntityContainer)
    : undefined;
  for (const [namespace, schema] of schemas) {
    for (const [name, raw] of Object.entries(schema)) {
      if (name.startsWith("$") || raw === null || typeof raw !== "object") continue;
      const element = raw as Record<string, unknown>;
      if (element.$Kind === "EntityType") {
        const properties: CsdlProperty[] = [];
        const navigations: CsdlNavigation[] = [];
        for (const [member, rawMember] of Object.entries(element)) {
          if (member.startsWith("$") || member.includes("@") || rawMember === null) continue;
          if (typeof rawMember !== "object") continue;
          const m = rawMember as Record<string, unknown>;
          if (m.$Kind === "NavigationProperty") {
            navigations.push({
              name: member,
              type: qualify(String(m.$Type)),
              collection: m.$Collection === true,
              partner: typeof m.$Partner === "string" ? m.$Partner : undefined,
              constraints: Object.entries(
                (m.$ReferentialConstraint ?? {}) as Record<string, unknown>,
              ).filter(([p]) => !p.includes("@")).map(([p, r]) => [p, String(r)] as const),
            });
          } else if (m.$Kind === undefined || m.$Kind === "Property") {
            properties.push({
              name: member,
              type: qualify(typeof m.$Type === "string" ? m.$Type : "Edm.String"),
              collection: m.$Collection === true,
              nullable: m.$Nullable === true,
              maxLength: int(m.$MaxLength),
              precision: int(m.$Precision),
              scale: int(m.$Scale),
              hasDefault: m.$DefaultValue !== undefined,
              computed: Object.entries(m).some(([k, v]) => /@.*Computed$/.test(k) && v !== false),
            });
          }
        }
        const key = Array.isArray(element.$Key)
          ? (element.$Key as unknown[]).map((k) =>
            typeof k === "string" ? k : String(Object.values(k as object)[0])
          )
          : [];
        types.set(`${namespace}.${name}`, {
          name: `${namespace}.${name}`,
          baseType: typeof element.$BaseType === "string" ? qualify(element.$BaseType) : undefined,
          key,
          properties,
          navigations,
        });
      } else if (
        element.$Kind === "EntityContainer" &&
        (containerName === undefined || containerName === `${namespace}.${name}`)
      ) {
        for (const [setName, rawSet] of Object.entries(element)) {
          if (setName.startsWith("$") || setName.includes("@") || rawSet === null) continue;
          const set = rawSet as Record<string, unknown>;
          if (set.$Collection !== true || typeof set.$Type !== "string") continue; // singletons, imports
          sets.push({
            name: setName,
            type: qualify(set.$Type),
            bindings: new Map(
              Object.entries((set.$NavigationPropertyBinding ?? {}) as Record<string, unknown>)
                .map(([path, target]) => [path, String(target)]),
            ),
          });
        }
      }
    }
  }
  return { types, sets };
}

const EDM_FIELD_TYPES: Readonly<Record<string, FieldType>> = {
  "Edm.String": "string",
  "Edm.Int16": "integer",
  "Edm.Int32": "integer",
  "Edm.Int64": "integer",
  "Edm.Byte": "integer",
  "Edm.SByte": "integer",
  "Edm.Double": "number",
  "Edm.Single": "number",
  "Edm.Decimal": "decimal",
  "Edm.Boolean": "boolean",
  "Edm.Date": "date",
  "Edm.DateTimeOffset": "datetime",
  "Edm.TimeOfDay": "time",
  "Edm.Guid": "guid",
  "Edm.Binary": "binary",
  "Edm.Untyped": "json",
};

/** Walks the base types: own members last, so a derived type may refine nothing away. */
function flatten(model: CsdlModel, type: CsdlEntityType): CsdlEntityType {
  const chain: CsdlEntityType[] = [];
  const seen = new Set<string>();
  let current: CsdlEntityType | undefined = type;
  while (current !== undefined && !seen.has(current.name)) {
    seen.add(current.name);
    chain.unshift(current);
    current = current.baseType === undefined ? undefined : model.types.get(current.baseType);
  }
  return {
    name: type.name,
    key: chain.find((t) => t.key.length > 0)?.key ?? [],
    properties: chain.flatMap((t) => t.properties),
    navigations: chain.flatMap((t) => t.navigations),
  };
}

/**
 * Turns a parsed CSDL model into entity definitions named by entity set.
 *
 * @example
 * ```ts
 * import { definitionsFromCsdl, parseCsdlJson } from "./metadata.ts";
 * const { entities } = definitionsFromCsdl(parseCsdlJson({
 *   $EntityContainer: "NS.C",
 *   NS: {
 *     T: { $Kind: "EntityType", $Key: ["ID"], ID: { $Type: "Edm.Int32" } },
 *     C: { $Kind: "EntityContainer", Ts: { $Collection: true, $Type: "NS.T" } },
 *   },
 * }));
 * entities.Ts?.fields.ID?.type; // "integer"
 * ```
 */
export function definitionsFromCsdl(model: CsdlModel): IntrospectedSchema {
  const warnings: string[] = [];
  const entities: Record<string, EntityDefinition> = {};
  const setsByType = new Map<string, string[]>();
  for (const set of model.sets) {
    const list = setsByType.get(set.type) ?? [];
    list.push(set.name);
    setsByType.set(set.type, list);
  }
  const flat = new Map<string, CsdlEntityType>();
  const flatOf = (name: string): CsdlEntityType | undefined => {
    if (!flat.has(name)) {
      const type = model.types.get(name);
      if (type === undefined) return undefined;
      flat.set(name, flatten(model, type));
    }
    return flat.get(name);
  };
  for (const set of model.sets) {
    const type = flatOf(set.type);
    if (type === undefined) {
      warnings.push(`${set.name}: entity type ${set.type} is not in the metadata; left out`);
      continue;
    }
    if (!NAME.test(set.name)) {
      warnings.push(`${set.name}: the entity set name is not an identifier; left out`);
      continue;
    }
    if (type.key.length === 0 || type.key.some((k) => !NAME.test(k))) {
      warnings.push(`${set.name}: no usable key (${type.key.join(", ") || "none"}); left out`);
      continue;
    }
    const fields: Record<string, FieldDefinition> = {};
    for (const property of type.properties) {
      if (!NAME.test(property.name)) {
        warnings.push(`${set.name}.${property.name}: not an identifier; left out`);
        continue;
      }
      const edm = EDM_FIELD_TYPES[property.type];
      if (property.type === "Edm.Stream") {
        warnings.push(`${set.name}.${property.name}: Edm.Stream properties are left out`);
        continue;
      }
      // Complex, enum, geo and collection-valued properties travel as JSON values.
      const fieldType: FieldType = property.collection || edm === undefined ? "json" : edm;
      const isKey = type.key.includes(property.name);
      const field: {
        -readonly [K in keyof FieldDefinition]: FieldDefinition[K];
      } = { type: fieldType };
      if (isKey) {
        field.primaryKey = true;
        field.autoIncrement = property.computed && fieldType === "integer" &&
          type.key.length === 1;
      } else {
        field.nullable = property.nullable;
        if (!property.nullable && !property.hasDefault && !property.computed) {
          field.required = true;
        }
      }
      if (fieldType === "string" && property.maxLength !== undefined && property.maxLength > 0) {
        field.maxLength = property.maxLength;
      }
      if (fieldType === "decimal") {
        if (property.precision !== undefined && property.precision > 0) {
          field.precision = property.precision;
        }
        if (
          property.scale !== undefined &&
          (field.precision === undefined || property.scale <= field.precision)
        ) field.scale = property.scale;
      }
      fields[property.name] = field;
    }
    const missingKey = type.key.filter((k) => fields[k] === undefined);
    if (missingKey.length > 0) {
      warnings.push(`${set.name}: key ${missingKey.join(", ")} is not a usable property; left out`);
      continue;
    }
    const relations: Record<string, RelationDefinition> = {};
    for (const nav of type.navigations) {
      const targetSet = set.bindings.get(nav.name) ??
        (setsByType.get(nav.type)?.length === 1 ? setsByType.get(nav.type)![0] : undefined);
      const target = flatOf(nav.type);
      if (targetSet === undefined || target === undefined || !NAME.test(nav.name)) {
        warnings.push(`${set.name}.${nav.name}: no single target entity set; left out`);
        continue;
      }
      if (fields[nav.name] !== undefined) continue;
      const relation = relationOf(nav, type, target, targetSet);
      if (relation === undefined) {
        warnings.push(
          `${set.name}.${nav.name}: no referential constraint and no foreign key named like ` +
            `the key; left out`,
        );
        continue;
      }
      relations[nav.name] = relation;
    }
    entities[set.name] = {
      table: set.name,
      key: [...type.key],
      fields,
      ...(Object.keys(relations).length === 0 ? {} : { relations }),
    };
  }
  return { entities, warnings };
}

function relationOf(
  nav: CsdlNavigation,
  source: CsdlEntityType,
  target: CsdlEntityType,
  targetSet: string,
): RelationDefinition | undefined {
  const has = (type: CsdlEntityType, names: readonly string[]) =>
    names.length > 0 && names.every((n) => type.properties.some((p) => p.name === n));
  if (!nav.collection) {
    if (nav.constraints.length > 0) {
      return {
        type: "one",
        entity: targetSet,
        foreignKey: nav.constraints.map(([p]) => p),
        references: nav.constraints.map(([, r]) => r),
      };
    }
    if (has(source, target.key)) {
      return { type: "one", entity: targetSet, foreignKey: [...target.key] };
    }
    return undefined;
  }
  const partner = nav.partner === undefined
    ? undefined
    : target.navigations.find((n) => n.name === nav.partner);
  if (partner !== undefined && partner.constraints.length > 0) {
    return {
      type: "many",
      entity: targetSet,
      foreignKey: partner.constraints.map(([p]) => p),
      references: partner.constraints.map(([, r]) => r),
    };
  }
  if (has(target, source.key)) {
    return { type: "many", entity: targetSet, foreignKey: [...source.key] };
  }
  return undefined;
}
