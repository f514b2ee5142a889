/**
 * Validation of whole records before they reach a provider: every field is coerced to its
 * canonical value and every problem is collected, so one {@linkcode ValidationError} lists all
 * failing fields at once. Nothing here touches a store.
 *
 * Rules:
 * - Only plain objects are records; fields set to `undefined` count as not given.
 * - `create`: missing fields get their `defaultValue` (a function is called once per row; a default
 *   is coerced and checked like input). Without one, a field that is required, part of the key or
 *   not nullable is reported, except auto-increment keys, which the store generates.
 * - `update`: only the given fields are checked; key fields may not be given unless
 *   `allowKeyChange` is set, since changing a key moves the row to another identity.
 * - `null` is refused for required and non-nullable fields; it skips `enum` and `validate`.
 * - `enum` membership is checked on the canonical value, then the `validate` hook runs. It sees
 *   the canonical row built so far (on update: the changed fields only); a thrown error becomes
 *   an issue rather than escaping, so one bad hook cannot hide the other issues.
 * - Unknown fields (other than `undefined` ones) are reported with the closest field name;
 *   navigation properties are reported as nested writes, which are not supported.
 *
 * @module
 */

import { type FieldIssue, ODataActiveRecordError, ValidationError } from "../errors/errors.ts";
import { closestName } from "../errors/suggest.ts";
import { type CoerceOptions, coerceValue, describeValue, typeHint } from "./coerce.ts";
import type { EntityMetadata, FieldMetadata, FieldType } from "./schema.ts";

/** Options of {@linkcode validateRecord}. */
export interface ValidateOptions extends CoerceOptions {
  /** On update, accept new values for key fields. @default {false} */
  readonly allowKeyChange?: boolean;
}

/** Whether a record is being inserted (defaults, required fields) or changed (given fields only). */
export type WriteMode = "create" | "update";

/** Short literals for key examples in messages. */
const KEY_EXAMPLES: Readonly<Record<FieldType, string>> = {
  string: `"ALFKI"`,
  integer: "42",
  number: "1.5",
  decimal: `"18.50"`,
  boolean: "true",
  date: `"2024-01-31"`,
  datetime: `"2024-01-31T10:00:00Z"`,
  time: `"10:30:00"`,
  guid: `"0f8fad5b-d9cb-469f-a165-70867728950e"`,
  json: "{}",
  binary: `"AQID"`,
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const isBinary = (value: unknown): boolean =>
  value instanceof ArrayBuffer || ArrayBuffer.isView(value);

/** Builds an issue; binary values are never echoed back (they can be large or sensitive). */
function issue(field: string, reason: string, suggestion: string, value?: unknown): FieldIssue {
  return value === undefined || isBinary(value)
    ? { field, reason, suggestion }
    : { field, reason, suggestion, value };
}

/** Lists names for a suggestion, cut after 12 so huge entities stay readable. */
function listNames(names: readonly string[]): string {
  return names.length <= 12 ? names.join(", ") : `${names.slice(0, 12).join(", ")}, …`;
}

/** "Pass …" text for a field: its enum values when it has any, else the type's example. */
function hintFor(field: FieldMetadata): string {
  const allowed = field.definition.enum;
  if (allowed !== undefined && allowed.length > 0) {
    return `Use one of: ${listNames(allowed.map((v) => JSON.stringify(v)))}.`;
  }
  return typeHint(field.type);
}

function unknownFieldIssue(entity: EntityMetadata, name: string, value: unknown): FieldIssue {
  const relation = entity.relations.get(name);
  if (relation !== undefined) {
    const how = relation.kind === "one"
      ? `set ${relation.localFields.join(", ")} on ${entity.name} to reference it`
      : `create them through ${relation.target} with ${relation.targetFields.join(", ")} set`;
    return issue(
      name,
      `'${name}' is a navigation property of ${entity.name}; nested writes are not supported`,
      `Write the ${relation.target} row(s) through their own entity and ${how}.`,
    );
  }
  const names = entity.fieldList.map((f) => f.name);
  const close = closestName(name, names);
  return issue(
    name,
    `Unknown field '${name}' on ${entity.name}.${close ? ` Did you mean '${close}'?` : ""}`,
    close
      ? `Rename it to '${close}'.`
      : `Remove it; the fields of ${entity.name} are: ${listNames(names)}.`,
    value,
  );
}

/** Compares canonical values, decimals by numeric value ("18.50" equals 18.5). */
function sameValue(field: FieldMetadata, a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (field.type === "decimal" && typeof a === "string" && typeof b === "string") {
    const strip = (s: string): string => s.includes(".") ? s.replace(/\.?0+$/, "") : s;
    return strip(a) === strip(b);
  }
  return a === b;
}

/** Checks `enum` membership of a canonical value; returns an issue or `undefined`. */
function enumIssue(field: FieldMetadata, value: unknown, raw: unknown): FieldIssue | undefined {
  const allowed = field.definition.enum;
  if (allowed === undefined) return undefined;
  const canonical = allowed.map((option) => {
    const result = coerceValue(field, option);
    return result.ok ? result.value : option; // an ill-typed option simply never matches
  });
  if (canonical.some((option) => sameValue(field, option, value))) return undefined;
  const close = typeof value === "string"
    ? closestName(value, allowed.filter((v): v is string => typeof v === "string"))
    : undefined;
  return issue(
    field.name,
    `${describeValue(raw)} is not one of the allowed values`,
    `${close === undefined ? "" : `Did you mean "${close}"? `}${hintFor(field)}`,
    raw,
  );
}

/** Runs the `validate` hook; returns an issue or `undefined`. */
function hookIssue(
  field: FieldMetadata,
  value: unknown,
  row: Readonly<Record<string, unknown>>,
): FieldIssue | undefined {
  const hook = field.definition.validate;
  if (hook === undefined) return undefined;
  let verdict: string | boolean | undefined;
  try {
    verdict = hook(value, row);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    verdict = `its validator threw: ${message}`;
  }
  if (verdict === true || verdict === undefined) return undefined;
  const reason = typeof verdict === "string" && verdict !== ""
    ? verdict
    : `${describeValue(value)} was rejected by the field's validate function`;
  return issue(
    field.name,
    reason,
    `Pass a value that ${field.name}'s validate function accepts.`,
    value,
  );
}

/**
 * Checks and coerces a record for `create` or `update`, returning the canonical row (only the
 * fields that were given or defaulted). Throws one `ValidationError` listing every failing field,
 * or `INVALID_ARGUMENT` when `data` is not a plain object.
 *
 * @example
 * ```ts
 * import { resolveEntity, validateRecord } from "@oar/odata-active-record";
 * const products = resolveEntity("Products", {
 *   fields: {
 *     ProductID: { type: "integer", primaryKey: true },
 *     ProductName: { type: "string", required: true, maxLength: 40 },
 *     UnitPrice: { type: "decimal", scale: 2, defaultValue: "0" },
 *   },
 * });
 * validateRecord(products, { ProductName: "Chai" }, "create");
 * // { ProductName: "Chai", UnitPrice: "0.00" }
 * ```
 */
export function validateRecord(
  entity: EntityMetadata,
  data: unknown,
  mode: WriteMode,
  options: ValidateOptions = {},
): Record<string, unknown> {
  if (mode !== "create" && mode !== "update") {
    throw new ODataActiveRecordError("INVALID_ARGUMENT", `Unknown write mode '${String(mode)}'`, {
      suggestion: `Use "create" or "update".`,
      context: { entity: entity.name, mode },
    });
  }
  if (!isPlainObject(data)) {
    const example = entity.fieldList.slice(0, 2).map((f) => `${f.name}: ${KEY_EXAMPLES[f.type]}`);
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `The data to ${mode} on ${entity.name} must be a plain object of field values, ` +
        `got ${describeValue(data)}`,
      {
        suggestion: `Pass an object such as { ${example.join(", ")} }.`,
        context: { entity: entity.name, mode },
      },
    );
  }
  const issues: FieldIssue[] = [];
  const row: Record<string, unknown> = {};
  const hooked: FieldMetadata[] = [];
  for (const field of entity.fieldList) {
    const raw = Object.hasOwn(data, field.name) ? data[field.name] : undefined;
    let value = raw;
    let origin = "";
    if (raw === undefined) {
      if (mode === "update") continue;
      const fallback = field.definition.defaultValue;
      if (fallback === undefined) {
        if (!field.autoIncrement && (field.required || field.primaryKey || !field.nullable)) {
          issues.push(issue(
            field.name,
            field.primaryKey ? "is part of the key and was not given" : "is required",
            `Provide a value (or declare a defaultValue on the field). ${hintFor(field)}`,
          ));
        }
        continue;
      }
      try {
        value = typeof fallback === "function" ? (fallback as () => unknown)() : fallback;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        issues.push(issue(
          field.name,
          `its defaultValue function threw: ${message}`,
          `Provide a value yourself, or fix the defaultValue function. ${hintFor(field)}`,
        ));
        continue;
      }
      origin = "its default value ";
    } else if (mode === "update" && field.primaryKey && options.allowKeyChange !== true) {
      issues.push(issue(
        field.name,
        `is part of the key of ${entity.name} and cannot be changed by an update`,
        `Remove ${field.name} from the changes (it identifies the row); to re-key a row, ` +
          "create a new one and delete the old one.",
        raw,
      ));
      continue;
    }
    if (value === null || value === undefined) {
      if (field.required || !field.nullable) {
        const suggestion = field.autoIncrement && mode === "create"
          ? `Omit ${field.name} to let the store generate it.`
          : `Provide a value. ${hintFor(field)}`;
        issues.push(issue(field.name, `${origin}may not be null`, suggestion, value));
      } else {
        row[field.name] = null;
      }
      continue;
    }
    const result = coerceValue(field, value, options);
    if (!result.ok) {
      const reason = origin === "" ? result.reason : `${origin}is invalid: ${result.reason}`;
      issues.push(
        issue(field.name, reason, result.suggestion, field.type === "binary" ? undefined : value),
      );
      continue;
    }
    if (field.definition.enum !== undefined) {
      const refused = enumIssue(field, result.value, value);
      if (refused !== undefined) {
        issues.push(refused);
        continue;
      }
    }
    row[field.name] = result.value;
    if (field.definition.validate !== undefined) hooked.push(field);
  }
  // Hooks run once all fields are coerced, so they can look at the other fields of the row.
  const view = hooked.length > 0 ? Object.freeze({ ...row }) : row;
  for (const field of hooked) {
    const refused = hookIssue(field, row[field.name], view);
    if (refused !== undefined) issues.push(refused);
  }
  for (const key in data) {
    if (!Object.hasOwn(data, key)) continue; // own keys only, without an array of them
    // Consistent with known fields (and JSON), a key set to undefined counts as not given.
    if (!entity.fields.has(key) && data[key] !== undefined) {
      issues.push(unknownFieldIssue(entity, key, data[key]));
    }
  }
  if (issues.length > 0) throw new ValidationError(entity.name, issues);
  return row;
}

/**
 * Returns the field's metadata, or throws `UNKNOWN_FIELD` naming the closest field ("Did you
 * mean …?"); a navigation property gets its own explanation.
 *
 * @example
 * ```ts
 * import { assertKnownField, type EntityMetadata } from "@oar/odata-active-record";
 * declare const products: EntityMetadata;
 * assertKnownField(products, "ProductName").type; // "string"
 * assertKnownField(products, "ProductNam"); // throws: Did you mean 'ProductName'?
 * ```
 */
export function assertKnownField(entity: EntityMetadata, name: string): FieldMetadata {
  const field = entity.fields.get(name);
  if (field !== undefined) return field;
  const candidates = entity.fieldList.map((f) => f.name);
  const close = closestName(name, candidates);
  const relation = entity.relations.has(name);
  const message = relation
    ? `'${name}' is a navigation property of ${entity.name}, not a field`
    : `Unknown field '${name}' on ${entity.name}.${close ? ` Did you mean '${close}'?` : ""}`;
  throw new ODataActiveRecordError("UNKNOWN_FIELD", message, {
    suggestion: relation
      ? `Use expand('${name}') to read it, or one of the fields: ${listNames(candidates)}.`
      : close
      ? `Use '${close}'.`
      : `Use one of the fields of ${entity.name}: ${listNames(candidates)}.`,
    context: { entity: entity.name, field: name, candidates },
  });
}

const keyFields = new WeakMap<EntityMetadata, readonly FieldMetadata[]>();

/** The key fields' metadata, looked up once per entity (every by-key call needs it). */
function keyFieldsOf(entity: EntityMetadata): readonly FieldMetadata[] {
  let fields = keyFields.get(entity);
  if (fields === undefined) {
    fields = entity.key.map((name) => entity.fields.get(name)!);
    keyFields.set(entity, fields);
  }
  return fields;
}

/**
 * Converts a key as passed to `findById` (and other by-key methods) to a canonical key object:
 * a scalar (or `{ Key: value }`) for a single key, an object with every key field for a
 * composite key. Throws `INVALID_ARGUMENT` for a wrongly shaped key and a `ValidationError` when
 * a key value does not fit its field type.
 *
 * @example
 * ```ts
 * import { keyFromValue, type EntityMetadata } from "@oar/odata-active-record";
 * declare const products: EntityMetadata; // key ProductID (integer)
 * declare const orderDetails: EntityMetadata; // key OrderID, ProductID
 * keyFromValue(products, "42"); // { ProductID: 42 }
 * keyFromValue(orderDetails, { OrderID: 10248, ProductID: 11 }); // { OrderID: 10248, ProductID: 11 }
 * ```
 */
export function keyFromValue(
  entity: EntityMetadata,
  key: unknown,
  options: CoerceOptions = {},
): Record<string, unknown> {
  const fields = keyFieldsOf(entity);
  const invalid = (message: string): ODataActiveRecordError => {
    const example = fields.length === 1
      ? `findById(${KEY_EXAMPLES[fields[0]!.type]})`
      : `findById({ ${fields.map((f) => `${f.name}: ${KEY_EXAMPLES[f.type]}`).join(", ")} })`;
    return new ODataActiveRecordError("INVALID_ARGUMENT", message, {
      suggestion: `Pass the key like ${example}.`,
      context: { entity: entity.name, key: [...entity.key] },
    });
  };
  let given: Record<string, unknown>;
  if (isPlainObject(key)) {
    given = key;
  } else if (fields.length === 1) {
    given = { [fields[0]!.name]: key };
  } else {
    throw invalid(
      `${entity.name} has a composite key (${entity.key.join(", ")}): pass an object with ` +
        `every key field, got ${describeValue(key)}`,
    );
  }
  for (const name of Object.keys(given)) {
    if (entity.key.includes(name)) continue;
    const close = closestName(name, entity.key);
    throw invalid(
      `'${name}' is not a key field of ${entity.name}` +
        (close ? `. Did you mean '${close}'?` : ` (the key is ${entity.key.join(", ")})`),
    );
  }
  const missing = entity.key.filter((name) => given[name] === undefined || given[name] === null);
  if (missing.length > 0) {
    throw invalid(
      fields.length === 1
        ? `A key value for ${entity.name}.${missing[0]} is required, got ${describeValue(key)}`
        : `The key of ${entity.name} is missing ${missing.join(", ")}`,
    );
  }
  const result: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  for (const field of fields) {
    const coerced = coerceValue(field, given[field.name], options);
    if (coerced.ok) result[field.name] = coerced.value;
    else issues.push(issue(field.name, coerced.reason, coerced.suggestion, given[field.name]));
  }
  if (issues.length > 0) throw new ValidationError(entity.name, issues);
  return result;
}
