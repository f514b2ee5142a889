// deno-lint-ignore-file no-console -- a script that reports on stdout
/**
 * `deno task fuzz`: runs the query-language property tests with fresh random seeds and more runs,
 * until a time budget is spent. The suite itself (`deno task test`) always uses one fixed seed;
 * this is where new counterexamples are found. Each failure is printed with its seed, the
 * fast-check path and the command that replays it; pin the input as a fixed example in the suite.
 *
 * Environment: `FUZZ_SECONDS` (time budget, default 120), `FUZZ_SCALE` (factor on every
 * property's number of runs, default 4), `FUZZ_SEED` (first seed; later seeds follow from it;
 * default: a random seed per round). It prints the number of inputs tried.
 *
 * @module
 */

const FILES = [
  "tests/odata/property_test.ts",
  "tests/odata/serializer_safety_test.ts",
  "tests/odata/builders_test.ts",
];

const seconds = Number(Deno.env.get("FUZZ_SECONDS") ?? "120");
const scale = Number(Deno.env.get("FUZZ_SCALE") ?? "4");
const firstSeed = Deno.env.get("FUZZ_SEED");
let seed = firstSeed === undefined ? randomSeed() : Number(firstSeed);

/** A fresh 31-bit seed. */
function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! >>> 1;
}
const began = Date.now();
const deadline = began + seconds * 1000;
const countFile = await Deno.makeTempFile({ prefix: "fuzz-count-" });
let inputs = 0;
let rounds = 0;
const failures: string[] = [];

/**
 * The failing tests of a `deno test` output, each with the fast-check path of its failure: the
 * errors section has a `name => ./file:line:col` header per failing test, followed by its error,
 * in which fast-check prints `{ seed: ..., path: "..." }`.
 */
function failingTests(output: string): { name: string; file: string; path: string }[] {
  const found = new Map<string, { name: string; file: string; path: string }>();
  let current: { name: string; file: string; path: string } | undefined;
  for (const line of output.split("\n")) {
    const header = /^(.+?) => \.\/(tests\/\S+?):\d+:\d+$/.exec(line);
    if (header !== null) {
      const key = `${header[1]} ${header[2]}`;
      current = found.get(key) ?? { name: header[1]!, file: header[2]!, path: "" };
      found.set(key, current);
      continue;
    }
    const shrunk = /seed: -?\d+, path: "([^"]*)"/.exec(line);
    if (shrunk !== null && current !== undefined && current.path === "") current.path = shrunk[1]!;
  }
  return [...found.values()];
}

while (Date.now() < deadline) {
  await Deno.writeTextFile(countFile, "");
  const started = Date.now();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--quiet", "--allow-read", "--allow-write", "--allow-env", ...FILES],
    env: { FC_SEED: String(seed), FC_RUNS: String(scale), FC_COUNT_FILE: countFile, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  const runs = (await Deno.readTextFile(countFile)).split("\n").filter(Boolean).map(Number);
  inputs += runs.reduce((a, b) => a + b, 0);
  rounds++;
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (result.success) {
    console.log(`seed ${seed}: ok (${runs.length} properties, ${took}s)`);
  } else {
    console.log(`seed ${seed}: FAILED (${took}s)`);
    console.log(output.split("\n").filter((line) => !/^(running|ok|\s*$)/.test(line)).join("\n"));
    for (const { name, file, path } of failingTests(output)) {
      const replay = `FC_SEED=${seed} FC_RUNS=${scale}` + (path === "" ? "" : ` FC_PATH=${path}`) +
        ` deno test -A --filter ${JSON.stringify(name)} ${file}`;
      failures.push(replay);
      console.log(`replay: ${replay}`);
    }
  }
  // With FUZZ_SEED the sequence of seeds is reproducible; otherwise each round draws a new one.
  seed = firstSeed === undefined ? randomSeed() : (seed * 48271) % 2147483647;
}
await Deno.remove(countFile);
console.log(
  `fuzz: ${rounds} seeds, ${inputs} inputs in ${Math.round((Date.now() - began) / 1000)}s, ` +
    `${failures.length} failure(s)`,
);
if (failures.length > 0) Deno.exit(1);
