import assert from "node:assert/strict";
import {
  decodeValue,
  encodeLiteral,
  encodeValue,
  storeTypeOf,
} from "../../../providers/sqlite/values.ts";
import { assertCode } from "./compiler_fixture.ts";

Deno.test("values: encoding and decoding of every field type", () => {
  const f = (type: Parameters<typeof storeTypeOf>[0], scale?: number) => ({
    type,
    name: "F",
    definition: { scale },
  });
  assert.equal(encodeValue(f("integer"), 5), 5n);
  assert.equal(encodeValue(f("boolean"), true), 1n);
  assert.equal(encodeValue(f("decimal"), "1.50"), 1.5);
  assert.equal(
    encodeValue(f("datetime"), new Date("2024-01-01T10:00:00+02:00")),
    "2024-01-01T08:00:00.000Z",
  );
  assert.equal(encodeValue(f("datetime"), "2024-01-01T10:00:00+02:00"), "2024-01-01T08:00:00.000Z");
  assert.equal(encodeValue(f("time"), "10:00"), "10:00:00.000");
  assert.equal(
    encodeValue(f("guid"), "0F8FAD5B-D9CB-469F-A165-70867728950E"),
    "0f8fad5b-d9cb-469f-a165-70867728950e",
  );
  assert.equal(encodeValue(f("json"), { a: [1] }), '{"a":[1]}');
  assert.equal(encodeValue(f("string"), undefined), null);
  assert.equal(decodeValue(f("decimal", 2), 1.5), "1.50");
  assert.equal(decodeValue(f("decimal"), 1e-7), "0.0000001");
  assert.equal(decodeValue(f("decimal"), 1.5e21), "1500000000000000000000");
  assert.equal(decodeValue(f("decimal"), 0.1), "0.1");
  assert.equal(decodeValue(f("boolean"), 0), false);
  assert.deepEqual(
    decodeValue(f("datetime"), "2024-01-01T08:00:00.000Z"),
    new Date("2024-01-01T08:00:00Z"),
  );
  assert.equal(decodeValue(f("time"), "10:00:00.000"), "10:00:00");
  assert.equal(decodeValue(f("time"), "10:00:00.500"), "10:00:00.500");
  assert.deepEqual(decodeValue(f("json"), '{"a":[1]}'), { a: [1] });
  assert.equal(decodeValue(f("integer"), null), null);
  for (
    const [type, value] of [
      ["integer", 1.5],
      ["integer", "1"],
      ["number", Number.NaN],
      ["boolean", "true"],
      ["date", "2024-02-30"],
      ["datetime", new Date(Number.NaN)],
      ["datetime", new Date("+010000-01-01T00:00:00Z")],
      ["time", "25:00:00"],
      ["guid", "x"],
      ["binary", [1, 2]],
      ["decimal", "1,5"],
    ] as const
  ) {
    assertCode(() => encodeValue(f(type), value), "TYPE_MISMATCH");
  }
  assertCode(() => decodeValue(f("json"), "{"), "TYPE_MISMATCH");
  assert.equal(storeTypeOf("decimal"), "REAL");
  assert.equal(storeTypeOf("binary"), "BLOB");
  assert.deepEqual(encodeLiteral({ kind: "Literal", type: "int", value: 3 }, "decimal"), {
    value: 3n,
    type: "integer",
  });
  assertCode(
    () => encodeLiteral({ kind: "Literal", type: "string", value: "3" }, "integer"),
    "TYPE_MISMATCH",
  );
});
