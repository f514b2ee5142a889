/**
 * Errors on the wire: every failure becomes the OData error shape
 * `{ "error": { "code", "message", "target", "details", "innererror" } }` with the status of the
 * error catalogue. Bad input never yields a 500; an unexpected fault is a 500 with a generic
 * message while the detail goes to the logger only.
 *
 * @module
 */

import { ODataActiveRecordError, ODataSyntaxError, ValidationError } from "../errors/errors.ts";
import type { ErrorCode } from "../errors/codes.ts";

/** The OData error object (the value of `error` in an error response). */
export interface ODataErrorBody {
  /** The stable code of the catalogue. */
  readonly code: string;
  /** A human-readable message. */
  readonly message: string;
  /** What the error is about (a field, a query option), when known. */
  readonly target?: string;
  /** One entry per failing field (validation) or sub-problem. */
  readonly details?: readonly { code: string; message: string; target?: string }[];
  /** The suggestion and the error's context (position and expected for syntax errors). */
  readonly innererror?: Record<string, unknown>;
}

/** Codes whose message can hold store internals: clients get a generic text for them. */
const INTERNAL = new Set<string>([
  "PROVIDER_ERROR",
  "INVALID_SCHEMA",
  "INVALID_CONFIGURATION",
  "PROVIDER_DEPENDENCY_MISSING",
  "UNKNOWN_PROVIDER",
]);

/** Shorthand for a coded error raised by the endpoint itself. */
export function httpError(
  code: ErrorCode,
  message: string,
  context: Record<string, unknown> = {},
): ODataActiveRecordError {
  return new ODataActiveRecordError(code, message, { context });
}

/** The result of mapping a thrown value: status, body, and whether it was unexpected. */
export interface MappedError {
  /** The HTTP status. */
  readonly status: number;
  /** The OData error object. */
  readonly body: ODataErrorBody;
  /** True for faults that are not the client's: they are logged with their detail. */
  readonly unexpected: boolean;
}

/** Maps any thrown value to a status and an OData error body. */
export function mapError(error: unknown): MappedError {
  if (!(error instanceof ODataActiveRecordError)) {
    return {
      status: 500,
      body: { code: "INTERNAL", message: "An unexpected error occurred; it has been logged." },
      unexpected: true,
    };
  }
  let status = error.status;
  if (error.code === "ABORTED") status = 503; // the server gave up (shutdown); not the client
  if (INTERNAL.has(error.code) || status === 500) {
    return {
      status: 500,
      body: {
        code: error.code,
        message: "An unexpected error occurred; it has been logged.",
      },
      unexpected: true,
    };
  }
  const context = error.context;
  const target = typeof context.target === "string"
    ? context.target
    : typeof context.field === "string"
    ? context.field
    : undefined;
  const details = error instanceof ValidationError
    ? error.issues.map((issue) => ({
      code: "VALIDATION_FAILED",
      message: issue.reason,
      target: issue.field,
    }))
    : undefined;
  const innererror: Record<string, unknown> = { suggestion: error.suggestion };
  if (error instanceof ODataSyntaxError) {
    innererror.position = error.position;
    innererror.expected = [...error.expected];
  } else {
    for (const [name, value] of Object.entries(context)) {
      if (name === "issues" || name === "target") continue;
      if (value === null || ["string", "number", "boolean"].includes(typeof value)) {
        innererror[name] = value;
      }
    }
  }
  const body: ODataErrorBody = {
    code: error.code,
    message: error.message,
    ...(target === undefined ? {} : { target }),
    ...(details === undefined ? {} : { details }),
    innererror,
  };
  return { status, body, unexpected: false };
}
