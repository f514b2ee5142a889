/**
 * The HTTP side of the provider: one `send()` that adds the configured headers and token, bounds
 * the request with a timeout and the caller's signal, waits for a slot under the concurrency
 * limit, and turns every failure into a coded error of the module (OData error bodies keep the
 * remote message; network failures and 502/503/504 become `PROVIDER_UNAVAILABLE`).
 *
 * @module
 */

import type { ErrorCode } from "../../src/errors/codes.ts";
import { ODataActiveRecordError, throwIfAborted } from "../../src/errors/errors.ts";

/** What the client needs of the provider config. */
export interface ClientOptions {
  /** The service root, ending in `/`. */
  readonly baseUrl: string;
  /** Sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Returns the `Authorization` value (e.g. `Bearer …`), asked before every request. */
  readonly token?: () => Promise<string | undefined> | string | undefined;
  /** Per-request timeout in milliseconds. */
  readonly timeoutMs?: number;
  /** Requests in flight at most. */
  readonly concurrency?: number;
  /** The fetch to use. */
  readonly fetch?: typeof fetch;
  /** Keep connections alive between requests. */
  readonly keepAlive?: boolean;
}

/** One request. `path` is relative to the base URL, or an absolute URL (next links). */
export interface ClientRequest {
  readonly method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  /** Statuses handed back instead of thrown (e.g. 404 for a key lookup). */
  readonly accept?: readonly number[];
}

/** An answered request. */
export interface ClientResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The body text (empty for 204). */
  readonly text: string;
  /** The absolute URL that was requested (to resolve relative next links). */
  readonly url: string;
}

/** The media type asked for and sent: minimal metadata, Int64/Decimal as strings allowed. */
export const JSON_TYPE = "application/json;odata.metadata=minimal;IEEE754Compatible=true";

/** Waits for a free slot; FIFO so no caller starves. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(signal: AbortSignal | undefined): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
      return () => this.#release();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(grant);
        if (index !== -1) this.#waiting.splice(index, 1);
        try {
          throwIfAborted(signal);
        } catch (error) {
          reject(error);
        }
      };
      this.#waiting.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    return () => this.#release();
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: "INVALID_ARGUMENT",
  401: "PROVIDER_ERROR",
  403: "PROVIDER_ERROR",
  404: "NOT_FOUND",
  405: "NOT_SUPPORTED",
  406: "NOT_SUPPORTED",
  409: "CONSTRAINT_UNIQUE",
  412: "CONFLICT",
  415: "NOT_SUPPORTED",
  428: "PRECONDITION_REQUIRED",
  501: "NOT_SUPPORTED",
  502: "PROVIDER_UNAVAILABLE",
  503: "PROVIDER_UNAVAILABLE",
  504: "PROVIDER_UNAVAILABLE",
};

/** Remote error codes of this module's own endpoint (and of services that use the same names). */
const KNOWN_CODES = new Set<string>([
  "ODATA_SYNTAX",
  "QUERY_LIMIT_EXCEEDED",
  "NOT_SUPPORTED",
  "VALIDATION_FAILED",
  "UNKNOWN_FIELD",
  "UNKNOWN_ENTITY",
  "INVALID_OPERATOR",
  "INVALID_ARGUMENT",
  "TYPE_MISMATCH",
  "NOT_FOUND",
  "CONSTRAINT_UNIQUE",
  "CONSTRAINT_NOT_NULL",
  "CONSTRAINT_FOREIGN_KEY",
  "CONSTRAINT_CHECK",
  "PRECONDITION_FAILED",
  "PRECONDITION_REQUIRED",
  "TIMEOUT",
]);

/**
 * Constraint violations by the names other services give them (`SQLITE_CONSTRAINT_PRIMARYKEY`,
 * `ENTITY_ALREADY_EXISTS`, `UNIQUE_CONSTRAINT_VIOLATED`, ...), whatever status they come with.
 */
function constraintCode(remote: string | undefined): ErrorCode | undefined {
  if (remote === undefined) return undefined;
  if (/UNIQUE|PRIMARY_?KEY|ALREADY_EXISTS|DUPLICATE/i.test(remote)) return "CONSTRAINT_UNIQUE";
  if (/FOREIGN_?KEY|REFERENCE/i.test(remote)) return "CONSTRAINT_FOREIGN_KEY";
  if (/NOT_?NULL|MANDATORY/i.test(remote)) return "CONSTRAINT_NOT_NULL";
  return undefined;
}

/**
 * Turns an error response into a coded error. The remote `error.code` is used when it is one of
 * the module's codes (a service built with this module answers with them), else the status
 * decides; the remote message is kept in the message and in `context.remote`.
 *
 * @example
 * ```ts
 * import { errorFromResponse } from "./client.ts";
 * const error = errorFromResponse(404, '{"error":{"code":"x","message":"No such key"}}', "GET Products(9)");
 * error.code; // "NOT_FOUND"
 * ```
 */
export function errorFromResponse(
  status: number,
  text: string,
  what: string,
): ODataActiveRecordError {
  let remote: { code?: unknown; message?: unknown; target?: unknown; details?: unknown } = {};
  try {
    const body = JSON.parse(text) as { error?: typeof remote };
    if (body && typeof body.error === "object" && body.error !== null) remote = body.error;
  } catch {
    // not JSON: the status and the raw text decide
  }
  const remoteCode = typeof remote.code === "string" ? remote.code : undefined;
  const message = typeof remote.message === "string"
    ? remote.message
    : text.slice(0, 500) || `HTTP ${status}`;
  // A 412 is always the concurrency error, whatever the service calls it (the model's own
  // version checks raise the same CONFLICT).
  const code: ErrorCode = status === 412
    ? "CONFLICT"
    : remoteCode !== undefined && KNOWN_CODES.has(remoteCode)
    ? remoteCode as ErrorCode
    : constraintCode(remoteCode) ?? STATUS_CODES[status] ??
      (status >= 500 ? "PROVIDER_ERROR" : "INVALID_ARGUMENT");
  return new ODataActiveRecordError(code, `Remote OData service: ${message} (${what}: ${status})`, {
    context: {
      provider: "http-odata",
      status,
      request: what,
      remote: {
        code: remoteCode,
        message,
        ...(remote.target === undefined ? {} : { target: remote.target }),
        ...(remote.details === undefined ? {} : { details: remote.details }),
      },
      retryable: code === "PROVIDER_UNAVAILABLE",
    },
  });
}

/**
 * Sends requests to one OData service.
 *
 * @example
 * ```ts ignore
 * const client = new ODataClient({ baseUrl: "http://127.0.0.1:8080/odata/northwind/" });
 * const { text } = await client.send({ method: "GET", path: "Products/$count" });
 * ```
 */
export class ODataClient {
  readonly #options: ClientOptions;
  readonly #fetch: typeof fetch;
  readonly #slots: Semaphore | undefined;
  readonly #base: URL;
  readonly #baseHeaders: Readonly<Record<string, string>>;

  /** Validated options; no I/O. */
  constructor(options: ClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#slots = options.concurrency === undefined
      ? undefined
      : new Semaphore(options.concurrency);
    this.#base = new URL(options.baseUrl);
    const base: Record<string, string> = { "accept": JSON_TYPE, "odata-maxversion": "4.01" };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      base[name.toLowerCase()] = value;
    }
    if (options.keepAlive === false) base.connection = "close";
    this.#baseHeaders = Object.freeze(base);
  }

  /** The service root URL. */
  get base(): URL {
    return this.#base;
  }

  /** Sends one request; resolves for 2xx/3xx and the `accept` statuses, else throws coded. */
  async send(request: ClientRequest): Promise<ClientResponse> {
    throwIfAborted(request.signal);
    const path = request.path;
    // Paths are relative (`Products?...`) or next links (absolute): no URL parse for the first.
    const url = path.startsWith("http:") || path.startsWith("https:")
      ? path
      : this.#base.href + (path.startsWith("/") ? path.slice(1) : path);
    const what = `${request.method} ${url}`;
    // A plain record with lower-case names: fetch reads it as cheaply as a Headers object.
    const headers: Record<string, string> = { ...this.#baseHeaders };
    if (request.headers !== undefined) {
      for (const name in request.headers) headers[name.toLowerCase()] = request.headers[name]!;
    }
    if (request.body !== undefined && headers["content-type"] === undefined) {
      headers["content-type"] = JSON_TYPE;
    }
    const release = await this.#slots?.acquire(request.signal);
    try {
      if (this.#options.token !== undefined) {
        let token: string | undefined;
        try {
          token = await this.#options.token();
        } catch (cause) {
          if (cause instanceof ODataActiveRecordError) throw cause;
          throw new ODataActiveRecordError(
            "PROVIDER_ERROR",
            `The authorization callback failed before ${what}: ${
              (cause as Error)?.message ?? cause
            }`,
            { cause, context: { provider: "http-odata", request: what } },
          );
        }
        if (token !== undefined && token !== "") headers.authorization = token;
      }
      const signals: AbortSignal[] = [];
      if (request.signal !== undefined) signals.push(request.signal);
      if (this.#options.timeoutMs !== undefined) {
        signals.push(AbortSignal.timeout(this.#options.timeoutMs));
      }
      const signal = signals.length === 0
        ? undefined
        : signals.length === 1
        ? signals[0]
        : AbortSignal.any(signals);
      let response: Response;
      let text: string;
      try {
        response = await this.#fetch(url, {
          method: request.method,
          headers,
          body: request.body,
          signal,
          redirect: "follow",
        });
        text = response.status === 204 || response.status === 304 ? "" : await response.text();
        if (response.status === 204 || response.status === 304) await response.body?.cancel();
      } catch (cause) {
        throw this.#networkError(cause, signal, what);
      }
      if (response.status >= 400 && !(request.accept ?? []).includes(response.status)) {
        throw errorFromResponse(response.status, text, what);
      }
      return { status: response.status, headers: response.headers, text, url };
    } finally {
      release?.();
    }
  }

  #networkError(
    cause: unknown,
    signal: AbortSignal | undefined,
    what: string,
  ): ODataActiveRecordError {
    if (signal?.aborted) {
      try {
        throwIfAborted(signal);
      } catch (error) {
        if (error instanceof ODataActiveRecordError) {
          return new ODataActiveRecordError(error.code, `${error.message} (${what})`, {
            cause: signal.reason,
            context: { ...error.context, provider: "http-odata", request: what },
          });
        }
      }
    }
    if (cause instanceof ODataActiveRecordError) return cause;
    return new ODataActiveRecordError(
      "PROVIDER_UNAVAILABLE",
      `The remote OData service did not answer ${what}: ${(cause as Error)?.message ?? cause}`,
      { cause, context: { provider: "http-odata", request: what, retryable: true } },
    );
  }
}
