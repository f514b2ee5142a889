/**
 * `$batch` against the Northwind sample in SQLite, in the JSON format and as multipart/mixed:
 * atomicity groups (all or nothing), dependsOn, `$<id>` references, limits.
 */
import assert from "node:assert/strict";
import { json, northwind } from "./helpers.ts";

type Entity = Record<string, unknown>;
const fixture = await northwind({ maxBatchParts: 10 });
const { call } = fixture;

const batch = (body: unknown, headers: Record<string, string> = {}) =>
  call("$batch", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

Deno.test("JSON batch: reads, a committed atomicity group, $<id> references, dependsOn", async () => {
  const response = await batch({
    requests: [
      { id: "r1", method: "get", url: "Products(1)?$select=ProductName" },
      {
        id: "c1",
        atomicityGroup: "g1",
        method: "post",
        url: "Categories",
        body: { CategoryID: 200, CategoryName: "Batch" },
      },
      {
        id: "p1",
        atomicityGroup: "g1",
        dependsOn: ["c1"],
        method: "post",
        url: "$c1/Products",
        body: { ProductID: 600, ProductName: "From batch", Discontinued: false },
      },
      {
        id: "u1",
        atomicityGroup: "g1",
        dependsOn: ["p1"],
        method: "patch",
        url: "$p1",
        headers: { "if-match": "$p1" },
        body: { UnitPrice: 9.5 },
      },
      { id: "r2", dependsOn: ["g1"], method: "get", url: "Categories(200)/Products/$count" },
    ],
  });
  assert.equal(response.status, 200);
  const { responses } = await json(response) as { responses: Entity[] };
  const byId = Object.fromEntries(responses.map((r) => [r.id, r]));
  assert.equal(byId.r1!.status, 200);
  assert.deepEqual((byId.r1!.body as Entity).ProductName, "Chai");
  assert.equal(byId.c1!.status, 201);
  assert.equal(byId.c1!.atomicityGroup, "g1");
  assert.equal(byId.p1!.status, 201);
  assert.equal((byId.p1!.body as Entity).CategoryID, 200);
  assert.equal(byId.u1!.status, 204);
  assert.equal(byId.r2!.status, 200);
  assert.equal(byId.r2!.body, "1");
  assert.equal((await json(await call("Products(600)"))).UnitPrice, 9.5);
});

Deno.test("JSON batch: a failing atomicity group applies nothing; dependents get 424", async () => {
  const response = await batch({
    requests: [
      {
        id: "a",
        atomicityGroup: "g",
        method: "post",
        url: "Categories",
        body: { CategoryID: 201, CategoryName: "Never" },
      },
      {
        id: "b",
        atomicityGroup: "g",
        method: "post",
        url: "Categories",
        body: { CategoryID: 1, CategoryName: "Duplicate key" },
      },
      { id: "c", dependsOn: ["g"], method: "get", url: "Categories(201)" },
      { id: "d", method: "get", url: "Categories(1)?$select=CategoryName" },
    ],
  });
  const { responses } = await json(response) as { responses: Entity[] };
  const byId = Object.fromEntries(responses.map((r) => [r.id, r]));
  assert.equal(byId.a!.status, 424);
  assert.equal(byId.b!.status, 409);
  assert.equal(((byId.b!.body as Entity).error as Entity).code, "CONSTRAINT_UNIQUE");
  assert.equal(byId.c!.status, 424);
  assert.equal(byId.d!.status, 200); // independent requests still run
  assert.equal((await call("Categories(201)")).status, 404);
});

Deno.test("JSON batch: continue-on-error=false stops at the first failure", async () => {
  const response = await batch({
    requests: [
      { id: "1", method: "get", url: "Nope" },
      { id: "2", method: "get", url: "Products(1)" },
    ],
  }, { prefer: "odata.continue-on-error=false" });
  const { responses } = await json(response) as { responses: Entity[] };
  assert.deepEqual(responses.map((r) => [r.id, r.status]), [["1", 404]]);
});

Deno.test("JSON batch: malformed batches and limits", async () => {
  assert.equal((await batch({ nope: [] })).status, 400);
  assert.equal(
    (await batch({ requests: [{ id: "1", method: "get", url: "X", dependsOn: ["0"] }] })).status,
    400,
  );
  assert.equal(
    (await batch({
      requests: [{ id: "1", method: "get", url: "A" }, { id: "1", method: "get", url: "B" }],
    })).status,
    400,
  );
  const many = Array.from(
    { length: 11 },
    (_, i) => ({ id: `${i}`, method: "get", url: "Products(1)" }),
  );
  const tooMany = await batch({ requests: many });
  assert.equal(tooMany.status, 413);
  const wrongType = await call("$batch", {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: "a,b",
  });
  assert.equal(wrongType.status, 415);
  assert.equal((await call("$batch")).status, 405);
  const nested = await batch({ requests: [{ id: "1", method: "post", url: "$batch", body: {} }] });
  const { responses } = await json(nested) as { responses: Entity[] };
  assert.equal(responses[0]!.status, 400);
});

function multipart(boundary: string, parts: string[]): string {
  return parts.map((part) => `--${boundary}\r\n${part}`).join("") + `--${boundary}--\r\n`;
}

function httpPart(request: string, contentId?: string): string {
  return "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n" +
    (contentId === undefined ? "" : `Content-ID: ${contentId}\r\n`) + `\r\n${request}\r\n`;
}

Deno.test("multipart batch: a read, a change set with a $<id> reference, committed", async () => {
  const changeset = multipart("changeset_1", [
    httpPart(
      'POST Categories HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"CategoryID":210,"CategoryName":"Multipart"}',
      "1",
    ),
    httpPart(
      'POST $1/Products HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"ProductID":610,"ProductName":"MP","Discontinued":false}',
      "2",
    ),
  ]);
  const body = multipart("batch_1", [
    httpPart("GET Products(1)?$select=ProductName HTTP/1.1\r\nAccept: application/json\r\n"),
    `Content-Type: multipart/mixed; boundary=changeset_1\r\n\r\n${changeset}\r\n`,
  ]);
  const response = await call("$batch", {
    method: "POST",
    headers: { "content-type": "multipart/mixed; boundary=batch_1" },
    body,
  });
  assert.equal(response.status, 200);
  const type = response.headers.get("content-type")!;
  assert.match(type, /^multipart\/mixed; boundary=batchresponse_/);
  const text = await response.text();
  assert.match(text, /HTTP\/1\.1 200 OK[\s\S]*"ProductName":"Chai"/);
  assert.match(text, /Content-Type: multipart\/mixed; boundary=changesetresponse_/);
  assert.match(text, /Content-ID: 1\r\n\r\nHTTP\/1\.1 201 Created/);
  assert.match(text, /Content-ID: 2\r\n\r\nHTTP\/1\.1 201 Created/);
  assert.equal((await json(await call("Products(610)"))).CategoryID, 210);
});

Deno.test("multipart batch: a failing change set is rolled back and answered with one failure", async () => {
  const changeset = multipart("cs", [
    httpPart(
      'POST Categories HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"CategoryID":211,"CategoryName":"Rolled back"}',
      "1",
    ),
    httpPart(
      'PATCH Categories(9999) HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"CategoryName":"x"}',
      "2",
    ),
  ]);
  const body = multipart("b", [
    `Content-Type: multipart/mixed; boundary=cs\r\n\r\n${changeset}\r\n`,
    httpPart("GET Categories(211) HTTP/1.1\r\n"),
  ]);
  const response = await call("$batch", {
    method: "POST",
    headers: { "content-type": "multipart/mixed; boundary=b", prefer: "odata.continue-on-error" },
    body,
  });
  const text = await response.text();
  assert.doesNotMatch(text, /201 Created/);
  assert.match(text, /Content-ID: 2\r\n\r\nHTTP\/1\.1 404 Not Found/);
  // The later read runs (continue-on-error) and finds nothing.
  assert.equal(text.match(/HTTP\/1\.1 404/g)?.length, 2);
  assert.equal((await call("Categories(211)")).status, 404);
  // Without continue-on-error, processing stops at the first failure.
  const stopped = await (await call("$batch", {
    method: "POST",
    headers: { "content-type": "multipart/mixed; boundary=b" },
    body,
  })).text();
  assert.equal(stopped.match(/HTTP\/1\.1 /g)?.length, 1);
  const broken = await call("$batch", {
    method: "POST",
    headers: { "content-type": "multipart/mixed" },
    body: "no boundary",
  });
  assert.equal(broken.status, 400);
});

Deno.test({
  name: "close the Northwind fixture",
  fn: () => fixture.close(),
});
