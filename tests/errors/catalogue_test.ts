import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ERROR_CATALOGUE, ODataActiveRecordError } from "../../mod.ts";

const root = new URL("../../", import.meta.url).pathname;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...await sources(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

Deno.test("error catalogue: codes are documented, used, and well-formed", async () => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const files = [...await sources("src"), ...await sources("providers")].filter((f) =>
    !f.endsWith("codes.ts")
  );
  const code = (await Promise.all(files.map((f) => readFile(join(root, f), "utf8")))).join("\n");
  for (const [name, entry] of Object.entries(ERROR_CATALOGUE)) {
    assert.match(name, /^[A-Z][A-Z_]+$/, name);
    assert.ok(entry.status >= 400 && entry.status < 600, `${name} status ${entry.status}`);
    assert.ok(entry.suggestion.length > 10, `${name} needs a suggestion`);
    const row = new RegExp(`^\\| \`${name}\` +\\| ${entry.status} +\\|`, "m");
    assert.match(readme, row, `README error table lacks ${name} with status ${entry.status}`);
    assert.ok(code.includes(`"${name}"`), `${name} is never thrown: remove it or use it`);
  }
  const documented = [...readme.matchAll(/^\| `([A-Z_]+)` +\| \d{3} +\|/gm)].map((m) => m[1]);
  assert.deepEqual(
    documented.sort(),
    Object.keys(ERROR_CATALOGUE).sort(),
    "README lists unknown codes",
  );
});

Deno.test("errors carry code, status, suggestion, context and cause; JSON has no stack", () => {
  const cause = new Error("driver said no");
  const error = new ODataActiveRecordError("PROVIDER_ERROR", "wrapped", {
    cause,
    context: { entity: "X" },
  });
  assert.equal(error.code, "PROVIDER_ERROR");
  assert.equal(error.status, 500);
  assert.equal(error.cause, cause);
  assert.equal(error.suggestion, ERROR_CATALOGUE.PROVIDER_ERROR.suggestion);
  assert.deepEqual(JSON.parse(JSON.stringify(error)), {
    code: "PROVIDER_ERROR",
    message: "wrapped",
    suggestion: ERROR_CATALOGUE.PROVIDER_ERROR.suggestion,
    context: { entity: "X" },
  });
});
