/**
 * Driver errors to the module's coded errors: network failures are `PROVIDER_UNAVAILABLE`
 * (retryable), server selection and operation time-outs `TIMEOUT`, duplicate keys (11000)
 * `CONSTRAINT_UNIQUE` naming the key, document validation failures `CONSTRAINT_CHECK`, the rest
 * `PROVIDER_ERROR` with the driver's error as the cause.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";

interface DriverError {
  readonly name?: string;
  readonly message?: string;
  readonly code?: number | string;
  readonly codeName?: string;
  readonly keyValue?: Record<string, unknown>;
  readonly errorLabels?: readonly string[];
  readonly errorLabelSet?: ReadonlySet<string>;
  readonly writeErrors?: readonly DriverError[];
  readonly errorResponse?: DriverError;
  readonly cause?: unknown;
  readonly reason?: unknown;
}

function labels(error: DriverError): Set<string> {
  return new Set([...(error.errorLabels ?? []), ...(error.errorLabelSet ?? [])]);
}

function duplicateKey(error: DriverError): DriverError | undefined {
  if (error.code === 11000 || error.code === 11001) return error;
  for (const inner of error.writeErrors ?? []) {
    if (inner.code === 11000 || inner.code === 11001) return inner;
  }
  return undefined;
}

/**
 * Wraps a driver error (errors of the module pass through unchanged).
 *
 * @example
 * ```ts
 * import { mapMongoError } from "./errors.ts";
 * mapMongoError(Object.assign(new Error("E11000 duplicate key"), { code: 11000, keyValue: { Id: 1 } }), { entity: "T" }).code; // "CONSTRAINT_UNIQUE"
 * ```
 */
export function mapMongoError(
  error: unknown,
  context: Record<string, unknown> = {},
): ODataActiveRecordError {
  if (error instanceof ODataActiveRecordError) return error;
  const e = (error ?? {}) as DriverError;
  const name = e.name ?? "";
  const message = e.message ?? String(error);
  const full = { provider: "mongodb", ...context };
  const duplicate = duplicateKey(e);
  if (duplicate !== undefined) {
    const key = duplicate.keyValue ?? (e.keyValue ?? {});
    const fields = Object.keys(key);
    return new ODataActiveRecordError(
      "CONSTRAINT_UNIQUE",
      `A record with ${
        fields.length > 0
          ? fields.map((f) => `${f} = ${JSON.stringify(key[f])}`).join(", ")
          : "this key"
      } already exists`,
      {
        cause: error,
        context: { ...full, key },
        suggestion: "Use a different key, or update the existing record.",
      },
    );
  }
  if (e.code === 121) {
    return new ODataActiveRecordError(
      "CONSTRAINT_CHECK",
      `Document validation failed: ${message}`,
      {
        cause: error,
        context: full,
      },
    );
  }
  if (e.code === 50 || name === "MongoOperationTimeoutError") {
    return new ODataActiveRecordError("TIMEOUT", `MongoDB did not answer in time: ${message}`, {
      cause: error,
      context: full,
    });
  }
  const text = `${message} ${
    String((e.reason as { message?: string } | undefined)?.message ?? "")
  }`;
  const refused = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|connection .*closed/i.test(text);
  if (name === "MongoServerSelectionError") {
    return new ODataActiveRecordError(
      refused ? "PROVIDER_UNAVAILABLE" : "TIMEOUT",
      refused
        ? `MongoDB is unreachable: ${message}`
        : `No MongoDB server could be selected in time: ${message}`,
      {
        cause: error,
        context: { ...full, retryable: true },
        suggestion:
          "Check MONGODB_URI and that the server is running; raise the timeout for slow networks.",
      },
    );
  }
  if (
    name === "MongoNetworkError" || name === "MongoNetworkTimeoutError" ||
    name === "MongoTopologyClosedError" || name === "MongoPoolClearedError" ||
    name === "MongoUnexpectedServerResponseError" || refused ||
    labels(e).has("RetryableWriteError") ||
    labels(e).has("TransientTransactionError")
  ) {
    return new ODataActiveRecordError(
      "PROVIDER_UNAVAILABLE",
      `MongoDB connection failed: ${message}`,
      {
        cause: error,
        context: { ...full, retryable: true },
      },
    );
  }
  return new ODataActiveRecordError("PROVIDER_ERROR", `MongoDB error: ${message}`, {
    cause: error,
    context: { ...full, codeName: e.codeName, mongoCode: e.code },
  });
}
