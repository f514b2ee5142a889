/**
 * The mapping of PostgreSQL SQLSTATEs and postgres.js connection errors onto the catalogue
 * (every branch; the real-server tests raise most of them for real).
 */
import assert from "node:assert/strict";
import { mapPostgresError } from "../../../providers/postgres/errors.ts";

const CASES: [Record<string, unknown>, string, boolean | undefined][] = [
  [{ code: "23505" }, "CONSTRAINT_UNIQUE", undefined],
  [{ code: "23503" }, "CONSTRAINT_FOREIGN_KEY", undefined],
  [{ code: "23502" }, "CONSTRAINT_NOT_NULL", undefined],
  [{ code: "23514" }, "CONSTRAINT_CHECK", undefined],
  [{ code: "40001" }, "TRANSACTION_CONFLICT", true],
  [{ code: "40P01" }, "TRANSACTION_CONFLICT", true],
  [{ code: "57014" }, "TIMEOUT", false],
  [{ code: "57P01" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "57P02" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "57P03" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "53300" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "08006" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "3D000" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "ECONNREFUSED" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "ECONNRESET" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "CONNECTION_CLOSED" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "CONNECT_TIMEOUT" }, "PROVIDER_UNAVAILABLE", true],
  [{ code: "CONNECTION_ENDED" }, "CLOSED", undefined],
  [{ code: "42P01" }, "SCHEMA_NOT_SYNCED", undefined],
  [{ code: "42703" }, "SCHEMA_NOT_SYNCED", undefined],
  [{ code: "25P02" }, "TRANSACTION_FAILED", undefined],
  [{ code: "XX000" }, "PROVIDER_ERROR", undefined],
];

Deno.test("postgres error mapping: SQLSTATEs and driver codes to catalogue codes", () => {
  for (const [driver, code, retryable] of CASES) {
    const mapped = mapPostgresError({ message: "m", ...driver });
    assert.equal(mapped.code, code, JSON.stringify(driver));
    assert.equal(mapped.context.retryable, retryable, JSON.stringify(driver));
    assert.equal(mapped.context.provider, "postgres");
  }
  assert.equal(mapPostgresError({ code: "57014" }, { aborted: true }).code, "ABORTED");
  assert.equal(mapPostgresError({ code: "ECONNRESET" }, { closed: true }).code, "CLOSED");
});

Deno.test("postgres error mapping: constraint and table names reach the context, values never", () => {
  const mapped = mapPostgresError({
    code: "23505",
    message: "duplicate key value violates unique constraint",
    constraint_name: "Products_name_key",
    table_name: "Products",
    detail: "Key (name)=(secret) already exists.",
  });
  assert.equal(mapped.context.constraint, "Products_name_key");
  assert.equal(mapped.context.table, "Products");
  assert.ok(!JSON.stringify(mapped.toJSON()).includes("secret"));
});
