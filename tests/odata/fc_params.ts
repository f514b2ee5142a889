/**
 * fast-check parameters shared by the query-language property tests. The suite is deterministic:
 * every property runs with the fixed {@linkcode DEFAULT_SEED} unless `FC_SEED` says otherwise, so
 * `deno task test` gives the same result on every run. Random exploration is `deno task fuzz`
 * (tests/odata/fuzz.ts), which sets `FC_SEED` to fresh seeds and `FC_RUNS` to a larger scale.
 *
 * - `FC_SEED`: the seed (replays a failure reported by `deno task fuzz`).
 * - `FC_PATH`: the shrink path of a failure (use with `--filter` on the failing test's name).
 * - `FC_RUNS`: a factor on every property's number of runs (default 1).
 * - `FC_COUNT_FILE`: when set (by the fuzz task), each property appends its number of runs.
 *
 * @module
 */

import type fc from "fast-check";

/** The seed of every property when `FC_SEED` is unset. */
export const DEFAULT_SEED = 20261207;

/** An environment variable, or undefined when unset or when env access was not granted. */
function env(name: string): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  return granted ? Deno.env.get(name) : undefined;
}

const SCALE = Number(env("FC_RUNS") ?? "1");
const SEED = Number(env("FC_SEED") ?? DEFAULT_SEED);
const PATH = env("FC_PATH");
const COUNT_FILE = env("FC_COUNT_FILE");

if (!Number.isInteger(SEED)) throw new Error(`FC_SEED must be an integer, got ${env("FC_SEED")}`);
if (!(SCALE > 0)) throw new Error(`FC_RUNS must be a positive number, got ${env("FC_RUNS")}`);

/**
 * The parameters of one `fc.assert`: `numRuns` scaled by `FC_RUNS`, the fixed or given seed, and
 * the replay path when given.
 */
export function fcParams<T = unknown>(numRuns: number): fc.Parameters<T> {
  const runs = Math.max(1, Math.round(numRuns * SCALE));
  if (COUNT_FILE !== undefined) Deno.writeTextFileSync(COUNT_FILE, `${runs}\n`, { append: true });
  return { numRuns: runs, seed: SEED, ...(PATH === undefined ? {} : { path: PATH }) };
}
