/**
 * The HTTP OData provider's own behaviour, over real loopback sockets: options (headers, token,
 * timeout, concurrency, keep-alive, injected fetch), error mapping, paging economy, streams,
 * introspection from CSDL XML and JSON, drift warnings, and the registry. The service is this
 * module's endpoint over the SQLite Northwind, behind a small `Deno.serve` front that records
 * requests and can answer in its place.
 */

import assert from "node:assert/strict";
import {
  createODataHandler,
  createProvider,
  type EntityNamespace,
  EntityNamespaceManager,
  expandedCount,
  ODataActiveRecordError,
  providerTypes,
} from "../../../mod.ts";
import { NORTHWIND_ENTITIES } from "../../../examples/northwind/schema.ts";
import {
  definitionsFromCsdl,
  parseCsdlJson,
  parseCsdlXml,
} from "../../../providers/http-odata/metadata.ts";
import { HttpODataProvider } from "../../../providers/http-odata/mod.ts";
import { openNorthwind } from "../../fixtures/northwind.ts";

type Front = (request: Request, endpoint: (r: Request) => Promise<Response>) => Promise<Response>;

interface Service extends AsyncDisposable {
  readonly baseUrl: string;
  /** Every request that reached the front, in order. */
  readonly seen: Request[];
  readonly backing: EntityNamespace;
  close(): Promise<void>;
}

/** The endpoint over a fresh in-memory Northwind, paging at `maxPageSize`, behind `front`. */
async function serve(
  front?: Front,
  maxPageSize = 100,
  requireIfMatch?: readonly string[],
): Promise<Service> {
  const backing = await openNorthwind({ memory: true });
  const endpoint = createODataHandler(backing.namespace, {
    basePath: "/odata/nw/",
    maxPageSize,
    requireIfMatch,
  });
  const seen: Request[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (request) => {
    seen.push(request.clone());
    return front ? front(request, endpoint) : endpoint(request);
  });
  const close = async () => {
    await server.shutdown();
    await backing.close();
  };
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/odata/nw/`,
    seen,
    backing: backing.namespace,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function remoteNamespace(
  manager: EntityNamespaceManager,
  baseUrl: string,
  extra: Record<string, unknown> = {},
): EntityNamespace {
  const namespace = manager.createNamespace(`r${manager.getAllNamespaces().length}`, {
    provider: { type: "http-odata", baseUrl, ...extra },
  });
  for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
    namespace.registerEntity(name, definition);
  }
  return namespace;
}

async function codeOf(promise: Promise<unknown>): Promise<ODataActiveRecordError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ODataActiveRecordError, `not a module error: ${error}`);
    return error;
  }
  assert.fail("expected an error");
}

Deno.test("registry loads the provider through its dynamic import", async () => {
  assert.ok(providerTypes().includes("http-odata"));
  const provider = await createProvider({ type: "http-odata", baseUrl: "http://127.0.0.1:1/x" });
  assert.ok(provider instanceof HttpODataProvider);
  assert.equal(provider.type, "http-odata");
  await provider.close();
  const closed = await codeOf(provider.connect());
  assert.equal(closed.code, "CLOSED");
});

Deno.test("bad configs are INVALID_CONFIGURATION", async () => {
  for (
    const config of [
      { baseUrl: "" },
      { baseUrl: "not a url" },
      { baseUrl: "ftp://host/" },
      { baseUrl: "http://h/", timeoutMs: 0 },
      { baseUrl: "http://h/", concurrency: 1.5 },
      { baseUrl: "http://h/", pageSize: -1 },
      { baseUrl: "http://h/", etagCacheSize: -1 },
      { baseUrl: "http://h/", fetch: "fetch" },
    ]
  ) {
    const error = await codeOf(createProvider({ type: "http-odata", ...config } as never));
    assert.equal(error.code, "INVALID_CONFIGURATION", JSON.stringify(config));
  }
});

Deno.test("static headers, async authorization and OData headers reach the service", async () => {
  await using service = await serve();
  await using manager = new EntityNamespaceManager();
  let asked = 0;
  const ns = remoteNamespace(manager, service.baseUrl, {
    timeoutMs: 60_000, // a deadline that does not pass leaves no timer behind (sanitizers)
    headers: { "X-Tenant": "acme" },
    authorization: async () => {
      await Promise.resolve();
      asked++;
      return `Bearer token-${asked}`;
    },
  });
  assert.equal(await ns.getEntity("Products").count(), 77);
  await ns.getEntity("Products").findById(1);
  assert.equal(service.seen.length, 2);
  assert.equal(service.seen[0]!.headers.get("x-tenant"), "acme");
  assert.equal(service.seen[0]!.headers.get("authorization"), "Bearer token-1");
  assert.equal(service.seen[1]!.headers.get("authorization"), "Bearer token-2");
  assert.equal(service.seen[1]!.headers.get("odata-maxversion"), "4.01");
  assert.match(service.seen[1]!.headers.get("accept")!, /^application\/json/);
  assert.equal(new URL(service.seen[1]!.url).pathname, "/odata/nw/Products(1)");
  await ns.ping(); // the service document
  assert.equal(new URL(service.seen[2]!.url).pathname, "/odata/nw/");
});

Deno.test("a create answered 204 reads the stored row from Location", async () => {
  await using service = await serve(async (request, endpoint) => {
    const response = await endpoint(request);
    if (request.method !== "POST") return response;
    await response.body?.cancel();
    return new Response(null, {
      status: 204,
      headers: { location: response.headers.get("location")! },
    });
  });
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  const created = await ns.getEntity("Shippers").create({ ShipperID: 70, CompanyName: "Seventy" });
  assert.equal(created.get("CompanyName"), "Seventy");
  assert.equal(created.get("Phone"), null); // the stored row, not the given values
  assert.deepEqual(service.seen.map((r) => r.method), ["POST", "GET"]);
});

Deno.test("an injected fetch is used, and keepAlive: false asks to close connections", async () => {
  await using service = await serve();
  await using manager = new EntityNamespaceManager();
  const urls: string[] = [];
  const ns = remoteNamespace(manager, service.baseUrl, {
    keepAlive: false,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      urls.push(String(input));
      return fetch(input, init);
    },
  });
  await ns.getEntity("Shippers").count();
  assert.deepEqual(urls, [`${service.baseUrl}Shippers/$count`]);
  assert.equal(service.seen[0]!.headers.get("connection"), "close");
});

Deno.test("a request past timeoutMs is a TIMEOUT error", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await using service = await serve(async (request, endpoint) => {
    await held; // never answers in time
    return endpoint(request);
  });
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl, { timeoutMs: 50 });
  const error = await codeOf(ns.getEntity("Products").count());
  release();
  assert.equal(error.code, "TIMEOUT");
  assert.match(error.message, /Products\/\$count/);
});

Deno.test("the caller's AbortSignal cancels a request (ABORTED)", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  await using service = await serve(async (request, endpoint) => {
    arrived();
    await held;
    return endpoint(request);
  });
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  const controller = new AbortController();
  const pending = codeOf(ns.getEntity("Products").find({ signal: controller.signal }));
  await arrival;
  controller.abort();
  const error = await pending;
  release();
  assert.equal(error.code, "ABORTED");
});

Deno.test("concurrency limits the requests in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const waiting: (() => void)[] = [];
  await using service = await serve(async (request, endpoint) => {
    inFlight++;
    most = Math.max(most, inFlight);
    // Hold each request until a second one is in flight: only a limit of 2 lets all finish.
    if (inFlight < 2) await new Promise<void>((resolve) => waiting.push(resolve));
    else for (const resolve of waiting.splice(0)) resolve();
    inFlight--;
    return endpoint(request);
  });
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl, { concurrency: 2 });
  const counts = await Promise.all(
    [1, 2, 3, 4].map((id) => ns.getEntity("Products").where("CategoryID", id).count()),
  );
  assert.deepEqual(counts, [12, 12, 13, 10]);
  assert.equal(most, 2);
});

Deno.test("OData error bodies become coded errors with the remote message kept", async () => {
  await using service = await serve(async (request, endpoint) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/Customers/$count")) {
      return Response.json(
        { error: { code: "Quota", message: "Tenant quota exhausted", target: "Customers" } },
        { status: 403 },
      );
    }
    for (const status of [502, 503, 504]) {
      if (path.endsWith(`/Status${status}`)) return new Response("gateway says no", { status });
    }
    return await endpoint(request);
  });
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);

  const quota = await codeOf(ns.getEntity("Customers").count());
  assert.equal(quota.code, "PROVIDER_ERROR");
  assert.match(quota.message, /Tenant quota exhausted/);
  assert.deepEqual((quota.context.remote as Record<string, unknown>).target, "Customers");
  assert.equal(quota.context.status, 403);

  for (const status of [502, 503, 504]) {
    ns.registerEntity(`Status${status}`, { fields: { id: { type: "integer", primaryKey: true } } });
    const error = await codeOf(ns.getEntity(`Status${status}`).find());
    assert.equal(error.code, "PROVIDER_UNAVAILABLE", String(status));
    assert.equal(error.context.retryable, true);
    assert.match(error.message, /gateway says no/);
  }
});

Deno.test("the endpoint's own error codes come through", async () => {
  await using service = await serve();
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  // An entity the remote service does not have.
  ns.registerEntity("Planets", { fields: { id: { type: "integer", primaryKey: true } } });
  const unknown = await codeOf(ns.getEntity("Planets").find());
  assert.equal(unknown.code, "UNKNOWN_ENTITY");
  assert.equal(unknown.context.status, 404);
  const unknownKey = await codeOf(ns.getEntity("Planets").findById(1));
  assert.equal(unknownKey.code, "UNKNOWN_ENTITY");
  assert.equal(await ns.getEntity("Products").findById(999), undefined);
  // A duplicate key.
  const duplicate = await codeOf(
    ns.getEntity("Shippers").create({ ShipperID: 1, CompanyName: "x" }),
  );
  assert.equal(duplicate.code, "CONSTRAINT_UNIQUE");
  assert.equal(duplicate.context.status, 409);
});

Deno.test("a service that does not answer is PROVIDER_UNAVAILABLE", async () => {
  // A port that was free a moment ago and has nobody listening now.
  const probe = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response(),
  );
  const port = probe.addr.port;
  await probe.shutdown();
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, `http://127.0.0.1:${port}/odata/`);
  const error = await codeOf(ns.getEntity("Products").count());
  assert.equal(error.code, "PROVIDER_UNAVAILABLE");
  assert.equal(error.context.retryable, true);
  const ping = await codeOf(ns.ping());
  assert.equal(ping.code, "PROVIDER_UNAVAILABLE");
});

Deno.test("reads follow next links only as far as $top needs; streams hold one page", async () => {
  await using service = await serve(undefined, 100);
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  const Details = ns.getEntity("Order_Details");

  const top = await Details.orderBy("OrderID").orderBy("ProductID").limit(250).find();
  assert.equal(top.data.length, 250);
  assert.equal(service.seen.length, 3); // 100 + 100 + 50: no fourth page asked for
  assert.equal(service.seen.filter((r) => r.url.includes("skiptoken")).length, 2);

  service.seen.length = 0;
  let n = 0;
  for await (const _ of Details.stream()) {
    if (++n === 5) break;
  }
  assert.equal(service.seen.length, 1); // the consumer stopped in page 1

  service.seen.length = 0;
  n = 0;
  for await (const _ of Details.stream()) n++;
  assert.equal(n, 2155);
  assert.equal(service.seen.length, 22);

  service.seen.length = 0;
  const withCount = await Details.where("Quantity", "gt", 50).withCount().find();
  assert.equal(withCount.count, withCount.data.length);
  assert.ok(service.seen.length > 1);
});

Deno.test("counts of expanded collections come through; $ref in $expand is refused", async () => {
  await using service = await serve();
  await using manager = new EntityNamespaceManager();
  const Orders = remoteNamespace(manager, service.baseUrl).getEntity("Orders");
  const { data } = await Orders.query(
    "$filter=OrderID le 10249&$orderby=OrderID&$select=OrderID&$expand=Order_Details($count=true;$top=1),Customer",
  ).find();
  assert.deepEqual(data.map((o) => expandedCount(o, "Order_Details")), [3, 2]);
  assert.deepEqual(data.map((o) => (o.toJSON() as Record<string, unknown>).Order_Details), [
    [{ OrderID: 10248, ProductID: 11, UnitPrice: "14.0000", Quantity: 12, Discount: 0 }],
    [{ OrderID: 10249, ProductID: 14, UnitPrice: "18.6000", Quantity: 9, Discount: 0 }],
  ]);
  const counted = await Orders.query(
    "$filter=OrderID eq 10248&$select=OrderID&$expand=Order_Details/$count($filter=Quantity gt 10)",
  ).find();
  assert.equal(expandedCount(counted.data[0]!, "Order_Details"), 1);
  const refused = await codeOf(Orders.query("$expand=Order_Details/$ref").find());
  assert.equal(refused.code, "NOT_SUPPORTED");
});

Deno.test("pageSize asks for smaller pages with Prefer: odata.maxpagesize", async () => {
  await using service = await serve(undefined, 1000);
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl, { pageSize: 30 });
  const { data } = await ns.getEntity("Products").orderBy("ProductID").find();
  assert.equal(data.length, 77);
  assert.equal(service.seen.length, 3);
  assert.equal(service.seen[0]!.headers.get("prefer"), "odata.maxpagesize=30");
});

Deno.test("introspection reads CSDL XML and CSDL JSON to the same definitions", async () => {
  await using service = await serve();
  const xml = await (await fetch(`${service.baseUrl}$metadata`)).text();
  const json = await (await fetch(`${service.baseUrl}$metadata?$format=json`)).json();
  const fromXml = definitionsFromCsdl(await parseCsdlXml(xml));
  const fromJson = definitionsFromCsdl(parseCsdlJson(json));
  assert.deepEqual(fromJson, fromXml);
  assert.deepEqual(Object.keys(fromXml.entities).sort(), Object.keys(NORTHWIND_ENTITIES).sort());
  const products = fromXml.entities.Products!;
  assert.deepEqual(products.key, ["ProductID"]);
  assert.deepEqual(products.fields.UnitPrice, {
    type: "decimal",
    nullable: true,
    precision: 19,
    scale: 4,
  });
  assert.equal(products.fields.ProductName?.required, true);
  assert.equal(products.fields.ProductName?.maxLength, 40);
  assert.deepEqual(products.relations?.Category, {
    type: "one",
    entity: "Categories",
    foreignKey: ["CategoryID"],
    references: ["CategoryID"],
  });
  assert.deepEqual(fromXml.entities.Customers?.relations?.Orders, {
    type: "many",
    entity: "Orders",
    foreignKey: ["CustomerID"],
    references: ["CustomerID"],
  });
  assert.deepEqual(fromXml.entities.Order_Details?.key, ["OrderID", "ProductID"]);
});

Deno.test("registerFromMetadata registers the rest and reports drift of hand-registered ones", async () => {
  await using service = await serve();
  await using manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("drift", {
    provider: { type: "http-odata", baseUrl: service.baseUrl },
  });
  ns.registerEntity("Shippers", {
    fields: {
      ShipperID: { type: "integer", primaryKey: true },
      CompanyName: { type: "integer" }, // remotely a string
      Email: { type: "string" }, // remotely absent
    },
  });
  const report = await ns.registerFromMetadata();
  assert.ok(!report.registered.includes("Shippers"));
  assert.ok(report.registered.includes("Products"));
  assert.deepEqual(
    report.warnings.map((w) => [w.entity, w.kind, w.column]).sort(),
    [
      ["Shippers", "extra-column", "Phone"],
      ["Shippers", "missing-column", "Email"],
      ["Shippers", "nullability-mismatch", "CompanyName"],
      ["Shippers", "type-mismatch", "CompanyName"],
    ],
  );
  const result = await ns.getEntity("Products").query(
    "$filter=UnitPrice gt 20&$top=5&$count=true",
  ).find();
  assert.equal(result.data.length, 5);
  assert.equal(result.count, 37);
  // sync() reports the same drift and creates nothing remotely.
  const sync = await ns.sync();
  assert.deepEqual(sync.createdTables, []);
  assert.equal(sync.warnings.filter((w) => w.entity === "Shippers").length, 4);
});

Deno.test("registerFromMetadata on a provider without introspection is NOT_SUPPORTED", async () => {
  await using manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("local", {
    provider: { type: "sqlite", filePath: ":memory:" },
  });
  const error = await codeOf(ns.registerFromMetadata());
  assert.equal(error.code, "NOT_SUPPORTED");
});

Deno.test("transactions need $batch: refused when turned off or when the service lacks it", async () => {
  await using service = await serve(async (request, endpoint) =>
    new URL(request.url).pathname.endsWith("/$batch")
      ? new Response("no batch here", { status: 404 })
      : await endpoint(request)
  );
  await using manager = new EntityNamespaceManager();
  const off = remoteNamespace(manager, service.baseUrl, { batch: false });
  const refused = await codeOf(off.transaction(() => Promise.resolve()));
  assert.equal(refused.code, "NOT_SUPPORTED");
  // Without batching, createMany writes row by row.
  await off.getEntity("Shippers").createMany([
    { ShipperID: 50, CompanyName: "A" },
    { ShipperID: 51, CompanyName: "B" },
  ]);
  assert.equal(await service.backing.getEntity("Shippers").where("ShipperID", "ge", 50).count(), 2);

  const missing = remoteNamespace(manager, service.baseUrl);
  const error = await codeOf(missing.transaction(async (tx) => {
    await tx.getEntity("Shippers").create({ ShipperID: 60, CompanyName: "C" });
  }));
  assert.equal(error.code, "NOT_SUPPORTED");
  assert.equal(await service.backing.getEntity("Shippers").where("ShipperID", 60).count(), 0);
});

Deno.test("ETags read are sent as If-Match; a mismatch is CONFLICT", async () => {
  await using service = await serve();
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  const shipper = await ns.getEntity("Shippers").findByIdOrFail(1);
  const read = service.seen.at(-1)!;
  assert.equal(read.method, "GET");
  // Someone else changes the row through the backing store: its ETag (a row hash) changes.
  await service.backing.getEntity("Shippers").updateById(1, { Phone: "(503) 555-0000" });
  shipper.set("Phone", "(503) 555-1111");
  const error = await codeOf(shipper.save());
  assert.equal(error.code, "CONFLICT");
  const patch = service.seen.at(-1)!;
  assert.equal(patch.method, "PATCH");
  assert.ok(patch.headers.get("if-match"));
  await shipper.reload();
  shipper.set("Phone", "(503) 555-1111");
  await shipper.save();
  assert.equal(
    (await service.backing.getEntity("Shippers").findByIdOrFail(1)).get("Phone"),
    "(503) 555-1111",
  );
});

Deno.test("fields renamed with column are refused (remote names are field names)", async () => {
  await using manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("renamed", {
    provider: { type: "http-odata", baseUrl: "http://127.0.0.1:1/" },
  });
  ns.registerEntity("Things", {
    fields: { id: { type: "integer", primaryKey: true }, name: { type: "string", column: "n" } },
  });
  const error = await codeOf(ns.getEntity("Things").find());
  assert.equal(error.code, "NOT_SUPPORTED");
});

Deno.test("a failing authorization callback and a looping next link are coded errors", async () => {
  await using service = await serve(async (request, endpoint) => {
    if (new URL(request.url).pathname.endsWith("/Loop")) {
      return Response.json({ value: [{ id: 1 }], "@odata.nextLink": request.url });
    }
    return await endpoint(request);
  });
  await using manager = new EntityNamespaceManager();
  const failing = remoteNamespace(manager, service.baseUrl, {
    authorization: () => {
      throw new Error("vault sealed");
    },
  });
  const auth = await codeOf(failing.getEntity("Products").count());
  assert.equal(auth.code, "PROVIDER_ERROR");
  assert.match(auth.message, /vault sealed/);
  assert.equal(service.seen.length, 0);

  const ns = remoteNamespace(manager, service.baseUrl);
  ns.registerEntity("Loop", { fields: { id: { type: "integer", primaryKey: true } } });
  const loop = await codeOf(ns.getEntity("Loop").find());
  assert.equal(loop.code, "PROVIDER_ERROR");
  assert.match(loop.message, /same page/);
});

Deno.test("multipart/mixed change sets: chosen, or fallen back to when JSON batch is refused", async () => {
  const batchTypes: string[] = [];
  await using service = await serve(async (request, endpoint) => {
    if (new URL(request.url).pathname.endsWith("/$batch")) {
      const type = request.headers.get("content-type") ?? "";
      batchTypes.push(type.split(";")[0]!);
      // A 4.0 service: JSON batch is not a format it reads.
      if (type.startsWith("application/json")) {
        return Response.json({ error: { code: "415", message: "JSON batch unsupported" } }, {
          status: 415,
        });
      }
    }
    return await endpoint(request);
  });
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  const Shippers = ns.getEntity("Shippers");
  const rows = await Shippers.createMany([
    { ShipperID: 80, CompanyName: "Eighty" },
    { ShipperID: 81, CompanyName: "Eighty-one" },
  ]);
  assert.deepEqual(rows.map((r) => r.get("CompanyName")), ["Eighty", "Eighty-one"]);
  assert.deepEqual(batchTypes, ["application/json", "multipart/mixed"]);

  // Atomic in multipart too: a duplicate undoes the whole change set.
  const duplicate = await codeOf(Shippers.createMany([
    { ShipperID: 82, CompanyName: "Eighty-two" },
    { ShipperID: 80, CompanyName: "again" },
  ]));
  assert.equal(duplicate.code, "CONSTRAINT_UNIQUE");
  assert.equal(await Shippers.where("ShipperID", 82).count(), 0);
  assert.deepEqual(batchTypes.slice(2), ["multipart/mixed"]); // remembered: no JSON try again

  await ns.transaction(async (tx) => {
    await tx.getEntity("Shippers").where("ShipperID", "ge", 80).update({ Phone: "555" });
    await tx.getEntity("Shippers").deleteById(81);
  });
  assert.deepEqual(
    (await Shippers.where("ShipperID", "ge", 80).find()).data.map((
      r,
    ) => [r.get("ShipperID"), r.get("Phone")]),
    [[80, "555"]],
  );

  const chosen = remoteNamespace(manager, service.baseUrl, { batchFormat: "multipart" });
  batchTypes.length = 0;
  await chosen.getEntity("Shippers").createMany([
    { ShipperID: 90, CompanyName: "Ninety" },
    { ShipperID: 91, CompanyName: "Ninety-one" },
  ]);
  assert.deepEqual(batchTypes, ["multipart/mixed"]);
});

Deno.test("registerFromMetadata reads a service that answers $metadata in CSDL JSON", async () => {
  await using service = await serve(async (request, endpoint) => {
    const url = new URL(request.url);
    if (url.pathname.endsWith("/$metadata")) {
      return await endpoint(new Request(`${url.origin}${url.pathname}?$format=json`));
    }
    return await endpoint(request);
  });
  await using manager = new EntityNamespaceManager();
  const ns = manager.createNamespace("json-metadata", {
    provider: { type: "http-odata", baseUrl: service.baseUrl },
  });
  const report = await ns.registerFromMetadata();
  assert.deepEqual([...report.registered].sort(), Object.keys(NORTHWIND_ENTITIES).sort());
  assert.match(service.seen[0]!.headers.get("accept")!, /application\/xml/);
  const order = await ns.getEntity("Orders").where("OrderID", 10248).expand("Order_Details")
    .findOne();
  assert.equal((order!.toJSON().Order_Details as unknown[]).length, 3);
});

Deno.test("inside a transaction, reads see its updates and deletes by key; counts too", async () => {
  await using service = await serve();
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  const phone2 = (await service.backing.getEntity("Shippers").findByIdOrFail(2)).get("Phone");
  const before = await service.backing.getEntity("Shippers").count();
  await ns.transaction(async (tx) => {
    const Shippers = tx.getEntity("Shippers");
    assert.equal(await Shippers.count(), before);
    assert.equal(await Shippers.where("ShipperID", 1).update({ Phone: "111" }), 1);
    assert.equal(await Shippers.deleteById(6), 1); // a shipper without orders
    assert.deepEqual(
      (await Shippers.where("ShipperID", "in", [1, 2, 6]).orderBy("ShipperID").find()).data.map((
        r,
      ) => [
        r.get("ShipperID"),
        r.get("Phone"),
      ]),
      [[1, "111"], [2, phone2]],
    );
    assert.equal(await Shippers.count(), before - 1);
    assert.equal(await Shippers.findById(6), undefined);
    // Nothing reached the service yet.
    assert.equal(await service.backing.getEntity("Shippers").count(), before);
    assert.ok(service.seen.every((r) => r.method === "GET"));
  });
  assert.equal(await service.backing.getEntity("Shippers").count(), before - 1);
  assert.equal((await service.backing.getEntity("Shippers").findByIdOrFail(1)).get("Phone"), "111");
  assert.equal(service.seen.filter((r) => r.method === "POST").length, 1); // one $batch
});

Deno.test("a service that requires If-Match: writes after reads carry the ETags read", async () => {
  await using service = await serve(undefined, 100, ["Shippers"]);
  await using manager = new EntityNamespaceManager();
  const ns = remoteNamespace(manager, service.baseUrl);
  const Shippers = ns.getEntity("Shippers");
  // A blind write has no ETag to send: the service asks for one.
  const blind = await codeOf(Shippers.updateById(1, { Phone: "1" }));
  assert.equal(blind.code, "PRECONDITION_REQUIRED");
  // Update by filter reads the keys (and their ETags) first, then writes in one change set.
  assert.equal(await Shippers.where("ShipperID", "le", 2).update({ Phone: "2" }), 2);
  // The ETags that came back with the writes serve the next ones.
  assert.equal(await Shippers.updateById(1, { Phone: "3" }), 1);
  const record = await Shippers.findByIdOrFail(2);
  record.set("Phone", "4");
  await record.save();
  assert.deepEqual(
    (await service.backing.getEntity("Shippers").where("ShipperID", "le", 2).orderBy("ShipperID")
      .find()).data.map((r) => r.get("Phone")),
    ["3", "4"],
  );
});
