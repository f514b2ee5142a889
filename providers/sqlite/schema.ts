/**
 * Schema sync for SQLite: creates missing tables, columns and indexes for registered entities
 * and reports drift. It never drops or rewrites data.
 *
 * `unique: true` is a UNIQUE column in a new table, and a unique index (`ux_<table>_<column>`)
 * on a table that exists already without one. When the stored rows break the uniqueness the
 * index cannot be built: that is reported as drift, the rest of the sync goes on.
 *
 * @module
 */

import type { DriftWarning, SyncReport } from "../../src/provider/provider.ts";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import { quoteIdentifier as q } from "../../src/sql/mod.ts";
import { mapSqliteError, type SqliteConnection } from "./connection.ts";
import { storeTypeOf } from "./values.ts";

interface TableColumn {
  name: string;
  type: string;
  notnull: number;
  pk: number;
}

function columnDefinition(field: FieldMetadata, singleIntegerKey: boolean): string {
  if (singleIntegerKey) return `${q(field.column)} INTEGER PRIMARY KEY`;
  const notNull = field.nullable ? "" : " NOT NULL";
  const unique = field.definition.unique && !field.primaryKey ? " UNIQUE" : "";
  return `${q(field.column)} ${storeTypeOf(field.type)}${notNull}${unique}`;
}

function isSingleIntegerKey(entity: EntityMetadata, field: FieldMetadata): boolean {
  return entity.key.length === 1 && field.primaryKey && field.type === "integer";
}

/** The CREATE TABLE statement of an entity, with its primary and foreign keys. */
export function createTableSql(
  entity: EntityMetadata,
  all: ReadonlyMap<string, EntityMetadata>,
): string {
  const columns = entity.fieldList.map((field) =>
    columnDefinition(field, isSingleIntegerKey(entity, field))
  );
  const parts = [...columns];
  const keyField = entity.fields.get(entity.key[0]!)!;
  if (!(entity.key.length === 1 && isSingleIntegerKey(entity, keyField))) {
    parts.push(
      `PRIMARY KEY (${entity.key.map((name) => q(entity.fields.get(name)!.column)).join(", ")})`,
    );
  }
  for (const relation of entity.relations.values()) {
    if (relation.kind !== "one") continue;
    const target = all.get(relation.target);
    if (target === undefined) continue;
    const targetFields = relation.targetFields.length > 0 ? relation.targetFields : target.key;
    const local = relation.localFields.map((name) => q(entity.fields.get(name)!.column)).join(", ");
    const remote = targetFields.map((name) => q(target.fields.get(name)!.column)).join(", ");
    parts.push(`FOREIGN KEY (${local}) REFERENCES ${q(target.table)} (${remote})`);
  }
  return `CREATE TABLE IF NOT EXISTS ${q(entity.table)} (\n  ${parts.join(",\n  ")}\n)`;
}

function indexesOf(entity: EntityMetadata): { name: string; columns: string[]; unique: boolean }[] {
  const seen = new Set<string>();
  const out: { name: string; columns: string[]; unique: boolean }[] = [];
  const add = (fields: readonly string[], unique: boolean) => {
    const columns = fields.map((name) => entity.fields.get(name)?.column ?? name);
    const id = columns.join(",");
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ name: `ix_${entity.table}_${columns.join("_")}`, columns, unique });
  };
  for (const field of entity.fieldList) {
    if (field.definition.index && !field.primaryKey) add([field.name], false);
  }
  for (const index of entity.indexes) add(index, false);
  // Foreign keys are indexed: $expand and lambdas look rows up by them.
  for (const relation of entity.relations.values()) {
    if (relation.kind === "one" && relation.localFields.join() !== entity.key.join()) {
      add(relation.localFields, false);
    }
  }
  return out;
}

interface IndexListEntry {
  name: string;
  unique: number;
  origin: string;
  partial: number;
}

/**
 * Whether SQLite generates the values of a table's key column: it is the rowid alias (the one
 * primary key column, declared exactly `INTEGER`, not `DESC`, in a rowid table). `undefined`
 * when there is no such table.
 *
 * @example
 * ```ts ignore
 * keyIsRowid(connection, "Things", "tid"); // false for "tid INT PRIMARY KEY"
 * ```
 */
export function keyIsRowid(
  connection: SqliteConnection,
  table: string,
  column: string,
): boolean | undefined {
  const columns = connection.all(`PRAGMA table_info(${q(table)})`, []) as unknown as TableColumn[];
  if (columns.length === 0) return undefined;
  const key = columns.filter((c) => c.pk > 0);
  if (key.length !== 1 || key[0]!.name !== column || key[0]!.type.toUpperCase() !== "INTEGER") {
    return false;
  }
  // A primary key with its own index is no alias: `INTEGER PRIMARY KEY DESC`, WITHOUT ROWID.
  const indexes = connection.all(
    `PRAGMA index_list(${q(table)})`,
    [],
  ) as unknown as IndexListEntry[];
  return !indexes.some((index) => index.origin === "pk");
}

/** Whether a full (not partial) unique index covers exactly `column`. */
function hasUniqueIndex(connection: SqliteConnection, table: string, column: string): boolean {
  const indexes = connection.all(
    `PRAGMA index_list(${q(table)})`,
    [],
  ) as unknown as IndexListEntry[];
  return indexes.some((index) => {
    if (index.unique !== 1 || index.partial !== 0) return false;
    const columns = connection.all(`PRAGMA index_info(${q(index.name)})`, []);
    return columns.length === 1 && columns[0]!.name === column;
  });
}

/**
 * Adds the unique indexes an existing table lacks. Each is built under a savepoint: rows that
 * break the uniqueness make it fail alone, as a drift warning.
 */
function addUniqueIndexes(
  connection: SqliteConnection,
  entity: EntityMetadata,
  createdIndexes: string[],
  warnings: DriftWarning[],
): void {
  for (const field of entity.fieldList) {
    if (!field.definition.unique || field.primaryKey) continue;
    if (hasUniqueIndex(connection, entity.table, field.column)) continue;
    const name = `ux_${entity.table}_${field.column}`;
    connection.exec("SAVEPOINT oar_unique_index");
    try {
      connection.exec(`CREATE UNIQUE INDEX ${q(name)} ON ${q(entity.table)} (${q(field.column)})`);
      connection.exec("RELEASE oar_unique_index");
      createdIndexes.push(name);
    } catch (error) {
      connection.exec("ROLLBACK TO oar_unique_index");
      connection.exec("RELEASE oar_unique_index");
      const mapped = mapSqliteError(error, { entity: entity.name });
      if (mapped.code !== "CONSTRAINT_UNIQUE") throw mapped;
      warnings.push({
        entity: entity.name,
        kind: "constraint-mismatch",
        column: field.column,
        message: `${entity.table}.${field.column} is unique in the schema, but the database ` +
          `holds duplicate values, so the unique index ${name} could not be created; ` +
          "remove the duplicates and sync again",
      });
    }
  }
}

/** Creates what is missing and reports drift for every entity, in one transaction. */
export function syncSchema(
  connection: SqliteConnection,
  entities: readonly EntityMetadata[],
): SyncReport {
  const all = new Map(entities.map((entity) => [entity.name, entity]));
  const createdTables: string[] = [];
  const addedColumns: string[] = [];
  const createdIndexes: string[] = [];
  const warnings: DriftWarning[] = [];
  for (const entity of entities) {
    const existing = connection.all(
      `PRAGMA table_info(${q(entity.table)})`,
      [],
    ) as unknown as TableColumn[];
    if (existing.length === 0) {
      connection.exec(createTableSql(entity, all));
      createdTables.push(entity.table);
    } else {
      const byName = new Map(existing.map((column) => [column.name, column]));
      for (const field of entity.fieldList) {
        const column = byName.get(field.column);
        if (column === undefined) {
          // SQLite cannot add a NOT NULL column without a default to a table with rows; add it nullable.
          connection.exec(
            `ALTER TABLE ${q(entity.table)} ADD COLUMN ${q(field.column)} ${
              storeTypeOf(field.type)
            }`,
          );
          addedColumns.push(`${entity.table}.${field.column}`);
          warnings.push({
            entity: entity.name,
            kind: "missing-column",
            column: field.column,
            message:
              `${entity.table}.${field.column} was missing in the database and has been added`,
          });
          if (!field.nullable) {
            warnings.push({
              entity: entity.name,
              kind: "nullability-mismatch",
              column: field.column,
              message:
                `${entity.table}.${field.column} was added as nullable; existing rows hold null`,
            });
          }
          continue;
        }
        const expected = isSingleIntegerKey(entity, field) ? "INTEGER" : storeTypeOf(field.type);
        if (column.type.toUpperCase() !== expected) {
          warnings.push({
            entity: entity.name,
            kind: "type-mismatch",
            column: field.column,
            message:
              `${entity.table}.${field.column} is ${column.type || "untyped"} in the database, ` +
              `the schema expects ${expected} (${field.type})`,
          });
        }
        if (!field.nullable && column.notnull === 0 && column.pk === 0) {
          warnings.push({
            entity: entity.name,
            kind: "nullability-mismatch",
            column: field.column,
            message:
              `${entity.table}.${field.column} allows null in the database but is required in the schema`,
          });
        }
      }
      addUniqueIndexes(connection, entity, createdIndexes, warnings);
      const known = new Set(entity.fieldList.map((field) => field.column));
      for (const column of existing) {
        if (!known.has(column.name)) {
          warnings.push({
            entity: entity.name,
            kind: "extra-column",
            column: column.name,
            message: `${entity.table}.${column.name} exists in the database but not in the schema`,
          });
        }
      }
    }
    for (const index of indexesOf(entity)) {
      const found = connection.get(
        "SELECT 1 AS found FROM sqlite_master WHERE type = 'index' AND name = ?",
        [index.name],
      );
      if (found !== undefined) continue;
      connection.exec(
        `CREATE ${index.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${q(index.name)} ON ${
          q(entity.table)
        } (${index.columns.map(q).join(", ")})`,
      );
      createdIndexes.push(index.name);
    }
  }
  return { createdTables, addedColumns, createdIndexes, warnings };
}
