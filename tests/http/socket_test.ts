/**
 * The endpoint over real sockets: Deno.serve on port 0, and node:http through toNodeListener
 * (run here under Deno's Node compatibility), plus CORS (off by default, configurable).
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeListener } from "../../mod.ts";
import { BASE, json, listen, northwind } from "./helpers.ts";

type Entity = Record<string, unknown>;

Deno.test("Deno.serve: reads, writes, paging links and errors over a real socket", async () => {
  const fixture = await northwind();
  const { root, server } = listen(fixture.handler);
  try {
    const service = await json(await fetch(root));
    assert.equal(service["@odata.context"], `${root}$metadata`);
    const metadata = await fetch(`${root}$metadata`);
    assert.match(await metadata.text(), /<EntitySet Name="Products"/);
    const page = await fetch(`${root}Products?$select=ProductID&$orderby=ProductID`, {
      headers: { prefer: "odata.maxpagesize=30" },
    });
    const body = await json(page);
    assert.equal((body.value as Entity[]).length, 30);
    const next = await json(await fetch(body["@odata.nextLink"] as string));
    assert.equal((next.value as Entity[])[0]!.ProductID, 31);
    const created = await fetch(`${root}Regions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ RegionID: 50, RegionDescription: "Socket" }),
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("location"), `${root}Regions(50)`);
    await created.body?.cancel();
    const deleted = await fetch(`${root}Regions(50)`, { method: "DELETE" });
    assert.equal(deleted.status, 204);
    await deleted.body?.cancel();
    const error = await fetch(`${root}Products?$filter=(`);
    assert.equal(error.status, 400);
    assert.equal(((await json(error)).error as Entity).code, "ODATA_SYNTAX");
  } finally {
    await server.shutdown();
    await fixture.close();
  }
});

Deno.test("node:http through toNodeListener serves the same answers", async () => {
  const fixture = await northwind();
  const server = createServer(toNodeListener(fixture.handler));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const root = `http://127.0.0.1:${port}${BASE}`;
  try {
    const product = await fetch(`${root}Products(7)?$select=ProductName`);
    assert.equal(product.status, 200);
    assert.equal(product.headers.get("odata-version"), "4.0");
    assert.equal((await json(product)).ProductName, "Uncle Bob's Organic Dried Pears");
    const patched = await fetch(`${root}Products(7)`, {
      method: "PATCH",
      headers: { "content-type": "application/json", prefer: "return=representation" },
      body: JSON.stringify({ UnitsInStock: 3 }),
    });
    assert.equal(patched.status, 200);
    assert.equal((await json(patched)).UnitsInStock, 3);
    const missing = await fetch(`${root}Products(12345)`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const batch = await fetch(`${root}$batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ requests: [{ id: "1", method: "get", url: "Products/$count" }] }),
    });
    assert.equal(((await json(batch)).responses as Entity[])[0]!.body, "77");
  } finally {
    server.closeAllConnections(); // fetch keeps connections alive; close() would wait for them
    await new Promise((resolve) => server.close(resolve));
    await fixture.close();
  }
});

Deno.test("CORS is off by default and answers allowed origins when configured", async () => {
  const fixture = await northwind();
  try {
    const plain = await fixture.call("Products(1)", { headers: { origin: "https://app.example" } });
    assert.equal(plain.headers.get("access-control-allow-origin"), null);
    await plain.body?.cancel();
    const preflightOff = await fixture.call("Products", {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "PATCH" },
    });
    assert.equal(preflightOff.headers.get("access-control-allow-origin"), null);
  } finally {
    await fixture.close();
  }
  const open = await northwind({ cors: { origins: ["https://app.example"] } });
  try {
    const preflight = await open.call("Products(1)", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "PATCH",
        "access-control-request-headers": "content-type, if-match",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(preflight.headers.get("access-control-allow-methods")!, /PATCH/);
    assert.equal(preflight.headers.get("access-control-allow-headers"), "content-type, if-match");
    const read = await open.call("Products(1)", { headers: { origin: "https://app.example" } });
    assert.equal(read.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(read.headers.get("access-control-expose-headers")!, /ETag/);
    await read.body?.cancel();
    const other = await open.call("Products(1)", { headers: { origin: "https://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    await other.body?.cancel();
  } finally {
    await open.close();
  }
});
