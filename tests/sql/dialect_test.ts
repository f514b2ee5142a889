/**
 * The split between the shared SQL compiler and its dialects, pinned: the same AST compiled for
 * SQLite and for PostgreSQL gives these texts and parameters. Where the texts differ, the
 * difference is the dialect's (placeholders, casts, null-safe equality, null order, functions,
 * exact decimals, long lists, paging); everything else is the one walk of the core.
 */

import assert from "node:assert/strict";
import { compileRead, compileUpdate, type SqlDialect } from "../../src/sql/mod.ts";
import { SQLITE_DIALECT } from "../../providers/sqlite/dialect.ts";
import { POSTGRES_DIALECT } from "../../providers/postgres/dialect.ts";
import { parseFilter, parseQuery } from "../../mod.ts";
import { resolveEntity } from "../../src/model/schema.ts";
import type { ODataQuery } from "../../src/odata/ast.ts";

const entity = resolveEntity("Item", {
  fields: {
    Id: { type: "integer", primaryKey: true },
    Name: { type: "string" },
    Nick: { type: "string" },
    Price: { type: "decimal", precision: 10, scale: 2 },
  },
});
const schema = { getEntityMetadata: () => entity };
const SELECT = 'SELECT "t0"."Id" AS "Id" FROM "Item" AS "t0"';
const ORDER_SQLITE = 'ORDER BY "t0"."Id" ASC';
const ORDER_PG = 'ORDER BY "t0"."Id" ASC'; // a key is never null: no NULLS FIRST

function read(dialect: SqlDialect, query: ODataQuery): { sql: string; params: unknown[] } {
  const compiled = compileRead(dialect, {
    entity,
    schema,
    query: { ...query, select: parseQuery("$select=Id").select },
  });
  return { sql: compiled.sql, params: [...compiled.params] };
}

function both(query: ODataQuery): { sqlite: unknown; postgres: unknown } {
  return { sqlite: read(SQLITE_DIALECT, query), postgres: read(POSTGRES_DIALECT, query) };
}

Deno.test("quoting and placeholders: ? on SQLite, $n with a cast on PostgreSQL", () => {
  assert.deepStrictEqual(both({ filter: parseFilter("Name eq 'x'") }), {
    sqlite: { sql: `${SELECT} WHERE ("t0"."Name" IS ?) ${ORDER_SQLITE}`, params: ["x"] },
    // IS NOT DISTINCT FROM would not use an index: the literal is never null, so `=`.
    postgres: { sql: `${SELECT} WHERE ("t0"."Name" = $1::text) ${ORDER_PG}`, params: ["x"] },
  });
});

Deno.test("null-safe equality of two nullable operands", () => {
  assert.deepStrictEqual(both({ filter: parseFilter("Name eq Nick") }), {
    sqlite: { sql: `${SELECT} WHERE ("t0"."Name" IS "t0"."Nick") ${ORDER_SQLITE}`, params: [] },
    postgres: {
      sql: `${SELECT} WHERE ("t0"."Name" IS NOT DISTINCT FROM "t0"."Nick") ${ORDER_PG}`,
      params: [],
    },
  });
});

Deno.test("contains matches literally: %, _ and \\ travel as they are, no LIKE pattern", () => {
  assert.deepStrictEqual(both({ filter: parseFilter("contains(Name,'50%_\\')") }), {
    sqlite: {
      sql: `${SELECT} WHERE (instr("t0"."Name", ?) > 0) ${ORDER_SQLITE}`,
      params: ["50%_\\"],
    },
    postgres: {
      sql: `${SELECT} WHERE (strpos("t0"."Name", $1::text) > 0) ${ORDER_PG}`,
      params: ["50%_\\"],
    },
  });
});

Deno.test("indexof and substring count from 0", () => {
  const filter = parseFilter("indexof(Name,'a') eq 1 and substring(Name,1,2) eq 'bc'");
  assert.deepStrictEqual(both({ filter }), {
    sqlite: {
      sql: `${SELECT} WHERE (((instr("t0"."Name", ?) - 1) IS ?) AND ` +
        `(substr("t0"."Name", max(?, 0) + 1, max(?, 0)) IS ?)) ${ORDER_SQLITE}`,
      params: ["a", 1n, 1n, 2n, "bc"],
    },
    postgres: {
      sql: `${SELECT} WHERE (((strpos("t0"."Name", $1::text) - 1) = $2::bigint) AND ` +
        `(substr("t0"."Name", CAST(greatest($3::bigint, 0) + 1 AS integer), ` +
        `CAST(greatest($4::bigint, 0) AS integer)) = $5::text)) ${ORDER_PG}`,
      params: ["a", "1", "1", "2", "bc"],
    },
  });
});

Deno.test("a long in-list is one parameter: a JSON array on SQLite, an array on PostgreSQL", () => {
  const ids = Array.from({ length: 70 }, (_, i) => i + 1);
  const { sqlite, postgres } = both({ filter: parseFilter(`Id in (${ids.join(",")})`) });
  assert.deepStrictEqual(sqlite, {
    sql: `${SELECT} WHERE ("t0"."Id" IN (SELECT value FROM json_each(?))) ${ORDER_SQLITE}`,
    params: [JSON.stringify(ids)],
  });
  assert.deepStrictEqual(postgres, {
    sql: `${SELECT} WHERE ("t0"."Id" = ANY($1::bigint[])) ${ORDER_PG}`,
    params: [ids.map(String)],
  });
});

Deno.test("paging and null order", () => {
  assert.deepStrictEqual(both(parseQuery("$top=5&$skip=10&$orderby=Name desc")), {
    // SQLite plans a bound LIMIT anew on every run; a bound OFFSET costs nothing.
    sqlite: {
      sql: `${SELECT} ORDER BY "t0"."Name" DESC, "t0"."Id" ASC LIMIT 5 OFFSET ?`,
      params: [10n],
    },
    postgres: {
      sql: `${SELECT} ORDER BY "t0"."Name" DESC NULLS LAST, "t0"."Id" ASC ` +
        "LIMIT 5 OFFSET 10",
      params: [],
    },
  });
});

Deno.test("decimals: exact functions on SQLite (floats), NUMERIC on PostgreSQL", () => {
  assert.deepStrictEqual(both({ filter: parseFilter("Price add 1.5 gt 2") }), {
    sqlite: {
      sql: `${SELECT} WHERE (oar_dec_cmp(oar_dec_add("t0"."Price", ?), ?) > 0) ${ORDER_SQLITE}`,
      params: [1.5, 2n],
    },
    postgres: {
      sql: `${SELECT} WHERE (("t0"."Price" + $1::numeric) > $2::bigint) ${ORDER_PG}`,
      params: ["1.5", "2"],
    },
  });
});

Deno.test("writes: the same UPDATE in both dialects", () => {
  const target = { entity, schema, filter: parseFilter("Id eq 3") };
  const sqlite = compileUpdate(SQLITE_DIALECT, target, { Name: "n" });
  const postgres = compileUpdate(POSTGRES_DIALECT, target, { Name: "n" });
  assert.deepStrictEqual({ sql: sqlite.sql, params: [...sqlite.params] }, {
    sql: 'UPDATE "Item" AS "t0" SET "Name" = ? WHERE ("t0"."Id" = ?)',
    params: ["n", 3n],
  });
  assert.deepStrictEqual({ sql: postgres.sql, params: [...postgres.params] }, {
    sql: 'UPDATE "Item" AS "t0" SET "Name" = $1::text WHERE ("t0"."Id" = $2::bigint)',
    params: ["n", "3"],
  });
});

Deno.test("PostgreSQL numbers only the placeholders outside quotes", () => {
  assert.equal(
    POSTGRES_DIALECT.finish(`SELECT ? AS "a?""?" WHERE x = '?''?' AND y = ?`),
    `SELECT $1 AS "a?""?" WHERE x = '?''?' AND y = $2`,
  );
  assert.equal(SQLITE_DIALECT.finish("SELECT ? WHERE x = ?"), "SELECT ? WHERE x = ?");
});
