/**
 * The OData 4.0 `multipart/mixed` batch format, for services without JSON batch: one change set
 * (a nested `multipart/mixed` part) of `application/http` requests, and the reader of the answer
 * (change set responses, or the single error response a failed change set may get).
 *
 * @module
 */

/** One request of a change set. */
export interface MultipartRequest {
  readonly id: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** One response read from a multipart batch answer. */
export interface MultipartResponse {
  readonly id?: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

const CRLF = "\r\n";

/**
 * Writes one change set as a `multipart/mixed` batch body; returns it with its content type.
 *
 * @example
 * ```ts
 * import { writeMultipartChangeSet } from "./multipart.ts";
 * const { contentType } = writeMultipartChangeSet(
 *   [{ id: "1", method: "DELETE", url: "Shippers(9)", headers: {} }],
 *   "b1",
 * );
 * contentType; // "multipart/mixed;boundary=batch_b1"
 * ```
 */
export function writeMultipartChangeSet(
  requests: readonly MultipartRequest[],
  tag: string,
): { body: string; contentType: string } {
  const batch = `batch_${tag}`;
  const changeset = `changeset_${tag}`;
  let out = `--${batch}${CRLF}Content-Type: multipart/mixed;boundary=${changeset}${CRLF}${CRLF}`;
  for (const request of requests) {
    out += `--${changeset}${CRLF}Content-Type: application/http${CRLF}` +
      `Content-Transfer-Encoding: binary${CRLF}Content-ID: ${request.id}${CRLF}${CRLF}`;
    out += `${request.method} ${request.url} HTTP/1.1${CRLF}`;
    for (const [name, value] of Object.entries(request.headers)) out += `${name}: ${value}${CRLF}`;
    out += CRLF;
    if (request.body !== undefined) out += JSON.stringify(request.body);
    out += CRLF;
  }
  out += `--${changeset}--${CRLF}--${batch}--${CRLF}`;
  return { body: out, contentType: `multipart/mixed;boundary=${batch}` };
}

function boundaryOf(contentType: string): string | undefined {
  const match = /boundary=("?)([^";]+)\1/i.exec(contentType);
  return match?.[2];
}

/** Splits `text` at header/body: the headers (lower-case names) and the rest. */
function splitHead(text: string): { headers: Record<string, string>; rest: string } {
  const normal = text.replace(/^(\r?\n)+/, "");
  const end = normal.search(/\r?\n\r?\n/);
  const head = end === -1 ? normal : normal.slice(0, end);
  const rest = end === -1 ? "" : normal.slice(end).replace(/^\r?\n\r?\n/, "");
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { headers, rest };
}

function parts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const out: string[] = [];
  const pieces = body.split(delimiter);
  // pieces[0] is the preamble; a piece starting with "--" is the close delimiter.
  for (const piece of pieces.slice(1)) {
    if (piece.startsWith("--")) break;
    out.push(piece.replace(/\r?\n$/, ""));
  }
  return out;
}

/**
 * Reads a `multipart/mixed` batch answer into its responses, change sets flattened in order.
 *
 * @example
 * ```ts
 * import { readMultipartResponses } from "./multipart.ts";
 * const body = "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--b--\r\n";
 * readMultipartResponses(body, "multipart/mixed;boundary=b")[0]?.status; // 204
 * ```
 */
export function readMultipartResponses(body: string, contentType: string): MultipartResponse[] {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) return [];
  const out: MultipartResponse[] = [];
  for (const part of parts(body, boundary)) {
    const { headers, rest } = splitHead(part);
    const type = headers["content-type"] ?? "";
    if (type.toLowerCase().startsWith("multipart/mixed")) {
      out.push(...readMultipartResponses(rest, type));
      continue;
    }
    const statusLine = /^\s*HTTP\/\d\.\d\s+(\d{3})/.exec(rest);
    if (statusLine === null) continue;
    // After the status line: headers up to a blank line, then the body (no headers: blank at once).
    const afterLine = rest.slice(rest.indexOf(statusLine[0]) + statusLine[0].length)
      .replace(/^[^\r\n]*\r?\n/, "");
    const inner = /^\r?\n/.test(afterLine)
      ? { headers: {}, rest: afterLine.replace(/^\r?\n/, "") }
      : splitHead(afterLine);
    const text = inner.rest.trim();
    let parsed: unknown = undefined;
    if (text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    out.push({
      id: headers["content-id"],
      status: Number(statusLine[1]),
      headers: inner.headers,
      body: parsed,
    });
  }
  return out;
}
