/**
 * examples/northwind/serve.ts in a real process: it answers at /odata/northwind/ on the port
 * from PORT (0 here: a free one, printed at start) and stops cleanly on SIGTERM.
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("examples/northwind/serve.ts serves Northwind with the public service's names", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "examples/northwind/serve.ts"],
    cwd: root,
    env: { PORT: "0" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const match = /Northwind at (http:\/\/127\.0\.0\.1:\d+\/odata\/northwind\/)/.exec(out);
    assert.ok(match, `unexpected start output: ${out}`);
    const service = match[1]!;
    const document = await (await fetch(service)).json() as { value: { name: string }[] };
    assert.deepEqual(document.value.map((set) => set.name).sort(), [
      "Categories",
      "Customers",
      "EmployeeTerritories",
      "Employees",
      "Order_Details",
      "Orders",
      "Products",
      "Regions",
      "Shippers",
      "Suppliers",
      "Territories",
    ]);
    const metadata = await (await fetch(`${service}$metadata`)).text();
    assert.match(metadata, /<Schema Namespace="NorthwindModel"/);
    assert.match(metadata, /<EntityContainer Name="NorthwindEntities">/);
    assert.match(
      metadata,
      /<EntitySet Name="Order_Details" EntityType="NorthwindModel.Order_Detail">/,
    );
    const product = await (await fetch(`${service}Products(1)?$expand=Category`)).json() as {
      ProductName: string;
      Category: { CategoryName: string };
    };
    assert.equal(product.ProductName, "Chai");
    assert.equal(product.Category.CategoryName, "Beverages");
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    const status = await child.status;
    assert.ok(status.success || status.signal === "SIGTERM", `exit: ${JSON.stringify(status)}`);
  }
});
