// deno-lint-ignore-file no-console
/**
 * The HTTP OData provider's overhead over a bare `fetch` of the same URL (issue 8, target
 * ≤ 1.2×). For each query the provider's request URL is captured once; then, interleaved round by
 * round, the provider runs the query through the Active Record API (URL building, fetch, JSON,
 * canonical decoding, records) and a bare `fetch(url)` + `response.json()` asks for the same URL
 * with the same headers.
 *
 * Two servers on loopback: `endpoint` is this module's `createODataHandler` over the SQLite
 * Northwind (the realistic case); `replay` answers each URL with the endpoint's recorded body,
 * so the server costs next to nothing and the client's own work shows in full (the worst case).
 *
 *   deno run -A bench/http_provider_overhead.ts
 */

import {
  createODataHandler,
  type EntityModel,
  EntityNamespaceManager,
  eq,
  type ODataQuery,
  prop,
} from "../mod.ts";
import { NORTHWIND_ENTITIES } from "../examples/northwind/schema.ts";
import { openNorthwind } from "../tests/fixtures/northwind.ts";

const TARGET = 1.2;
const backing = await openNorthwind({ memory: true });
const handler = createODataHandler(backing.namespace, { basePath: "/odata/northwind/" });
const recorded = new Map<string, { body: string; type: string; etag: string | null }>();
let replay = false;
const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  if (replay) {
    const hit = recorded.get(req.url);
    if (hit !== undefined) {
      const headers: Record<string, string> = { "content-type": hit.type, "odata-version": "4.0" };
      if (hit.etag !== null) headers.etag = hit.etag;
      return new Response(hit.body, { headers });
    }
  }
  const response = await handler(req);
  if (!replay && req.method === "GET" && response.status === 200) {
    const body = await response.clone().text();
    recorded.set(req.url, {
      body,
      type: response.headers.get("content-type") ?? "application/json",
      etag: response.headers.get("etag"),
    });
  }
  return response;
});
const baseUrl = `http://127.0.0.1:${server.addr.port}/odata/northwind/`;

let lastUrl = "";
let lastHeaders = new Headers();
let capture = true;
const manager = new EntityNamespaceManager();
const remote = manager.createNamespace("remote", {
  provider: {
    type: "http-odata",
    baseUrl,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      if (capture) {
        lastUrl = String(input);
        lastHeaders = new Headers(init?.headers);
      }
      return fetch(input, init);
    },
  },
});
for (const [name, definition] of Object.entries(NORTHWIND_ENTITIES)) {
  remote.registerEntity(name, definition);
}
const model = (name: string): EntityModel => remote.getEntity(name);

interface Case {
  readonly name: string;
  readonly iterations: number;
  /** Through the Active Record API (records included). */
  readonly ours: () => Promise<unknown>;
  /** Through `provider.read()` only. */
  readonly read: () => Promise<unknown>;
}

const provider = await remote.connect();
/** The same query through the provider's `read()` alone (the query AST built once). */
function providerRead(
  query: () => { ast: ODataQuery; model: EntityModel },
): () => Promise<unknown> {
  const { ast, model } = query();
  const request = { entity: model.metadata, schema: remote.schema, query: ast };
  return () => provider.read(request);
}

type Built = { ast: ODataQuery; find(): Promise<unknown> };
const listCase = (name: string, iterations: number, entity: string, build: () => Built): Case => ({
  name,
  iterations,
  ours: () => build().find(),
  read: providerRead(() => ({ ast: build().ast, model: model(entity) })),
});

const cases: Case[] = [
  {
    name: "key lookup Products(7)",
    iterations: 1500,
    ours: () => model("Products").findById(7),
    read: providerRead(() => ({
      ast: { filter: eq(prop("ProductID"), 7) },
      model: model("Products"),
    })),
  },
  listCase(
    "Products $filter/$orderby/$top=20",
    1000,
    "Products",
    () => model("Products").where("UnitPrice", "gt", 20).orderBy("ProductName").limit(20),
  ),
  listCase(
    "Orders $expand=Order_Details($expand=Product) $top=50",
    150,
    "Orders",
    () =>
      model("Orders").orderBy("OrderID").limit(50).expand(
        "Order_Details",
        (q) => q.expand("Product"),
      ),
  ),
  listCase(
    "Orders Germany $count=true $top=10",
    1000,
    "Orders",
    () => model("Orders").where("ShipCountry", "Germany").withCount().limit(10),
  ),
  listCase(
    "Customers contains() $select",
    1000,
    "Customers",
    () =>
      model("Customers").filter("contains(CompanyName,'a')").select(["CustomerID", "CompanyName"]),
  ),
];

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Runs the three sides call by call in rotating order, so that load from other processes hits
 * them alike, and returns the median µs of each (the median shrugs off the noise spikes).
 */
async function measure(
  sides: readonly (() => Promise<unknown>)[],
  iterations: number,
): Promise<number[]> {
  const samples = sides.map(() => [] as number[]);
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < sides.length; k++) {
      const side = (i + k) % sides.length;
      const start = performance.now();
      await sides[side]!();
      samples[side]!.push((performance.now() - start) * 1000);
    }
  }
  return samples.map(median);
}

let missed = 0;
for (const mode of ["endpoint", "replay"] as const) {
  console.log(
    `\n${mode}: case | bare fetch µs | provider.read µs | ratio | Active Record µs | ratio | target`,
  );
  for (const c of cases) {
    replay = false;
    capture = true;
    await c.ours(); // records the URL (and, for replay, the body)
    capture = false;
    const url = lastUrl;
    const headers = lastHeaders;
    replay = mode === "replay";
    const bare = async () => await (await fetch(url, { headers })).json();
    await measure([bare, c.read, c.ours], Math.ceil(c.iterations / 5)); // warm-up
    const [b, r, o] = (await measure([bare, c.read, c.ours], c.iterations)) as [
      number,
      number,
      number,
    ];
    const ratio = r / b;
    if (mode === "endpoint" && ratio > TARGET) missed++;
    console.log(
      `${c.name} | ${b.toFixed(1)} | ${r.toFixed(1)} | ${ratio.toFixed(2)}× | ${o.toFixed(1)} | ${
        (o / b).toFixed(2)
      }× | ≤ ${TARGET}× ${ratio <= TARGET ? "ok" : "MISSED"}`,
    );
  }
}

await manager.close();
await server.shutdown();
await backing.close();
if (missed > 0) console.log(`${missed} endpoint target(s) missed`);
