/**
 * The HTTP surface of the production service, as one web-standard handler:
 *
 * - `GET /health`: the service health (200 healthy or degraded, 503 unhealthy);
 * - `GET /health/live`: 200 while the process serves requests (liveness);
 * - `GET /health/ready`: 200 only after initialize and until draining starts (readiness);
 * - `GET /metrics`: Prometheus text (the runtime's metrics plus this layer's HTTP counters);
 * - `/odata/<namespace>/...`: the OData endpoint of each served namespace.
 *
 * It counts requests in flight so that shutdown can wait for them. OData requests are served
 * while starting too (a namespace not connected yet answers 503 itself): the service's own
 * `http_odata_prod` namespace reads this server's `/odata/northwind/` during `initialize()`.
 *
 * @module
 */

import type { RequestDeadline, RequestDeadlines } from "./deadlines.ts";

/** One namespace's OData endpoint. */
export type RequestHandler = (request: Request) => Promise<Response>;

/** The health report of `GET /health` (the shape of `ProductionODataService.healthCheck()`). */
export interface HealthReport {
  /** `healthy`, `degraded` (some namespace down) or `unhealthy` (none usable). */
  readonly status: "healthy" | "degraded" | "unhealthy";
  /** ISO time of the report. */
  readonly timestamp: string;
  /** Connection counts. */
  readonly connections: { readonly total: number; readonly healthy: number };
  /** Per-namespace state. */
  readonly namespaces: Readonly<Record<string, unknown>>;
  /** Seconds since start. */
  readonly uptime: number;
  /** Circuit breaker states by connection. */
  readonly circuits: Readonly<Record<string, unknown>>;
}

/** What the app needs from the service behind it. */
export interface ServiceBackend {
  /** The current health. */
  health(): Promise<HealthReport>;
  /** Prometheus text of the runtime (queries, percentiles, pool, circuits). */
  metrics(): string | Promise<string>;
  /** The OData endpoint of a namespace, if it is served. */
  odata(namespace: string): RequestHandler | undefined;
  /** The names of the served namespaces (for the index). */
  namespaces(): readonly string[];
  /**
   * Records one OData request in the performance monitor: `entity` is the first path segment
   * (`Products` for `Products(7)/Category`), `ok` false for 5xx responses.
   */
  recordOData?(namespace: string, entity: string, durationMs: number, ok: boolean): void;
}

/** Options of {@linkcode ServiceApp}. */
export interface ServiceAppOptions {
  /**
   * Deadlines of the OData requests: a request still running at its deadline is answered with
   * the deadlines' timeout response (the handler's late answer is dropped).
   */
  readonly deadlines?: RequestDeadlines;
}

/** Lifecycle of the app. */
export type AppState = "starting" | "ready" | "draining";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** The OData endpoint maps every error itself; this is a fault of this layer only. */
function internalError(): Response {
  return json({ error: { code: "INTERNAL", message: "Internal server error" } }, 500);
}

function odataError(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status, { "OData-Version": "4.0" });
}

/** The route kinds counted in `/metrics`. */
type Route = "health" | "live" | "ready" | "metrics" | "odata" | "index" | "other";

/** Counts and durations of one route kind. */
interface RouteStats {
  readonly byStatus: Map<number, number>;
  sum: number;
  count: number;
}

/**
 * The service's request handler with readiness and drain state.
 *
 * @example
 * ```ts
 * const app = new ServiceApp(backend);
 * const server = Deno.serve({ port: 3000 }, app.handle);
 * app.markReady();
 * ```
 */
export class ServiceApp {
  readonly #backend: ServiceBackend;
  readonly #deadlines: RequestDeadlines | undefined;
  #state: AppState = "starting";
  /** Requests in flight; each has an id from a counter (no promise or closure to track it). */
  #inFlight = 0;
  #lastId = 0;
  /**
   * `whenIdle()` calls: the requests in flight at the call are exactly those with an id up to
   * `horizon` still running, `remaining` of them.
   */
  readonly #idleWaiters: { readonly horizon: number; remaining: number; resolve: () => void }[] =
    [];
  readonly #stats = new Map<Route, RouteStats>();

  /** Wraps a backend. */
  constructor(backend: ServiceBackend, options: ServiceAppOptions = {}) {
    this.#backend = backend;
    this.#deadlines = options.deadlines;
  }

  /** The lifecycle state. */
  get state(): AppState {
    return this.#state;
  }

  /** Requests being handled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Called once initialize has finished: readiness turns 200. */
  markReady(): void {
    if (this.#state === "starting") this.#state = "ready";
  }

  /** Called on SIGTERM: readiness turns 503 and new OData requests are refused with 503. */
  startDraining(): void {
    this.#state = "draining";
  }

  /**
   * Resolves when every request in flight now has finished. Requests arriving later are not
   * waited for: during a drain they are refused at once, and under steady traffic the count of
   * requests in flight might never reach zero.
   */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push({ horizon: this.#lastId, remaining: this.#inFlight, resolve });
    });
  }

  /** The handler for `Deno.serve` (bound). */
  readonly handle = (request: Request): Promise<Response> => {
    // String slicing instead of `new URL()`: this runs on every request (see bench/service_ratio.ts).
    const url = request.url;
    const path = pathOf(url);
    return this.#track(request, url, path, routeOf(path));
  };

  /**
   * Dispatches and counts a request. Not an async function: the response promise is the one
   * promise layer of this app (with deadlines, the one that also races the deadline).
   */
  #track(request: Request, url: string, path: string, route: Route): Promise<Response> {
    const started = performance.now();
    const id = ++this.#lastId;
    this.#inFlight++;
    // The namespace and entity set, once: for the dispatch and for the metrics.
    const target = route === "odata" ? odataTarget(path) : undefined;
    let response: Promise<Response>;
    try {
      response = target === undefined
        ? this.#dispatchOther(request.method, path, route)
        : this.#dispatchOData(request, url, path, target[0]);
    } catch (error) {
      response = Promise.reject(error);
    }
    const deadlines = target === undefined ? undefined : this.#deadlines;
    if (deadlines === undefined) {
      return response.then(
        (value) => this.#done(id, started, route, target, value),
        () => this.#done(id, started, route, target, internalError()),
      );
    }
    return new Promise<Response>((resolve) => {
      // Read by `settle`, which only runs after enter() returned.
      // deno-lint-ignore prefer-const
      let entry: RequestDeadline;
      let settled = false;
      const settle = (value: Response) => {
        if (settled) return; // timed out already: the late answer is dropped
        settled = true;
        deadlines.leave(entry);
        resolve(this.#done(id, started, route, target, value));
      };
      entry = deadlines.enter(settle);
      response.then(settle, () => settle(internalError()));
    });
  }

  /** Counts a finished request (in flight, metrics) and returns its response. */
  #done(
    id: number,
    started: number,
    route: Route,
    target: [string, string] | undefined,
    response: Response,
  ): Response {
    this.#finished(id);
    const status = response.status;
    const elapsedMs = performance.now() - started;
    if (target !== undefined && this.#backend.recordOData !== undefined) {
      this.#backend.recordOData(target[0], target[1], elapsedMs, status < 500);
    }
    let stats = this.#stats.get(route);
    if (stats === undefined) {
      this.#stats.set(route, stats = { byStatus: new Map(), sum: 0, count: 0 });
    }
    stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
    stats.sum += elapsedMs / 1000;
    stats.count++;
    return response;
  }

  #finished(id: number): void {
    this.#inFlight--;
    const waiters = this.#idleWaiters;
    if (waiters.length === 0) return;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (id > waiter.horizon) continue; // arrived after the whenIdle() call
      if (--waiter.remaining === 0) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** The OData route returns the endpoint's promise as is (no extra async layer). */
  #dispatchOData(request: Request, url: string, path: string, name: string): Promise<Response> {
    const handler = this.#backend.odata(name);
    if (handler === undefined) {
      return Promise.resolve(
        odataError(404, "NOT_FOUND", `No OData namespace '${name}' is served here`),
      );
    }
    if (this.#state === "draining") {
      return Promise.resolve(
        odataError(503, "SHUTTING_DOWN", "The service is shutting down; retry elsewhere"),
      );
    }
    if (!path.includes("/", "/odata/".length)) {
      const query = url.indexOf("?");
      return Promise.resolve(
        new Response(null, {
          status: 301,
          headers: { location: `${path}/${query < 0 ? "" : url.slice(query)}` },
        }),
      );
    }
    return handler(request);
  }

  async #dispatchOther(method: string, path: string, route: Route): Promise<Response> {
    if (route !== "other" && method !== "GET" && method !== "HEAD") {
      return json({ error: { code: "METHOD_NOT_ALLOWED", message: `${method} ${path}` } }, 405, {
        allow: "GET, HEAD",
      });
    }
    switch (route) {
      case "live":
        return json({ status: "alive", state: this.#state });
      case "ready":
        return this.#state === "ready"
          ? json({ status: "ready" })
          : json({ status: this.#state === "starting" ? "starting" : "draining" }, 503);
      case "health": {
        const report = await this.#backend.health();
        return json(report, report.status === "unhealthy" ? 503 : 200, {
          "cache-control": "no-store",
        });
      }
      case "metrics":
        return new Response((await this.#backend.metrics()) + this.httpMetrics(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      case "index":
        return json({
          service: "odata-active-record production example",
          health: "/health",
          metrics: "/metrics",
          odata: Object.fromEntries(
            this.#backend.namespaces().map((name) => [name, `/odata/${name}/`]),
          ),
        });
      default:
        return json({ error: { code: "NOT_FOUND", message: `No route ${path}` } }, 404);
    }
  }

  /** Prometheus lines of this layer: requests by route and status, durations, in flight. */
  httpMetrics(): string {
    const lines = [
      "# HELP odata_service_http_requests_total HTTP requests handled, by route and status.",
      "# TYPE odata_service_http_requests_total counter",
    ];
    for (const [route, { byStatus }] of [...this.#stats].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [status, count] of [...byStatus].sort(([a], [b]) => a - b)) {
        lines.push(
          `odata_service_http_requests_total{route="${route}",status="${status}"} ${count}`,
        );
      }
    }
    lines.push(
      "# HELP odata_service_http_request_duration_seconds Time to produce the response headers.",
      "# TYPE odata_service_http_request_duration_seconds summary",
    );
    for (const [route, { sum, count }] of this.#stats) {
      lines.push(`odata_service_http_request_duration_seconds_sum{route="${route}"} ${sum}`);
      lines.push(`odata_service_http_request_duration_seconds_count{route="${route}"} ${count}`);
    }
    lines.push(
      "# HELP odata_service_http_requests_in_flight Requests being handled (this one included).",
      "# TYPE odata_service_http_requests_in_flight gauge",
      `odata_service_http_requests_in_flight ${this.#inFlight}`,
      "# HELP odata_service_ready 1 when the service accepts traffic.",
      "# TYPE odata_service_ready gauge",
      `odata_service_ready ${this.#state === "ready" ? 1 : 0}`,
    );
    return lines.join("\n") + "\n";
  }
}

/** The path of an absolute request URL (`http://host/a/b?x` → `/a/b`), percent-encoded. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query >= 0) end = query;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}

function decode(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // malformed escapes: no such namespace or entity set
  }
}

/** `["northwind", "Products"]` for `/odata/northwind/Products(7)/Category`. */
function odataTarget(path: string): [string, string] {
  const nameEnd = path.indexOf("/", 7);
  const namespace = decode(nameEnd < 0 ? path.slice(7) : path.slice(7, nameEnd));
  if (nameEnd < 0) return [namespace, "$service"];
  let end = path.length;
  const slash = path.indexOf("/", nameEnd + 1);
  if (slash >= 0) end = slash;
  const paren = path.indexOf("(", nameEnd + 1);
  if (paren >= 0 && paren < end) end = paren;
  const entity = decode(path.slice(nameEnd + 1, end));
  return [namespace, entity === "" ? "$service" : entity];
}

function routeOf(path: string): Route {
  if (path === "/health" || path === "/health/") return "health";
  if (path === "/health/live") return "live";
  if (path === "/health/ready") return "ready";
  if (path === "/metrics") return "metrics";
  if (path === "/") return "index";
  if (path.startsWith("/odata/") && path.length > "/odata/".length) return "odata";
  return "other";
}
