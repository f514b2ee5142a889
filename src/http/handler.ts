/**
 * The OData v4 endpoint: `createODataHandler(namespace, options)` serves a namespace as a
 * standards-conforming OData service through one web-standard `(Request) => Promise<Response>`
 * function, usable with `Deno.serve`, `Bun.serve` and (through {@linkcode toNodeListener}) Node.
 *
 * @module
 */

import type { Expression, ODataQuery } from "../odata/ast.ts";
import { parseFilter } from "../odata/parser/expression.ts";
import { parseQuery } from "../odata/parser/query.ts";
import type { QueryLimits } from "../odata/limits.ts";
import type { EntityMetadata } from "../model/schema.ts";
import type { EntityModel } from "../model/model.ts";
import type { EntityNamespace } from "../model/namespace.ts";
import type { ModelContext } from "../model/context.ts";
import type { ProviderOperations, Row } from "../provider/provider.ts";
import { ODataActiveRecordError, ODataSyntaxError } from "../errors/errors.ts";
import { httpError, mapError } from "./errors.ts";
import type { JsonStyle } from "./json.ts";
import type { SchemaNames } from "./metadata.ts";
import { negotiateVersion, requireJsonBody } from "./negotiate.ts";
import { parseResourcePath } from "./path.ts";
import { and2, resolveResource, type Resource } from "./resource.ts";
import {
  metadataDocument,
  readCollection,
  readEntity,
  readProperty,
  serviceDocument,
} from "./read.ts";
import { create, remove, update } from "./write.ts";
import { handleBatch } from "./batch.ts";
import { selectProperty } from "../odata/select_path.ts";

/** What a `beforeRead` hook sees. */
export interface ReadHookContext {
  /** The HTTP request (for a `$batch` part: the part, with the batch's headers). */
  readonly request: Request;
  /** The entity set being read. */
  readonly entity: string;
  /** The query options of the read. */
  readonly query: ODataQuery;
}

/** What a `beforeWrite` hook sees. */
export interface WriteHookContext {
  /** The HTTP request (for a `$batch` part: the part, with the batch's headers). */
  readonly request: Request;
  /** The entity set being written. */
  readonly entity: string;
  /** The kind of write. */
  readonly operation: "create" | "update" | "replace" | "delete";
  /** The body (create, update, replace). */
  readonly data?: Readonly<Record<string, unknown>>;
  /** The key of the entity (update, replace, delete). */
  readonly key?: Readonly<Record<string, unknown>>;
}

/** Per-entity hooks: where a service restricts rows per caller. */
export interface EntityHooks {
  /**
   * Runs before every read of the entity (also key lookups, navigation, expansions of it and
   * the reads that locate a row to write). Return a filter (OData text or an expression) to add
   * with `and`, nothing to allow every row, or throw a coded error to refuse.
   */
  readonly beforeRead?: (
    context: ReadHookContext,
  ) => Expression | string | undefined | void | Promise<Expression | string | undefined | void>;
  /** Runs before every write of the entity; throw a coded error to refuse it. */
  readonly beforeWrite?: (context: WriteHookContext) => void | Promise<void>;
}

/** CORS settings; CORS is off unless given. */
export interface CorsOptions {
  /** Allowed origins, or `"*"`. */
  readonly origins: "*" | readonly string[];
  /** Allow credentials. @default {false} */
  readonly credentials?: boolean;
  /** Preflight cache time in seconds. @default {600} */
  readonly maxAge?: number;
}

/** Options of {@linkcode createODataHandler}. */
export interface ODataHandlerOptions {
  /** The path the service is mounted at, e.g. `/odata/northwind/`. @default {"/"} */
  readonly basePath?: string;
  /** The largest page a response holds; more rows get an `@odata.nextLink`. @default {1000} */
  readonly maxPageSize?: number;
  /** The most requests in one `$batch`. @default {100} */
  readonly maxBatchParts?: number;
  /** The largest request body accepted, in bytes. @default {10485760} */
  readonly maxBodyBytes?: number;
  /** CORS (off by default). */
  readonly cors?: CorsOptions;
  /** Entities whose writes need `If-Match` (428 without it): names, or `true` for all. */
  readonly requireIfMatch?: boolean | readonly string[];
  /** Read and write hooks by entity set name. */
  readonly hooks?: Readonly<Record<string, EntityHooks>>;
  /** Called with unexpected faults (500s), which clients see without detail. */
  readonly logger?: (error: unknown, request: Request) => void;
  /** The CSDL schema namespace. @default {the namespace name with `.` kept} */
  readonly schemaNamespace?: string;
  /** The entity container name. @default {"Container"} */
  readonly containerName?: string;
  /** Entity type names by entity set name (`{ Products: "Product" }`). @default {the set name} */
  readonly typeNames?: Readonly<Record<string, string>>;
  /** Parse limits for query options. */
  readonly limits?: Partial<QueryLimits>;
}

/** Something that gives entity models and provider operations: a namespace or a transaction. */
export interface Scope extends ModelContext {
  /** The model of an entity in this scope. */
  getEntity(name: string): EntityModel;
}

/** Internal: a request being served, in a scope. */
export interface Call {
  readonly request: Request;
  readonly url: URL;
  readonly scope: Scope;
  /** True inside a `$batch` atomicity group (the scope is a transaction). */
  readonly inTransaction: boolean;
  /** The body, already read (batch parts). */
  readonly body?: string;
}

/** The service behind a handler; `$batch` calls back into it. */
export class ODataService {
  /** The namespace served. */
  readonly namespace: EntityNamespace;
  /** The mount path, with leading and trailing `/`. */
  readonly basePath: string;
  /** The largest page of a response. */
  readonly maxPageSize: number;
  /** The most requests in one `$batch`. */
  readonly maxBatchParts: number;
  /** The largest request body in bytes. */
  readonly maxBodyBytes: number;
  /** The options as given. */
  readonly options: ODataHandlerOptions;
  /** The CSDL names (schema namespace, container, type names). */
  readonly names: SchemaNames;
  /** The generated $metadata documents, made once. */
  readonly metadataCache: { xml?: string; json?: string } = {};

  /** Validates the options; no I/O. */
  constructor(namespace: EntityNamespace, options: ODataHandlerOptions) {
    this.namespace = namespace;
    this.options = options;
    let base = options.basePath ?? "/";
    if (!base.startsWith("/")) base = "/" + base;
    if (!base.endsWith("/")) base += "/";
    this.basePath = base;
    const positive = (name: string, value: number | undefined, fallback: number) => {
      if (value === undefined) return fallback;
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new ODataActiveRecordError(
          "INVALID_CONFIGURATION",
          `createODataHandler: ${name} must be a positive integer, got ${value}`,
          { context: { [name]: value } },
        );
      }
      return value;
    };
    this.maxPageSize = positive("maxPageSize", options.maxPageSize, 1000);
    this.maxBatchParts = positive("maxBatchParts", options.maxBatchParts, 100);
    this.maxBodyBytes = positive("maxBodyBytes", options.maxBodyBytes, 10 * 1024 * 1024);
    const typeNames = options.typeNames ?? {};
    this.names = {
      namespace: options.schemaNamespace ?? namespace.name.replace(/[^A-Za-z0-9_.]/g, "_"),
      container: options.containerName ?? "Container",
      typeName: (entity) => typeNames[entity.name] ?? entity.name,
    };
  }

  /** Serves one HTTP request. */
  async handle(request: Request): Promise<Response> {
    let response: Response;
    const url = new URL(request.url);
    try {
      if (request.method === "OPTIONS") {
        response = this.#options(request);
      } else {
        response = await this.dispatch({
          request,
          url,
          scope: this.namespace,
          inTransaction: false,
        });
      }
    } catch (error) {
      response = this.errorResponse(error, request);
    }
    return this.#withCors(request, response);
  }

  /** The OData error response for a thrown value; unexpected faults go to the logger. */
  errorResponse(error: unknown, request: Request, v401 = false): Response {
    const mapped = mapError(error);
    if (mapped.unexpected) this.options.logger?.(error, request);
    const headers = new Headers({
      "content-type": "application/json;odata.metadata=minimal",
      "odata-version": v401 ? "4.01" : "4.0",
    });
    if (mapped.status === 405) {
      headers.set("allow", String((error as ODataActiveRecordError).context?.allow ?? ""));
    }
    return new Response(JSON.stringify({ error: mapped.body }), {
      status: mapped.status,
      headers,
    });
  }

  #options(request: Request): Response {
    const headers = new Headers({ allow: "GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS" });
    const cors = this.options.cors;
    const origin = request.headers.get("origin");
    if (cors !== undefined && origin !== null && this.#originAllowed(origin)) {
      headers.set("access-control-allow-methods", "GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS");
      const asked = request.headers.get("access-control-request-headers");
      headers.set(
        "access-control-allow-headers",
        asked ??
          "Accept, Content-Type, Authorization, If-Match, If-None-Match, Prefer, OData-Version, OData-MaxVersion",
      );
      headers.set("access-control-max-age", String(cors.maxAge ?? 600));
    }
    return new Response(null, { status: 204, headers });
  }

  #originAllowed(origin: string): boolean {
    const cors = this.options.cors;
    if (cors === undefined) return false;
    return cors.origins === "*" || cors.origins.includes(origin);
  }

  #withCors(request: Request, response: Response): Response {
    const cors = this.options.cors;
    if (cors === undefined) return response; // no header lookup when CORS is off
    const origin = request.headers.get("origin");
    if (origin === null || !this.#originAllowed(origin)) return response;
    const headers = new Headers(response.headers);
    headers.set(
      "access-control-allow-origin",
      cors.origins === "*" && cors.credentials !== true ? "*" : origin,
    );
    if (cors.credentials === true) headers.set("access-control-allow-credentials", "true");
    headers.set(
      "access-control-expose-headers",
      "ETag, Location, OData-Version, OData-EntityId, Preference-Applied",
    );
    headers.append("vary", "Origin");
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }

  /** The service root URL of a request (absolute, ending in `/`). */
  serviceRoot(url: URL): string {
    return `${url.origin}${this.basePath}`;
  }

  /** Serves a request in a scope (the namespace, or a `$batch` transaction). */
  async dispatch(call: Call): Promise<Response> {
    const { request, url } = call;
    const v401 = negotiateVersion(request.headers);
    let path = url.pathname;
    if (path + "/" === this.basePath) path += "/";
    if (!path.startsWith(this.basePath)) {
      throw httpError("NOT_FOUND", `${url.pathname} is not under this service (${this.basePath})`, {
        target: url.pathname,
      });
    }
    const segments = parseResourcePath(path.slice(this.basePath.length));
    const resource = await resolveResource(
      segments,
      (
        name,
      ) => (this.namespace.hasEntity(name) ? this.namespace.getEntity(name).metadata : undefined),
      this.namespace.schema,
      (entity, filter, fields) => this.readParent(call, entity, filter, fields),
    );
    const method = request.method.toUpperCase();
    const allow = (methods: string) => {
      if (!allowed(methods).includes(method)) {
        throw httpError("METHOD_NOT_ALLOWED", `${method} is not allowed on this resource`, {
          allow: methods,
        });
      }
    };
    switch (resource.kind) {
      case "service":
        allow("GET, HEAD");
        return serviceDocument(this, call, v401);
      case "metadata":
        allow("GET, HEAD");
        return metadataDocument(this, call, v401);
      case "batch":
        allow("POST");
        if (call.inTransaction || call.body !== undefined) {
          throw httpError("INVALID_ARGUMENT", "A $batch cannot contain another $batch");
        }
        return await handleBatch(this, request, url, v401);
      case "collection":
        if (resource.query) {
          allow("POST");
          return await readCollection(this, call, resource, v401);
        }
        if (resource.count) {
          allow("GET, HEAD");
          return await readCollection(this, call, resource, v401);
        }
        allow("GET, HEAD, POST");
        if (method === "POST") return await create(this, call, resource, v401);
        return await readCollection(this, call, resource, v401);
      case "entity":
        allow("GET, HEAD, PATCH, PUT, DELETE");
        if (method === "GET" || method === "HEAD") {
          return await readEntity(this, call, resource, v401);
        }
        if (method === "DELETE") return await remove(this, call, resource, v401);
        return await update(this, call, resource, method === "PUT", v401);
      case "property":
        allow("GET, HEAD");
        return await readProperty(this, call, resource, v401);
    }
  }

  // Made once: a closure per response would be one more allocation on every request.
  readonly #qualifiedTypeName = (entity: EntityMetadata): string =>
    `${this.names.namespace}.${this.names.typeName(entity)}`;

  /** How a response to `call` is written (metadata level, number style, annotation spelling). */
  style(
    call: Call,
    negotiated: { metadata: JsonStyle["metadata"]; ieee754: boolean },
    v401: boolean,
  ): JsonStyle {
    return {
      metadata: negotiated.metadata,
      ieee754: negotiated.ieee754,
      v401,
      serviceRoot: this.serviceRoot(call.url),
      typeName: this.#qualifiedTypeName,
      schema: this.namespace.schema,
    };
  }

  /** The response headers every answer carries: `OData-Version` and the content type. */
  headers(
    style: JsonStyle | undefined,
    v401: boolean,
    contentType?: string,
  ): Record<string, string> {
    // A plain object: building a Headers instance costs more than the rest of a key lookup.
    const headers: Record<string, string> = { "odata-version": v401 ? "4.01" : "4.0" };
    const type = contentType ?? (style === undefined ? undefined : jsonContentType(style));
    if (type !== undefined) headers["content-type"] = type;
    return headers;
  }

  /** A response; a `HEAD` request gets the same status and headers without the body. */
  respond(
    call: Call,
    status: number,
    body: string | null,
    headers: Record<string, string>,
  ): Response {
    const head = call.request.method === "HEAD";
    return new Response(head ? null : body, { status, headers });
  }

  /** Parses the query options of a call: the URL's, plus the body of `POST .../$query`. */
  query(
    call: Call,
    resource: Resource,
  ): { query: ODataQuery; raw: string } | Promise<{ query: ODataQuery; raw: string }> {
    const raw = call.url.search.startsWith("?") ? call.url.search.slice(1) : call.url.search;
    if (resource.kind === "collection" && resource.query) return this.#postedQuery(call, raw);
    if (raw === "") return { query: {}, raw }; // the common key lookup: nothing to parse
    return this.#parse(raw);
  }

  async #postedQuery(call: Call, raw: string): Promise<{ query: ODataQuery; raw: string }> {
    const type = (call.request.headers.get("content-type") ?? "text/plain").split(";")[0]!
      .trim().toLowerCase();
    if (type !== "text/plain" && type !== "application/x-www-form-urlencoded") {
      throw httpError("UNSUPPORTED_MEDIA_TYPE", `POST $query takes text/plain, not ${type}`, {
        target: "Content-Type",
      });
    }
    const body = (await this.readBody(call)).trim();
    return this.#parse(raw === "" ? body : body === "" ? raw : `${raw}&${body}`);
  }

  #parse(raw: string): { query: ODataQuery; raw: string } {
    const options = this.options.limits === undefined ? undefined : { limits: this.options.limits };
    try {
      return { query: parseQuery(raw, options), raw };
    } catch (error) {
      // Form-encoding clients send spaces as "+": OData reads "+" as itself, so only a query
      // that fails as written is read again with "+" as a space.
      if (!(error instanceof ODataSyntaxError) || !raw.includes("+")) throw error;
      const spaced = raw.replaceAll("+", "%20");
      try {
        return { query: parseQuery(spaced, options), raw: spaced };
      } catch {
        throw error;
      }
    }
  }

  /** Reads a request body as text within `maxBodyBytes`. */
  async readBody(call: { request: Request; body?: string }): Promise<string> {
    if (call.body !== undefined) return call.body;
    const request = call.request;
    const declared = Number(request.headers.get("content-length") ?? NaN);
    const tooLarge = () =>
      httpError("PAYLOAD_TOO_LARGE", `The request body exceeds ${this.maxBodyBytes} bytes`, {
        limit: this.maxBodyBytes,
      });
    if (declared > this.maxBodyBytes) throw tooLarge();
    if (request.body === null) return "";
    const reader = request.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.maxBodyBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw httpError("INVALID_ARGUMENT", "The request body is not valid UTF-8");
    }
  }

  /** The JSON object body of a write (415 for other types, 400 for bad JSON). */
  async jsonBody(call: Call): Promise<Record<string, unknown>> {
    requireJsonBody(call.request.headers.get("content-type"));
    const text = await this.readBody(call);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const position = Number(/position (\d+)/.exec(String(error))?.[1] ?? 0);
      throw httpError("INVALID_ARGUMENT", `The request body is not valid JSON (near ${position})`, {
        target: "body",
        position,
      });
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw httpError("INVALID_ARGUMENT", "The request body must be a JSON object", {
        target: "body",
      });
    }
    return value as Record<string, unknown>;
  }

  /** The provider operations of the call's scope (the namespace, or a transaction). */
  async operations(call: Call): Promise<ProviderOperations> {
    return await call.scope.operations();
  }

  /** The filter `beforeRead` adds for an entity, or undefined. */
  hookFilter(
    call: Call,
    entity: EntityMetadata,
    query: ODataQuery,
  ): Expression | undefined | Promise<Expression | undefined> {
    const hook = this.options.hooks?.[entity.name]?.beforeRead;
    if (hook === undefined) return undefined; // no promise on the common path
    return (async () => {
      const result = await hook({ request: call.request, entity: entity.name, query });
      if (result === undefined || result === null) return undefined;
      return typeof result === "string" ? parseFilter(result) : result as Expression;
    })();
  }

  /** Adds the `beforeRead` filters of expanded entities to their nested options. */
  hookExpand(
    call: Call,
    entity: EntityMetadata,
    query: ODataQuery,
  ): ODataQuery | Promise<ODataQuery> {
    if (query.expand === undefined || this.options.hooks === undefined) return query;
    return this.#hookExpand(call, entity, query);
  }

  async #hookExpand(call: Call, entity: EntityMetadata, query: ODataQuery): Promise<ODataQuery> {
    const expand = [];
    for (const item of query.expand ?? []) {
      const relation = entity.relations.get(item.path[0] ?? "");
      const target = relation === undefined
        ? undefined
        : this.namespace.schema.getEntityMetadata(relation.target);
      if (target === undefined || relation === undefined) {
        expand.push(item);
        continue;
      }
      let options = await this.hookExpand(call, target, item.options ?? {});
      const extra = await this.hookFilter(call, target, options);
      if (extra !== undefined) {
        // On a to-one expansion the filter turns a hidden entity into null.
        options = { ...options, filter: and2(options.filter, extra) };
      }
      expand.push({ ...item, options });
    }
    return { ...query, expand };
  }

  /** Reads the link fields of the entity a navigation starts from (hooks applied). */
  async readParent(
    call: Call,
    entity: EntityMetadata,
    filter: Expression,
    fields: readonly string[],
  ): Promise<Row | undefined> {
    const extra = await this.hookFilter(call, entity, {});
    const operations = await this.operations(call);
    const select = [...new Set([...fields, ...entity.key])].map(selectProperty);
    const { rows } = await operations.read({
      entity,
      schema: this.namespace.schema,
      query: { filter: and2(filter, extra), select, top: 1 },
    });
    return rows[0];
  }

  /** Reads one row with `select`/`expand` under the `beforeRead` filter; undefined when none. */
  async findOne(
    call: Call,
    entity: EntityMetadata,
    filter: Expression,
    query: ODataQuery,
  ): Promise<Row | undefined> {
    const hooked = this.hookFilter(call, entity, query);
    const extra = hooked instanceof Promise ? await hooked : hooked;
    const operations = await call.scope.operations();
    const { rows } = await operations.read({
      entity,
      schema: this.namespace.schema,
      query: { select: query.select, expand: query.expand, filter: and2(filter, extra) },
    });
    return rows[0];
  }

  /** The 404 for a key that addresses no (visible) row. */
  notFound(entity: EntityMetadata): ODataActiveRecordError {
    return httpError("NOT_FOUND", `No ${entity.name} with this key`, { target: entity.name });
  }

  /** True when writes to the entity need `If-Match`. */
  requiresIfMatch(entity: EntityMetadata): boolean {
    const option = this.options.requireIfMatch;
    return option === true || (Array.isArray(option) && option.includes(entity.name));
  }

  /** Runs `work` in one transaction unless the call is in one already (or none is possible). */
  async atomically<T>(
    call: Call,
    needed: boolean,
    work: (scope: Scope) => Promise<T>,
  ): Promise<T> {
    if (call.inTransaction) return await work(call.scope);
    const capabilities = this.namespace.capabilities() ??
      (await this.namespace.connect()).capabilities;
    if (!capabilities.transactions) {
      if (needed) {
        throw httpError(
          "NOT_SUPPORTED",
          "This write needs transactions, which the provider lacks",
          {},
        );
      }
      return await work(call.scope);
    }
    return await this.namespace.transaction((tx) => work(tx as unknown as Scope));
  }
}

/** The methods of an `Allow` list, split once per list. */
function allowed(methods: string): readonly string[] {
  let list = allowLists.get(methods);
  if (list === undefined) {
    list = methods.split(", ");
    allowLists.set(methods, list);
  }
  return list;
}

const allowLists = new Map<string, readonly string[]>();

const JSON_TYPES: Readonly<Record<string, string>> = {
  minimal: "application/json;odata.metadata=minimal",
  none: "application/json;odata.metadata=none",
  full: "application/json;odata.metadata=full",
};

function jsonContentType(style: JsonStyle): string {
  const base = JSON_TYPES[style.metadata]!;
  return style.ieee754 ? base + ";IEEE754Compatible=true" : base;
}

/**
 * Creates the OData v4 endpoint of a namespace: a web-standard request handler.
 *
 * @example Serve a namespace with Deno.serve
 * ```ts ignore
 * import { createODataHandler } from "@oar/odata-active-record";
 * const handler = createODataHandler(namespace, { basePath: "/odata/shop/" });
 * Deno.serve({ port: 8080 }, handler);
 * ```
 */
export function createODataHandler(
  namespace: EntityNamespace,
  options: ODataHandlerOptions = {},
): (request: Request) => Promise<Response> {
  const service = new ODataService(namespace, options);
  return (request: Request) => service.handle(request);
}
