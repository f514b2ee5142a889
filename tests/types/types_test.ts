/**
 * Type-level tests: `deno check` over tests/types/cases/*.ts, whose `@ts-expect-error` lines say
 * what must not compile. Three checks keep them honest:
 * - the cases check clean (an expected error that does not happen is itself an error, TS2578);
 * - with every directive removed, each of those lines is an error (so no directive passes
 *   because of an unrelated error nearby, or because the checker never saw the file);
 * - controls: a directive over a valid line, and a plain type error, both fail the check.
 */

import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const config = new URL("deno.json", root).pathname;
const mod = new URL("mod.ts", root).href;
const casesDir = new URL("./cases/", import.meta.url);
const DIRECTIVE = /^\s*\/\/ @ts-expect-error\b.*$/;

async function caseFiles(): Promise<URL[]> {
  const files: URL[] = [];
  for await (const entry of Deno.readDir(casesDir)) {
    if (entry.isFile && entry.name.endsWith(".ts")) files.push(new URL(entry.name, casesDir));
  }
  assert.ok(files.length > 0, "no type cases found");
  return files.sort((a, b) => a.href.localeCompare(b.href));
}

/** Runs `deno check` on the files; returns the exit code and the (colourless) output. */
async function check(paths: string[]): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--config", config, ...paths],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, output: text.decode(stdout) + text.decode(stderr) };
}

/** Lines (1-based) of `file` where the checker reports an error (not related locations). */
function errorLines(output: string, file: string): Set<number> {
  const lines = new Set<number>();
  const name = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const match of output.matchAll(new RegExp(`^ {4}at file://${name}:(\\d+):\\d+`, "gm"))) {
    lines.add(Number(match[1]));
  }
  return lines;
}

/** Writes `text` (its mod.ts import made absolute) to a temporary file; returns its path. */
async function scratch(dir: string, name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text.replaceAll(`"../../../mod.ts"`, JSON.stringify(mod)));
  return path;
}

Deno.test("type cases: every expected error happens, everything else compiles", async () => {
  const files = await caseFiles();
  const { code, output } = await check(files.map((file) => file.pathname));
  assert.equal(code, 0, output);
});

Deno.test("type cases: each @ts-expect-error line is an error without its directive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "oar-types-" });
  try {
    for (const file of await caseFiles()) {
      const lines = (await Deno.readTextFile(file)).split("\n");
      const expected = lines.flatMap((line, i) => DIRECTIVE.test(line) ? [i + 2] : []);
      assert.ok(expected.length > 0, `${file.pathname} has no @ts-expect-error lines`);
      const stripped = lines.map((line) => DIRECTIVE.test(line) ? "//" : line).join("\n");
      const path = await scratch(dir, file.pathname.split("/").pop()!, stripped);
      const { code, output } = await check([path]);
      assert.notEqual(code, 0, "removing the directives must make the check fail");
      const reported = errorLines(output, path);
      const silent = expected.filter((line) => !reported.has(line));
      assert.deepEqual(silent, [], `lines without an error:\n${output}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("type cases: controls show that the check can fail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "oar-types-" });
  try {
    const unused = await scratch(
      dir,
      "unused.ts",
      `import { EntityNamespaceManager } from "../../../mod.ts";\n` +
        `declare const manager: EntityNamespaceManager;\n` +
        `const shop = manager.createNamespace("s", { provider: { type: "sqlite", filePath: ":memory:" } });\n` +
        `const P = shop.registerEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });\n` +
        `// @ts-expect-error: but this line is fine\n` +
        `P.where("id", "eq", 1);\n`,
    );
    const a = await check([unused]);
    assert.notEqual(a.code, 0);
    assert.match(a.output, /TS2578/); // Unused '@ts-expect-error' directive
    const wrong = await scratch(
      dir,
      "wrong.ts",
      `import { EntityNamespaceManager } from "../../../mod.ts";\n` +
        `declare const manager: EntityNamespaceManager;\n` +
        `const shop = manager.createNamespace("s", { provider: { type: "sqlite", filePath: ":memory:" } });\n` +
        `const P = shop.registerEntity("P", { fields: { id: { type: "integer", primaryKey: true } } });\n` +
        `P.where("idd", "eq", 1);\n`,
    );
    const b = await check([wrong]);
    assert.notEqual(b.code, 0);
    assert.deepEqual([...errorLines(b.output, wrong)], [5], b.output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
