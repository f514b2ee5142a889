/**
 * Drift between a hand-registered entity and the remote service's metadata.
 *
 * @module
 */

import type { EntityMetadata } from "../../src/model/schema.ts";
import type { DriftWarning } from "../../src/provider/provider.ts";

/**
 * Drift between a registered entity and the remote one: fields the service lacks, fields of the
 * service the entity lacks, other types, other nullability, another key.
 *
 * @example
 * ```ts
 * import { compareWithRemote } from "./drift.ts";
 * import { resolveEntity } from "../../src/model/schema.ts";
 * const local = resolveEntity("T", { fields: { ID: { type: "integer", primaryKey: true } } });
 * const remote = resolveEntity("T", { fields: { ID: { type: "string", primaryKey: true } } });
 * compareWithRemote(local, remote)[0]?.kind; // "type-mismatch"
 * ```
 */
export function compareWithRemote(local: EntityMetadata, remote: EntityMetadata): DriftWarning[] {
  const warnings: DriftWarning[] = [];
  const add = (kind: DriftWarning["kind"], column: string, message: string) =>
    warnings.push({ entity: local.name, kind, column, message: `${local.name}: ${message}` });
  for (const field of local.fieldList) {
    const other = remote.fields.get(field.name);
    if (other === undefined) {
      add("missing-column", field.name, `the remote service has no property ${field.name}`);
      continue;
    }
    if (other.type !== field.type) {
      add(
        "type-mismatch",
        field.name,
        `${field.name} is ${field.type} here but ${other.type} (${other.edmType}) remotely`,
      );
    }
    if (other.nullable !== field.nullable && !field.primaryKey) {
      add(
        "nullability-mismatch",
        field.name,
        `${field.name} is ${field.nullable ? "nullable" : "not nullable"} here but ${
          other.nullable ? "nullable" : "not nullable"
        } remotely`,
      );
    }
  }
  for (const field of remote.fieldList) {
    if (!local.fields.has(field.name)) {
      add("extra-column", field.name, `the remote property ${field.name} is not registered`);
    }
  }
  if (local.key.join(",") !== remote.key.join(",")) {
    add(
      "constraint-mismatch",
      local.key.join(","),
      `the key is (${local.key.join(", ")}) here but (${remote.key.join(", ")}) remotely`,
    );
  }
  return warnings;
}
