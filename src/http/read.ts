/**
 * The read side of the endpoint: the service document, `$metadata`, entity sets (with
 * server-driven paging), single entities and properties.
 *
 * @module
 */

import type { ODataQuery } from "../odata/ast.ts";
import { httpError } from "./errors.ts";
import { etagMatches, etagOf } from "./etag.ts";
import {
  annotation,
  compileWriter,
  contextSelect,
  contextUrl,
  entityPath,
  shapeOf,
  writeEntity,
  writeValue,
} from "./json.ts";
import { metadataJson, metadataXml } from "./metadata.ts";
import { negotiate, preferences } from "./negotiate.ts";
import { afterFilter, decodeToken, keyToken, offsetToken, totalOrder } from "./paging.ts";
import { and2, and3, type Resource } from "./resource.ts";
import type { ReadRequest } from "../provider/provider.ts";
import type { Call, ODataService } from "./handler.ts";
import { selectProperty, selectStepText } from "../odata/select_path.ts";

/** `$format` of a URL, read without parsing the whole query (service document, metadata). */
function formatOf(url: URL): string | undefined {
  for (const [name, value] of url.searchParams) {
    const lower = name.toLowerCase();
    if (lower === "$format" || lower === "format") return value;
  }
  return undefined;
}

export function serviceDocument(
  service: ODataService,
  call: Call,
  v401: boolean,
): Response {
  const negotiated = negotiate(formatOf(call.url), call.request.headers.get("accept"), false);
  const style = service.style(call, negotiated, v401);
  const sets = service.namespace.getEntityMetadata().map((entity) => ({
    name: entity.name,
    kind: "EntitySet",
    url: entity.name,
  }));
  const body: Record<string, unknown> = {};
  if (style.metadata !== "none") {
    body[annotation(style, "context")] = `${style.serviceRoot}$metadata`;
  }
  body.value = sets;
  return service.respond(call, 200, JSON.stringify(body), service.headers(style, v401));
}

export function metadataDocument(
  service: ODataService,
  call: Call,
  v401: boolean,
): Response {
  const negotiated = negotiate(formatOf(call.url), call.request.headers.get("accept"), true);
  const entities = service.namespace.getEntityMetadata();
  if (negotiated.kind === "xml") {
    service.metadataCache.xml ??= metadataXml(entities, service.namespace.schema, service.names);
    return service.respond(
      call,
      200,
      service.metadataCache.xml,
      service.headers(undefined, v401, "application/xml"),
    );
  }
  service.metadataCache.json ??= JSON.stringify(
    metadataJson(entities, service.namespace.schema, service.names),
  );
  return service.respond(
    call,
    200,
    service.metadataCache.json,
    service.headers(undefined, v401, "application/json"),
  );
}

export async function readCollection(
  service: ODataService,
  call: Call,
  resource: Extract<Resource, { kind: "collection" }>,
  v401: boolean,
): Promise<Response> {
  const asked = service.query(call, resource);
  const { query: parsed, raw } = asked instanceof Promise ? await asked : asked;
  const entity = resource.entity;
  const prefs = preferences(call.request.headers.get("prefer"));
  const operations = await service.operations(call);
  const hooked = service.hookFilter(call, entity, parsed);
  const extra = hooked instanceof Promise ? await hooked : hooked;
  const baseFilter = and3(resource.filter, extra, parsed.filter);
  if (resource.count) {
    const count = await operations.count({
      entity,
      schema: service.namespace.schema,
      query: { filter: baseFilter, search: parsed.search },
    });
    const headers = service.headers(undefined, v401, "text/plain");
    return service.respond(call, 200, String(count), headers);
  }
  const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
  const style = service.style(call, negotiated, v401);
  const expanded = service.hookExpand(call, entity, parsed);
  const query = expanded instanceof Promise ? await expanded : expanded;
  const pageSize = Math.min(prefs.maxPageSize ?? service.maxPageSize, service.maxPageSize);
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
      const names = new Set(query.select!.map((item) => selectStepText(item.segments[0]!)));
      const extraSelect = order.map(({ field }) => field.name).filter((name) => !names.has(name));
      if (extraSelect.length > 0) {
        request.select = [...query.select!, ...extraSelect.map(selectProperty)];
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
  const readRequest: ReadRequest = { entity, schema: service.namespace.schema, query: request };
  const result = await operations.read(readRequest);
  let rows = result.rows;
  let count = result.count;
  if (separateCount) {
    count = await operations.count({
      entity,
      schema: service.namespace.schema,
      query: { filter: baseFilter, search: query.search },
    });
  }
  let nextLink: string | undefined;
  if (paged && rows.length > pageSize) {
    rows = rows.slice(0, pageSize);
    const nextToken = order !== undefined
      ? keyToken(order, rows[rows.length - 1]!)
      : offsetToken((request.skip ?? 0) + pageSize);
    nextLink = nextLinkOf(
      call,
      raw,
      top === undefined ? undefined : top - pageSize,
      nextToken,
    );
  }
  const headers = service.headers(style, v401);
  if (prefs.maxPageSize !== undefined) {
    headers["preference-applied"] = `odata.maxpagesize=${pageSize}`;
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
  const write = compileWriter(entity, shape, style);
  for (let i = 0; i < rows.length; i++) {
    if (i > 0) value += ",";
    value += write(rows[i]!);
  }
  add("value", value + "]");
  if (nextLink !== undefined) add(annotation(style, "nextLink"), JSON.stringify(nextLink));
  return service.respond(call, 200, out + "}", headers);
}

/** The next link: the request's own options but `$skip`/`$top`/`$skiptoken`, plus the token. */
function nextLinkOf(
  call: Call,
  raw: string,
  top: number | undefined,
  token: string,
): string {
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

export async function readEntity(
  service: ODataService,
  call: Call,
  resource: Extract<Resource, { kind: "entity" }>,
  v401: boolean,
): Promise<Response> {
  const asked = service.query(call, resource);
  const { query: parsed } = asked instanceof Promise ? await asked : asked;
  const entity = resource.entity;
  const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
  const style = service.style(call, negotiated, v401);
  if (resource.none) return service.respond(call, 204, null, service.headers(undefined, v401));
  const expanded = service.hookExpand(call, entity, {
    select: parsed.select,
    expand: parsed.expand,
  });
  const query = expanded instanceof Promise ? await expanded : expanded;
  const row = await service.findOne(call, entity, resource.filter, query);
  if (row === undefined) throw service.notFound(entity);
  const shape = shapeOf(query);
  const etag = shape.selected === undefined ? etagOf(entity, row) : undefined;
  const headers = service.headers(style, v401);
  if (etag !== undefined) headers.etag = etag;
  const ifNoneMatch = call.request.headers.get("if-none-match");
  if (
    ifNoneMatch !== null &&
    etagMatches(
      ifNoneMatch,
      etag ?? etagOf(entity, await service.findOne(call, entity, resource.filter, {}) ?? {}),
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
      etag ?? etagOf(entity, await service.findOne(call, entity, resource.filter, {}) ?? {}),
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
  return service.respond(call, 200, writeEntity(entity, row, shape, style, context, etag), headers);
}

export async function readProperty(
  service: ODataService,
  call: Call,
  resource: Extract<Resource, { kind: "property" }>,
  v401: boolean,
): Promise<Response> {
  const asked = service.query(call, resource);
  const { query: parsed } = asked instanceof Promise ? await asked : asked;
  const { entity, field } = resource;
  const row = await service.findOne(call, entity, resource.filter, {});
  if (row === undefined) throw service.notFound(entity);
  const value = row[field.name];
  if (resource.value) {
    if (value === null || value === undefined) {
      return service.respond(call, 204, null, service.headers(undefined, v401));
    }
    if (field.type === "binary") {
      const headers = service.headers(undefined, v401, "application/octet-stream");
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
    return service.respond(
      call,
      200,
      text,
      service.headers(undefined, v401, "text/plain;charset=utf-8"),
    );
  }
  const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
  const style = service.style(call, negotiated, v401);
  if (value === null || value === undefined) {
    return service.respond(call, 204, null, service.headers(undefined, v401));
  }
  const path = entityPath(entity, row) ?? entity.name;
  let out = "{";
  if (style.metadata !== "none") {
    out += `"${annotation(style, "context")}":${
      JSON.stringify(contextUrl(style, `${path}/${field.name}`))
    },`;
  }
  out += `"value":${writeValue(field, value, style)}}`;
  return service.respond(call, 200, out, service.headers(style, v401));
}
