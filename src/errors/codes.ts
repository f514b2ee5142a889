/**
 * The catalogue of error codes. A code is never reused or renamed once published; a test keeps
 * this catalogue, the README table and the thrown errors in step.
 *
 * @module
 */

/** One entry of the catalogue. */
export interface ErrorCatalogueEntry {
  /** HTTP status when the error reaches the wire. */
  readonly status: number;
  /** The default suggestion shown to users. */
  readonly suggestion: string;
}

/**
 * Every error code with its HTTP status and default suggestion.
 *
 * @example
 * ```ts
 * import { ERROR_CATALOGUE } from "@oar/odata-active-record";
 * console.log(ERROR_CATALOGUE.ODATA_SYNTAX.status); // 400
 * ```
 */
export const ERROR_CATALOGUE = {
  ODATA_SYNTAX: {
    status: 400,
    suggestion:
      "Check the OData query text at the position shown; quote strings with single quotes.",
  },
  QUERY_LIMIT_EXCEEDED: {
    status: 400,
    suggestion:
      "Simplify the query, or raise the named limit in the parse options if it is trusted.",
  },
  NOT_SUPPORTED: {
    status: 501,
    suggestion: "Rewrite the query without this feature, or use a provider that supports it.",
  },
  VALIDATION_FAILED: {
    status: 400,
    suggestion: "Fix the listed fields and try again; nothing was written.",
  },
  UNKNOWN_FIELD: {
    status: 400,
    suggestion: "Use one of the fields registered on the entity.",
  },
  UNKNOWN_ENTITY: {
    status: 404,
    suggestion: "Register the entity with namespace.registerEntity() before using it.",
  },
  UNKNOWN_NAMESPACE: {
    status: 404,
    suggestion: "Create the namespace with manager.createNamespace() first.",
  },
  NAMESPACE_EXISTS: {
    status: 409,
    suggestion: "Use manager.getNamespace() to reuse it, or remove it first.",
  },
  ENTITY_EXISTS: {
    status: 409,
    suggestion: "Use namespace.getEntity() to reuse the registered entity.",
  },
  INVALID_SCHEMA: {
    status: 500,
    suggestion: "Fix the entity definition: every entity needs a key and known field types.",
  },
  INVALID_OPERATOR: {
    status: 400,
    suggestion:
      "Use an operator that fits the field type (e.g. contains on strings, gt on numbers).",
  },
  INVALID_ARGUMENT: {
    status: 400,
    suggestion: "Check the argument against the method's documentation.",
  },
  TYPE_MISMATCH: {
    status: 400,
    suggestion: "Compare values of compatible types, or cast() one side.",
  },
  NOT_FOUND: {
    status: 404,
    suggestion: "Check the key, or use findById() which returns undefined instead of throwing.",
  },
  UNSAFE_OPERATION: {
    status: 400,
    suggestion: "Add a where() filter, or pass { all: true } to affect every row on purpose.",
  },
  CONSTRAINT_UNIQUE: {
    status: 409,
    suggestion:
      "A row with this key or unique value exists already; use upsert() or another value.",
  },
  CONSTRAINT_NOT_NULL: {
    status: 400,
    suggestion: "Provide a value for the required field.",
  },
  CONSTRAINT_FOREIGN_KEY: {
    status: 409,
    suggestion: "Make sure the referenced row exists (and is not referenced when deleting).",
  },
  CONSTRAINT_CHECK: {
    status: 400,
    suggestion: "The value breaks a check constraint of the table; correct it.",
  },
  UNKNOWN_PROVIDER: {
    status: 500,
    suggestion: "Use a registered provider type: sqlite, mongodb or http-odata.",
  },
  PROVIDER_DEPENDENCY_MISSING: {
    status: 500,
    suggestion:
      "Install the provider's dependency (see the message) and map it in deno.json imports.",
  },
  PROVIDER_UNAVAILABLE: {
    status: 503,
    suggestion: "Check that the database is reachable and its configuration (path, URL) is right.",
  },
  PROVIDER_ERROR: {
    status: 500,
    suggestion: "See the cause for the provider's own error.",
  },
  TRANSACTION_FAILED: {
    status: 500,
    suggestion:
      "The transaction was rolled back; nothing of it was written. Retry if the cause is transient.",
  },
  TIMEOUT: {
    status: 504,
    suggestion:
      "Raise the deadline (or busyTimeoutMs for lock waits), or make the query cheaper (filter, limit, index).",
  },
  ABORTED: {
    status: 499,
    suggestion: "The operation was cancelled by its AbortSignal.",
  },
  INVALID_CONFIGURATION: {
    status: 500,
    suggestion: "Fix the configuration value named in the message.",
  },
  CLOSED: {
    status: 503,
    suggestion: "The namespace or provider was closed; create a new one.",
  },
  TRANSACTION_CLOSED: {
    status: 500,
    suggestion: "Use models and records of a transaction only inside its function; outside, " +
      "use namespace.getEntity(...) (or reload the record through it).",
  },
  CONFLICT: {
    status: 412,
    suggestion: "The row was changed since it was read: reload it, apply the change again and " +
      "save, or use increment() for counters.",
  },
  SCHEMA_NOT_SYNCED: {
    status: 500,
    suggestion:
      "Run await namespace.sync() after registering the entities: it creates missing tables and columns.",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    suggestion: "Use a method the resource allows (see the Allow header).",
  },
  NOT_ACCEPTABLE: {
    status: 406,
    suggestion:
      "Ask for application/json (data) or application/xml (metadata) in Accept or $format.",
  },
  PRECONDITION_FAILED: {
    status: 412,
    suggestion:
      "The entity changed since you read it: read it again for the current ETag and retry.",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    suggestion: "Send a smaller body, or split the $batch into several requests.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    suggestion: "Send the body as application/json (or multipart/mixed for $batch).",
  },
  FAILED_DEPENDENCY: {
    status: 424,
    suggestion:
      "A request this one depends on (dependsOn, atomicity group) failed; fix that one first.",
  },
  PRECONDITION_REQUIRED: {
    status: 428,
    suggestion: "Send If-Match with the ETag you read (or * to write whatever is stored).",
  },
  CIRCUIT_OPEN: {
    status: 503,
    suggestion:
      "The store failed repeatedly, so calls are refused for a cool-down; retry after the time in the message and check the store's health.",
  },
  TRANSACTION_CONFLICT: {
    status: 503,
    suggestion: "The database aborted the transaction to resolve a conflict with a concurrent " +
      "one (serialization failure or deadlock); nothing of it was written. Run it again.",
  },
} as const satisfies Record<string, ErrorCatalogueEntry>;

/**
 * A stable machine-readable error code.
 *
 * @example
 * ```ts
 * import type { ErrorCode } from "@oar/odata-active-record";
 * const code: ErrorCode = "NOT_FOUND";
 * ```
 */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;
