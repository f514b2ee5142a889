/**
 * Loads the Northwind sample into a namespace: registers the entities, syncs the store and
 * inserts the rows parent tables first.
 *
 * @module
 */

import type { EntityDefinition } from "../../src/model/schema.ts";
import { readNorthwindRows } from "./data.ts";
import { NORTHWIND_ENTITIES, NORTHWIND_LOAD_ORDER } from "./schema.ts";

/**
 * What {@linkcode loadNorthwind} needs of a namespace (an `EntityNamespace` fits).
 *
 * @example A recording stand-in
 * ```ts
 * import type { NorthwindTarget } from "./load.ts";
 * const target: NorthwindTarget = {
 *   registerEntity: () => undefined,
 *   getEntity: () => ({ createMany: (rows) => Promise.resolve(rows) }),
 *   sync: () => Promise.resolve(),
 * };
 * ```
 */
export interface NorthwindTarget {
  /** Registers an entity definition under a name. */
  registerEntity(name: string, definition: EntityDefinition): unknown;
  /** The model of a registered entity. */
  getEntity(name: string): { createMany(rows: Record<string, unknown>[]): Promise<unknown> };
  /** Creates the tables of the registered entities. */
  sync(): Promise<unknown>;
}

/**
 * Orders the rows of an entity with a self reference (`Employees.ReportsTo`) so that each row
 * comes after the row it points to; rows pointing to no row of the set keep their place.
 */
function parentsFirst(
  rows: readonly Record<string, unknown>[],
  keyField: string,
  parentField: string,
): Record<string, unknown>[] {
  const byKey = new Map(rows.map((row) => [row[keyField], row]));
  const ordered: Record<string, unknown>[] = [];
  const placed = new Set<Record<string, unknown>>();
  const visiting = new Set<Record<string, unknown>>();
  const place = (row: Record<string, unknown>): void => {
    if (placed.has(row) || visiting.has(row)) return; // a cycle is left to the store to reject
    visiting.add(row);
    const parent = byKey.get(row[parentField]);
    if (parent !== undefined && parent !== row) place(parent);
    visiting.delete(row);
    placed.add(row);
    ordered.push(row);
  };
  for (const row of rows) place(row);
  return ordered;
}

/** The single-field self references (`one` relations to the entity itself) of a definition. */
function selfReferences(
  name: string,
  definition: EntityDefinition,
): { key: string; parent: string }[] {
  const key = definition.key === undefined
    ? Object.entries(definition.fields).filter(([, field]) => field.primaryKey).map(([field]) =>
      field
    )
    : typeof definition.key === "string"
    ? [definition.key]
    : [...definition.key];
  const result: { key: string; parent: string }[] = [];
  for (const relation of Object.values(definition.relations ?? {})) {
    if (relation.type !== "one" || relation.entity !== name || key.length !== 1) continue;
    if (typeof relation.foreignKey === "string") {
      result.push({ key: key[0]!, parent: relation.foreignKey });
    }
  }
  return result;
}

/**
 * Registers every entity of {@linkcode NORTHWIND_ENTITIES} on `namespace`, syncs it (creating the
 * tables) and inserts the sample rows with `createMany`, in foreign-key order (parents first; an
 * employee after the manager it reports to). Run it on an empty store: rows are inserted, not
 * upserted, so a second load fails on duplicate keys.
 *
 * @example
 * ```ts
 * import { loadNorthwind } from "./load.ts";
 * import type { NorthwindTarget } from "./load.ts";
 * declare const namespace: NorthwindTarget; // e.g. an EntityNamespace over SQLite ":memory:"
 * await loadNorthwind(namespace);
 * ```
 */
export async function loadNorthwind(namespace: NorthwindTarget): Promise<void> {
  for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
    namespace.registerEntity(name, definition);
  }
  await namespace.sync();
  const rows = await readNorthwindRows();
  for (const name of NORTHWIND_LOAD_ORDER) {
    const definition = NORTHWIND_ENTITIES[name];
    let entityRows = rows[name] ?? [];
    if (definition === undefined || entityRows.length === 0) continue;
    for (const { key, parent } of selfReferences(name, definition)) {
      entityRows = parentsFirst(entityRows, key, parent);
    }
    await namespace.getEntity(name).createMany(entityRows);
  }
}
