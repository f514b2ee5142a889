/** Helpers shared by the SQLite provider tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ODataActiveRecordError } from "../../../mod.ts";

/** Runs `fn` with a fresh temporary directory that is removed afterwards. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "oar-sqlite-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A predicate for `assert.rejects`/`throws`: a module error with this code. */
export function isCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof ODataActiveRecordError && error.code === code;
}

/** A minimal entity with an integer key. */
export const NOTES = {
  fields: { id: { type: "integer", primaryKey: true }, text: { type: "string" } },
} as const;
