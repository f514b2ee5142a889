/**
 * Bad input never yields a 500: hand-picked malformed requests and seeded mutations of valid
 * URLs and bodies all get a 4xx/501 with an OData error body. Also: version fields as ETags, and
 * an unreachable store answering 503.
 */
import assert from "node:assert/strict";
import { createODataHandler, EntityNamespaceManager, type FieldDefinition } from "../../mod.ts";
import { json, northwind } from "./helpers.ts";

type Entity = Record<string, unknown>;
const fixture = await northwind();
const { call } = fixture;

async function expectClientError(path: string, init?: RequestInit): Promise<void> {
  let response: Response;
  try {
    response = await call(path, init);
  } catch (error) {
    // Only the Request constructor may refuse (an invalid URL never reaches a server).
    assert.ok(error instanceof TypeError, `${path}: ${error}`);
    return;
  }
  const text = await response.text();
  assert.ok(
    response.status < 500 || response.status === 501,
    `${response.status} for ${path}: ${text}`,
  );
  if (response.status >= 400) {
    const body = JSON.parse(text) as { error: Entity };
    assert.equal(typeof body.error.code, "string", path);
    assert.equal(typeof body.error.message, "string", path);
  }
}

Deno.test("hand-picked malformed requests get 4xx or 501, never 500", async () => {
  const paths = [
    "Products(",
    "Products)",
    "Products('",
    "Products(1,2)",
    "Products(ProductID=1,ProductID=2)",
    "Products(null)",
    "Products(1)/",
    "Products(1)//Category",
    "Products/$count/$count",
    "$metadata/x",
    "$batch/x",
    "Products(1)/$value",
    "Products(1)/Category/$count",
    "Order_Details(OrderID=1)",
    "Order_Details(OrderID=1,Nope=2)",
    "Customers(ALFKI)",
    "Products?$top=99999999999999999999",
    "Products?$skip=-1",
    "Products?$expand=Category($levels=max)",
    "Products?$expand=Nope",
    "Products?$select=Nope",
    "Products?$orderby=Nope",
    "Products?$apply=groupby(",
    "Products?$search=",
    "Products?$skiptoken=%",
    "Products?$skiptoken=eyJvIjotMX0",
    "Products?$filter=" + "(".repeat(200) + "1" + ")".repeat(200),
    "Products?$filter=ProductName eq '" + "x".repeat(20000) + "'",
    "Products?$count=maybe",
    "Products?$format=",
    "Products?@p=1&@p=2",
    "Products?$filter=UnitPrice gt @missing",
    "Products?$orderby=Category/CategoryName&$top=2&$skiptoken=eyJrIjpbMV19",
    "%00",
    "Products%00",
    "$crossjoin(Products)",
    "$all",
    "$entity?$id=Products(1)",
  ];
  for (const path of paths) await expectClientError(path);
  const bodies = [
    "",
    "null",
    "[]",
    "{",
    '{"UnitPrice":{}}',
    '{"ProductID":"x"}',
    '{"Category":5}',
    '{"Order_Details":{}}',
    '{"Category@odata.bind":5}',
    '{"Category@odata.bind":"Nope(1)"}',
    '{"Category@odata.bind":"Categories(999)"}',
    "\u0000",
  ];
  for (const body of bodies) {
    await expectClientError("Products", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await expectClientError("Products(1)", {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body,
    });
  }
  for (
    const body of [
      "--x\r\n",
      "garbage",
      "--b\r\nContent-Type: application/http\r\n\r\nFOO\r\n--b--",
    ]
  ) {
    await expectClientError("$batch", {
      method: "POST",
      headers: { "content-type": "multipart/mixed; boundary=b" },
      body,
    });
  }
  for (
    const body of [
      '{"requests":[{"id":"1","method":"get","url":"$2"}]}',
      '{"requests":[{"id":"1","method":"trace","url":"Products"}]}',
      '{"requests":5}',
    ]
  ) {
    await expectClientError("$batch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  }
  await expectClientError("Products(1)", {
    method: "PATCH",
    headers: { prefer: "odata.maxpagesize=abc" },
  });
  await expectClientError("Products", { headers: { accept: ";;;" } });
  await expectClientError("Products", { headers: { "odata-maxversion": "x" } });
});

/** A deterministic generator (mulberry32) so the mutations are the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("seeded mutations of valid URLs get 2xx, 3xx, 4xx or 501, never 500", async () => {
  const next = random(20261207);
  const seeds = [
    "Products?$filter=UnitPrice gt 20 and contains(ProductName,'a')&$orderby=ProductName desc&$top=5",
    "Orders(10248)?$expand=Order_Details($expand=Product($select=ProductName);$top=2)",
    "Order_Details(OrderID=10248,ProductID=11)/Product/Category",
    "Customers('ALFKI')/Orders/$count",
    "Products?$apply=groupby((CategoryID),aggregate(UnitPrice with sum as Total))",
    "Products(1)/ProductName/$value",
  ];
  const alphabet = "()'/$=&,;.@ %0123456789abcxyzAZ-+*?\"";
  for (let i = 0; i < 400; i++) {
    let text = seeds[Math.floor(next() * seeds.length)]!;
    const edits = 1 + Math.floor(next() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * text.length);
      const kind = next();
      const char = alphabet[Math.floor(next() * alphabet.length)]!;
      text = kind < 0.4
        ? text.slice(0, at) + text.slice(at + 1)
        : kind < 0.8
        ? text.slice(0, at) + char + text.slice(at)
        : text.slice(0, at) + char + text.slice(at + 1);
    }
    await expectClientError(text);
  }
});

Deno.test("a version field makes the ETag; 503 when the store is unreachable", async () => {
  const manager = new EntityNamespaceManager();
  try {
    const ns = manager.createNamespace("versioned", {
      provider: { type: "sqlite", filePath: ":memory:" },
    });
    ns.registerEntity("Docs", {
      fields: {
        id: { type: "integer", primaryKey: true },
        title: { type: "string" },
        rev: { type: "integer", version: true } as FieldDefinition,
      },
    });
    await ns.sync();
    await ns.getEntity("Docs").create({ title: "a", rev: 7 });
    const handler = createODataHandler(ns);
    const response = await handler(new Request("http://localhost/Docs(1)"));
    assert.equal(response.headers.get("etag"), 'W/"7"');
    assert.equal((await json(response))["@odata.etag"], 'W/"7"');
    // A write moves the version on, and so the ETag; the old ETag is refused.
    const patch = (etag: string, body: unknown) =>
      handler(
        new Request("http://localhost/Docs(1)", {
          method: "PATCH",
          headers: { "content-type": "application/json", "if-match": etag },
          body: JSON.stringify(body),
        }),
      );
    const patched = await patch('W/"7"', { title: "b" });
    assert.equal(patched.status, 204);
    assert.equal(patched.headers.get("etag"), 'W/"8"');
    assert.equal((await patch('W/"7"', { title: "c" })).status, 412);
    const replaced = await handler(
      new Request("http://localhost/Docs(1)", {
        method: "PUT",
        headers: { "content-type": "application/json", "if-match": 'W/"8"' },
        body: JSON.stringify({ title: "d" }),
      }),
    );
    assert.equal(replaced.status, 204);
    assert.equal(replaced.headers.get("etag"), 'W/"9"');
    // A stale version in the body, without If-Match, is a conflict too, and writes nothing.
    const stale = await handler(
      new Request("http://localhost/Docs(1)", {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "e", rev: 7 }),
      }),
    );
    assert.equal(stale.status, 412);
    assert.equal(((await json(stale)).error as Entity).code, "PRECONDITION_FAILED");
    assert.equal((await ns.getEntity("Docs").findById(1))?.title, "d");
    const gone = manager.createNamespace("gone", {
      provider: { type: "sqlite", filePath: "/nonexistent-dir/x/y.db" },
    });
    gone.registerEntity("T", { fields: { id: { type: "integer", primaryKey: true } } });
    const unavailable = await createODataHandler(gone)(new Request("http://localhost/T"));
    assert.equal(unavailable.status, 503);
    assert.equal(((await json(unavailable)).error as Entity).code, "PROVIDER_UNAVAILABLE");
  } finally {
    await manager.close();
  }
});

Deno.test({
  name: "close the Northwind fixture",
  fn: () => fixture.close(),
});
