/**
 * `sync()` for MongoDB: creates missing collections, a unique index on the key fields (unless
 * the key is `_id`, which MongoDB indexes itself), unique and plain indexes of declared fields
 * and entity indexes. Drift is found by sampling documents: a declared field no sampled document
 * has, values of another BSON type, nulls in a required field, and fields nobody declared.
 * Nothing is ever dropped or rewritten.
 *
 * @module
 */

import type { Db } from "mongodb";
import { Binary, Decimal128, Long, ObjectId } from "mongodb";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type { DriftWarning, SyncReport } from "../../src/provider/provider.ts";
import { SEQUENCES } from "./operations.ts";

/** How many documents drift detection samples per collection. */
export const DRIFT_SAMPLE_SIZE = 100;

function fits(field: FieldMetadata, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  switch (field.type) {
    case "string":
    case "date":
    case "time":
      return typeof value === "string" || value instanceof ObjectId;
    case "guid":
      return typeof value === "string";
    case "integer":
      return (typeof value === "number" && Number.isInteger(value)) || value instanceof Long;
    case "number":
      return typeof value === "number" || value instanceof Long || value instanceof Decimal128;
    case "decimal":
      return typeof value === "number" || value instanceof Decimal128;
    case "boolean":
      return typeof value === "boolean";
    case "datetime":
      return value instanceof Date;
    case "binary":
      return value instanceof Binary;
    default:
      return true;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value as object).constructor?.name ?? "object";
}

/**
 * Creates collections and indexes for `entities` and reports drift.
 *
 * @example
 * ```ts ignore
 * const report = await syncCollections(db, [entity]);
 * ```
 */
export async function syncCollections(
  db: Db,
  entities: readonly EntityMetadata[],
): Promise<SyncReport> {
  const existing = new Set(
    (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name),
  );
  const createdTables: string[] = [];
  const createdIndexes: string[] = [];
  const warnings: DriftWarning[] = [];
  for (const entity of entities) {
    if (!existing.has(entity.table)) {
      await db.createCollection(entity.table);
      existing.add(entity.table);
      createdTables.push(entity.table);
    }
    const collection = db.collection(entity.table);
    const indexes: { keys: Record<string, 1>; unique: boolean; name: string }[] = [];
    const keyColumns = entity.key.map((k) => entity.fields.get(k)!.column);
    if (keyColumns.length > 0 && !(keyColumns.length === 1 && keyColumns[0] === "_id")) {
      indexes.push({
        keys: Object.fromEntries(keyColumns.map((c) => [c, 1 as const])),
        unique: true,
        name: `pk_${keyColumns.join("_")}`,
      });
    }
    for (const field of entity.fieldList) {
      if (field.column === "_id" || field.primaryKey) continue;
      if (field.definition.unique || field.definition.index) {
        indexes.push({
          keys: { [field.column]: 1 },
          unique: field.definition.unique === true,
          name: `${field.definition.unique ? "uq" : "ix"}_${field.column}`,
        });
      }
    }
    for (const list of entity.indexes) {
      const columns = list.map((name) => entity.fields.get(name)?.column ?? name);
      indexes.push({
        keys: Object.fromEntries(columns.map((c) => [c, 1 as const])),
        unique: false,
        name: `ix_${columns.join("_")}`,
      });
    }
    const present = new Set((await collection.indexes()).map((i) => String(i.name)));
    for (const index of indexes) {
      if (present.has(index.name)) continue;
      await collection.createIndex(index.keys, { unique: index.unique, name: index.name });
      createdIndexes.push(`${entity.table}.${index.name}`);
    }
    warnings.push(...await drift(db, entity));
  }
  if (!existing.has(SEQUENCES)) {
    // Created lazily by the first generated key; nothing to report.
  }
  return { createdTables, addedColumns: [], createdIndexes, warnings };
}

async function drift(db: Db, entity: EntityMetadata): Promise<DriftWarning[]> {
  const sample = await db.collection(entity.table).find({}, { limit: DRIFT_SAMPLE_SIZE }).toArray();
  if (sample.length === 0) return [];
  const warnings: DriftWarning[] = [];
  const declared = new Set(entity.fieldList.map((f) => f.column));
  for (const field of entity.fieldList) {
    const values = sample.map((d) => (d as Record<string, unknown>)[field.column]);
    if (values.every((v) => v === undefined)) {
      warnings.push({
        entity: entity.name,
        kind: "missing-column",
        column: field.column,
        message:
          `None of ${sample.length} sampled documents of ${entity.table} has ${field.column}`,
      });
      continue;
    }
    const wrong = values.find((v) => !fits(field, v));
    if (wrong !== undefined) {
      warnings.push({
        entity: entity.name,
        kind: "type-mismatch",
        column: field.column,
        message: `${entity.table}.${field.column} holds ${
          describe(wrong)
        } values; ${field.name} is declared ${field.type}`,
      });
    }
    if (!field.nullable && values.some((v) => v === null || v === undefined)) {
      warnings.push({
        entity: entity.name,
        kind: "nullability-mismatch",
        column: field.column,
        message:
          `${entity.table}.${field.column} is empty in some documents; ${field.name} is required`,
      });
    }
  }
  const extra = new Set<string>();
  for (const document of sample) {
    for (const key of Object.keys(document)) {
      if (key !== "_id" && !declared.has(key)) extra.add(key);
    }
  }
  for (const key of extra) {
    warnings.push({
      entity: entity.name,
      kind: "extra-column",
      column: key,
      message: `${entity.table} documents hold ${key}, which ${entity.name} does not declare`,
    });
  }
  return warnings;
}
