/**
 * One error hierarchy for the whole module. Every error carries a stable machine `code`
 * (never reused), a human `message`, an actionable `suggestion`, an HTTP `status` for when it
 * reaches the wire, free-form `context`, and `cause` when it wraps another error.
 *
 * @module
 */

import { ERROR_CATALOGUE, type ErrorCode } from "./codes.ts";

/** Options accepted by every error of the hierarchy. */
export interface ErrorOptions {
  /** What the caller can do about it; defaults to the catalogue's suggestion for the code. */
  suggestion?: string;
  /** Structured details (entity, field, limit, ...), safe to log and to send to clients. */
  context?: Record<string, unknown>;
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * The base class of every error thrown by odata-active-record.
 *
 * @example Catch any error of the module and read its code
 * ```ts
 * import { ODataActiveRecordError, parseFilter } from "@oar/odata-active-record";
 * try {
 *   parseFilter("Price gt");
 * } catch (error) {
 *   if (error instanceof ODataActiveRecordError) console.log(error.code, error.suggestion);
 * }
 * ```
 */
export class ODataActiveRecordError extends Error {
  /** Stable machine-readable code from the catalogue. */
  readonly code: ErrorCode;
  /** HTTP status used when the error reaches the wire. */
  readonly status: number;
  /** What to do about it. */
  readonly suggestion: string;
  /** Structured details. */
  readonly context: Record<string, unknown>;

  /** Creates an error with a catalogue code. */
  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ODataActiveRecordError";
    this.code = code;
    const entry = ERROR_CATALOGUE[code];
    this.status = entry.status;
    this.suggestion = options.suggestion ?? entry.suggestion;
    this.context = options.context ?? {};
  }

  /** A plain object for logs and HTTP bodies; never includes the stack. */
  toJSON(): {
    code: ErrorCode;
    message: string;
    suggestion: string;
    context: Record<string, unknown>;
  } {
    return {
      code: this.code,
      message: this.message,
      suggestion: this.suggestion,
      context: this.context,
    };
  }
}

/**
 * Malformed OData text. `position` is the 0-based index into the text where parsing failed and
 * `expected` lists what could have come there.
 *
 * @example
 * ```ts
 * import { ODataSyntaxError, parseFilter } from "@oar/odata-active-record";
 * try {
 *   parseFilter("contains(Name,'a' and Price gt 1");
 * } catch (error) {
 *   if (error instanceof ODataSyntaxError) console.log(error.position, error.expected);
 * }
 * ```
 */
export class ODataSyntaxError extends ODataActiveRecordError {
  /** 0-based index into `text` where the error was detected. */
  readonly position: number;
  /** What could have come at `position`, e.g. `[")"]`. */
  readonly expected: readonly string[];
  /** The text that was parsed. */
  readonly text: string;

  /** Builds the message `Expected ")" at position 23: <excerpt>` with a caret line. */
  constructor(
    text: string,
    position: number,
    expected: readonly string[],
    options: ErrorOptions & { detail?: string } = {},
  ) {
    super("ODATA_SYNTAX", syntaxMessage(text, position, expected, options.detail), {
      ...options,
      context: { position, expected: [...expected], ...options.context },
    });
    this.name = "ODataSyntaxError";
    this.position = position;
    this.expected = expected;
    this.text = text;
  }
}

function syntaxMessage(
  text: string,
  position: number,
  expected: readonly string[],
  detail: string | undefined,
): string {
  const what = detail ??
    (expected.length === 0
      ? "Unexpected input"
      : `Expected ${expected.map((e) => JSON.stringify(e)).join(" or ")}`);
  const start = Math.max(0, position - 40);
  const excerpt = text.slice(start, position + 30).replace(/[\r\n\t]/g, " ");
  const prefix = `${what} at position ${position}: `;
  const lead = start > 0 ? "..." : "";
  const tail = position + 30 < text.length ? " ..." : "";
  const caret = " ".repeat(prefix.length + lead.length + (position - start)) + "^";
  return `${prefix}${lead}${excerpt}${tail}\n${caret}`;
}

/**
 * A configured limit (text length, nodes, depth, `$expand` depth, `in` list length, `$top`) was
 * exceeded. `limit` names the limit and `value` is its configured value.
 *
 * @example
 * ```ts
 * import { QueryLimitError, parseFilter } from "@oar/odata-active-record";
 * try {
 *   parseFilter("a in (1,2,3)", { limits: { maxInListLength: 2 } });
 * } catch (error) {
 *   if (error instanceof QueryLimitError) console.log(error.limit, error.value);
 * }
 * ```
 */
export class QueryLimitError extends ODataActiveRecordError {
  /** The name of the limit, e.g. `"maxDepth"`. */
  readonly limit: string;
  /** The configured value of the limit. */
  readonly value: number;

  /** Creates a limit error naming the limit and its value. */
  constructor(limit: string, value: number, options: ErrorOptions = {}) {
    super(
      "QUERY_LIMIT_EXCEEDED",
      `Query exceeds the limit ${limit} = ${value}`,
      { ...options, context: { limit, value, ...options.context } },
    );
    this.name = "QueryLimitError";
    this.limit = limit;
    this.value = value;
  }
}

/**
 * A feature that the parser, a provider or the service cannot handle faithfully. Thrown instead of
 * returning a wrong answer.
 *
 * @example
 * ```ts
 * import { NotSupportedError } from "@oar/odata-active-record";
 * const error = new NotSupportedError("geo.distance", "sqlite");
 * console.log(error.code); // "NOT_SUPPORTED"
 * ```
 */
export class NotSupportedError extends ODataActiveRecordError {
  /** The feature that is not supported. */
  readonly feature: string;

  /** `where` names the component that lacks the feature (a provider type, "parser", ...). */
  constructor(feature: string, where: string, options: ErrorOptions = {}) {
    super("NOT_SUPPORTED", `${feature} is not supported by ${where}`, {
      ...options,
      context: { feature, where, ...options.context },
    });
    this.name = "NotSupportedError";
    this.feature = feature;
  }
}

/** One failing field of a {@linkcode ValidationError}. */
export interface FieldIssue {
  /** The field name. */
  field: string;
  /** Why the value was refused. */
  reason: string;
  /** What a valid value looks like. */
  suggestion: string;
  /** The refused value (omitted for binary data). */
  value?: unknown;
}

/**
 * Invalid data: lists every failing field with reason and suggestion. Nothing was written.
 *
 * @example
 * ```ts
 * import { ValidationError } from "@oar/odata-active-record";
 * const error = new ValidationError("Products", [
 *   { field: "UnitPrice", reason: "must be a number", suggestion: "pass e.g. 18.5" },
 * ]);
 * console.log(error.issues.length); // 1
 * ```
 */
export class ValidationError extends ODataActiveRecordError {
  /** Every failing field. */
  readonly issues: readonly FieldIssue[];

  /** Creates a validation error for `entity` with its failing fields. */
  constructor(entity: string, issues: readonly FieldIssue[], options: ErrorOptions = {}) {
    const list = issues.map((i) => `${i.field}: ${i.reason}`).join("; ");
    super("VALIDATION_FAILED", `Invalid data for ${entity}: ${list}`, {
      suggestion: issues.map((i) => `${i.field}: ${i.suggestion}`).join("; ") || undefined,
      ...options,
      context: { entity, issues: issues.map((i) => ({ ...i })), ...options.context },
    });
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/**
 * Throws when `signal` has fired: `TIMEOUT` for `AbortSignal.timeout()` deadlines, `ABORTED` for
 * any other abort (the signal's reason becomes the cause).
 *
 * @example
 * ```ts
 * import { throwIfAborted } from "@oar/odata-active-record";
 * throwIfAborted(AbortSignal.timeout(1000)); // not yet aborted: returns
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason = signal.reason as { name?: string } | undefined;
  // AbortSignal.timeout() aborts with a TimeoutError: that is a deadline, not a cancellation.
  if (reason?.name === "TimeoutError") {
    throw new ODataActiveRecordError("TIMEOUT", "The operation's deadline passed", {
      cause: signal.reason,
      context: { reason: "TimeoutError" },
    });
  }
  throw new ODataActiveRecordError("ABORTED", "The operation was aborted", {
    cause: signal.reason,
    context: { reason: String(reason?.name ?? signal.reason) },
  });
}
