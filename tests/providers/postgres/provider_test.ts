/**
 * The PostgreSQL provider against a real server (issue 11 §2): config, connect/ping/close,
 * sync() and drift, canonical values, error mapping, transactions with savepoints, tenant
 * schemas, injection, versions and increments. Each test works in its own database.
 */
import assert from "node:assert/strict";
import {
  createProvider,
  type EntityNamespace,
  ODataActiveRecordError,
  providerTypes,
} from "../../../mod.ts";
import { freePort } from "./server.ts";
import { isCode, pgTest, withDatabase } from "./helpers.ts";

const PRODUCTS = {
  fields: {
    id: { type: "integer", primaryKey: true },
    name: { type: "string", required: true, unique: true },
    price: { type: "decimal", precision: 15, scale: 2 },
    added: { type: "datetime" },
    day: { type: "date" },
    at: { type: "time" },
    ref: { type: "guid" },
    tags: { type: "json" },
    blob: { type: "binary" },
    active: { type: "boolean" },
    ratio: { type: "number" },
    stock: { type: "integer" },
    version: { type: "integer", version: true },
  },
} as const;

function products(ns: EntityNamespace) {
  return ns.registerEntity("Products", PRODUCTS);
}

// ---------------------------------------------------------------------------------------------
// Config (no server needed)

Deno.test("postgres: the registry knows the type and loads the provider lazily", async () => {
  assert.ok(providerTypes().includes("postgres"));
  const provider = await createProvider({ type: "postgres", url: "postgres://127.0.0.1:1/x" });
  assert.equal(provider.type, "postgres");
  await provider.close();
});

Deno.test("postgres: bad config values are refused with INVALID_CONFIGURATION", async () => {
  const bad: Record<string, unknown>[] = [
    { url: "mysql://x" },
    { url: 42 },
    { url: "postgres://h/db", poolSize: 0 },
    { url: "postgres://h/db", poolSize: 1.5 },
    { url: "postgres://h/db", poolSize: 2, minPoolSize: 3 },
    { url: "postgres://h/db", connectTimeout: -1 },
    { url: "postgres://h/db", statementTimeout: "1s" },
    { url: "postgres://h/db", schema: 'a"; DROP SCHEMA public; --' },
  ];
  for (const config of bad) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => createProvider({ type: "postgres", ...config } as any),
      isCode("INVALID_CONFIGURATION"),
      JSON.stringify(config),
    );
  }
});

Deno.test("postgres: a refused connection is PROVIDER_UNAVAILABLE and retryable, no hang", async () => {
  const provider = await createProvider({
    type: "postgres",
    url: `postgres://postgres@127.0.0.1:${freePort()}/postgres`,
    connectTimeout: 2000,
  });
  try {
    const error = await provider.connect().then(() => undefined, (e) => e);
    assert.ok(error instanceof ODataActiveRecordError);
    assert.equal(error.code, "PROVIDER_UNAVAILABLE");
    assert.equal(error.context.retryable, true);
    await assert.rejects(() => provider.ping(), isCode("PROVIDER_UNAVAILABLE"));
  } finally {
    await provider.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Connection

pgTest(
  "connect, ping and close; later calls fail with CLOSED",
  () =>
    withDatabase(async ({ url }) => {
      const provider = await createProvider({ type: "postgres", url, minPoolSize: 2, poolSize: 3 });
      await provider.connect();
      await provider.ping();
      await provider.close();
      await provider.close(); // idempotent
      await assert.rejects(() => provider.ping(), isCode("CLOSED"));
    }),
);

pgTest(
  "a database that does not exist is PROVIDER_UNAVAILABLE",
  () =>
    withDatabase(async ({ url }) => {
      const missing = new URL(url);
      missing.pathname = "/oar_no_such_database";
      const provider = await createProvider({ type: "postgres", url: missing.toString() });
      try {
        await assert.rejects(() => provider.connect(), isCode("PROVIDER_UNAVAILABLE"));
      } finally {
        await provider.close();
      }
    }),
);

pgTest(
  "an aborted signal cancels a statement waiting on a lock (ABORTED)",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      const locked = raw.begin(async (sql) => {
        await sql.unsafe('LOCK TABLE "Products" IN ACCESS EXCLUSIVE MODE');
        const controller = new AbortController();
        const read = Products.find({ signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        await assert.rejects(read, isCode("ABORTED"));
      });
      await locked;
      assert.equal(await Products.count(), 0); // the pool still works
    }),
);

// ---------------------------------------------------------------------------------------------
// sync()

pgTest(
  "sync() creates tables with PostgreSQL types; a second sync changes nothing",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace();
      products(ns);
      ns.registerEntity("Lines", {
        fields: {
          orderId: { type: "integer", primaryKey: true },
          productId: { type: "integer", primaryKey: true },
          qty: { type: "integer", required: true },
        },
        relations: { product: { type: "one", entity: "Products", foreignKey: "productId" } },
      });
      const first = await ns.sync();
      assert.deepEqual([...first.createdTables].sort(), ["Lines", "Products"]);
      assert.deepEqual(first.warnings, []);
      const types = Object.fromEntries(
        (await raw`SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable
        FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'Products'`)
          .map((row) => [row.column_name, row]),
      );
      assert.equal(types.id.data_type, "bigint");
      assert.equal(types.price.data_type, "numeric");
      assert.equal(types.price.numeric_precision, 15);
      assert.equal(types.price.numeric_scale, 2);
      assert.equal(types.added.data_type, "timestamp with time zone");
      assert.equal(types.day.data_type, "date");
      assert.equal(types.at.data_type, "time without time zone");
      assert.equal(types.ref.data_type, "uuid");
      assert.equal(types.tags.data_type, "jsonb");
      assert.equal(types.blob.data_type, "bytea");
      assert.equal(types.active.data_type, "boolean");
      assert.equal(types.ratio.data_type, "double precision");
      assert.equal(types.name.is_nullable, "NO");
      const fks = await raw`SELECT conname FROM pg_constraint WHERE contype = 'f'`;
      assert.deepEqual(fks.map((row) => row.conname), ["fk_Lines_productId"]);
      const indexes = await raw`SELECT indexname FROM pg_indexes WHERE tablename = 'Lines'`;
      assert.ok(indexes.some((row) => row.indexname === "ix_Lines_productId"));
      const second = await ns.sync();
      assert.deepEqual(second, {
        createdTables: [],
        addedColumns: [],
        createdIndexes: [],
        warnings: [],
      });
    }),
);

pgTest(
  "sync() adds missing columns, reports drift and never drops data",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      await raw.unsafe(
        'CREATE TABLE "Things" ("id" bigint PRIMARY KEY, "name" integer, "legacy" text, "note" text)',
      );
      await raw.unsafe(`INSERT INTO "Things" VALUES (1, 7, 'keep me', NULL)`);
      const ns = namespace();
      ns.registerEntity("Things", {
        fields: {
          id: { type: "integer", primaryKey: true },
          name: { type: "string" },
          note: { type: "string", required: true },
          extra: { type: "decimal", precision: 10, scale: 3 },
        },
      });
      const report = await ns.sync();
      assert.deepEqual(report.addedColumns, ["Things.extra"]);
      const kinds = report.warnings.map((w) => `${w.kind}:${w.column}`).sort();
      assert.deepEqual(kinds, [
        "extra-column:legacy",
        "missing-column:extra",
        "nullability-mismatch:note",
        "type-mismatch:name",
      ]);
      const [row] = await raw`SELECT * FROM "Things"`;
      assert.equal(row!.legacy, "keep me");
      assert.equal(row!.name, 7);
    }),
);

pgTest(
  "sync() reports rows that break a new unique field instead of failing",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      await raw.unsafe('CREATE TABLE "U" ("id" bigint PRIMARY KEY, "code" text)');
      await raw.unsafe(`INSERT INTO "U" VALUES (1, 'a'), (2, 'a')`);
      const ns = namespace();
      ns.registerEntity("U", {
        fields: {
          id: { type: "integer", primaryKey: true },
          code: { type: "string", unique: true },
        },
      });
      const report = await ns.sync();
      assert.deepEqual(report.warnings.map((w) => w.kind), ["constraint-mismatch"]);
      assert.equal((await raw`SELECT count(*)::int AS n FROM "U"`)[0]!.n, 2);
    }),
);

pgTest(
  "a schema per namespace isolates tenants in one database",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const a = namespace({ schema: "tenant_a" });
      const b = namespace({ schema: "tenant_b" });
      const A = products(a);
      const B = products(b);
      await a.sync();
      await b.sync();
      await A.create({ name: "only in a" });
      assert.equal(await A.count(), 1);
      assert.equal(await B.count(), 0);
      const tables = await raw`SELECT table_schema FROM information_schema.tables
      WHERE table_name = 'Products' ORDER BY 1`;
      assert.deepEqual(tables.map((row) => row.table_schema), ["tenant_a", "tenant_b"]);
    }),
);

// ---------------------------------------------------------------------------------------------
// Values

pgTest(
  "canonical values round-trip exactly (decimal, datetime, date, time, guid, json, binary)",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      const values = {
        name: "Chai",
        price: "9999999999999.99",
        added: new Date("2024-01-02T03:04:05.678Z"),
        day: "2024-02-29",
        at: "23:59:58.5",
        ref: "6F9619FF-8B86-D011-B42D-00C04FC964FF",
        tags: { a: [1, "two", null], b: { c: true } },
        blob: new Uint8Array([0, 1, 254, 255]),
        active: false,
        ratio: 0.1,
        stock: 2 ** 40,
      };
      const created = await Products.create(values);
      const found = await Products.findByIdOrFail(created.id as number);
      for (const record of [created, found]) {
        assert.equal(record.price, "9999999999999.99");
        assert.deepEqual(record.added, values.added);
        assert.equal(record.day, "2024-02-29");
        assert.equal(record.at, "23:59:58.5");
        assert.equal(record.ref, "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert.deepEqual(record.tags, values.tags);
        assert.deepEqual(record.blob, values.blob);
        assert.equal(record.active, false);
        assert.equal(record.ratio, 0.1);
        assert.equal(record.stock, 2 ** 40);
      }
      // Stored exactly, as PostgreSQL sees it.
      const [row] = await raw`SELECT price::text AS p, tags->'b'->>'c' AS c FROM "Products"`;
      assert.deepEqual({ ...row }, { p: "9999999999999.99", c: "true" });
      // Filters on typed values.
      assert.equal(await Products.where("ref", "eq", values.ref.toLowerCase()).count(), 1);
      assert.equal(await Products.where("added", "eq", values.added).count(), 1);
      assert.equal(await Products.where("day", "gt", "2024-02-28").count(), 1);
      assert.equal(await Products.where("price", "gt", "9999999999999.98").count(), 1);
    }),
);

pgTest(
  "string functions are case-sensitive and match % _ \\ literally; indexof is 0-based",
  () =>
    withDatabase(async ({ namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      const names = ["a%b", "a_b", "axb", "A%B", "x\\y", "xy", "[*?]"];
      await Products.createMany(names.map((name) => ({ name })));
      const found = async (op: "contains" | "startswith" | "endswith", value: string) =>
        (await Products.where("name", op, value).orderBy("name").find()).data.map((r) => r.name);
      assert.deepEqual(await found("contains", "%"), ["A%B", "a%b"]);
      assert.deepEqual(await found("contains", "_"), ["a_b"]);
      assert.deepEqual(await found("startswith", "a%"), ["a%b"]);
      assert.deepEqual(await found("endswith", "\\y"), ["x\\y"]);
      assert.deepEqual(await found("contains", "*?"), ["[*?]"]);
      assert.deepEqual(await found("contains", "B"), ["A%B"]);
      const rows = await Products.filter("indexof(name,'b') eq 2 and substring(name,1,1) eq '%'")
        .find();
      assert.deepEqual(rows.data.map((r) => r.name), ["a%b"]);
    }),
);

pgTest(
  "order, paging, null semantics of eq/ne and in-lists follow OData",
  () =>
    withDatabase(async ({ namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      await Products.createMany([
        { name: "b", stock: 2 },
        { name: "a", stock: null },
        { name: "C", stock: 1 },
        { name: "d", stock: 3 },
      ]);
      const list = async (q: ReturnType<typeof Products.orderBy>) =>
        (await q.find()).data.map((r) => r.name);
      // Code-point order (the "C" collation), nulls first ascending.
      assert.deepEqual(await list(Products.orderBy("name")), ["C", "a", "b", "d"]);
      assert.deepEqual(await list(Products.orderBy("stock")), ["a", "C", "b", "d"]);
      assert.deepEqual(await list(Products.orderBy("stock", "desc").limit(2).offset(1)), [
        "b",
        "C",
      ]);
      assert.equal(await Products.where("stock", "ne", 2).count(), 3); // null ne 2 is true
      assert.equal(await Products.where("stock", "eq", null).count(), 1);
      assert.equal(await Products.where("stock", "in", [1, 3]).count(), 2);
      // Two-valued logic: a null stock is not greater than 1, so `not` of that holds for it.
      assert.deepEqual(await list(Products.filter("not (stock gt 1)").orderBy("name")), ["C", "a"]);
      assert.deepEqual(await list(Products.filter("not (stock eq 1)").orderBy("name")), [
        "a",
        "b",
        "d",
      ]);
      assert.deepEqual(await list(Products.filter("not (stock in (1,2))").orderBy("name")), [
        "a",
        "d",
      ]);
      assert.deepEqual(await list(Products.filter("not contains(name,'b')").orderBy("name")), [
        "C",
        "a",
        "d",
      ]);
      const many = Array.from({ length: 100_000 }, (_, i) => i + 3);
      assert.equal(await Products.where("stock", "in", many).count(), 1);
    }),
);

// ---------------------------------------------------------------------------------------------
// Errors

pgTest(
  "constraint violations map to their codes",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      ns.registerEntity("Lines", {
        fields: {
          id: { type: "integer", primaryKey: true },
          productId: { type: "integer" },
        },
        relations: { product: { type: "one", entity: "Products", foreignKey: "productId" } },
      });
      await ns.sync();
      await Products.create({ name: "a" });
      await assert.rejects(() => Products.create({ name: "a" }), isCode("CONSTRAINT_UNIQUE"));
      await assert.rejects(
        () => ns.getEntity("Lines").create({ productId: 999 }),
        isCode("CONSTRAINT_FOREIGN_KEY"),
      );
      await raw.unsafe('ALTER TABLE "Products" ADD CONSTRAINT positive CHECK (stock >= 0)');
      await assert.rejects(
        () => Products.create({ name: "b", stock: -1 }),
        (error) =>
          isCode("CONSTRAINT_CHECK")(error) &&
          (error as ODataActiveRecordError).context.constraint === "positive",
      );
      // The table is stricter than the registered schema: the database has the last word.
      await raw.unsafe(`ALTER TABLE "Products" ADD COLUMN "must" text NOT NULL DEFAULT 'x'`);
      await raw.unsafe('ALTER TABLE "Products" ALTER COLUMN "must" DROP DEFAULT');
      await assert.rejects(() => Products.create({ name: "c" }), isCode("CONSTRAINT_NOT_NULL"));
    }),
);

pgTest(
  "statementTimeout: a statement past it is cancelled by the server (TIMEOUT)",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace({ statementTimeout: 200 });
      const Products = products(ns);
      await ns.sync();
      await raw.begin(async (sql) => {
        await sql.unsafe('LOCK TABLE "Products" IN ACCESS EXCLUSIVE MODE');
        await assert.rejects(() => Products.find(), isCode("TIMEOUT"));
      });
      assert.equal(await Products.count(), 0);
    }),
);

pgTest(
  "a deadlock aborts one transaction with retryable TRANSACTION_CONFLICT; the other commits",
  () =>
    withDatabase(async ({ namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      await Products.createMany([{ id: 1, name: "one", stock: 0 }, {
        id: 2,
        name: "two",
        stock: 0,
      }]);
      let arrived = 0;
      let bothHoldALock!: () => void;
      const barrier = new Promise<void>((resolve) => (bothHoldALock = resolve));
      const crossing = (first: number, second: number) =>
        ns.transaction(async () => {
          await Products.where("id", "eq", first).increment("stock", 1);
          if (++arrived === 2) bothHoldALock();
          await barrier;
          await Products.where("id", "eq", second).increment("stock", 1);
        });
      const results = await Promise.allSettled([crossing(1, 2), crossing(2, 1)]);
      const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      assert.equal(failed.length, 1);
      const error = failed[0]!.reason;
      assert.ok(error instanceof ODataActiveRecordError, String(error));
      assert.equal(error.code, "TRANSACTION_CONFLICT");
      assert.equal(error.context.retryable, true);
      const stocks = (await Products.orderBy("id").find()).data.map((r) => r.stock);
      assert.deepEqual(stocks, [1, 1]); // only the committed transaction's two increments
    }),
);

// ---------------------------------------------------------------------------------------------
// Transactions

pgTest(
  "transactions commit, roll back and nest as savepoints; ended ones refuse",
  () =>
    withDatabase(async ({ namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      const oops = new Error("caller's own error");
      await assert.rejects(
        () =>
          ns.transaction(async () => {
            await Products.create({ name: "rolled back" });
            throw oops;
          }),
        (error) => error === oops, // comes back unchanged
      );
      assert.equal(await Products.count(), 0);
      let kept: typeof Products | undefined;
      await ns.transaction(async (tx) => {
        kept = tx.getEntity("Products") as typeof Products;
        await Products.create({ name: "outer" });
        await assert.rejects(() =>
          ns.transaction(async () => {
            await Products.create({ name: "inner" });
            throw new Error("inner fails");
          })
        );
        await ns.transaction(() => Products.create({ name: "inner kept" }));
      });
      const names = (await Products.orderBy("name").find()).data.map((r) => r.name);
      assert.deepEqual(names, ["inner kept", "outer"]);
      await assert.rejects(() => kept!.create({ name: "late" }), isCode("TRANSACTION_CLOSED"));
      assert.equal(await Products.count(), 2);
    }),
);

pgTest(
  "one failing write among concurrent ones keeps nothing of the transaction",
  () =>
    withDatabase(async ({ namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      await Products.create({ name: "taken" });
      await assert.rejects(() =>
        ns.transaction(async () => {
          await Promise.all([
            Products.create({ name: "x1" }),
            Products.create({ name: "taken" }),
            Products.create({ name: "x2" }),
          ]);
        })
      );
      // A caught failure still fails the commit: PostgreSQL kept nothing after it.
      await assert.rejects(
        () =>
          ns.transaction(async () => {
            await Products.create({ name: "y1" });
            await Products.create({ name: "taken" }).catch(() => {});
          }),
        (error) => error instanceof ODataActiveRecordError,
      );
      assert.deepEqual((await Products.find()).data.map((r) => r.name), ["taken"]);
    }),
);

pgTest(
  "50 concurrent increments give +50; concurrent versioned saves conflict, never lose updates",
  () =>
    withDatabase(async ({ namespace }) => {
      const ns = namespace({ poolSize: 5 });
      const Products = products(ns);
      await ns.sync();
      const { id } = await Products.create({ name: "counter", stock: 0 });
      await Promise.all(
        Array.from({ length: 50 }, () => Products.where("id", "eq", id).increment("stock", 1)),
      );
      assert.equal((await Products.findByIdOrFail(id as number)).stock, 50);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, async () => {
          const record = await Products.findByIdOrFail(id as number);
          record.stock = (record.stock as number) + 1;
          await record.save();
        }),
      );
      const saved = results.filter((r) => r.status === "fulfilled").length;
      for (const r of results) {
        if (r.status === "rejected") assert.equal(r.reason.code, "CONFLICT");
      }
      assert.ok(saved >= 1);
      assert.equal((await Products.findByIdOrFail(id as number)).stock, 50 + saved);
    }),
);

// ---------------------------------------------------------------------------------------------
// Injection and streams

pgTest(
  "injection through values, names and filter text changes nothing",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace();
      const Products = products(ns);
      await ns.sync();
      const evil = `x'); DROP TABLE "Products"; --`;
      await Products.create({ name: evil });
      assert.equal(await Products.where("name", "eq", evil).count(), 1);
      assert.equal(await Products.filter(`name eq 'a'' or ''1'' eq ''1'`).count(), 0);
      await assert.rejects(
        async () => await Products.filter(`name eq 'a'; DROP TABLE "Products"`).count(),
        (error) => error instanceof ODataActiveRecordError,
      );
      await assert.rejects(
        async () => await Products.where('name" = name; --' as "name", "eq", "x").count(),
        isCode("UNKNOWN_FIELD"),
      );
      const [row] = await raw`SELECT count(*)::int AS n FROM "Products"`;
      assert.equal(row!.n, 1);
    }),
);

pgTest(
  "stream() reads through a server-side cursor and can be left early",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace({ poolSize: 2 });
      const Products = products(ns);
      await ns.sync();
      await raw.unsafe(
        `INSERT INTO "Products" (name, stock, version)
       SELECT 'p' || i, i, 1 FROM generate_series(1, 1000) i`,
      );
      let seen = 0;
      for await (const row of Products.orderBy("stock").stream()) {
        assert.equal(row.stock, ++seen);
      }
      assert.equal(seen, 1000);
      for await (const _row of Products.stream()) break;
      // The cursor's connection went back to the pool: both connections serve queries.
      await Promise.all([Products.count(), Products.count(), Products.count()]);
    }),
);

pgTest(
  "a forgotten sync() is SCHEMA_NOT_SYNCED; createMany with returning: false writes all",
  () =>
    withDatabase(async ({ raw, namespace }) => {
      const ns = namespace({ schema: "not_synced_yet" });
      const Products = products(ns);
      await assert.rejects(() => Products.find(), isCode("SCHEMA_NOT_SYNCED"));
      await ns.sync();
      const rows = Array.from({ length: 20_000 }, (_, i) => ({ name: `n${i}`, stock: i }));
      const written = await Products.createMany(rows, { returning: false });
      assert.equal(written, 20_000);
      const [row] = await raw`SELECT count(*)::int AS n, sum(stock)::text AS s
      FROM not_synced_yet."Products"`;
      assert.deepEqual({ ...row }, { n: 20_000, s: String((19_999 * 20_000) / 2) });
      // All or nothing: a duplicate in the last chunk keeps none of the rows.
      const bad = [...rows.map((r) => ({ ...r, name: `m${r.name}` })), { name: "n5" }];
      await assert.rejects(() => Products.createMany(bad), isCode("CONSTRAINT_UNIQUE"));
      assert.equal(await Products.count(), 20_000);
      // A duplicate in the first chunk while later chunks are already sent: that error (not the
      // aborted transaction's) is reported, and none of the rows is kept.
      const early = [{ name: "n7" }, ...rows.map((r) => ({ ...r, name: `e${r.name}` }))];
      await assert.rejects(() => Products.createMany(early), isCode("CONSTRAINT_UNIQUE"));
      assert.equal(await Products.count(), 20_000);
      // Many chunks of two shapes: the records come back in the order given, with their keys.
      const mixed = Array.from(
        { length: 9_000 },
        (_, i) => i % 3 === 0 ? { name: `x${i}` } : { name: `x${i}`, stock: i },
      );
      const created = await Products.createMany(mixed);
      assert.deepEqual(created.map((p) => p.name), mixed.map((r) => r.name));
      assert.deepEqual(created.map((p) => p.stock), mixed.map((r) => r.stock ?? null));
      const ids = created.map((p) => p.id as number);
      assert.equal(new Set(ids).size, 9_000);
      const [stored] = await raw`SELECT count(*)::int AS n FROM not_synced_yet."Products"
        WHERE id = ANY(${ids}) AND name LIKE 'x%'`;
      assert.equal(stored!.n, 9_000);
    }),
);
