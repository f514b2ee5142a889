// deno-lint-ignore-file no-console
/**
 * Portable smoke test of the public entry `mod.ts`. It uses no Deno API, only erasable
 * TypeScript and `node:` built-ins, so the same file runs unchanged under
 *
 * - Deno: `deno run tests/portable/smoke.ts`
 * - Node ≥ 22.18 (type stripping): `node tests/portable/smoke.ts`
 * - Bun: `bun tests/portable/smoke.ts`
 *
 * Run as a script it prints `portable smoke: N passed, M failed` and sets a non-zero exit code on
 * failure. `smoke_test.ts` imports {@linkcode SMOKE_CHECKS} to run the same checks under
 * `deno test` (the file name has no `_test` suffix, so `deno test` does not collect it itself).
 *
 * @module
 */

import assert from "node:assert/strict";
import process from "node:process";
import { inspect } from "node:util";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CircuitBreaker,
  createODataHandler,
  EntityNamespaceManager,
  installShutdownHandlers,
  MAX_SUPPORTED_DEPTH,
  ODataActiveRecordError,
  ODataSyntaxError,
  parseFilter,
  parseQuery,
  PercentileTracker,
  ProductionODataService,
  retry,
  serializeFilter,
  serializeQuery,
  toNodeListener,
} from "../../mod.ts";

/** One named check. */
export interface SmokeCheck {
  readonly name: string;
  readonly run: () => void | Promise<void>;
}

const path = (...names: string[]) => ({
  kind: "Path",
  root: "implicit",
  segments: names.map((name) => ({ kind: "Property", name })),
});
const int = (value: number) => ({ kind: "Literal", type: "int", value });
const str = (value: string) => ({ kind: "Literal", type: "string", value });

/** The checks, in order. */
export const SMOKE_CHECKS: readonly SmokeCheck[] = [
  {
    name: "comparison",
    run: () => {
      assert.deepEqual(parseFilter("UnitPrice gt 5"), {
        kind: "Binary",
        operator: "gt",
        left: path("UnitPrice"),
        right: int(5),
      });
    },
  },
  {
    name: "precedence: and binds tighter than or",
    run: () => {
      const ast = parseFilter("A eq 1 or B eq 2 and C eq 3");
      assert.equal(ast.kind, "Binary");
      if (ast.kind !== "Binary") return;
      assert.equal(ast.operator, "or");
      assert.equal(ast.right.kind === "Binary" && ast.right.operator, "and");
    },
  },
  {
    name: "canonical function and navigation path",
    run: () => {
      assert.deepEqual(parseFilter("startswith(Category/CategoryName,'Bev')"), {
        kind: "Call",
        name: "startswith",
        args: [path("Category", "CategoryName"), str("Bev")],
      });
    },
  },
  {
    name: "string literal with escaped quote",
    run: () => {
      assert.deepEqual(parseFilter("ShipName eq 'O''Neil'"), {
        kind: "Binary",
        operator: "eq",
        left: path("ShipName"),
        right: str("O'Neil"),
      });
    },
  },
  {
    name: "lambda any",
    run: () => {
      const ast = parseFilter("Order_Details/any(d:d/Quantity gt 10)");
      assert.equal(ast.kind, "Path");
      if (ast.kind !== "Path") return;
      assert.equal(ast.segments.length, 2);
      const lambda = ast.segments[1];
      assert.equal(lambda?.kind, "Lambda");
      if (lambda?.kind !== "Lambda") return;
      assert.equal(lambda.operator, "any");
      assert.equal(lambda.variable, "d");
    },
  },
  {
    name: "in list",
    run: () => {
      assert.deepEqual(parseFilter("ShipCountry in ('Germany','France')"), {
        kind: "Binary",
        operator: "in",
        left: path("ShipCountry"),
        right: { kind: "List", items: [str("Germany"), str("France")] },
      });
    },
  },
  {
    name: "filter round-trips through serializeFilter",
    run: () => {
      for (
        const text of [
          "UnitPrice mul (1 sub Discount) gt 15",
          "tolower(ShipCountry) eq 'germany' and not (Freight lt 10)",
          "OrderDate ge 1997-01-01T00:00:00Z and OrderDate lt 1998-01-01T00:00:00Z",
          "Order_Details/any(d:d/Quantity gt 10 and d/UnitPrice lt 20)",
        ]
      ) {
        const ast = parseFilter(text);
        assert.deepEqual(parseFilter(serializeFilter(ast)), ast, text);
      }
    },
  },
  {
    name: "query string",
    run: () => {
      const q = parseQuery(
        "$filter=UnitPrice%20gt%2020&$select=ProductName,UnitPrice&$orderby=UnitPrice%20desc&$top=5&$skip=10&$count=true",
      );
      assert.deepEqual(q.filter, {
        kind: "Binary",
        operator: "gt",
        left: path("UnitPrice"),
        right: int(20),
      });
      assert.deepEqual(q.select, [
        { segments: [{ kind: "Property", name: "ProductName" }] },
        { segments: [{ kind: "Property", name: "UnitPrice" }] },
      ]);
      assert.deepEqual(q.orderby, [{ expression: path("UnitPrice"), direction: "desc" }]);
      assert.equal(q.top, 5);
      assert.equal(q.skip, 10);
      assert.equal(q.count, true);
    },
  },
  {
    name: "nested $expand",
    run: () => {
      const q = parseQuery(
        "$expand=Order_Details($select=Quantity;$filter=Quantity gt 5;$expand=Product)",
      );
      assert.equal(q.expand?.length, 1);
      const item = q.expand?.[0];
      assert.deepEqual(item?.path, ["Order_Details"]);
      assert.deepEqual(item?.options?.select, [
        { segments: [{ kind: "Property", name: "Quantity" }] },
      ]);
      assert.deepEqual(item?.options?.expand, [{ path: ["Product"] }]);
    },
  },
  {
    name: "query round-trips through serializeQuery",
    run: () => {
      const q = parseQuery(
        "$filter=contains(CompanyName,'Alfreds')&$expand=Orders($orderby=OrderDate desc;$top=3)&$count=true",
      );
      assert.deepEqual(parseQuery(serializeQuery(q)), q);
    },
  },
  {
    name: "malformed filter throws ODataSyntaxError",
    run: () => {
      assert.throws(() => parseFilter("contains(Name,'a' and Price gt 1"), (error: unknown) => {
        assert.ok(error instanceof ODataSyntaxError);
        assert.equal(typeof error.position, "number");
        assert.match(error.message, /^Expected "\)" at position \d+/);
        return true;
      });
      assert.throws(() => parseFilter("Price gt"), ODataSyntaxError);
      assert.throws(() => parseQuery("$top=abc"), ODataSyntaxError);
    },
  },
  {
    // The largest configurable maxDepth must hold on this runtime's call stack.
    name: "nesting at MAX_SUPPORTED_DEPTH parses and prints",
    run: () => {
      const limits = { maxDepth: MAX_SUPPORTED_DEPTH, maxNodes: 100000, maxLength: 100000 };
      const n = MAX_SUPPORTED_DEPTH - 1;
      for (
        const [open, close, reps] of [
          ["(", ")", n],
          ["A/any(d:d/B/any(e:", "))", Math.floor(n / 2)],
          ["A/$count($filter=", ") gt 0", n],
          ['{"a":', "}", n],
        ] as const
      ) {
        const ast = parseFilter(open.repeat(reps) + "true" + close.repeat(reps), { limits });
        assert.deepEqual(parseFilter(serializeFilter(ast), { limits }), ast);
      }
    },
  },
  {
    // node:sqlite exists in Deno 2.2+, Node 22.5+ and Bun: the embedded default runs everywhere.
    name: "Active Record on SQLite in memory",
    run: async () => {
      const manager = new EntityNamespaceManager();
      try {
        const shop = manager.createNamespace("shop", {
          provider: { type: "sqlite", filePath: ":memory:" },
        });
        const Product = shop.registerEntity("Products", {
          fields: {
            ProductID: { type: "integer", primaryKey: true },
            ProductName: { type: "string", required: true },
            UnitPrice: { type: "decimal", scale: 2 },
            Discontinued: { type: "boolean", defaultValue: false },
          },
        });
        await shop.sync();
        await Product.createMany([
          { ProductName: "Chai", UnitPrice: 18 },
          { ProductName: "Chang", UnitPrice: 19 },
          { ProductName: "Côte de Blaye", UnitPrice: "263.50" },
        ]);
        const { data, count } = await Product.where("UnitPrice", "gt", 18).orderBy("ProductName")
          .withCount()
          .find();
        assert.deepEqual(data.map((p) => p.toJSON()), [
          { ProductID: 2, ProductName: "Chang", UnitPrice: "19.00", Discontinued: false },
          { ProductID: 3, ProductName: "Côte de Blaye", UnitPrice: "263.50", Discontinued: false },
        ]);
        assert.equal(count, 2);
        await assert.rejects(
          shop.transaction(async (tx) => {
            await tx.getEntity("Products").where("ProductID", 1).update({ Discontinued: true });
            throw new Error("roll back");
          }),
          /roll back/,
        );
        assert.equal(await Product.where("Discontinued", true).count(), 0);
        await assert.rejects(Product.delete(), (error: unknown) => {
          assert.ok(error instanceof ODataActiveRecordError);
          assert.equal(error.code, "UNSAFE_OPERATION");
          return true;
        });
      } finally {
        await manager.close();
      }
    },
  },
  {
    // Records are values on every runtime: util.inspect, spread, structuredClone, guarded writes.
    name: "records print, spread and clone as values",
    run: async () => {
      const manager = new EntityNamespaceManager();
      try {
        const shop = manager.createNamespace("values", {
          provider: { type: "sqlite", filePath: ":memory:" },
        });
        const Note = shop.registerEntity("Notes", {
          fields: {
            id: { type: "integer", primaryKey: true },
            text: { type: "string", required: true },
            tags: { type: "json" },
            at: { type: "datetime" },
          },
        });
        await shop.sync();
        const note = await Note.create({ text: "hello", tags: [1], at: 0 });
        const values = { id: 1, text: "hello", tags: [1], at: new Date(0) };
        assert.match(inspect(note), /^Notes \{ id: 1, text: 'hello', tags: \[ 1 \], at: 1970/);
        assert.deepEqual({ ...note }, values);
        assert.deepEqual(structuredClone(note), values);
        assert.throws(() => {
          (note as unknown as Record<string, unknown>).txt = "x";
        }, (error: unknown) => error instanceof ODataActiveRecordError);
        (note.tags as number[]).push(2);
        assert.equal(note.isDirty, true);
        await note.save();
        assert.deepEqual((await Note.findById(1))?.tags, [1, 2]);
      } finally {
        await manager.close();
      }
    },
  },
  {
    // The HTTP OData provider needs only fetch: a node:http service, two pages and a count.
    name: "HTTP OData provider over fetch",
    run: async () => {
      const seen: string[] = [];
      const server = createServer((request, response) => {
        const url = request.url ?? "";
        seen.push(url);
        response.setHeader("content-type", "application/json");
        if (url.startsWith("/odata/Items/$count")) {
          response.end("3");
          return;
        }
        const page = url.includes("$skiptoken=2")
          ? { value: [{ id: 3, name: "c", price: "30.5" }] }
          : {
            "@odata.count": 3,
            value: [{ id: 1, name: "a", price: 10 }, { id: 2, name: "b", price: "20.25" }],
            "@odata.nextLink": "Items?$skiptoken=2",
          };
        response.end(JSON.stringify(page));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const manager = new EntityNamespaceManager();
      try {
        const { port } = server.address() as { port: number };
        const remote = manager.createNamespace("remote", {
          provider: { type: "http-odata", baseUrl: `http://127.0.0.1:${port}/odata/` },
        });
        const Item = remote.registerEntity("Items", {
          fields: {
            id: { type: "integer", primaryKey: true },
            name: { type: "string" },
            price: { type: "decimal", scale: 2 },
          },
        });
        const { data, count } = await Item.where("price", "gt", 5).withCount().find();
        assert.deepEqual(data.map((r) => r.toJSON()), [
          { id: 1, name: "a", price: "10.00" },
          { id: 2, name: "b", price: "20.25" },
          { id: 3, name: "c", price: "30.50" },
        ]);
        assert.equal(count, 3);
        assert.equal(await Item.count(), 3);
        assert.deepEqual(seen, [
          "/odata/Items?$filter=price%20gt%205.0&$count=true",
          "/odata/Items?$skiptoken=2",
          "/odata/Items/$count",
        ]);
      } finally {
        await manager.close();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  },
  {
    // AsyncLocalStorage (node:async_hooks) carries the ambient transaction in every runtime.
    name: "ambient transactions, savepoints, closed scopes, increments",
    run: async () => {
      const manager = new EntityNamespaceManager();
      try {
        const ns = manager.createNamespace("tx", {
          provider: { type: "sqlite", filePath: ":memory:", busyTimeoutMs: 200 },
        });
        const Stock = ns.registerEntity("Stock", {
          fields: {
            id: { type: "integer", primaryKey: true },
            n: { type: "integer" },
            v: { type: "integer", version: true },
          },
        });
        await ns.sync();
        await Stock.create({ id: 1, n: 0 });
        let kept: typeof Stock | undefined;
        await assert.rejects(
          ns.transaction(async (tx) => {
            kept = tx.getEntity("Stock");
            await Stock.incrementById(1, "n", 5); // the namespace's model joins the transaction
            await ns.transaction(async () => {
              await Stock.incrementById(1, "n", 1);
            });
            assert.equal((await Stock.findByIdOrFail(1)).n, 6);
            throw new Error("roll back");
          }),
          /roll back/,
        );
        assert.equal((await Stock.findByIdOrFail(1)).n, 0);
        await assert.rejects(kept!.find(), (error: unknown) => {
          assert.ok(error instanceof ODataActiveRecordError);
          assert.equal(error.code, "TRANSACTION_CLOSED");
          return true;
        });
        const stale = await Stock.findByIdOrFail(1);
        await Stock.where("id", 1).increment("n");
        stale.n = 10;
        await assert.rejects(stale.save(), (error: unknown) => {
          assert.ok(error instanceof ODataActiveRecordError);
          assert.equal(error.code, "CONFLICT");
          return true;
        });
      } finally {
        await manager.close();
      }
    },
  },
  {
    name: "OData endpoint: direct calls and node:http through toNodeListener",
    run: async () => {
      const manager = new EntityNamespaceManager();
      const server = createServer();
      try {
        const shop = manager.createNamespace("shop", {
          provider: { type: "sqlite", filePath: ":memory:" },
        });
        shop.registerEntity("Products", {
          fields: {
            ProductID: { type: "integer", primaryKey: true },
            ProductName: { type: "string" },
            UnitPrice: { type: "decimal", scale: 2 },
          },
        });
        await shop.sync();
        await shop.getEntity("Products").create({ ProductName: "Chai", UnitPrice: 18 });
        const handler = createODataHandler(shop, { basePath: "/odata/" });
        const direct = await handler(new Request("http://localhost/odata/Products(1)"));
        assert.equal(direct.status, 200);
        assert.match(await direct.text(), /"ProductName":"Chai","UnitPrice":18\.00/);
        server.on("request", toNodeListener(handler));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const { port } = server.address() as AddressInfo;
        const created = await fetch(`http://127.0.0.1:${port}/odata/Products`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ProductName: "Chang", UnitPrice: 19 }),
        });
        assert.equal(created.status, 201);
        assert.equal(created.headers.get("location"), `http://127.0.0.1:${port}/odata/Products(2)`);
        await created.text();
        const count = await fetch(`http://127.0.0.1:${port}/odata/Products/$count`);
        assert.equal(await count.text(), "2");
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(() => resolve(undefined)));
        await manager.close();
      }
    },
  },
  {
    name: "production runtime: tracker, retry, breaker, service query, health, shutdown",
    run: async () => {
      const tracker = new PercentileTracker();
      for (let i = 1; i <= 1000; i++) tracker.record(i);
      assert.ok(Math.abs(tracker.percentile(99) - 990) / 990 < 0.01);
      let calls = 0;
      const value = await retry(
        () =>
          ++calls < 3
            ? Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))
            : Promise.resolve(calls),
        { minTimeout: 1, jitter: 0 },
      );
      assert.equal(value, 3);
      const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60000 });
      await breaker.execute(() => Promise.reject(new ODataActiveRecordError("TIMEOUT", "slow")))
        .catch(() => {});
      await assert.rejects(breaker.execute(() => Promise.resolve(1)), { code: "CIRCUIT_OPEN" });
      const service = new ProductionODataService({
        namespaces: {
          mem: {
            connection: { type: "sqlite", filePath: ":memory:" },
            entities: {
              logs: {
                fields: { id: { type: "integer", primaryKey: true }, level: { type: "string" } },
              },
            },
            setup: async (ns) => {
              await ns.getEntity("logs").createMany([{ level: "info" }, { level: "error" }]);
            },
          },
        },
        pool: { healthCheckInterval: 10 },
        metricsLogInterval: 0,
      });
      try {
        await service.initialize();
        const { data } = await service.executeProductionQuery(
          "mem",
          "logs",
          "$filter=level eq 'error'",
        );
        assert.equal(data.length, 1);
        assert.equal((await service.healthCheck()).status, "healthy");
        assert.match(
          service.monitor.toPrometheus(),
          /queries_total\{namespace="mem",entity="logs"\} 1/,
        );
      } finally {
        await service.shutdown();
      }
    },
  },
  {
    name: "shutdown handlers receive a real SIGTERM",
    run: async () => {
      let exitWith!: (code: number) => void;
      const exited = new Promise<number>((resolve) => (exitWith = resolve));
      let ran = false;
      const handlers = installShutdownHandlers(() => {
        ran = true;
        return Promise.resolve();
      }, { signals: ["SIGTERM"], exit: (code) => exitWith(code) });
      // Signal listeners do not keep a process alive: a timer does, until the signal arrived.
      const keepAlive = setTimeout(() => exitWith(-1), 10000);
      try {
        process.kill(process.pid, "SIGTERM");
        assert.equal(await exited, 0);
        assert.ok(ran);
      } finally {
        clearTimeout(keepAlive);
        handlers.uninstall();
      }
    },
  },
];

/** Runs every check and returns the counts and the failures (name and message). */
export async function runSmoke(): Promise<{ passed: number; failed: number; failures: string[] }> {
  let passed = 0;
  const failures: string[] = [];
  for (const check of SMOKE_CHECKS) {
    try {
      await check.run();
      passed++;
    } catch (error) {
      failures.push(`${check.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { passed, failed: failures.length, failures };
}

if (import.meta.main) {
  const { passed, failed, failures } = await runSmoke();
  for (const failure of failures) console.error(`FAIL ${failure}`);
  console.log(`portable smoke: ${passed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}
