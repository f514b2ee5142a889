/**
 * The production service (`deno task start`): the original design's ProductionODataService
 * behind a `Deno.serve` server.
 *
 *   deno task start                      # http://127.0.0.1:3000/health, /metrics, /odata/northwind/
 *   PORT=8080 LOG_FORMAT=json deno task start
 *   DEBUG=odata-active-record:* deno task start
 *
 * Namespaces (mirroring the original design):
 * - `northwind`: the embedded SQLite Northwind sample at NORTHWIND_PATH (created on first start);
 * - `sqlite_prod`: SQLite at SQLITE_PATH with the `logs` entity (per-replica data);
 * - `mongodb_prod`: `users` and `orders` on MongoDB, only when MONGODB_URI is set (shared data);
 * - `postgres_prod`: the same `users` and `orders` on PostgreSQL, only when POSTGRES_URL is set
 *   (one database shared by every replica);
 * - `http_odata_prod`: the remote OData service at ODATA_BASE_URL, by default this server's own
 *   `/odata/northwind/`, so the remote-provider path works offline; its entity sets are
 *   registered from the remote's `$metadata` once it answers.
 *
 * Start order: config (a bad variable stops here, one message per problem), logging, the Northwind
 * file, the listener (liveness answers at once; readiness is 503 until initialize finished), then
 * `initialize()` (a provider that stays down leaves the service degraded, retrying in the
 * background). SIGTERM/SIGINT: readiness turns 503 and new OData requests get 503 while the
 * requests in flight finish (up to SHUTDOWN_TIMEOUT); then the listener and the connections close,
 * the final metrics are logged and the exit code is 0 (1 if the deadline cut requests off). Each
 * start and stop is also a row of `sqlite_prod.logs`.
 *
 * @module
 */

import {
  createODataHandler,
  deadline,
  type EntityNamespace,
  installShutdownHandlers,
  loadConfigFromEnv,
  type NamespaceSpec,
  type ProductionConfig,
  ProductionODataService,
  serviceOptionsFromConfig,
} from "../../mod.ts";
import { ServiceApp } from "./app.ts";
import { RequestDeadlines } from "./deadlines.ts";
import { LOG_ENTITY, ORDER_ENTITY, USER_ENTITY } from "./entities.ts";
import { configureLogging, serviceLogger } from "./logging.ts";
import { ensureNorthwindDatabase, NORTHWIND_ENTITIES } from "./northwind_db.ts";

/** A started service. */
export interface RunningService {
  /** The port it listens on. */
  readonly port: number;
  /** The HTTP surface. */
  readonly app: ServiceApp;
  /** The runtime. */
  readonly service: ProductionODataService;
  /** Drains and stops everything (what SIGTERM does, without exiting). */
  shutdown(): Promise<void>;
}

/** The namespaces of the original design, from the config. */
export function namespacesFromConfig(
  config: ProductionConfig,
  port: number,
): Record<string, NamespaceSpec> {
  const timeout = config.connectionTimeout;
  // DEBUG=odata-active-record:* (or :sql), or LOG_LEVEL=debug, shows each store operation.
  const verbose = config.debug.length > 0 || config.logLevel === "debug" ||
    config.logLevel === "trace";
  const namespaces: Record<string, NamespaceSpec> = {
    northwind: {
      connection: { type: "sqlite", filePath: config.northwindPath, timeout, verbose },
      entities: { ...NORTHWIND_ENTITIES },
      sync: false,
    },
    sqlite_prod: {
      connection: { type: "sqlite", filePath: config.sqlitePath, timeout, verbose },
      entities: { logs: LOG_ENTITY },
      sync: true,
    },
  };
  if (config.mongodbUri !== undefined) {
    namespaces.mongodb_prod = {
      connection: {
        type: "mongodb",
        connectionString: config.mongodbUri,
        databaseName: config.mongodbDatabase,
        poolSize: config.poolSize,
        minPoolSize: config.minPoolSize,
        maxIdleTime: config.maxIdleTime,
        timeout,
      },
      entities: { users: USER_ENTITY, orders: ORDER_ENTITY },
      sync: true,
    };
  }
  if (config.postgresUrl !== undefined) {
    namespaces.postgres_prod = {
      connection: {
        type: "postgres",
        provider: {
          type: "postgres",
          url: config.postgresUrl,
          poolSize: config.poolSize,
          minPoolSize: config.minPoolSize,
          idleTimeout: config.maxIdleTime,
          connectTimeout: timeout,
        },
        timeout,
      },
      entities: { users: USER_ENTITY, orders: ORDER_ENTITY },
      sync: true,
    };
  }
  namespaces.http_odata_prod = {
    connection: {
      type: "http-odata",
      baseUrl: config.odataBaseUrl ?? `http://127.0.0.1:${port}/odata/northwind/`,
      headers: { "User-Agent": "OData-Active-Record-Production/1.0" },
      timeout,
    },
    // The entity sets are whatever the remote's $metadata declares (by default our own
    // Northwind), read once it answers: a remote that is down at start leaves the namespace
    // without entity sets (503, see startService) until a reconnect succeeds.
    setup: registerFromRemoteMetadata,
    sync: false,
  };
  return namespaces;
}

/** Registers every entity set of a remote namespace's `$metadata` (the service retries it). */
async function registerFromRemoteMetadata(namespace: EntityNamespace): Promise<void> {
  const { registered, skipped } = await namespace.registerFromMetadata();
  serviceLogger().info("🌐 {namespace}: {count} entity set(s) from the remote $metadata", {
    namespace: namespace.name,
    count: registered.length,
    ...(skipped.length > 0 ? { skipped } : {}),
  });
}

/** True when `spec` takes its entity sets from the remote `$metadata` (none until it answered). */
function fromMetadata(spec: NamespaceSpec): boolean {
  return spec.entities === undefined && spec.setup === registerFromRemoteMetadata;
}

/**
 * Writes a row to `sqlite_prod.logs` (this replica's own history of starts and stops); a store
 * that is down only costs a warning.
 */
async function recordLifecycle(
  service: ProductionODataService,
  level: string,
  message: string,
): Promise<void> {
  try {
    await service.manager.getNamespace("sqlite_prod").getEntity("logs").create({
      level,
      message,
      source: "service",
      createdAt: new Date(),
    });
  } catch (error) {
    serviceLogger().warn("⚠️ Could not write to sqlite_prod.logs: {error}", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * Starts the service: config from `env`, logging, Northwind file, listener, initialize. With
 * `signals: true`, SIGTERM and SIGINT drain and exit (installed before `initialize()`).
 *
 * @example
 * ```ts
 * const running = await startService({ PORT: "0" });
 * await running.shutdown();
 * ```
 */
export async function startService(
  env: Record<string, string | undefined>,
  options: { readonly signals?: boolean } = {},
): Promise<RunningService> {
  const config = loadConfigFromEnv(env);
  await configureLogging({
    level: config.logLevel,
    format: config.logFormat === "json" ? "json" : "text",
    debug: config.debug.join(","),
  });
  const log = serviceLogger();
  await ensureNorthwindDatabase(config.northwindPath);

  const handlers = new Map<string, (request: Request) => Promise<Response>>();
  const timeout = config.connectionTimeout;
  const deadlines = new RequestDeadlines(timeout, () =>
    Response.json(
      { error: { code: "TIMEOUT", message: `The request took longer than ${timeout}ms` } },
      { status: 504, headers: { "OData-Version": "4.0" } },
    ));
  // Created once the port is known (http_odata_prod defaults to our own URL); no request can
  // reach the app before that, the assignment follows Deno.serve synchronously.
  // deno-lint-ignore prefer-const
  let service: ProductionODataService | undefined;
  const app = new ServiceApp({
    health: () => service!.healthCheck(),
    metrics: () => service!.monitor.toPrometheus({ pool: service!.pool.getConnectionStats() }),
    namespaces: () => [...handlers.keys()],
    odata: (name) => handlers.get(name),
    // Only known entity sets get a series, so a client cannot grow the metrics without bound.
    recordOData: (namespace, entity, ms, ok) => {
      const manager = service!.manager;
      if (!manager.hasNamespace(namespace) || !manager.getNamespace(namespace).hasEntity(entity)) {
        return;
      }
      service!.monitor.record(namespace, entity, ms, ok);
    },
  }, { deadlines });
  const server = Deno.serve({
    port: config.port,
    onListen: () => undefined,
  }, app.handle);
  const port = server.addr.port;
  log.info("🌐 Listening on http://{hostname}:{port}/", { hostname: server.addr.hostname, port });

  const namespaces = namespacesFromConfig(config, port);
  service = new ProductionODataService(serviceOptionsFromConfig(config, namespaces));

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    stopping ??= (async () => {
      app.startDraining();
      log.info("⏳ Draining: {count} request(s) in flight, deadline {ms}ms", {
        count: app.inFlight,
        ms: config.shutdownTimeout,
      });
      // The listener stays open while requests drain: Deno's server.shutdown() would cut request
      // bodies still being received. New OData requests meanwhile get 503 (and readiness 503,
      // which takes the replica out of the load balancer).
      const started = performance.now();
      let drained = true;
      try {
        await deadline(app.whenIdle(), config.shutdownTimeout);
      } catch {
        drained = false;
        log.warn("⚠️ {count} request(s) still running after {ms}ms: cutting them off", {
          count: app.inFlight,
          ms: config.shutdownTimeout,
        });
      }
      // Graceful close waits for the requests still open; past the deadline the exit ends them.
      const closing = server.shutdown();
      if (drained) await closing;
      deadlines.close();
      log.info("🔌 HTTP server closed after {ms}ms", {
        ms: Math.round(performance.now() - started),
      });
      await recordLifecycle(
        service,
        drained ? "info" : "warning",
        drained ? "Service stopped after draining" : "Service stopped, requests cut off",
      );
      await service.shutdown({
        timeout: Math.max(0, config.shutdownTimeout - (performance.now() - started)),
      });
      if (!drained) {
        throw new Error(
          `Requests were still running after SHUTDOWN_TIMEOUT=${config.shutdownTimeout}ms`,
        );
      }
    })();
  // From here a signal drains and exits cleanly, also during initialize().
  if (options.signals === true) installShutdownHandlers(shutdown);

  // initialize() creates the namespaces before its first await; the endpoints mount at once so
  // that http_odata_prod can reach our own /odata/northwind/ while the service initializes.
  const initialized = service.initialize();
  for (const [name, spec] of Object.entries(namespaces)) {
    const namespace = service.manager.getNamespace(name);
    const handler = createODataHandler(namespace, { basePath: `/odata/${name}/` });
    // The app races each OData request against its deadline (ServiceApp's `deadlines`).
    if (!fromMetadata(spec)) {
      handlers.set(name, handler);
      continue;
    }
    // Until the remote's $metadata was read there are no entity sets to serve (nor a
    // $metadata to cache): unavailable, like any namespace whose store is down.
    let registered = false;
    handlers.set(name, (request) => {
      registered ||= namespace.getEntityMetadata().length > 0;
      if (registered) return handler(request);
      return Promise.resolve(Response.json({
        error: {
          code: "PROVIDER_UNAVAILABLE",
          message: `Namespace ${name} is not available yet: its entity sets come from the ` +
            "remote $metadata, which has not been read; it is being reconnected in the background",
        },
      }, { status: 503, headers: { "OData-Version": "4.0" } }));
    });
  }
  await initialized;
  // A signal during initialize() already drains and stops: nothing is ready then.
  if (app.state === "draining") return { port, app, service, shutdown };
  app.markReady();
  await recordLifecycle(service, "info", `Service ready on port ${port}`);
  const health = await service.healthCheck();
  log.info("✅ Service ready ({status}): {urls}", {
    status: health.status,
    urls: [...handlers.keys()].map((name) => `/odata/${name}/`).join(" "),
  });

  return { port, app, service, shutdown };
}

if (import.meta.main) {
  try {
    await startService(Deno.env.toObject(), { signals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // deno-lint-ignore no-console
    console.error(`❌ The service did not start:\n${message}`);
    Deno.exit(1);
  }
}
