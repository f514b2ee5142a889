/**
 * Which failures are worth another attempt. Transient: refused or reset connections, timeouts,
 * an unavailable provider, HTTP 5xx/429 and MongoDB's retryable errors. Not transient: anything
 * the caller must fix (bad query, validation, unknown entity), a cancellation, an open circuit.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";

const TRANSIENT_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

// Deno's error classes for the same conditions (Deno.errors.*), by name.
const TRANSIENT_NAMES = new Set([
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "TimedOut",
  "BrokenPipe",
  "TimeoutError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongoPoolClearedError",
]);

const TRANSIENT_CODES = new Set(["PROVIDER_UNAVAILABLE", "TIMEOUT"]);

// Deno's fetch reports network failures as text only ("fetch failed", caused by "... tcp connect
// error: Connection refused (os error 111)"): read the errno from the words.
const NETWORK_TEXT: readonly [RegExp, string][] = [
  [/connection refused/i, "ECONNREFUSED"],
  [/connection reset/i, "ECONNRESET"],
  [/broken pipe/i, "EPIPE"],
  [/timed out/i, "ETIMEDOUT"],
];

function networkCode(error: ErrorLike & { message?: unknown }): string | undefined {
  if (typeof error.message !== "string") return undefined;
  const text = error.message;
  if (!/error sending request|fetch failed|tcp connect|os error/i.test(text)) return undefined;
  return NETWORK_TEXT.find(([pattern]) => pattern.test(text))?.[1];
}
const PERMANENT_CODES = new Set(["ABORTED", "CIRCUIT_OPEN", "CLOSED"]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  cause?: unknown;
  context?: Record<string, unknown>;
  errorLabels?: unknown;
  hasErrorLabel?: (label: string) => boolean;
}

function upstreamStatus(error: ErrorLike): number | undefined {
  // Providers put the server's answer in the context (`httpStatus`, or `status` as the
  // http-odata provider does).
  const fromContext = error.context?.httpStatus ?? error.context?.status;
  if (typeof fromContext === "number") return fromContext;
  // A library error's own `status` is what it would answer, not what a server said.
  if (!(error instanceof ODataActiveRecordError) && typeof error.status === "number") {
    return error.status;
  }
  return undefined;
}

function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599 && status !== 501);
}

/**
 * True when `error` (or an error in its `cause` chain) is a transient failure worth retrying.
 *
 * @example
 * ```ts
 * import { isTransientError, ODataActiveRecordError } from "@oar/odata-active-record";
 * isTransientError(new ODataActiveRecordError("PROVIDER_UNAVAILABLE", "down")); // true
 * isTransientError(new ODataActiveRecordError("VALIDATION_FAILED", "bad")); // false
 * ```
 */
export function isTransientError(error: unknown): boolean {
  for (let current = error, depth = 0; depth < 8; depth++) {
    if (current === null || typeof current !== "object") return false;
    const e = current as ErrorLike;
    if (typeof e.code === "string") {
      if (PERMANENT_CODES.has(e.code)) return false;
      if (TRANSIENT_CODES.has(e.code) || TRANSIENT_ERRNO.has(e.code)) return true;
    }
    if (typeof e.name === "string" && TRANSIENT_NAMES.has(e.name)) return true;
    if (e.context?.retryable === true) return true;
    if (networkCode(e) !== undefined) return true;
    const status = upstreamStatus(e);
    if (status !== undefined) return isTransientStatus(status);
    if (typeof e.hasErrorLabel === "function") {
      if (e.hasErrorLabel("RetryableWriteError") || e.hasErrorLabel("TransientTransactionError")) {
        return true;
      }
    } else if (Array.isArray(e.errorLabels)) {
      if (
        e.errorLabels.some((l) => l === "RetryableWriteError" || l === "TransientTransactionError")
      ) {
        return true;
      }
    }
    current = e.cause;
  }
  return false;
}

function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The wait a server asked for with `Retry-After` (seconds or an HTTP date), in milliseconds,
 * read from `error.context.retryAfter`, `error.context.headers` or the `cause` chain.
 *
 * @example
 * ```ts
 * import { ODataActiveRecordError, retryAfterMs } from "@oar/odata-active-record";
 * const error = new ODataActiveRecordError("PROVIDER_UNAVAILABLE", "busy", {
 *   context: { httpStatus: 503, retryAfter: "2" },
 * });
 * retryAfterMs(error); // 2000
 * ```
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  for (let current = error, depth = 0; depth < 8; depth++) {
    if (current === null || typeof current !== "object") return undefined;
    const e = current as ErrorLike & { headers?: unknown };
    const headers = e.context?.headers ?? e.headers;
    const fromHeaders = headers instanceof Headers
      ? headers.get("retry-after")
      : (headers as Record<string, unknown> | undefined)?.["retry-after"];
    const parsed = parseRetryAfter(e.context?.retryAfter ?? fromHeaders, now);
    if (parsed !== undefined) return parsed;
    current = e.cause;
  }
  return undefined;
}

/**
 * A short reason for log lines: the errno/code (`ECONNREFUSED`) or the message.
 *
 * @example
 * ```ts
 * import { describeError } from "@oar/odata-active-record";
 * describeError(Object.assign(new Error("connect failed"), { code: "ECONNREFUSED" })); // "ECONNREFUSED"
 * ```
 */
export function describeError(error: unknown): string {
  for (let current = error, depth = 0; depth < 8; depth++) {
    if (current === null || typeof current !== "object") break;
    const e = current as ErrorLike;
    if (typeof e.code === "string" && TRANSIENT_ERRNO.has(e.code)) return e.code;
    const fromText = networkCode(e);
    if (fromText !== undefined) return fromText;
    if (typeof e.name === "string" && TRANSIENT_NAMES.has(e.name) && e.name !== "TimeoutError") {
      return e.name;
    }
    current = e.cause;
  }
  if (error instanceof Error) return error.message.split("\n")[0]!;
  return String(error);
}
