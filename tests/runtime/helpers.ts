/** Helpers shared by the runtime tests: temp dirs, coded-error predicates, captured log lines. */
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ODataActiveRecordError } from "../../mod.ts";

export { isCode, withDir } from "../providers/sqlite/helpers.ts";

/** Runs `fn` with the library's log records captured (as rendered text lines). */
export async function withLogs(
  fn: (lines: string[], records: LogRecord[]) => Promise<void>,
): Promise<void> {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: {
      capture: (record: LogRecord) => {
        records.push(record);
        lines.push(record.message.map((part) => String(part)).join(""));
      },
    },
    loggers: [
      { category: ["odata-active-record"], sinks: ["capture"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [] },
    ],
  });
  try {
    await fn(lines, records);
  } finally {
    await reset();
  }
}

/** A deterministic PRNG (mulberry32) for fixed-seed tests. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits (bounded) until `condition()` holds; fails with `what` otherwise. */
export async function eventually(
  condition: () => boolean,
  what: string,
  limitMs = 10000,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`Timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Breaks a SQLite database in place (every file of it overwritten with junk, as a failing disk
 * would); returns a restore that puts the good file back atomically (rename), so a reconnect never
 * sees a half-written file, or (`"in-place"`) writes the bytes back into the same files.
 */
export async function corruptDatabase(
  filePath: string,
  restoreMode: "rename" | "in-place" = "rename",
): Promise<() => Promise<void>> {
  const db = new DatabaseSync(filePath);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // every page in the main file
  db.close();
  const good = await readFile(filePath);
  const files = [filePath, `${filePath}-wal`, `${filePath}-shm`];
  const saved = await Promise.all(files.map((file) => readFile(file).catch(() => undefined)));
  for (const file of files) {
    const size = await stat(file).then((s) => s.size, () => -1);
    if (size > 0) await writeFile(file, new Uint8Array(size).fill(7));
  }
  if (restoreMode === "in-place") {
    // The same files (inodes) get their bytes back: open connections see a healed disk.
    return async () => {
      for (const [i, file] of files.entries()) {
        if (saved[i] !== undefined) await writeFile(file, saved[i]!);
      }
    };
  }
  return async () => {
    await rm(`${filePath}-wal`, { force: true });
    await rm(`${filePath}-shm`, { force: true });
    await writeFile(`${filePath}.restore`, good);
    await rename(`${filePath}.restore`, filePath);
  };
}

/** A fresh temp dir path (created) for tests that manage removal themselves. */
export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "oar-runtime-"));
}

/** Removes a directory tree. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** An error like the ones network drivers throw. */
export function errno(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

/** A coded module error. */
export function unavailable(context: Record<string, unknown> = {}): ODataActiveRecordError {
  return new ODataActiveRecordError("PROVIDER_UNAVAILABLE", "store down", { context });
}
