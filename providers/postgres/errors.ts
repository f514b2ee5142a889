/**
 * Maps postgres.js and PostgreSQL errors (SQLSTATE codes) onto the error catalogue. Transient
 * failures carry `context.retryable: true` so the resilience layer can retry them.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";

/** The parts of a postgres.js error the mapping reads. */
interface DriverError {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly message?: unknown;
  readonly constraint_name?: unknown;
  readonly table_name?: unknown;
  readonly column_name?: unknown;
  readonly detail?: unknown;
  readonly severity?: unknown;
}

/** Driver error codes (not SQLSTATE) that mean the server is gone or cannot be reached. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "NOT_TAGGED_CALL",
]);

/** SQLSTATEs of a server that is shutting down, starting, out of connections or cut off. */
function unavailableState(state: string): boolean {
  return state.startsWith("08") || // connection exception
    state === "57P01" || // admin_shutdown
    state === "57P02" || // crash_shutdown
    state === "57P03" || // cannot_connect_now
    state === "53300" || // too_many_connections
    state === "3D000"; // invalid_catalog_name: the database does not exist
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** Where the error comes from, safe for logs and clients (no values, no SQL). */
function describe(error: DriverError): Record<string, unknown> {
  const context: Record<string, unknown> = { provider: "postgres" };
  const state = text(error.code);
  if (state !== undefined) context.sqlState = state;
  const constraint = text(error.constraint_name);
  if (constraint !== undefined) context.constraint = constraint;
  const table = text(error.table_name);
  if (table !== undefined) context.table = table;
  const column = text(error.column_name);
  if (column !== undefined) context.column = column;
  return context;
}

/**
 * Turns a driver error into an error of the catalogue (an `ODataActiveRecordError` is returned
 * as is). `closed` says the provider was closed on purpose: the driver's "ended" error is then
 * `CLOSED`.
 *
 * @example
 * ```ts
 * import { mapPostgresError } from "./errors.ts";
 * const error = mapPostgresError({ code: "23505", message: "duplicate key" });
 * console.log(error.code); // "CONSTRAINT_UNIQUE"
 * ```
 */
export function mapPostgresError(
  error: unknown,
  options: { readonly closed?: boolean; readonly aborted?: boolean } = {},
): ODataActiveRecordError {
  if (error instanceof ODataActiveRecordError) return error;
  const driver = (typeof error === "object" && error !== null ? error : {}) as DriverError;
  const message = text(driver.message) ?? String(error);
  const code = text(driver.code) ?? "";
  const context = describe(driver);
  if (code === "CONNECTION_ENDED" || options.closed) {
    return new ODataActiveRecordError("CLOSED", "The postgres provider is closed", {
      cause: error,
      context: { provider: "postgres" },
    });
  }
  if (CONNECTION_CODES.has(code) || unavailableState(code)) {
    return new ODataActiveRecordError(
      "PROVIDER_UNAVAILABLE",
      `PostgreSQL is unavailable: ${message}`,
      {
        cause: error,
        suggestion: code === "3D000"
          ? "Create the database named in the URL, or fix the URL."
          : "Check that the PostgreSQL server runs and the URL is right; the pool reconnects " +
            "by itself when the server is back.",
        context: { ...context, driverCode: code, retryable: true },
      },
    );
  }
  switch (code) {
    case "23505":
      return new ODataActiveRecordError("CONSTRAINT_UNIQUE", `Unique constraint: ${message}`, {
        cause: error,
        context,
      });
    case "23503":
      return new ODataActiveRecordError(
        "CONSTRAINT_FOREIGN_KEY",
        `Foreign key constraint: ${message}`,
        { cause: error, context },
      );
    case "23502":
      return new ODataActiveRecordError("CONSTRAINT_NOT_NULL", `Not-null constraint: ${message}`, {
        cause: error,
        context,
      });
    case "23514":
      return new ODataActiveRecordError("CONSTRAINT_CHECK", `Check constraint: ${message}`, {
        cause: error,
        context,
      });
    case "40001":
    case "40P01":
      return new ODataActiveRecordError(
        "TRANSACTION_CONFLICT",
        code === "40001"
          ? `PostgreSQL could not serialize this transaction with a concurrent one: ${message}`
          : `PostgreSQL broke a deadlock by aborting this transaction: ${message}`,
        { cause: error, context: { ...context, retryable: true } },
      );
    case "57014":
      if (options.aborted) {
        return new ODataActiveRecordError("ABORTED", "The operation was aborted", {
          cause: error,
          context: { provider: "postgres" },
        });
      }
      return new ODataActiveRecordError(
        "TIMEOUT",
        `PostgreSQL cancelled the statement: ${message}`,
        {
          cause: error,
          suggestion: "Make the query cheaper (filter, limit, index) or raise statementTimeout.",
          context: { ...context, retryable: false },
        },
      );
    case "42P01": // undefined_table
    case "42703": // undefined_column (the statements name registered columns only)
    case "3F000": // invalid_schema_name
      return new ODataActiveRecordError(
        "SCHEMA_NOT_SYNCED",
        `The database lacks a table, column or schema of a registered entity: ${message}`,
        { cause: error, context },
      );
    case "25P02":
      return new ODataActiveRecordError(
        "TRANSACTION_FAILED",
        "An earlier statement of this transaction failed; nothing of it will be written",
        { cause: error, context },
      );
  }
  return new ODataActiveRecordError("PROVIDER_ERROR", `PostgreSQL: ${message}`, {
    cause: error,
    context,
  });
}
