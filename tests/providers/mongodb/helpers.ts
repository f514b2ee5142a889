/**
 * The MongoDB test server: the real server at `MONGODB_URI` when set, else CongoDB (a MongoDB
 * wire-protocol server written in TypeScript) started under Node from `server/` (its npm
 * dependencies are installed on first use). Each fixture gets its own database.
 */

import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import {
  type EntityNamespace,
  EntityNamespaceManager,
  type MongoProviderConfig,
} from "../../../mod.ts";
import { loadNorthwind } from "../../../examples/northwind/load.ts";

const SERVER_DIR = fileURLToPath(new URL("./server/", import.meta.url));

/** A running server. */
export interface MongoServer extends AsyncDisposable {
  /** The connection string. */
  readonly url: string;
  /** True for CongoDB (the test server), false for a real server from MONGODB_URI. */
  readonly congo: boolean;
  /** Stops the server (no-op for a real server). */
  stop(): Promise<void>;
}

async function ensureInstalled(): Promise<void> {
  if (existsSync(`${SERVER_DIR}/node_modules/@push.rocks/smartmongo`)) return;
  const install = await new Deno.Command("npm", {
    args: ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: SERVER_DIR,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!install.success) throw new Error("npm install of the MongoDB test server failed");
}

/** Starts CongoDB (or uses MONGODB_URI). */
export async function startMongo(): Promise<MongoServer> {
  const external = Deno.env.get("MONGODB_URI");
  if (external) {
    const stop = () => Promise.resolve();
    return { url: external, congo: false, stop, [Symbol.asyncDispose]: stop };
  }
  await ensureInstalled();
  const child = new Deno.Command("node", {
    args: ["server.mjs"],
    cwd: SERVER_DIR,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const decoder = new TextDecoder();
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the MongoDB test server exited before it was ready: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  void child.stdout.cancel();
  const match = /READY (\S+)/.exec(text);
  if (match === null) throw new Error(`unexpected output from the test server: ${text}`);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await child.stdin.close().catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
  // CongoDB answers the driver's streaming heartbeat (exhaust "hello") with a reply the driver
  // reads as a broken stream ("moreToCome"), which then clears the pool under running operations:
  // polling heartbeats there.
  const url = `${match[1]!}/?serverMonitoringMode=poll`;
  return { url, congo: true, stop, [Symbol.asyncDispose]: stop };
}

let databaseCounter = 0;

/** A provider config on its own database of `server`. */
export function mongoConfig(
  server: MongoServer,
  extra: Partial<MongoProviderConfig> = {},
): MongoProviderConfig {
  return {
    type: "mongodb",
    connectionString: server.url,
    databaseName: `oar_test_${Date.now().toString(36)}_${databaseCounter++}`,
    // CongoDB's engine (mingo) has no Decimal128 arithmetic: store decimals as doubles there.
    decimal: server.congo ? "double" : "decimal128",
    timeout: 5000,
    ...extra,
  };
}

/** A Northwind namespace on its own database. */
export async function openMongoNorthwind(
  server: MongoServer,
): Promise<
  { namespace: EntityNamespace; manager: EntityNamespaceManager; close(): Promise<void> }
> {
  const manager = new EntityNamespaceManager();
  const namespace = manager.createNamespace("northwind", { provider: mongoConfig(server) });
  await loadNorthwind(namespace);
  return { namespace, manager, close: () => manager.close() };
}
