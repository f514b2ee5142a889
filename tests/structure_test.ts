/**
 * Guards of the module's shape: the portability and lazy-loading promises hold for every file,
 * not only for the ones a reviewer happened to read.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

const root = new URL("../", import.meta.url).pathname;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...await walk(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const library = async () => ["mod.ts", ...await walk("src"), ...await walk("providers")];

Deno.test("importing mod.ts never loads a provider statically", async () => {
  for (const file of ["mod.ts", ...await walk("src")]) {
    const text = await readFile(join(root, file), "utf8");
    for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms)) {
      assert.ok(!match[1]!.includes("providers/"), `${file} imports ${match[1]} statically`);
      assert.ok(
        !["mongodb", "node:sqlite"].includes(match[1]!),
        `${file} imports ${match[1]} statically`,
      );
    }
  }
});

Deno.test("library code is portable: no Deno.*, no npm:/jsr: specifiers, .ts relative imports", async () => {
  for (const file of await library()) {
    const text = await readFile(join(root, file), "utf8");
    const code = text.replace(/^\s*(\/\/|\*).*$/gm, ""); // comments and JSDoc may mention them
    // The platform adapter (signals, exit, env, timer unref) is the one runtime-specific file.
    if (file !== "src/runtime/platform.ts") {
      assert.ok(!/\bDeno\./.test(code), `${file} uses Deno.* (keep runtime APIs at the edge)`);
    }
    for (const match of code.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      const specifier = match[1]!;
      assert.ok(
        !/^(npm|jsr):/.test(specifier),
        `${file} uses ${specifier}: map it in deno.json imports`,
      );
      if (specifier.startsWith(".")) {
        assert.ok(specifier.endsWith(".ts"), `${file}: ${specifier} needs .ts`);
      }
    }
  }
});

Deno.test("erasable TypeScript only and files of a readable size", async () => {
  for (const file of await library()) {
    const text = await readFile(join(root, file), "utf8");
    assert.ok(!/^\s*(export\s+)?(const\s+)?enum\s/m.test(text), `${file} uses enum`);
    assert.ok(!/^\s*(export\s+)?(declare\s+)?namespace\s/m.test(text), `${file} uses namespace`);
    assert.ok(
      !/constructor\((?:[^)]*[(,])?\s*(private|public|protected|readonly)\s+\w+\s*[:?=,)]/m.test(
        text,
      ),
      `${file} uses parameter properties`,
    );
    assert.ok(!/^\s*@[A-Za-z]+\(/m.test(text), `${file} uses decorators`);
    const lines = text.split("\n").length;
    assert.ok(lines <= 700, `${file} has ${lines} lines; split it by concern`);
  }
});
