// deno-lint-ignore-file no-console
/**
 * Portable smoke test of the PostgreSQL provider: the same file runs unchanged under
 *
 * - Deno: `deno run -A tests/portable/postgres_smoke.ts`
 * - Node ≥ 22.18: `node tests/portable/postgres_smoke.ts`
 * - Bun: `bun tests/portable/postgres_smoke.ts`
 *
 * on the server of `POSTGRES_URL`, else `127.0.0.1:5432` (user postgres). It creates its own
 * database, runs Active Record operations through the provider (loaded, as always, by the
 * registry's dynamic import of the bare specifier `postgres`) and drops the database. Without a
 * server it says so and passes, unless `OAR_REQUIRE_POSTGRES=1` (set by `.ci/run`).
 *
 * Deno resolves `postgres` through deno.json. Node and Bun read packages from `node_modules`,
 * which this repository does not have at its root: `npm ci --prefix tests/portable/npm` installs
 * the pinned driver there, and this file points the bare specifier at it (a resolve hook on
 * Node; on Bun, which reads `NODE_PATH` only at start, it runs itself again with `NODE_PATH` set).
 * `postgres_smoke_test.ts` runs the same checks under `deno test`.
 *
 * @module
 */

import assert from "node:assert/strict";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { EntityNamespace, EntityNamespaceManager } from "../../mod.ts";

const NPM_DIR = fileURLToPath(new URL("./npm/", import.meta.url));
const NPM_MODULES = `${NPM_DIR}node_modules`;

/** The runtime this file runs on. */
export const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

type Resolve = (
  specifier: string,
  context: { parentURL?: string },
  next: (specifier: string, context: { parentURL?: string }) => unknown,
) => unknown;

/**
 * Makes the bare specifier `postgres` resolve from tests/portable/npm on Node (a module resolve
 * hook); Deno needs nothing (deno.json). Bun is handled by re-running with `NODE_PATH`.
 */
async function resolveDriverOnNode(): Promise<void> {
  const module = await import("node:module") as unknown as {
    registerHooks?: (hooks: { resolve: Resolve }) => unknown;
  };
  if (module.registerHooks === undefined) {
    throw new Error("This Node has no module.registerHooks (needs Node ≥ 22.15)");
  }
  const parentURL = pathToFileURL(`${NPM_DIR}package.json`).href;
  module.registerHooks({
    resolve: (specifier, context, next) =>
      specifier === "postgres"
        ? next(specifier, { ...context, parentURL })
        : next(specifier, context),
  });
}

/** The admin URL of a server that answers, or `undefined`. */
async function findServer(): Promise<string | undefined> {
  const { default: postgres } = await import("postgres");
  const candidates = [process.env.POSTGRES_URL, "postgres://postgres@127.0.0.1:5432/postgres"]
    .filter((url): url is string => url !== undefined && url !== "");
  for (const url of candidates) {
    const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
    try {
      await sql.unsafe("SELECT 1");
      return url;
    } catch {
      // the next candidate
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
  return undefined;
}

/** What each check gets: a namespace on a fresh database, with the `Products` entity synced. */
export interface PostgresSmokeContext {
  readonly namespace: EntityNamespace;
  readonly manager: EntityNamespaceManager;
}

/** One named check. */
export interface PostgresSmokeCheck {
  readonly name: string;
  readonly run: (context: PostgresSmokeContext) => Promise<void>;
}

const PRODUCTS = {
  fields: {
    ProductID: { type: "integer", primaryKey: true },
    ProductName: { type: "string", required: true, unique: true },
    UnitPrice: { type: "decimal", precision: 10, scale: 2 },
    Stock: { type: "integer", defaultValue: 0 },
    Discontinued: { type: "boolean", defaultValue: false },
    Version: { type: "integer", version: true },
  },
} as const;

function products(context: PostgresSmokeContext) {
  return context.namespace.getEntity("Products");
}

function coded(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.equal((error as { code?: unknown }).code, code, String(error));
    return true;
  };
}

/** The checks, in order (each sees the rows of the ones before). */
export const POSTGRES_SMOKE_CHECKS: readonly PostgresSmokeCheck[] = [
  {
    name: "create, createMany, findById",
    run: async (context) => {
      const Product = products(context);
      await Product.createMany([
        { ProductName: "Chai", UnitPrice: 18 },
        { ProductName: "Chang", UnitPrice: "19.5" },
      ]);
      const created = await Product.create({ ProductName: "Côte de Blaye", UnitPrice: "263.50" });
      assert.equal(created.ProductID, 3);
      const found = await Product.findByIdOrFail(2);
      assert.deepEqual(found.toJSON(), {
        ProductID: 2,
        ProductName: "Chang",
        UnitPrice: "19.50",
        Stock: 0,
        Discontinued: false,
        Version: 1,
      });
      await assert.rejects(Product.create({ ProductName: "Chai" }), coded("CONSTRAINT_UNIQUE"));
    },
  },
  {
    name: "where, orderBy, count",
    run: async (context) => {
      const Product = products(context);
      const { data, count } = await Product.where("UnitPrice", "gt", 18).orderBy(
        "ProductName",
        "desc",
      )
        .withCount().find();
      assert.deepEqual(data.map((p) => p.ProductName), ["Côte de Blaye", "Chang"]);
      assert.equal(count, 2);
      assert.equal(await Product.where("ProductName", "startswith", "Ch").count(), 2);
    },
  },
  {
    name: "update through a query and save with a version field",
    run: async (context) => {
      const Product = products(context);
      assert.equal(await Product.where("UnitPrice", "lt", 19).update({ Discontinued: true }), 1);
      const chai = await Product.findByIdOrFail(1);
      assert.equal(chai.Discontinued, true);
      const stale = await Product.findByIdOrFail(1);
      chai.UnitPrice = "18.25";
      await chai.save();
      stale.UnitPrice = "1.00";
      await assert.rejects(stale.save(), coded("CONFLICT"));
      assert.equal((await Product.findByIdOrFail(1)).UnitPrice, "18.25");
    },
  },
  {
    name: "transactions: commit, rollback, nested savepoint",
    run: async (context) => {
      const Product = products(context);
      await context.namespace.transaction(async (tx) => {
        await tx.getEntity("Products").create({ ProductName: "Aniseed Syrup", UnitPrice: 10 });
        await assert.rejects(
          context.namespace.transaction(async () => {
            await Product.where("ProductID", 2).update({ Stock: 99 });
            throw new Error("inner roll back");
          }),
          /inner roll back/,
        );
      });
      assert.equal((await Product.findByIdOrFail(2)).Stock, 0);
      assert.equal(await Product.where("ProductName", "Aniseed Syrup").count(), 1);
      await assert.rejects(
        context.namespace.transaction(async (tx) => {
          await tx.getEntity("Products").where("ProductID", 3).update({ Stock: 5 });
          throw new Error("roll back");
        }),
        /roll back/,
      );
      assert.equal((await Product.findByIdOrFail(3)).Stock, 0);
    },
  },
  {
    name: "concurrent increments lose nothing",
    run: async (context) => {
      const Product = products(context);
      await Promise.all(Array.from({ length: 20 }, () => Product.incrementById(3, "Stock", 2)));
      await Product.where("ProductID", 3).increment("Stock", -5);
      assert.equal((await Product.findByIdOrFail(3)).Stock, 35);
    },
  },
];

/**
 * Runs every check on a fresh database of the server at `adminUrl` (created here, dropped at the
 * end) and returns the counts and the failures.
 */
export async function runPostgresSmoke(
  adminUrl: string,
): Promise<{ passed: number; failed: number; failures: string[] }> {
  const { default: postgres } = await import("postgres");
  const { EntityNamespaceManager } = await import("../../mod.ts");
  const name = `oar_smoke_${RUNTIME}_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const failures: string[] = [];
  let passed = 0;
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const manager = new EntityNamespaceManager();
    try {
      const namespace = manager.createNamespace("smoke", {
        provider: { type: "postgres", url: url.toString(), poolSize: 4 },
      });
      namespace.registerEntity("Products", PRODUCTS);
      await namespace.sync();
      for (const check of POSTGRES_SMOKE_CHECKS) {
        try {
          await check.run({ namespace, manager });
          passed++;
        } catch (error) {
          failures.push(`${check.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    } finally {
      await manager.close();
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await admin.end({ timeout: 1 });
  }
  return { passed, failed: failures.length, failures };
}

/** Prepares resolution of the driver on this runtime; false when `npm ci` is missing. */
export async function prepareDriver(): Promise<boolean> {
  if (RUNTIME === "deno") return true;
  if (!existsSync(`${NPM_MODULES}/postgres/package.json`)) return false;
  if (RUNTIME === "node") await resolveDriverOnNode();
  return true;
}

if (import.meta.main) {
  const bunNeedsPath = RUNTIME === "bun" &&
    !(process.env.NODE_PATH ?? "").split(":").includes(NPM_MODULES);
  if (!(await prepareDriver())) {
    console.error(`postgres smoke: the driver is missing: run npm ci --prefix ${NPM_DIR}`);
    process.exit(1);
  } else if (bunNeedsPath) {
    // Bun reads NODE_PATH when it starts: run this file again with the driver's folder in it.
    const nodePath = [NPM_MODULES, process.env.NODE_PATH].filter((p) => p).join(":");
    // --no-install: Bun must not fetch a driver from the registry behind our back.
    const child = spawnSync(process.execPath, ["--no-install", fileURLToPath(import.meta.url)], {
      stdio: "inherit",
      env: { ...process.env, NODE_PATH: nodePath },
    });
    process.exit(child.status ?? 1);
  } else {
    const adminUrl = await findServer();
    if (adminUrl === undefined) {
      const required = process.env.OAR_REQUIRE_POSTGRES === "1";
      console.log(
        `postgres smoke (${RUNTIME}): ${required ? "FAILED" : "skipped"}: no server at ` +
          "POSTGRES_URL or 127.0.0.1:5432",
      );
      if (required) process.exitCode = 1;
    } else {
      const { passed, failed, failures } = await runPostgresSmoke(adminUrl);
      for (const failure of failures) console.error(`FAIL ${failure}`);
      console.log(`postgres smoke (${RUNTIME}): ${passed} passed, ${failed} failed`);
      if (failed > 0) process.exitCode = 1;
    }
  }
}
