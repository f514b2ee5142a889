import assert from "node:assert/strict";
import { ODataActiveRecordError, resolveEntity } from "../../../mod.ts";
import {
  decodeRow,
  decodeWireValue,
  encodeRow,
  encodeWireValue,
} from "../../../providers/http-odata/values.ts";
import { expandedCount } from "../../../src/provider/expanded_counts.ts";

const meta = resolveEntity("T", {
  fields: {
    id: { type: "integer", primaryKey: true },
    at: { type: "datetime" },
    price: { type: "decimal", scale: 2 },
    free: { type: "decimal" },
    ratio: { type: "number" },
    day: { type: "date" },
    uid: { type: "guid" },
    blob: { type: "binary" },
    flag: { type: "boolean" },
    name: { type: "string" },
  },
});
const field = (name: string) => meta.fields.get(name)!;

Deno.test("wire values decode to canonical values, both IEEE754Compatible forms", () => {
  assert.equal(decodeWireValue(field("id"), 42), 42);
  assert.equal(decodeWireValue(field("id"), "42"), 42);
  assert.equal(decodeWireValue(field("price"), 1), "1.00");
  assert.equal(decodeWireValue(field("price"), "1.5"), "1.50");
  assert.equal(decodeWireValue(field("price"), "-1.25"), "-1.25");
  assert.equal(decodeWireValue(field("price"), "1.255"), "1.255"); // more digits than the scale: kept
  assert.equal(decodeWireValue(field("price"), "1e3"), "1000.00");
  assert.equal(decodeWireValue(field("free"), "12.3400"), "12.3400");
  assert.equal(decodeWireValue(field("ratio"), "INF"), Infinity);
  assert.equal(decodeWireValue(field("day"), "1996-07-04"), "1996-07-04");
  assert.equal(
    decodeWireValue(field("uid"), "ABCDEF00-0000-0000-0000-000000000000"),
    "abcdef00-0000-0000-0000-000000000000",
  );
  assert.deepEqual(decodeWireValue(field("blob"), "AQID_w"), new Uint8Array([1, 2, 3, 255]));
  assert.equal(decodeWireValue(field("flag"), null), null);
  for (
    const [text, iso] of [
      ["1996-07-04T00:00:00Z", "1996-07-04T00:00:00.000Z"],
      ["1996-07-04T10:11:12.345Z", "1996-07-04T10:11:12.345Z"],
      ["1996-07-04T02:00:00+02:00", "1996-07-04T00:00:00.000Z"],
      ["1996-07-04T10:11:12.3456789Z", "1996-07-04T10:11:12.345Z"],
    ] as const
  ) {
    assert.equal((decodeWireValue(field("at"), text) as Date).toISOString(), iso, text);
  }
});

Deno.test("wrong wire values are PROVIDER_ERROR, never silently wrong", () => {
  for (
    const [name, value] of [
      ["at", "1996-13-04T00:00:00Z"],
      ["at", "19a6-07-04T00:00:00Z"],
      ["id", "forty"],
      ["flag", "yes"],
      ["name", 5],
      ["price", true],
    ] as const
  ) {
    assert.throws(
      () => decodeWireValue(field(name), value),
      (e) => e instanceof ODataActiveRecordError && e.code === "PROVIDER_ERROR",
      `${name} ${value}`,
    );
  }
});

Deno.test("canonical values encode for request bodies", () => {
  assert.equal(encodeWireValue(field("at"), new Date(0)), "1970-01-01T00:00:00.000Z");
  assert.equal(encodeWireValue(field("blob"), new Uint8Array([1, 2, 3, 255])), "AQID_w");
  assert.equal(encodeWireValue(field("ratio"), -Infinity), "-INF");
  assert.deepEqual(encodeRow(meta, { id: 1, price: "2.50", unknown: 1 }), { id: 1, price: "2.50" });
});

Deno.test("rows decode annotations away and keep aliases", () => {
  assert.deepEqual(
    decodeRow(meta, { getEntityMetadata: () => undefined }, {
      "@odata.etag": 'W/"x"',
      id: "7",
      "name@odata.type": "#String",
      name: "n",
      Total: 12,
    }),
    { id: 7, name: "n", Total: 12 },
  );
});

Deno.test("rows keep the counts of expanded collections (Nav@odata.count, 4.01 Nav@count)", () => {
  const parent = resolveEntity("P", {
    fields: { id: { type: "integer", primaryKey: true } },
    relations: { Kids: { type: "many", entity: "T", foreignKey: "id" } },
  });
  const schema = { getEntityMetadata: (name: string) => name === "T" ? meta : parent };
  const row = decodeRow(parent, schema, {
    id: 1,
    "Kids@odata.count": 4,
    Kids: [{ id: "2" }],
    "Other@odata.count": 9,
  });
  assert.deepEqual(JSON.parse(JSON.stringify(row)), { id: 1, Kids: [{ id: 2 }] });
  assert.equal(expandedCount(row, "Kids"), 4);
  assert.equal(expandedCount(row, "Other"), undefined); // not a navigation property
  assert.equal(expandedCount(decodeRow(parent, schema, { id: 1, "Kids@count": 0 }), "Kids"), 0);
});

Deno.test("multipart batch bodies are written and read back", async () => {
  const { readMultipartResponses, writeMultipartChangeSet } = await import(
    "../../../providers/http-odata/multipart.ts"
  );
  const { body, contentType } = writeMultipartChangeSet([
    {
      id: "1",
      method: "POST",
      url: "A",
      headers: { "content-type": "application/json" },
      body: { x: 1 },
    },
    { id: "2", method: "DELETE", url: "A(2)", headers: { "if-match": "*" } },
  ], "t");
  assert.equal(contentType, "multipart/mixed;boundary=batch_t");
  assert.match(body, /--changeset_t\r\nContent-Type: application\/http\r\n/);
  assert.match(body, /POST A HTTP\/1\.1\r\ncontent-type: application\/json\r\n\r\n\{"x":1\}\r\n/);
  assert.match(
    body,
    /DELETE A\(2\) HTTP\/1\.1\r\nif-match: \*\r\n\r\n\r\n--changeset_t--\r\n--batch_t--/,
  );
  const answer = "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n" +
    "--c\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\n" +
    'HTTP/1.1 201 Created\r\nETag: W/"1"\r\nContent-Type: application/json\r\n\r\n{"a":1}\r\n' +
    "--c\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n" +
    "--c--\r\n--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 400 Bad Request\r\n\r\n" +
    '{"error":{"code":"x","message":"m"}}\r\n--b--\r\n';
  assert.deepEqual(readMultipartResponses(answer, 'multipart/mixed; boundary="b"'), [
    {
      id: "1",
      status: 201,
      headers: { etag: 'W/"1"', "content-type": "application/json" },
      body: { a: 1 },
    },
    { id: "2", status: 204, headers: {}, body: undefined },
    { id: undefined, status: 400, headers: {}, body: { error: { code: "x", message: "m" } } },
  ]);
});
