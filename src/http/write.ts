/**
 * The write side of the endpoint: create (with deep insert and `@odata.bind`), update, replace
 * and delete, with ETag preconditions and the `beforeWrite` hooks.
 *
 * @module
 */

import type { EntityMetadata } from "../model/schema.ts";
import type { Row } from "../provider/provider.ts";
import { httpError } from "./errors.ts";
import { etagMatches, etagOf, versionField } from "./etag.ts";
import { annotation, contextUrl, entityPath, type EntityShape, writeEntity } from "./json.ts";
import { negotiate, preferences } from "./negotiate.ts";
import { parseResourcePath } from "./path.ts";
import { keyFilterOf, resolveResource, type Resource } from "./resource.ts";
import type { Call, ODataService, Scope } from "./handler.ts";

/** Strips control information and splits nested (deep insert) values from fields. */
function splitBody(
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
async function bindValues(
  service: ODataService,
  call: Call,
  url: string,
): Promise<{ entity: EntityMetadata; row: Row }> {
  let relative = url;
  const root = service.serviceRoot(call.url);
  if (relative.startsWith(root)) relative = relative.slice(root.length);
  else if (relative.startsWith(service.basePath)) {
    relative = relative.slice(service.basePath.length);
  }
  const resource = await resolveResource(
    parseResourcePath(relative),
    (
      name,
    ) => (service.namespace.hasEntity(name)
      ? service.namespace.getEntity(name).metadata
      : undefined),
    service.namespace.schema,
    (entity, filter, fields) => service.readParent(call, entity, filter, fields),
  );
  if (resource.kind !== "entity" || resource.none) {
    throw httpError("INVALID_ARGUMENT", `@odata.bind ${url} does not address one entity`, {
      target: "@odata.bind",
    });
  }
  const row = await service.findOne(call, resource.entity, resource.filter, {});
  if (row === undefined) {
    throw httpError("NOT_FOUND", `@odata.bind ${url}: no such entity`, { target: "@odata.bind" });
  }
  return { entity: resource.entity, row };
}

/** Inserts an entity with its nested (deep insert) entities; returns the stored row with them. */
async function insertDeep(
  service: ODataService,
  call: Call,
  scope: Scope,
  entity: EntityMetadata,
  body: Record<string, unknown>,
  fixed: Row | undefined,
): Promise<Row> {
  const { data, nested, binds } = splitBody(entity, body);
  Object.assign(data, fixed ?? {});
  await service.options.hooks?.[entity.name]?.beforeWrite?.({
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
    const { row } = await bindValues(service, { ...call, scope }, url);
    const target = service.namespace.schema.getEntityMetadata(relation.target)!;
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
    const target = service.namespace.schema.getEntityMetadata(relation.target)!;
    const child = await insertDeep(
      service,
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
    const target = service.namespace.schema.getEntityMetadata(relation.target)!;
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
        await insertDeep(service, call, scope, target, item as Record<string, unknown>, link),
      );
    }
    created[name] = children;
  }
  return { ...stored, ...created };
}

export async function create(
  service: ODataService,
  call: Call,
  resource: Extract<Resource, { kind: "collection" }>,
  v401: boolean,
): Promise<Response> {
  const { query: parsed } = await service.query(call, resource);
  const entity = resource.entity;
  const prefs = preferences(call.request.headers.get("prefer"));
  const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
  const style = service.style(call, negotiated, v401);
  const body = await service.jsonBody(call);
  const deep = Object.keys(body).some((name) => entity.relations.has(name));
  const inserted = await service.atomically(
    call,
    deep,
    (scope) => insertDeep(service, call, scope, entity, body, resource.linkValues),
  );
  // Read back: the row as stored (defaults, generated values), which the ETag is made of.
  const stored = {
    ...inserted,
    ...await service.findOne(
      { ...call, scope: call.scope },
      entity,
      keyFilterOf(entity, inserted),
      {},
    ),
  };
  const path = entityPath(entity, stored)!;
  const location = service.serviceRoot(call.url) + path;
  const headers = service.headers(style, v401);
  headers.location = location;
  const etag = etagOf(entity, stored);
  if (etag !== undefined) headers.etag = etag;
  if (prefs.return === "minimal") {
    headers["odata-entityid"] = location;
    headers["preference-applied"] = "return=minimal";
    delete headers["content-type"];
    return service.respond(call, 204, null, headers);
  }
  if (prefs.return === "representation") {
    headers["preference-applied"] = "return=representation";
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
  return service.respond(call, 201, writeEntity(entity, stored, shape, style, context), headers);
}

/** Checks `If-Match` / `If-None-Match` for a write against the current row. */
async function checkPreconditions(
  service: ODataService,
  call: Call,
  entity: EntityMetadata,
  current: Row,
): Promise<void> {
  const ifMatch = call.request.headers.get("if-match");
  const ifNoneMatch = call.request.headers.get("if-none-match");
  if (ifMatch === null && service.requiresIfMatch(entity)) {
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

/**
 * The version field a write must be pinned to: when the entity has one and `If-Match` names a
 * tag (not `*`). The check above read the row first; a write from another replica may commit
 * between that read and this write (PostgreSQL's READ COMMITTED), so the write itself must
 * still require the version that was checked, or it would overwrite the other one.
 */
function pinnedVersion(call: Call, entity: EntityMetadata): string | undefined {
  const ifMatch = call.request.headers.get("if-match");
  if (ifMatch === null || ifMatch.split(",").some((tag) => tag.trim() === "*")) return undefined;
  return versionField(entity)?.name;
}

function changedMeanwhile(entity: EntityMetadata): Error {
  return httpError(
    "PRECONDITION_FAILED",
    `The ${entity.name} changed: If-Match does not match`,
    { target: entity.name },
  );
}

export async function update(
  service: ODataService,
  call: Call,
  resource: Extract<Resource, { kind: "entity" }>,
  replace: boolean,
  v401: boolean,
): Promise<Response> {
  const { query: parsed } = await service.query(call, resource);
  const entity = resource.entity;
  const prefs = preferences(call.request.headers.get("prefer"));
  const negotiated = negotiate(parsed.format, call.request.headers.get("accept"), false);
  const style = service.style(call, negotiated, v401);
  if (resource.none) throw service.notFound(entity);
  const body = await service.jsonBody(call);
  const { data, nested } = splitBody(entity, body);
  if (nested.size > 0) {
    throw httpError("NOT_SUPPORTED", "Deep update (nested entities in PATCH/PUT)", {
      target: [...nested.keys()][0],
    });
  }
  const updated = await service.atomically(call, false, async (scope) => {
    const inner = { ...call, scope };
    const current = await service.findOne(inner, entity, resource.filter, {});
    if (current === undefined) throw service.notFound(entity);
    await checkPreconditions(service, inner, entity, current);
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
        if (field.primaryKey || field.name in changes || versionField(entity) === field) continue;
        const fallback = field.definition.defaultValue;
        changes[field.name] = fallback === undefined
          ? null
          : typeof fallback === "function"
          ? fallback()
          : fallback;
      }
    }
    const key = Object.fromEntries(entity.key.map((name) => [name, current[name]]));
    await service.options.hooks?.[entity.name]?.beforeWrite?.({
      request: call.request,
      entity: entity.name,
      operation: replace ? "replace" : "update",
      data: changes,
      key,
    });
    const keyFilter = keyFilterOf(entity, current);
    if (Object.keys(changes).length > 0) {
      const pinned = pinnedVersion(call, entity);
      // With the version among the changes, only a row still at it is written (one further).
      if (pinned !== undefined && !(pinned in changes)) changes[pinned] = current[pinned];
      const written = await scope.getEntity(entity.name).runUpdate(keyFilter, changes);
      // A version among the changes (pinned, or a stale one in the body) writes nothing when
      // the row moved on: that is a conflict, never a silent 204.
      const version = versionField(entity)?.name;
      if (written === 0 && version !== undefined && version in changes) {
        throw changedMeanwhile(entity);
      }
    }
    return await service.findOne(inner, entity, keyFilter, {}) ?? current;
  });
  const headers = service.headers(style, v401);
  const etag = etagOf(entity, updated);
  if (etag !== undefined) headers.etag = etag;
  if (prefs.return === "representation") {
    headers["preference-applied"] = "return=representation";
    const context = style.metadata === "none"
      ? ""
      : `"${annotation(style, "context")}":${
        JSON.stringify(contextUrl(style, `${entity.name}/$entity`))
      }`;
    return service.respond(
      call,
      200,
      writeEntity(entity, updated, { expand: new Map() }, style, context),
      headers,
    );
  }
  if (prefs.return === "minimal") headers["preference-applied"] = "return=minimal";
  delete headers["content-type"];
  return service.respond(call, 204, null, headers);
}

export async function remove(
  service: ODataService,
  call: Call,
  resource: Extract<Resource, { kind: "entity" }>,
  v401: boolean,
): Promise<Response> {
  const entity = resource.entity;
  if (resource.none) throw service.notFound(entity);
  await service.atomically(call, false, async (scope) => {
    const inner = { ...call, scope };
    const current = await service.findOne(inner, entity, resource.filter, {});
    if (current === undefined) throw service.notFound(entity);
    await checkPreconditions(service, inner, entity, current);
    const key = Object.fromEntries(entity.key.map((name) => [name, current[name]]));
    await service.options.hooks?.[entity.name]?.beforeWrite?.({
      request: call.request,
      entity: entity.name,
      operation: "delete",
      key,
    });
    const pinned = pinnedVersion(call, entity);
    const filter = keyFilterOf(
      entity,
      current,
      pinned === undefined ? entity.key : [...entity.key, pinned],
    );
    const deleted = await scope.getEntity(entity.name).runDelete(filter);
    if (deleted === 0 && pinned !== undefined) throw changedMeanwhile(entity);
  });
  return service.respond(call, 204, null, service.headers(undefined, v401));
}
