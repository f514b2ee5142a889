import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

async function run(script: string): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", script],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return out;
}

Deno.test("examples/basic-usage runs end to end on the Northwind sample", async () => {
  const out = await run("examples/basic-usage/main.ts");
  assert.match(out, /31 products cost more than 20; the top 5:\n {2}Côte de Blaye: 263\.5000/);
  assert.match(out, /order 10248 for Vins et alcools Chevalier:\n {2}12 × Queso Cabrales/);
  assert.match(out, /German customers \(11\)/);
  assert.match(out, /CompanyName: "Example Freight Ltd"/);
  assert.match(
    out,
    /UNKNOWN_FIELD: Unknown field 'ProductNam' on Products\. Did you mean 'ProductName'\?/,
  );
  assert.match(out, /UNSAFE_OPERATION: /);
});

Deno.test("deno task tour's script prints a parsed query and its canonical form", async () => {
  const out = await run("examples/start.ts");
  assert.match(out, /canonical: \$filter=UnitPrice%20gt%2020%20and%20contains\(ProductName,'Ch'\)/);
});
