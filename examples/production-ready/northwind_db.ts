/**
 * The embedded Northwind sample on disk: created and loaded on first start, then reused.
 *
 * The load goes to a temporary file next to the target and is renamed into place only when
 * complete, so a crash during the first start never leaves a half-loaded database behind (and
 * two replicas starting on the same volume do not load twice into one file).
 *
 * @module
 */

import { EntityNamespaceManager } from "../../mod.ts";
import { loadNorthwind } from "../northwind/load.ts";
import { NORTHWIND_ENTITIES } from "../northwind/schema.ts";
import { serviceLogger } from "./logging.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function directoryOf(path: string): string {
  const index = path.lastIndexOf("/");
  return index <= 0 ? (index === 0 ? "/" : ".") : path.slice(0, index);
}

/**
 * Makes sure `path` holds the Northwind sample: returns `"existing"` when the file is already
 * there, `"created"` after loading it.
 *
 * @example
 * ```ts
 * await ensureNorthwindDatabase("./data/northwind.db");
 * ```
 */
export async function ensureNorthwindDatabase(path: string): Promise<"existing" | "created"> {
  if (await exists(path)) return "existing";
  const log = serviceLogger();
  const started = performance.now();
  log.info("💾 Creating the Northwind sample database at {path} (first start)...", { path });
  await Deno.mkdir(directoryOf(path), { recursive: true });
  const temporary = `${path}.loading-${Deno.pid}`;
  const manager = new EntityNamespaceManager();
  try {
    const namespace = manager.createNamespace("northwind_loader", {
      provider: { type: "sqlite", filePath: temporary },
    });
    await loadNorthwind(namespace);
    await manager.close();
    // WAL content is checkpointed on the last close; move the database file only.
    await Deno.rename(temporary, path);
  } catch (error) {
    await manager.close().catch(() => undefined);
    throw error;
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(temporary + suffix).catch(() => undefined);
    }
  }
  log.info("✅ Northwind sample loaded into {path} in {ms}ms", {
    path,
    ms: Math.round(performance.now() - started),
  });
  return "created";
}

/** The Northwind entity definitions, for registering on the served namespace. */
export { NORTHWIND_ENTITIES };
