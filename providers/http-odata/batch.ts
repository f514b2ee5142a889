/**
 * One atomic change set in the OData JSON batch format (`POST $batch`, OData 4.01): every
 * request in one `atomicityGroup`, so the service applies all of them or none.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import { errorFromResponse, JSON_TYPE, type ODataClient } from "./client.ts";
import {
  type MultipartRequest,
  readMultipartResponses,
  writeMultipartChangeSet,
} from "./multipart.ts";

/** One write of a change set. `url` is relative to the service root. */
export interface BatchWrite {
  readonly method: "POST" | "PATCH" | "DELETE";
  readonly url: string;
  readonly body?: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The answer to one write. */
export interface BatchResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

interface WireResponse {
  id?: unknown;
  status?: unknown;
  headers?: Record<string, string>;
  body?: unknown;
}

/** The batch formats: JSON (OData 4.01) and `multipart/mixed` (OData 4.0). */
export type BatchFormat = "json" | "multipart";

/**
 * Sends `writes` as one atomic change set and returns their answers in order; throws the coded
 * error of the failing write (nothing was applied), or `NOT_SUPPORTED` when the service has no
 * `$batch`. `format.current` is the format to try first; a service that refuses JSON batch as a
 * format (400/415) is asked again in multipart, and `format.current` remembers that.
 *
 * @example
 * ```ts ignore
 * const [created] = await sendChangeSet(client, [{ method: "POST", url: "Shippers", body: { ShipperID: 9 } }]);
 * ```
 */
export async function sendChangeSet(
  client: ODataClient,
  writes: readonly BatchWrite[],
  signal?: AbortSignal,
  format: { current: BatchFormat } = { current: "json" },
): Promise<BatchResult[]> {
  const requests = writes.map((write, i) => ({
    id: String(i + 1),
    method: write.method,
    url: write.url,
    headers: {
      ...(write.body === undefined ? {} : { "content-type": JSON_TYPE }),
      ...(write.method === "POST" ? { prefer: "return=representation" } : {}),
      // Lower-case names: some services read batch headers case-sensitively.
      ...Object.fromEntries(
        Object.entries(write.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
      ),
    },
    ...(write.body === undefined ? {} : { body: write.body }),
  }));
  let answers: WireResponse[] | undefined;
  if (format.current === "json") {
    answers = await sendJson(client, requests, signal);
    if (answers === undefined) format.current = "multipart";
  }
  answers ??= await sendMultipart(client, requests, signal);
  // 424 (Failed Dependency) marks the writes that were not applied because another failed:
  // the other one is the cause to report.
  const failures = answers.filter((a) => typeof a.status === "number" && a.status >= 400);
  const failed = failures.find((a) => a.status !== 424) ?? failures[0];
  if (failed !== undefined) {
    const index = requests.findIndex((r) => r.id === failed.id);
    const write = writes[index] ?? writes[0]!;
    throw errorFromResponse(
      failed.status as number,
      typeof failed.body === "string" ? failed.body : JSON.stringify(failed.body ?? {}),
      `$batch ${write.method} ${write.url}`,
    );
  }
  const byId = new Map(answers.map((a) => [String(a.id), a]));
  return requests.map((request, i) => {
    const answer = byId.get(request.id) ?? answers[i];
    if (answer === undefined) {
      throw new ODataActiveRecordError(
        "PROVIDER_ERROR",
        `The remote OData service's $batch answer lacks request ${request.id}`,
        { context: { provider: "http-odata" } },
      );
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(answer.headers ?? {})) {
      headers[name.toLowerCase()] = String(value);
    }
    return { status: Number(answer.status), headers, body: answer.body };
  });
}

type WireRequest = MultipartRequest;

function noBatch(status: number, text: string, url: string): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "NOT_SUPPORTED",
    `The remote OData service has no $batch (${status}): transactions and atomic multi-row ` +
      "writes need it",
    {
      cause: errorFromResponse(status, text, `POST ${url}`),
      suggestion: "Write row by row outside transactions, or set batch: false in the config",
      context: { provider: "http-odata", feature: "$batch", status },
    },
  );
}

/** JSON batch; `undefined` when the service refuses the format itself (then try multipart). */
async function sendJson(
  client: ODataClient,
  requests: readonly WireRequest[],
  signal: AbortSignal | undefined,
): Promise<WireResponse[] | undefined> {
  const response = await client.send({
    method: "POST",
    path: "$batch",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: JSON.stringify({
      requests: requests.map((r) => ({ ...r, atomicityGroup: "g1" })),
    }),
    signal,
    accept: [400, 404, 405, 415, 501],
  });
  if (response.status === 400 || response.status === 415) return undefined;
  if (response.status >= 400) throw noBatch(response.status, response.text, response.url);
  try {
    const parsed = JSON.parse(response.text) as { responses?: WireResponse[] };
    if (Array.isArray(parsed.responses)) return parsed.responses;
  } catch {
    // reported below
  }
  throw new ODataActiveRecordError(
    "PROVIDER_ERROR",
    "The remote OData service answered $batch with a body that is not JSON batch format",
    { context: { provider: "http-odata", status: response.status } },
  );
}

let batchTag = 0;

async function sendMultipart(
  client: ODataClient,
  requests: readonly WireRequest[],
  signal: AbortSignal | undefined,
): Promise<WireResponse[]> {
  const { body, contentType } = writeMultipartChangeSet(requests, `oar${++batchTag}`);
  const response = await client.send({
    method: "POST",
    path: "$batch",
    headers: { "Content-Type": contentType, "Accept": "multipart/mixed" },
    body,
    signal,
    accept: [404, 405, 415, 501],
  });
  if (response.status >= 400) throw noBatch(response.status, response.text, response.url);
  const type = response.headers.get("content-type") ?? "";
  const answers = readMultipartResponses(response.text, type);
  if (answers.length === 0) {
    throw new ODataActiveRecordError(
      "PROVIDER_ERROR",
      "The remote OData service answered a multipart $batch with no responses",
      { context: { provider: "http-odata", status: response.status, contentType: type } },
    );
  }
  return answers;
}
