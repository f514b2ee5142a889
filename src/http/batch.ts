/**
 * `$batch` in the JSON format (OData 4.01) and as `multipart/mixed`: requests run in order;
 * an atomicity group (a multipart change set) runs in one transaction and either all of it is
 * applied or none; `dependsOn` (implicit in change sets) gives 424 when a dependency failed;
 * `$<id>` at the start of a URL (and as an `If-Match` value) refers to an earlier request's
 * entity; limits on the number of parts and on the body size apply.
 *
 * @module
 */

import type { ODataActiveRecordError } from "../errors/errors.ts";
import { httpError } from "./errors.ts";
import { preferences } from "./negotiate.ts";
import type { ODataService, Scope } from "./handler.ts";

/** One request of a batch, from either format. */
interface BatchItem {
  readonly id: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly atomicityGroup?: string;
  readonly dependsOn: readonly string[];
  /** The Content-ID was given (multipart echoes it only then). */
  readonly explicitId: boolean;
}

/** The outcome of one request. */
interface BatchResult {
  readonly item: BatchItem;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  424: "Failed Dependency",
  428: "Precondition Required",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function bad(message: string): ODataActiveRecordError {
  return httpError("INVALID_ARGUMENT", message, { target: "$batch" });
}

function parseJsonBatch(text: string): BatchItem[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad("The $batch body is not valid JSON");
  }
  const requests = (parsed as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests)) throw bad('A JSON $batch needs { "requests": [...] }');
  const ids = new Set<string>();
  const groups = new Set<string>();
  let lastGroup: string | undefined;
  return requests.map((raw, index): BatchItem => {
    if (raw === null || typeof raw !== "object") throw bad(`requests[${index}] is not an object`);
    const r = raw as Record<string, unknown>;
    if (typeof r.id !== "string" || r.id === "") throw bad(`requests[${index}] needs an id`);
    if (ids.has(r.id)) throw bad(`Duplicate request id ${r.id}`);
    ids.add(r.id);
    if (typeof r.method !== "string" || typeof r.url !== "string") {
      throw bad(`requests[${index}] needs method and url`);
    }
    const method = r.method.toUpperCase();
    if (!["GET", "POST", "PATCH", "PUT", "DELETE"].includes(method)) {
      throw bad(`requests[${index}]: method ${r.method} is not allowed in a batch`);
    }
    const group = typeof r.atomicityGroup === "string" ? r.atomicityGroup : undefined;
    if (group !== undefined) {
      if (ids.has(group) && group === r.id) throw bad(`atomicityGroup ${group} equals an id`);
      if (groups.has(group) && lastGroup !== group) {
        throw bad(`The requests of atomicityGroup ${group} must be adjacent`);
      }
      groups.add(group);
    }
    lastGroup = group;
    const dependsOn = r.dependsOn === undefined ? [] : r.dependsOn;
    if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== "string")) {
      throw bad(`requests[${index}]: dependsOn must be an array of ids`);
    }
    for (const dependency of dependsOn as string[]) {
      if (!ids.has(dependency) && !groups.has(dependency)) {
        throw bad(`requests[${index}]: dependsOn ${dependency} names no earlier request or group`);
      }
    }
    const headers: Record<string, string> = {};
    if (r.headers !== undefined) {
      if (r.headers === null || typeof r.headers !== "object") {
        throw bad(`requests[${index}]: headers must be an object`);
      }
      for (const [name, value] of Object.entries(r.headers)) {
        headers[name.toLowerCase()] = String(value);
      }
    }
    let body: string | undefined;
    if (r.body !== undefined && r.body !== null) {
      if (method === "GET" || method === "DELETE") {
        throw bad(`requests[${index}]: a ${method} has no body`);
      }
      body = typeof r.body === "string" && !(headers["content-type"] ?? "").includes("json")
        ? r.body
        : JSON.stringify(r.body);
      headers["content-type"] ??= "application/json";
    }
    return {
      id: r.id,
      method,
      url: r.url,
      headers,
      body,
      atomicityGroup: group,
      dependsOn: dependsOn as string[],
      explicitId: true,
    };
  });
}

/** The boundary parameter of a multipart content type. */
function boundaryOf(contentType: string): string {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (boundary === undefined) throw bad("multipart/mixed needs a boundary parameter");
  return boundary;
}

/** Splits a multipart body into its parts (headers and body each). */
function splitParts(text: string, boundary: string): { headers: Headers; body: string }[] {
  const delimiter = `--${boundary}`;
  const parts: { headers: Headers; body: string }[] = [];
  let position = text.indexOf(delimiter);
  if (position < 0) throw bad(`The multipart body has no boundary ${boundary}`);
  for (;;) {
    position += delimiter.length;
    if (text.startsWith("--", position)) break; // the close delimiter
    const next = text.indexOf(`\n${delimiter}`, position);
    if (next < 0) throw bad("The multipart body is not closed with its boundary");
    let content = text.slice(position, next);
    if (content.endsWith("\r")) content = content.slice(0, -1);
    content = content.replace(/^[ \t]*\r?\n/, "");
    parts.push(splitHeaders(content));
    position = next + 1;
  }
  return parts;
}

/** Splits `headers CRLF CRLF body`. */
function splitHeaders(content: string): { headers: Headers; body: string } {
  const match = /\r?\n\r?\n/.exec(content);
  const head = match === null ? content : content.slice(0, match.index);
  const body = match === null ? "" : content.slice(match.index + match[0].length);
  const headers = new Headers();
  for (const line of head.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw bad(`Malformed header line in a batch part: ${line.slice(0, 60)}`);
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      throw bad(`Malformed header line in a batch part: ${line.slice(0, 60)}`);
    }
  }
  return { headers, body };
}

function httpPart(
  part: { headers: Headers; body: string },
  id: string,
  explicitId: boolean,
  group: string | undefined,
): BatchItem {
  const type = (part.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/http") throw bad(`A batch part must be application/http, not ${type}`);
  // The part's body is a request line, headers, a blank line and the request body.
  const lines = part.body.split(/\r?\n/);
  const requestLine = lines[0]?.trim() ?? "";
  const match = /^([A-Za-z]+)\s+(\S+)(?:\s+HTTP\/1\.[01])?$/.exec(requestLine);
  if (match === null) {
    throw bad(`Malformed request line in a batch part: ${requestLine.slice(0, 60)}`);
  }
  const method = match[1]!.toUpperCase();
  if (!["GET", "POST", "PATCH", "PUT", "DELETE"].includes(method)) {
    throw bad(`Method ${method} is not allowed in a batch`);
  }
  const headerText = part.body.slice(part.body.indexOf("\n") + 1);
  const parsed = splitHeaders(headerText);
  const headers: Record<string, string> = {};
  parsed.headers.forEach((value, name) => (headers[name] = value));
  return {
    id,
    method,
    url: match[2]!,
    headers,
    body: parsed.body.replace(/\r?\n$/, "") || undefined,
    atomicityGroup: group,
    dependsOn: [],
    explicitId,
  };
}

function parseMultipartBatch(text: string, contentType: string): BatchItem[] {
  const items: BatchItem[] = [];
  let counter = 0;
  let changesets = 0;
  for (const part of splitParts(text, boundaryOf(contentType))) {
    const type = (part.headers.get("content-type") ?? "").toLowerCase();
    if (type.startsWith("multipart/mixed")) {
      const group = `changeset${++changesets}`;
      for (const inner of splitParts(part.body, boundaryOf(type))) {
        const cid = inner.headers.get("content-id");
        items.push(httpPart(inner, cid ?? `r${++counter}`, cid !== null, group));
      }
    } else {
      const cid = part.headers.get("content-id");
      items.push(httpPart(part, cid ?? `r${++counter}`, cid !== null, undefined));
    }
  }
  return items;
}

/** The failure that rolls an atomicity group back. */
class GroupFailed extends Error {
  constructor() {
    super("atomicity group failed");
  }
}

/** Serves a `$batch` request. */
export async function handleBatch(
  service: ODataService,
  request: Request,
  url: URL,
  v401: boolean,
): Promise<Response> {
  const contentType = request.headers.get("content-type") ?? "";
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  const multipart = type === "multipart/mixed";
  if (!multipart && type !== "application/json") {
    throw httpError(
      "UNSUPPORTED_MEDIA_TYPE",
      `A $batch body is application/json or multipart/mixed, not ${type || "untyped"}`,
      { target: "Content-Type" },
    );
  }
  const text = await service.readBody({ request });
  const items = multipart ? parseMultipartBatch(text, contentType) : parseJsonBatch(text);
  if (items.length > service.maxBatchParts) {
    throw httpError(
      "PAYLOAD_TOO_LARGE",
      `The $batch has ${items.length} requests; at most ${service.maxBatchParts} are allowed`,
      { limit: service.maxBatchParts },
    );
  }
  const prefs = preferences(request.headers.get("prefer"));
  const continueOnError = prefs.continueOnError ?? !multipart;
  const results = new Map<string, BatchResult>();
  const failedGroups = new Set<string>();
  let stopped = false;

  const failed = (id: string) => {
    if (failedGroups.has(id)) return true;
    const result = results.get(id);
    return result !== undefined && result.status >= 400;
  };
  const errorResult = (item: BatchItem, error: unknown): BatchResult => {
    const response = service.errorResponse(error, request, v401);
    return {
      item,
      status: response.status,
      headers: response.headers,
      body: "",
      pending: response,
    } as BatchResult & { pending: Response };
  };

  const run = async (
    item: BatchItem,
    scope: Scope,
    inTransaction: boolean,
  ): Promise<BatchResult> => {
    if (item.dependsOn.some(failed)) {
      return errorResult(
        item,
        httpError("FAILED_DEPENDENCY", `Request ${item.id} depends on a request that failed`, {
          target: item.id,
        }),
      );
    }
    let response: Response;
    try {
      const sub = subRequest(service, request, url, item, results);
      response = await service.dispatch({
        request: sub,
        url: new URL(sub.url),
        scope,
        inTransaction,
        body: item.body ?? "",
      });
    } catch (error) {
      response = service.errorResponse(error, request, v401);
    }
    return {
      item,
      status: response.status,
      headers: response.headers,
      body: await response.text(),
    };
  };

  const order: BatchResult[] = [];
  for (let i = 0; i < items.length;) {
    const item = items[i]!;
    if (stopped) break;
    if (item.atomicityGroup === undefined) {
      const result = await settle(await run(item, service.namespace, false));
      results.set(item.id, result);
      order.push(result);
      if (result.status >= 400 && !continueOnError) stopped = true;
      i++;
      continue;
    }
    const group = item.atomicityGroup;
    const members: BatchItem[] = [];
    while (i < items.length && items[i]!.atomicityGroup === group) members.push(items[i++]!);
    const groupResults: BatchResult[] = [];
    try {
      await service.namespace.transaction(async (tx) => {
        for (const member of members) {
          const result = await settle(await run(member, tx as unknown as Scope, true));
          groupResults.push(result);
          results.set(member.id, result);
          if (result.status >= 400) throw new GroupFailed();
        }
      });
    } catch (error) {
      const failure = groupResults.find((result) => result.status >= 400);
      const replaced: BatchResult[] = [];
      for (const member of members) {
        const own = groupResults.find((result) => result.item === member);
        const result = own !== undefined && own === failure ? own : await settle(
          errorResult(
            member,
            error instanceof GroupFailed
              ? httpError(
                "FAILED_DEPENDENCY",
                `Not applied: request ${failure?.item.id} of atomicity group ${group} failed`,
                { target: member.id },
              )
              : error,
          ),
        );
        results.set(member.id, result);
        replaced.push(result);
      }
      failedGroups.add(group);
      groupResults.length = 0;
      groupResults.push(...replaced);
      if (!continueOnError) stopped = true;
    }
    order.push(...groupResults);
  }

  return multipart ? multipartResponse(order, v401) : jsonResponse(order, v401);
}

/** Reads the body of a result made from an error response. */
async function settle(result: BatchResult): Promise<BatchResult> {
  const pending = (result as BatchResult & { pending?: Response }).pending;
  if (pending === undefined) return result;
  return {
    item: result.item,
    status: result.status,
    headers: result.headers,
    body: await pending.text(),
  };
}

/** Builds the request of a batch item: its URL resolved, `$<id>` references replaced. */
function subRequest(
  service: ODataService,
  outer: Request,
  url: URL,
  item: BatchItem,
  results: Map<string, BatchResult>,
): Request {
  let target = item.url;
  const reference = /^\$([^/?]+)(.*)$/s.exec(target);
  if (
    reference !== null &&
    !["$metadata", "$batch", "$crossjoin", "$all", "$entity", "$root", "$id"].includes(
      `$${reference[1]}`.split("(")[0]!,
    )
  ) {
    const earlier = results.get(reference[1]!);
    const location = earlier?.headers.get("location") ?? earlier?.headers.get("odata-entityid");
    if (earlier === undefined || location === null || location === undefined) {
      throw bad(`$${reference[1]} refers to no earlier request that created or returned an entity`);
    }
    target = location + reference[2];
  }
  let absolute: string;
  if (/^https?:\/\//i.test(target)) absolute = target;
  else if (target.startsWith("/")) absolute = url.origin + target;
  else absolute = service.serviceRoot(url) + target;
  const headers = new Headers();
  outer.headers.forEach((value, name) => {
    if (
      ![
        "content-type",
        "content-length",
        "prefer",
        "accept",
        "if-match",
        "if-none-match",
        "transfer-encoding",
      ].includes(name)
    ) {
      headers.set(name, value);
    }
  });
  for (const [name, value] of Object.entries(item.headers)) {
    let text = value;
    if ((name === "if-match" || name === "if-none-match") && value.startsWith("$")) {
      text = results.get(value.slice(1))?.headers.get("etag") ?? value;
    }
    headers.set(name, text);
  }
  try {
    return new Request(absolute, { method: item.method, headers });
  } catch {
    throw bad(`Request ${item.id}: invalid URL ${item.url}`);
  }
}

function jsonResponse(results: readonly BatchResult[], v401: boolean): Response {
  const responses = results.map((result) => {
    const headers: Record<string, string> = {};
    result.headers.forEach((value, name) => {
      if (name !== "odata-version") headers[name] = value;
    });
    const type = result.headers.get("content-type") ?? "";
    let body: unknown;
    if (result.body !== "") {
      if (type.includes("json")) {
        try {
          body = JSON.parse(result.body);
        } catch {
          body = result.body;
        }
      } else body = result.body;
    }
    return {
      id: result.item.id,
      ...(result.item.atomicityGroup === undefined
        ? {}
        : { atomicityGroup: result.item.atomicityGroup }),
      status: result.status,
      ...(Object.keys(headers).length === 0 ? {} : { headers }),
      ...(body === undefined ? {} : { body }),
    };
  });
  return new Response(JSON.stringify({ responses }), {
    status: 200,
    headers: { "content-type": "application/json", "odata-version": v401 ? "4.01" : "4.0" },
  });
}

function httpText(result: BatchResult): string {
  let text = `HTTP/1.1 ${result.status} ${STATUS_TEXT[result.status] ?? ""}\r\n`;
  result.headers.forEach((value, name) => {
    text += `${name}: ${value}\r\n`;
  });
  return text + "\r\n" + result.body;
}

function partText(result: BatchResult): string {
  return "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n" +
    (result.item.explicitId ? `Content-ID: ${result.item.id}\r\n` : "") + "\r\n" +
    httpText(result) +
    "\r\n";
}

function multipartResponse(results: readonly BatchResult[], v401: boolean): Response {
  const boundary = `batchresponse_${crypto.randomUUID()}`;
  let out = "";
  for (let i = 0; i < results.length;) {
    const result = results[i]!;
    const group = result.item.atomicityGroup;
    if (group === undefined) {
      out += `--${boundary}\r\n${partText(result)}`;
      i++;
      continue;
    }
    const members: BatchResult[] = [];
    while (i < results.length && results[i]!.item.atomicityGroup === group) {
      members.push(results[i++]!);
    }
    const failure = members.find((member) => member.status >= 400 && member.status !== 424) ??
      members.find((member) => member.status >= 400);
    if (failure !== undefined) {
      // A failed change set answers with one response: the failure.
      out += `--${boundary}\r\n${partText(failure)}`;
      continue;
    }
    const inner = `changesetresponse_${crypto.randomUUID()}`;
    out += `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${inner}\r\n\r\n`;
    for (const member of members) out += `--${inner}\r\n${partText(member)}`;
    out += `--${inner}--\r\n`;
  }
  out += `--${boundary}--\r\n`;
  return new Response(out, {
    status: 200,
    headers: {
      "content-type": `multipart/mixed; boundary=${boundary}`,
      "odata-version": v401 ? "4.01" : "4.0",
    },
  });
}
