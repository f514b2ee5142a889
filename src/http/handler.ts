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
import type { ProviderOperations, ReadRequest, Row } from "../provider/provider.ts";
import { ODataActiveRecordError } from "../errors/errors.ts";
import { httpError, mapError } from "./errors.ts";
import { etagMatches, etagOf } from "./etag.ts";
import {
  annotation,
  contextSelect,
  contextUrl,
  entityPath,
  type EntityShape,
  type JsonStyle,
  shapeOf,
  writeEntity,
  writeValue,
} from "./json.ts";
import { metadataJson, metadataXml, type SchemaNames } from "./metadata.ts";
import { accepts401, checkVersion, negotiate, preferences, requireJsonBody } from "./negotiate.ts";
import { afterFilter, decodeToken, keyToken, offsetToken, totalOrder } from "./paging.ts";
import { parseResourcePath } from "./path.ts";
import { literalOf, resolveResource, type Resource } from "./resource.ts";
import { handleBatch } from "./batch.ts";

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
interface Call {
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
  readonly namespace: EntityNamespace;
  readonly basePath: string;
  readonly maxPageSize: number;
  readonly maxBatchParts: number;
  readonly maxBodyBytes: number;
  readonly options: ODataHandlerOptions;
  readonly names: SchemaNames;
  #metadataXml: string | undefined;
  #metadataJson: string | undefined;

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
    const origin = request.headers.get("origin");
    if (cors === undefined || origin === null || !this.#originAllowed(origin)) return response;
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
    checkVersion(request.headers);
    const v401 = accepts401(request.headers);
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
      (entity, filter, fields) => this.#readParent(call, entity, filter, fields),
    );
    const method = request.method.toUpperCase();
    const allow = (methods: string) => {
      if (!methods.split(", ").includes(method)) {
        throw httpError("METHOD_NOT_ALLOWED", `${method} is not allowed on this resource`, {
          allow: methods,
        });
      }
    };
    switch (resource.kind) {
      case "service":
        allow("GET, HEAD");
        return this.#serviceDocument(call, v401);
      case "metadata":
        allow("GET, HEAD");
        return this.#metadata(call, v401);
      case "batch":
        allow("POST");
        if (call.inTransaction || call.body !== undefined) {
          throw httpError("INVALID_ARGUMENT", "A $batch cannot contain another $batch");
        }
        return await handleBatch(this, request, url, v401);
      case "collection":
        if (resource.query) {
          allow("POST");
          return await this.#readCollection(call, resource, v401);
        }
        if (resource.count) {
          allow("GET, HEAD");
          return await this.#readCollection(call, resource, v401);
        }
        allow("GET, HEAD, POST");
        if (method === "POST") return await this.#create(call, resource, v401);
        return await this.#readCollection(call, resource, v401);
      case "entity":
        allow("GET, HEAD, PATCH, PUT, DELETE");
        if (method === "GET" || method === "HEAD") {
          return await this.#readEntity(call, resource, v401);
        }
        if (method === "DELETE") return await this.#delete(call, resource, v401);
        return await this.#update(call, resource, method === "PUT", v401);
      case "property":
        allow("GET, HEAD");
        return await this.#readProperty(call, resource, v401);
    }
  }

  #style(
    call: Call,
    negotiated: { metadata: JsonStyle["metadata"]; ieee754: boolean },
    v401: boolean,
  ): JsonStyle {
    return {
      metadata: negotiated.metadata,
      ieee754: negotiated.ieee754,
      v401,
      serviceRoot: this.serviceRoot(call.url),
      typeName: (entity) => `${this.names.namespace}.${this.names.typeName(entity)}`,
      schema: this.namespace.schema,
    };
  }

  #headers(style: JsonStyle | undefined, v401: boolean, contentType?: string): Headers {
    const headers = new Headers({ "odata-version": v401 ? "4.01" : "4.0" });
    if (contentType !== undefined) headers.set("content-type", contentType);
    else if (style !== undefined) {
      headers.set(
        "content-type",
        `application/json;odata.metadata=${style.metadata}` +
          (style.ieee754 ? ";IEEE754Compatible=true" : ""),
      );
    }
    return headers;
  }

  #respond(call: Call, status: number, body: string | null, headers: Headers): Response {
    const head = call.request.method.toUpperCase() === "HEAD";
    return new Response(head ? null : body, { status, headers });
  }

  /** Parses the query options of a call: the URL's, plus the body of `POST .../$query`. */
  async #query(call: Call, resource: Resource): Promise<{ query: ODataQuery; raw: string }> {
    let raw = call.url.search.startsWith("?") ? call.url.search.slice(1) : call.url.search;
    if (resource.kind === "collection" && resource.query) {
      const type = (call.request.headers.get("content-type") ?? "text/plain").split(";")[0]!
        .trim().toLowerCase();
      if (type !== "text/plain" && type !== "application/x-www-form-urlencoded") {
        throw httpError("UNSUPPORTED_MEDIA_TYPE", `POST $query takes text/plain, not ${type}`, {
          target: "Content-Type",
        });
      }
      const body = (await this.readBody(call)).trim();
      raw = raw === "" ? body : body === "" ? raw : `${raw}&${body}`;
    }
    const query = parseQuery(
      raw,
      this.options.limits === undefined ? undefined : { limits: this.options.limits },
    );
    return { query, raw };
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

  async #jsonBody(call: Call): Promise<Record<string, unknown>> {
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

  async #operations(call: Call): Promise<ProviderOperations> {
    return await call.scope.operations();
  }

  /** The filter `beforeRead` adds for an entity, or undefined. */
  async #hookFilter(
    call: Call,
    entity: EntityMetadata,
    query: ODataQuery,
  ): Promise<Expression | undefined> {
    const hook = this.options.hooks?.[entity.name]?.beforeRead;
    if (hook === undefined) return undefined;
    const result = await hook({ request: call.request, entity: entity.name, query });
    if (result === undefined || result === null) return undefined;
    return typeof result === "string" ? parseFilter(result) : result as Expression;
  }

  /** Adds the `beforeRead` filters of expanded entities to their nested options. */
  async #hookExpand(call: Call, entity: EntityMetadata, query: ODataQuery): Promise<ODataQuery> {
    if (query.expand === undefined || this.options.hooks === undefined) return query;
    const expand = [];
    for (const item of query.expand) {
      const relation = entity.relations.get(item.path[0] ?? "");
      const target = relation === undefined
        ? undefined
        : this.namespace.schema.getEntityMetadata(relation.target);
      if (target === undefined || relation === undefined) {
        expand.push(item);
        continue;
      }
      let options = await this.#hookExpand(call, target, item.options ?? {});
      const extra = await this.#hookFilter(call, target, options);
      if (extra !== undefined) {
        if (relation.kind === "one") {
          throw httpError(
            "NOT_SUPPORTED",
            `Expanding ${relation.name} is restricted for this caller`,
            {
              target: relation.name,
            },
          );
        }
        options = { ...options, filter: and2(options.filter, extra) };
      }
      expand.push({ ...item, options });
    }
    return { ...query, expand };
  }

  async #readParent(
    call: Call,
    entity: EntityMetadata,
    filter: Expression,
    fields: readonly string[],
  ): Promise<Row | undefined> {
    const extra = await this.#hookFilter(call, entity, {});
    const operations = await this.#operations(call);
    const select = [...new Set([...fields, ...entity.key])].map((name) => ({ path: [name] }));
    const { rows } = await operations.read({
      entity,
      schema: this.namespace.schema,
      query: { filter: and2(filter, extra), select, top: 1 },
    });
    return rows[0];
  }

  #serviceDocument(call: Call, v401: boolean): Response {
    const negotiated = negotiate(formatOf(call.url), call.request.headers.get("accept"), false);
    const style = this.#style(call, negotiated, v401);
    const sets = this.namespace.getEntityMetadata().map((entity) => ({
      name: entity.name,
      kind: "EntitySet",
      url: entity.name,
    }));
    const body: Record<string, unknown> = {};
    if (style.metadata !== "none") {
      body[annotation(style, "context")] = `${style.serviceRoot}$metadata`;
    }
    body.value = sets;
    return this.#respond(call, 200, JSON.stringify(body), this.#headers(style, v401));
  }

  #metadata(call: Call, v401: boolean): Response {
    const negotiated = negotiate(formatOf(call.url), call.request.headers.get("accept"), true);
    const entities = this.namespace.getEntityMetadata();
    if (negotiated.kind === "xml") {
      this.#metadataXml ??= metadataXml(entities, this.namespace.schema, this.names);
      return this.#respond(
        call,
        200,
        this.#metadataXml,
        this.#headers(undefined, v401, "application/xml"),
      );
    }
    this.#metadataJson ??= JSON.stringify(
      metadataJson(entities, this.namespace.schema, this.names),
    );
    return this.#respond(
      call,
      200,
      this.#metadataJson,
      this.#headers(undefined, v401, "application/json"),
    );
  }

  async #readCollection(
    call: Call,
    resource: Extract<Resource, { kind: "collection" }>,
    v401: boolean,
  ): Promise<Response> {
    const { query: parsed, raw } = await this.#query(call, resource);
    const entity = resource.entity;
    const prefs = preferences(call.request.headers.get("prefer"));
    const operations = await this.#operations(call);
    const extra = await this.#hookFilter(call, entity, parsed);
    const baseFilter = and3(resource.filter, extra, parsed.filter);
    if (resource.count) {
      const count = await operations.count({
        entity,
        schema: this.namespace.schema,
        query: { filter: baseFilter, search: parsed.search },
      });
      const headers = this.#headers(undefined, v401, "text/plain");
      return this.#respond(call, 200, String(count), headers);
    }
    const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
    const style = this.#style(call, negotiated, v401);
    const query = await this.#hookExpand(call, entity, parsed);
    const pageSize = Math.min(prefs.maxPageSize ?? this.maxPageSize, this.maxPageSize);
    const shape = shapeOf(query);
    const order = query.apply === undefined ? totalOrder(entity, query.orderby) : undefined;
    const token = query.skiptoken === undefined ? undefined : decodeToken(query.skiptoken);
    const request: { -readonly [K in keyof ODataQuery]: ODataQuery[K] } = { ...query };
    delete request.skiptoken;
    delete request.format;
    delete request.custom;
    request.filter = baseFilter;
    let separateCount = false;
    if (order !== undefined) {
      request.orderby = order.map(({ field, direction }) => ({
        expression: {
          kind: "Path",
          root: "implicit",
          segments: [{ kind: "Property", name: field.name }],
        },
        direction,
      }));
      if (token !== undefined) {
        if (token.kind !== "key") {
          throw httpError("INVALID_ARGUMENT", "The $skiptoken does not fit this query", {
            target: "$skiptoken",
          });
        }
        request.filter = and2(baseFilter, afterFilter(order, token.values));
        delete request.skip;
        separateCount = query.count === true;
      }
      if (shape.selected !== undefined) {
        // The sort values of the last row make the token: read them even when not selected.
        const names = new Set(query.select!.map((item) => item.path[0]!));
        const extraSelect = order.map(({ field }) => field.name).filter((name) => !names.has(name));
        if (extraSelect.length > 0) {
          request.select = [...query.select!, ...extraSelect.map((name) => ({ path: [name] }))];
        }
      }
    } else if (token !== undefined) {
      if (token.kind !== "offset") {
        throw httpError("INVALID_ARGUMENT", "The $skiptoken does not fit this query", {
          target: "$skiptoken",
        });
      }
      request.skip = token.offset;
      separateCount = query.count === true && query.apply === undefined;
    }
    const top = query.top;
    const paged = top === undefined || top > pageSize;
    request.top = paged ? pageSize + 1 : top;
    if (separateCount) request.count = false;
    const readRequest: ReadRequest = { entity, schema: this.namespace.schema, query: request };
    const result = await operations.read(readRequest);
    let rows = result.rows;
    let count = result.count;
    if (separateCount) {
      count = await operations.count({
        entity,
        schema: this.namespace.schema,
        query: { filter: baseFilter, search: query.search },
      });
    }
    let nextLink: string | undefined;
    if (paged && rows.length > pageSize) {
      rows = rows.slice(0, pageSize);
      const nextToken = order !== undefined
        ? keyToken(order, rows[rows.length - 1]!)
        : offsetToken((request.skip ?? 0) + pageSize);
      nextLink = this.#nextLink(
        call,
        raw,
        top === undefined ? undefined : top - pageSize,
        nextToken,
      );
    }
    const headers = this.#headers(style, v401);
    if (prefs.maxPageSize !== undefined) {
      headers.set("preference-applied", `odata.maxpagesize=${pageSize}`);
    }
    let out = "{";
    let first = true;
    const add = (name: string, value: string) => {
      out += (first ? "" : ",") + JSON.stringify(name) + ":" + value;
      first = false;
    };
    if (style.metadata !== "none") {
      add(
        annotation(style, "context"),
        JSON.stringify(contextUrl(style, entity.name + contextSelect(entity, shape, v401))),
      );
    }
    if (count !== undefined && query.count === true) {
      add(annotation(style, "count"), style.ieee754 ? `"${count}"` : String(count));
    }
    let value = "[";
    for (let i = 0; i < rows.length; i++) {
      if (i > 0) value += ",";
      value += writeEntity(entity, rows[i]!, shape, style);
    }
    add("value", value + "]");
    if (nextLink !== undefined) add(annotation(style, "nextLink"), JSON.stringify(nextLink));
    return this.#respond(call, 200, out + "}", headers);
  }

  /** The next link: the request's own options but `$skip`/`$top`/`$skiptoken`, plus the token. */
  #nextLink(call: Call, raw: string, top: number | undefined, token: string): string {
    const kept = raw === "" ? [] : raw.split("&").filter((pair) => {
      const eq = pair.indexOf("=");
      let name: string;
      try {
        name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
      } catch {
        return true;
      }
      const bare = name.startsWith("$") ? name.slice(1) : name;
      return !(bare === "skip" || bare === "top" || name === "$skiptoken" || pair === "");
    });
    if (top !== undefined) kept.push(`$top=${top}`);
    kept.push(`$skiptoken=${token}`);
    let path = call.url.pathname;
    if (path.endsWith("/$query")) path = path.slice(0, -"/$query".length);
    return `${call.url.origin}${path}?${kept.join("&")}`;
  }

  async #findOne(
    call: Call,
    entity: EntityMetadata,
    filter: Expression,
    query: ODataQuery,
  ): Promise<Row | undefined> {
    const extra = await this.#hookFilter(call, entity, query);
    const operations = await this.#operations(call);
    const { rows } = await operations.read({
      entity,
      schema: this.namespace.schema,
      query: { select: query.select, expand: query.expand, filter: and2(filter, extra) },
    });
    return rows[0];
  }

  #notFound(entity: EntityMetadata): ODataActiveRecordError {
    return httpError("NOT_FOUND", `No ${entity.name} with this key`, { target: entity.name });
  }

  async #readEntity(
    call: Call,
    resource: Extract<Resource, { kind: "entity" }>,
    v401: boolean,
  ): Promise<Response> {
    const { query: parsed } = await this.#query(call, resource);
    const entity = resource.entity;
    const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
    const style = this.#style(call, negotiated, v401);
    if (resource.none) return this.#respond(call, 204, null, this.#headers(undefined, v401));
    const query = await this.#hookExpand(call, entity, {
      select: parsed.select,
      expand: parsed.expand,
    });
    const row = await this.#findOne(call, entity, resource.filter, query);
    if (row === undefined) throw this.#notFound(entity);
    const shape = shapeOf(query);
    const etag = shape.selected === undefined ? etagOf(entity, row) : undefined;
    const headers = this.#headers(style, v401);
    if (etag !== undefined) headers.set("etag", etag);
    const ifNoneMatch = call.request.headers.get("if-none-match");
    if (
      ifNoneMatch !== null &&
      etagMatches(
        ifNoneMatch,
        etag ?? etagOf(entity, await this.#findOne(call, entity, resource.filter, {}) ?? {}),
      )
    ) {
      return new Response(null, {
        status: 304,
        headers: etag === undefined ? undefined : { etag },
      });
    }
    const ifMatch = call.request.headers.get("if-match");
    if (
      ifMatch !== null &&
      !etagMatches(
        ifMatch,
        etag ?? etagOf(entity, await this.#findOne(call, entity, resource.filter, {}) ?? {}),
      )
    ) {
      throw httpError("PRECONDITION_FAILED", `The ${entity.name} does not match If-Match`, {
        target: entity.name,
      });
    }
    const context = style.metadata === "none"
      ? ""
      : `"${annotation(style, "context")}":${
        JSON.stringify(
          contextUrl(style, `${entity.name}${contextSelect(entity, shape, v401)}/$entity`),
        )
      }`;
    return this.#respond(call, 200, writeEntity(entity, row, shape, style, context), headers);
  }

  async #readProperty(
    call: Call,
    resource: Extract<Resource, { kind: "property" }>,
    v401: boolean,
  ): Promise<Response> {
    const { query: parsed } = await this.#query(call, resource);
    const { entity, field } = resource;
    const row = await this.#findOne(call, entity, resource.filter, {});
    if (row === undefined) throw this.#notFound(entity);
    const value = row[field.name];
    if (resource.value) {
      if (value === null || value === undefined) {
        return this.#respond(call, 204, null, this.#headers(undefined, v401));
      }
      if (field.type === "binary") {
        const headers = this.#headers(undefined, v401, "application/octet-stream");
        const head = call.request.method.toUpperCase() === "HEAD";
        return new Response(head ? null : value as Uint8Array<ArrayBuffer>, {
          status: 200,
          headers,
        });
      }
      const text = value instanceof Date
        ? value.toISOString()
        : typeof value === "object"
        ? JSON.stringify(value)
        : String(value);
      return this.#respond(
        call,
        200,
        text,
        this.#headers(undefined, v401, "text/plain;charset=utf-8"),
      );
    }
    const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
    const style = this.#style(call, negotiated, v401);
    if (value === null || value === undefined) {
      return this.#respond(call, 204, null, this.#headers(undefined, v401));
    }
    const path = entityPath(entity, row) ?? entity.name;
    let out = "{";
    if (style.metadata !== "none") {
      out += `"${annotation(style, "context")}":${
        JSON.stringify(contextUrl(style, `${path}/${field.name}`))
      },`;
    }
    out += `"value":${writeValue(field, value, style)}}`;
    return this.#respond(call, 200, out, this.#headers(style, v401));
  }

  #requiresIfMatch(entity: EntityMetadata): boolean {
    const option = this.options.requireIfMatch;
    return option === true || (Array.isArray(option) && option.includes(entity.name));
  }

  /** Runs `work` in one transaction unless the call is in one already (or none is possible). */
  async #atomically<T>(
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

  /** Strips control information and splits nested (deep insert) values from fields. */
  #splitBody(
    entity: EntityMetadata,
    body: Record<string, unknown>,
  ): { data: Row; nested: Map<string, unknown>; binds: Map<string, string> } {
    const data: Row = {};
    const nested = new Map<string, unknown>();
    const binds = new Map<string, string>();
    for (const [name, value] of Object.entries(body)) {
      const at = name.indexOf("@");
      if (at === 0) continue; // instance annotations (@odata.type, @odata.context)
      if (at > 0) {
        const property = name.slice(0, at);
        const term = name.slice(at + 1);
        if ((term === "odata.bind" || term === "bind") && entity.relations.has(property)) {
          if (typeof value !== "string") {
            throw httpError("INVALID_ARGUMENT", `${name} takes an entity URL`, { target: name });
          }
          binds.set(property, value);
        }
        continue;
      }
      if (entity.relations.has(name)) nested.set(name, value);
      else data[name] = value;
    }
    return { data, nested, binds };
  }

  /** Resolves an `@odata.bind` URL to the key values of the bound entity. */
  async #bindValues(call: Call, url: string): Promise<{ entity: EntityMetadata; row: Row }> {
    let relative = url;
    const root = this.serviceRoot(call.url);
    if (relative.startsWith(root)) relative = relative.slice(root.length);
    else if (relative.startsWith(this.basePath)) relative = relative.slice(this.basePath.length);
    const resource = await resolveResource(
      parseResourcePath(relative),
      (
        name,
      ) => (this.namespace.hasEntity(name) ? this.namespace.getEntity(name).metadata : undefined),
      this.namespace.schema,
      (entity, filter, fields) => this.#readParent(call, entity, filter, fields),
    );
    if (resource.kind !== "entity" || resource.none) {
      throw httpError("INVALID_ARGUMENT", `@odata.bind ${url} does not address one entity`, {
        target: "@odata.bind",
      });
    }
    const row = await this.#findOne(call, resource.entity, resource.filter, {});
    if (row === undefined) {
      throw httpError("NOT_FOUND", `@odata.bind ${url}: no such entity`, { target: "@odata.bind" });
    }
    return { entity: resource.entity, row };
  }

  /** Inserts an entity with its nested (deep insert) entities; returns the stored row with them. */
  async #insertDeep(
    call: Call,
    scope: Scope,
    entity: EntityMetadata,
    body: Record<string, unknown>,
    fixed: Row | undefined,
  ): Promise<Row> {
    const { data, nested, binds } = this.#splitBody(entity, body);
    Object.assign(data, fixed ?? {});
    await this.options.hooks?.[entity.name]?.beforeWrite?.({
      request: call.request,
      entity: entity.name,
      operation: "create",
      data,
    });
    for (const [name, url] of binds) {
      const relation = entity.relations.get(name)!;
      if (relation.kind !== "one") {
        throw httpError("NOT_SUPPORTED", `@odata.bind on the collection ${name}`, { target: name });
      }
      const { row } = await this.#bindValues({ ...call, scope }, url);
      const target = this.namespace.schema.getEntityMetadata(relation.target)!;
      const targetFields = relation.targetFields.length > 0 ? relation.targetFields : target.key;
      relation.localFields.forEach((field, i) => (data[field] = row[targetFields[i]!]));
    }
    // To-one nested entities first: this entity needs their keys.
    const created: Row = {};
    for (const [name, value] of nested) {
      const relation = entity.relations.get(name)!;
      if (relation.kind !== "one" || value === null) continue;
      if (typeof value !== "object" || Array.isArray(value)) {
        throw httpError("INVALID_ARGUMENT", `${name} takes one entity object`, { target: name });
      }
      const target = this.namespace.schema.getEntityMetadata(relation.target)!;
      const child = await this.#insertDeep(
        call,
        scope,
        target,
        value as Record<string, unknown>,
        undefined,
      );
      const targetFields = relation.targetFields.length > 0 ? relation.targetFields : target.key;
      relation.localFields.forEach((field, i) => (data[field] = child[targetFields[i]!]));
      created[name] = child;
    }
    const stored = await scope.getEntity(entity.name).insertOne(data);
    for (const [name, value] of nested) {
      const relation = entity.relations.get(name)!;
      if (relation.kind !== "many") continue;
      if (!Array.isArray(value)) {
        throw httpError("INVALID_ARGUMENT", `${name} takes an array of entities`, { target: name });
      }
      const target = this.namespace.schema.getEntityMetadata(relation.target)!;
      const link = Object.fromEntries(
        relation.targetFields.map((field, i) => [field, stored[relation.localFields[i]!]]),
      );
      const children: Row[] = [];
      for (const item of value) {
        if (item === null || typeof item !== "object" || Array.isArray(item)) {
          throw httpError("INVALID_ARGUMENT", `${name} takes an array of entity objects`, {
            target: name,
          });
        }
        children.push(
          await this.#insertDeep(call, scope, target, item as Record<string, unknown>, link),
        );
      }
      created[name] = children;
    }
    return { ...stored, ...created };
  }

  async #create(
    call: Call,
    resource: Extract<Resource, { kind: "collection" }>,
    v401: boolean,
  ): Promise<Response> {
    const { query: parsed } = await this.#query(call, resource);
    const entity = resource.entity;
    const prefs = preferences(call.request.headers.get("prefer"));
    const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
    const style = this.#style(call, negotiated, v401);
    const body = await this.#jsonBody(call);
    const deep = Object.keys(body).some((name) => entity.relations.has(name));
    const inserted = await this.#atomically(
      call,
      deep,
      (scope) => this.#insertDeep(call, scope, entity, body, resource.linkValues),
    );
    // Read back: the row as stored (defaults, generated values), which the ETag is made of.
    const stored = {
      ...inserted,
      ...await this.#findOne(
        { ...call, scope: call.scope },
        entity,
        keyFilterOf(entity, inserted),
        {},
      ),
    };
    const path = entityPath(entity, stored)!;
    const location = this.serviceRoot(call.url) + path;
    const headers = this.#headers(style, v401);
    headers.set("location", location);
    const etag = etagOf(entity, stored);
    if (etag !== undefined) headers.set("etag", etag);
    if (prefs.return === "minimal") {
      headers.set("odata-entityid", location);
      headers.set("preference-applied", "return=minimal");
      headers.delete("content-type");
      return this.#respond(call, 204, null, headers);
    }
    if (prefs.return === "representation") {
      headers.set("preference-applied", "return=representation");
    }
    const shape: EntityShape = {
      expand: new Map(
        [...entity.relations.keys()].filter((name) => stored[name] !== undefined).map((
          name,
        ) => [name, { expand: new Map() }]),
      ),
    };
    const context = style.metadata === "none"
      ? ""
      : `"${annotation(style, "context")}":${
        JSON.stringify(contextUrl(style, `${entity.name}/$entity`))
      }`;
    return this.#respond(call, 201, writeEntity(entity, stored, shape, style, context), headers);
  }

  /** Checks `If-Match` / `If-None-Match` for a write against the current row. */
  async #checkPreconditions(call: Call, entity: EntityMetadata, current: Row): Promise<void> {
    const ifMatch = call.request.headers.get("if-match");
    const ifNoneMatch = call.request.headers.get("if-none-match");
    if (ifMatch === null && this.#requiresIfMatch(entity)) {
      throw httpError("PRECONDITION_REQUIRED", `Writes to ${entity.name} need If-Match`, {
        target: entity.name,
      });
    }
    const etag = etagOf(entity, current);
    if (ifMatch !== null && !etagMatches(ifMatch, etag)) {
      throw httpError(
        "PRECONDITION_FAILED",
        `The ${entity.name} changed: If-Match does not match`,
        { target: entity.name },
      );
    }
    if (ifNoneMatch !== null && etagMatches(ifNoneMatch, etag)) {
      throw httpError("PRECONDITION_FAILED", `If-None-Match matches the current ${entity.name}`, {
        target: entity.name,
      });
    }
    await Promise.resolve();
  }

  async #update(
    call: Call,
    resource: Extract<Resource, { kind: "entity" }>,
    replace: boolean,
    v401: boolean,
  ): Promise<Response> {
    const { query: parsed } = await this.#query(call, resource);
    const entity = resource.entity;
    const prefs = preferences(call.request.headers.get("prefer"));
    const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
    const style = this.#style(call, negotiated, v401);
    if (resource.none) throw this.#notFound(entity);
    const body = await this.#jsonBody(call);
    const { data, nested } = this.#splitBody(entity, body);
    if (nested.size > 0) {
      throw httpError("NOT_SUPPORTED", "Deep update (nested entities in PATCH/PUT)", {
        target: [...nested.keys()][0],
      });
    }
    const updated = await this.#atomically(call, false, async (scope) => {
      const inner = { ...call, scope };
      const current = await this.#findOne(inner, entity, resource.filter, {});
      if (current === undefined) throw this.#notFound(entity);
      await this.#checkPreconditions(inner, entity, current);
      const changes: Row = {};
      for (const [name, value] of Object.entries(data)) {
        if (entity.key.includes(name)) {
          if (String(value) === String(current[name])) continue;
          throw httpError("INVALID_ARGUMENT", `The key ${name} cannot be changed`, {
            target: name,
          });
        }
        changes[name] = value;
      }
      if (replace) {
        for (const field of entity.fieldList) {
          if (field.primaryKey || field.name in changes) continue;
          const fallback = field.definition.defaultValue;
          changes[field.name] = fallback === undefined
            ? null
            : typeof fallback === "function"
            ? fallback()
            : fallback;
        }
      }
      const key = Object.fromEntries(entity.key.map((name) => [name, current[name]]));
      await this.options.hooks?.[entity.name]?.beforeWrite?.({
        request: call.request,
        entity: entity.name,
        operation: replace ? "replace" : "update",
        data: changes,
        key,
      });
      const keyFilter = keyFilterOf(entity, current);
      if (Object.keys(changes).length > 0) {
        await scope.getEntity(entity.name).runUpdate(keyFilter, changes);
      }
      return await this.#findOne(inner, entity, keyFilter, {}) ?? current;
    });
    const headers = this.#headers(style, v401);
    const etag = etagOf(entity, updated);
    if (etag !== undefined) headers.set("etag", etag);
    if (prefs.return === "representation") {
      headers.set("preference-applied", "return=representation");
      const context = style.metadata === "none"
        ? ""
        : `"${annotation(style, "context")}":${
          JSON.stringify(contextUrl(style, `${entity.name}/$entity`))
        }`;
      return this.#respond(
        call,
        200,
        writeEntity(entity, updated, { expand: new Map() }, style, context),
        headers,
      );
    }
    if (prefs.return === "minimal") headers.set("preference-applied", "return=minimal");
    headers.delete("content-type");
    return this.#respond(call, 204, null, headers);
  }

  async #delete(
    call: Call,
    resource: Extract<Resource, { kind: "entity" }>,
    v401: boolean,
  ): Promise<Response> {
    const entity = resource.entity;
    if (resource.none) throw this.#notFound(entity);
    await this.#atomically(call, false, async (scope) => {
      const inner = { ...call, scope };
      const current = await this.#findOne(inner, entity, resource.filter, {});
      if (current === undefined) throw this.#notFound(entity);
      await this.#checkPreconditions(inner, entity, current);
      const key = Object.fromEntries(entity.key.map((name) => [name, current[name]]));
      await this.options.hooks?.[entity.name]?.beforeWrite?.({
        request: call.request,
        entity: entity.name,
        operation: "delete",
        key,
      });
      await scope.getEntity(entity.name).runDelete(keyFilterOf(entity, current));
    });
    return this.#respond(call, 204, null, this.#headers(undefined, v401));
  }
}

function keyFilterOf(entity: EntityMetadata, row: Row): Expression {
  const parts = entity.key.map((name): Expression => ({
    kind: "Binary",
    operator: "eq",
    left: { kind: "Path", root: "implicit", segments: [{ kind: "Property", name }] },
    right: literalOf(entity.fields.get(name)!, row[name]),
  }));
  return parts.reduce((left, right) => ({ kind: "Binary", operator: "and", left, right }));
}

function and2(a: Expression | undefined, b: Expression | undefined): Expression | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return { kind: "Binary", operator: "and", left: a, right: b };
}

function and3(
  a: Expression | undefined,
  b: Expression | undefined,
  c: Expression | undefined,
): Expression | undefined {
  return and2(and2(a, b), c);
}

/** `$format` of a URL, read without parsing the whole query (service document, metadata). */
function formatOf(url: URL): string | undefined {
  for (const [name, value] of url.searchParams) {
    const lower = name.toLowerCase();
    if (lower === "$format" || lower === "format") return value;
  }
  return undefined;
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
