/**
 * Running the service as a real process and talking to it: free ports, spawning with piped
 * logs, waiting for log lines and health states, requests held open on a raw socket, and a small
 * closed-loop load generator. Used by the scenarios (`deno task scenario ...`), the process
 * tests and the service benchmark.
 *
 * Every wait is bounded by a timeout and decided by an observed event (a log line, a status),
 * never by a sleep.
 *
 * @module
 */

import { CONFIG_VARIABLES } from "../../mod.ts";

const ROOT = new URL("../../", import.meta.url);

/** The repository root path. */
export const REPO_ROOT: string = ROOT.pathname;

/** The service entry point. */
export const MAIN_PATH: string = new URL("examples/production-ready/main.ts", ROOT).pathname;

/** The permissions `deno task start` gives the service. */
export const SERVICE_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

/**
 * A TCP port nobody listens on right now (the OS picks it: listen on port 0, then close).
 *
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  let lastError: unknown;
  while (performance.now() < end) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}`, { cause: lastError });
}

/** A service (or any Deno script) running as a child process. */
export interface ChildService {
  /** The child process. */
  readonly process: Deno.ChildProcess;
  /** Every line written so far (stdout and stderr interleaved in arrival order). */
  readonly lines: string[];
  /** The port it listens on, once known. */
  port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Resolves with the first line matching `pattern` (already written or coming). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal. */
  kill(signal?: Deno.Signal): void;
  /** The exit status (resolves when both output streams ended too). */
  readonly status: Promise<Deno.CommandStatus>;
  /** Kills it if still running and waits for the end. */
  stop(): Promise<Deno.CommandStatus>;
}

/** The service's start line, in text and JSON logs: `🌐 Listening on http://0.0.0.0:3000/`. */
export const LISTENING: RegExp = /Listening on http:\/\/[^\s:"]+:(\d+)/;

/** Options of {@link spawnService}. */
export interface SpawnOptions {
  /** Environment added to the parent's. */
  readonly env?: Record<string, string>;
  /** Working directory (default: the repository root). */
  readonly cwd?: string;
  /** Arguments instead of running the service with its permissions. */
  readonly args?: readonly string[];
  /** Echo the child's lines to this process's stderr (scenarios). */
  readonly echo?: boolean;
  /** How long to wait for the "Listening on" line (ms). */
  readonly startTimeoutMs?: number;
  /** Do not wait for the "Listening on" line. */
  readonly noWait?: boolean;
}

/**
 * Starts the production service (or `args`) as a child process with piped output and waits for
 * its `🌐 Listening on http://...:<port>/` line.
 *
 * @example
 * ```ts
 * const child = await spawnService({ env: { PORT: "0" } });
 * await fetch(`${child.url}/health`);
 * await child.stop();
 * ```
 */
export async function spawnService(options: SpawnOptions = {}): Promise<ChildService> {
  const args = options.args ?? ["run", ...SERVICE_PERMISSIONS, MAIN_PATH];
  const process = new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: options.cwd ?? REPO_ROOT,
    // The service's variables start empty (= defaults) so the caller's environment cannot leak in.
    env: {
      ...Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, ""])),
      NO_COLOR: "1",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        // deno-lint-ignore no-console
        if (options.echo) console.error(`  │ ${line}`);
        for (const waiter of [...waiters]) {
          if (waiter.pattern.test(line)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    }
    if (buffer !== "") lines.push(buffer);
  };
  const pumps = Promise.all([pump(process.stdout), pump(process.stderr)]);
  const status = Promise.all([process.status, pumps]).then(([status]) => status);
  let exited = false;
  status.then(() => (exited = true));
  const child: ChildService = {
    process,
    lines,
    port: 0,
    get url() {
      return `http://127.0.0.1:${child.port}`;
    },
    waitForLine(pattern, timeoutMs = 20_000) {
      const found = lines.find((line) => pattern.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(`No line matching ${pattern} within ${timeoutMs}ms:\n${lines.join("\n")}`),
          );
        }, timeoutMs);
        waiters.push(waiter);
        status.then(() => {
          if (!waiters.includes(waiter)) return;
          waiters.splice(waiters.indexOf(waiter), 1);
          clearTimeout(timer);
          reject(
            new Error(`Process exited before a line matching ${pattern}:\n${lines.join("\n")}`),
          );
        });
      });
    },
    kill(signal = "SIGTERM") {
      if (!exited) process.kill(signal);
    },
    status,
    async stop() {
      if (!exited) {
        try {
          process.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
      return await status;
    },
  };
  if (!options.noWait) {
    try {
      const line = await child.waitForLine(LISTENING, options.startTimeoutMs ?? 30_000);
      child.port = Number(LISTENING.exec(line)?.[1]);
    } catch (error) {
      await child.stop();
      throw error;
    }
  }
  return child;
}

/** Fetches JSON, returning the status and body. */
export async function getJson(
  url: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: response.status, body };
}

/** A request whose body is held back: the server starts handling it and waits for the rest. */
export interface HeldRequest {
  /** Sends the rest of the body and reads the response status and body. */
  finish(): Promise<{ status: number; body: string }>;
  /** Reads the response without sending the rest of the body (a server that answers early). */
  read(): Promise<{ status: number; body: string }>;
  /** Closes the socket. */
  close(): void;
}

/**
 * Opens a connection to `port`, sends the request line, headers and the first byte of `body`,
 * and keeps the rest until {@link HeldRequest.finish}: to the server the request is in flight.
 *
 * @example
 * ```ts
 * const held = await holdRequest(3000, "POST", "/odata/northwind/Products/$query", "$top=1");
 * const { status } = await held.finish();
 * ```
 */
export async function holdRequest(
  port: number,
  method: string,
  path: string,
  body: string,
  contentType = "text/plain",
): Promise<HeldRequest> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = new TextEncoder().encode(body);
  const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Content-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
  await writeAll(connection, new TextEncoder().encode(head));
  await writeAll(connection, bytes.subarray(0, 1));
  const read = async () => {
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(16384);
    while (true) {
      const count = await connection.read(buffer);
      if (count === null) break;
      chunks.push(buffer.slice(0, count));
      if (responseComplete(new TextDecoder().decode(concat(chunks)))) break;
    }
    const text = new TextDecoder().decode(concat(chunks));
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
    return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  };
  return {
    async finish() {
      await writeAll(connection, bytes.subarray(1));
      const response = await read();
      connection.close();
      return response;
    },
    read,
    close() {
      try {
        connection.close();
      } catch {
        // already closed
      }
    },
  };
}

function responseComplete(text: string): boolean {
  const headerEnd = text.indexOf("\r\n\r\n");
  if (headerEnd < 0) return false;
  const headers = text.slice(0, headerEnd).toLowerCase();
  const length = /content-length: *(\d+)/.exec(headers)?.[1];
  const bodyBytes = new TextEncoder().encode(text.slice(headerEnd + 4)).length;
  if (length !== undefined) return bodyBytes >= Number(length);
  if (headers.includes("transfer-encoding: chunked")) return text.endsWith("0\r\n\r\n");
  return false; // read until the server closes
}

async function writeAll(connection: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await connection.write(bytes.subarray(offset));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const result = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    result.set(chunk, offset);
    offset += chunk.length;
  }
  return result;
}

/** Results of {@link runLoad}. */
export interface LoadResult {
  /** Completed requests. */
  readonly requests: number;
  /** Responses with a status other than 2xx, plus network failures. */
  readonly errors: number;
  /** Wall time of the run in seconds. */
  readonly seconds: number;
  /** Requests per second. */
  readonly rps: number;
  /** Latency percentiles in milliseconds (exact, from every sample). */
  readonly p50: number;
  /** 95th percentile (ms). */
  readonly p95: number;
  /** 99th percentile (ms). */
  readonly p99: number;
  /** Statuses seen. */
  readonly statuses: Readonly<Record<string, number>>;
}

/**
 * A closed-loop load run: `concurrency` workers each fetch the next URL of `urls` (round robin)
 * until `durationMs` is over, `maxRequests` were sent or `signal` aborts, reading every body.
 *
 * @example
 * ```ts
 * const result = await runLoad(["http://127.0.0.1:3000/odata/northwind/Products(7)"], {
 *   concurrency: 8,
 *   durationMs: 2000,
 * });
 * ```
 */
export async function runLoad(
  urls: readonly string[],
  options: {
    concurrency: number;
    durationMs?: number;
    maxRequests?: number;
    /** Stops sending when aborted. */
    signal?: AbortSignal;
  },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  const started = performance.now();
  const end = started + (options.durationMs ?? Infinity);
  const limit = options.maxRequests ?? Infinity;
  const worker = async () => {
    while (performance.now() < end && sent < limit && options.signal?.aborted !== true) {
      const url = urls[sent++ % urls.length]!;
      const begin = performance.now();
      try {
        const response = await fetch(url);
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        if (response.status >= 300) errors++;
      } catch {
        statuses.network = (statuses.network ?? 0) + 1;
        errors++;
      }
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies.length === 0
      ? NaN
      : latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    statuses,
  };
}
