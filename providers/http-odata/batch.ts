/**
 * One atomic change set in the OData JSON batch format (`POST $batch`, OData 4.01): every
 * request in one `atomicityGroup`, so the service applies all of them or none.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";
import { errorFromResponse, JSON_TYPE, type ODataClient } from "./client.ts";

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

/**
 * Sends `writes` as one atomic change set and returns their answers in order; throws the coded
 * error of the first failing write (nothing was applied), or `NOT_SUPPORTED` when the service
 * has no JSON `$batch`.
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
): Promise<BatchResult[]> {
  const requests = writes.map((write, i) => ({
    id: String(i + 1),
    atomicityGroup: "g1",
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
  const response = await client.send({
    method: "POST",
    path: "$batch",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: JSON.stringify({ requests }),
    signal,
    accept: [404, 405, 415, 501],
  });
  if (response.status >= 400) {
    const cause = errorFromResponse(response.status, response.text, `POST ${response.url}`);
    throw new ODataActiveRecordError(
      "NOT_SUPPORTED",
      `The remote OData service has no JSON $batch (${response.status}): transactions and ` +
        "atomic multi-row writes need it",
      {
        cause,
        suggestion: "Write row by row outside transactions, or set batch: false in the config",
        context: { provider: "http-odata", feature: "$batch", status: response.status },
      },
    );
  }
  let parsed: { responses?: WireResponse[] };
  try {
    parsed = JSON.parse(response.text) as { responses?: WireResponse[] };
  } catch (cause) {
    throw new ODataActiveRecordError(
      "PROVIDER_ERROR",
      "The remote OData service answered $batch with a body that is not JSON batch format",
      { cause, context: { provider: "http-odata", status: response.status } },
    );
  }
  const answers = Array.isArray(parsed.responses) ? parsed.responses : [];
  // A failed change set may answer with one error for the whole group: report the first error.
  // 424 (Failed Dependency) marks the writes that were not applied because another failed:
  // the other one is the cause to report.
  const failures = answers.filter((a) => typeof a.status === "number" && a.status >= 400);
  const failed = failures.find((a) => a.status !== 424) ?? failures[0];
  if (failed !== undefined) {
    const index = requests.findIndex((r) => r.id === failed.id);
    const write = writes[index] ?? writes[0]!;
    throw errorFromResponse(
      failed.status as number,
      JSON.stringify(failed.body ?? {}),
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
