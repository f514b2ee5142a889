/**
 * A small adapter that runs a web-standard handler under `node:http`: the incoming message
 * becomes a `Request` (its body streamed), the `Response` is written back with its status,
 * headers and body.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

/**
 * Wraps a `(Request) => Promise<Response>` handler as a `node:http` request listener.
 *
 * @example
 * ```ts ignore
 * import { createServer } from "node:http";
 * import { createODataHandler, toNodeListener } from "@oar/odata-active-record";
 * createServer(toNodeListener(createODataHandler(namespace, { basePath: "/odata/" }))).listen(8080);
 * ```
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
): (incoming: IncomingMessage, outgoing: ServerResponse) => void {
  return (incoming, outgoing) => {
    void serve(handler, incoming, outgoing);
  };
}

async function serve(
  handler: (request: Request) => Promise<Response>,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
): Promise<void> {
  try {
    const host = incoming.headers.host ?? "localhost";
    const url = `http://${host}${incoming.url ?? "/"}`;
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) { for (const item of value) headers.append(name, item); }
      else headers.set(name, value);
    }
    const method = incoming.method ?? "GET";
    const hasBody = method !== "GET" && method !== "HEAD";
    const request = new Request(url, {
      method,
      headers,
      body: hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : undefined,
      // @ts-ignore: Node's fetch needs duplex for a streamed body; other runtimes ignore it
      duplex: hasBody ? "half" : undefined,
    });
    const response = await handler(request);
    const outHeaders: Record<string, string | string[]> = {};
    response.headers.forEach((value, name) => {
      outHeaders[name] = value;
    });
    outgoing.writeHead(response.status, outHeaders);
    if (response.body === null) {
      outgoing.end();
      return;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    outgoing.end(bytes);
  } catch {
    if (!outgoing.headersSent) outgoing.writeHead(500, { "content-type": "application/json" });
    outgoing.end(JSON.stringify({ error: { code: "INTERNAL", message: "Unexpected error" } }));
  }
}
