/**
 * Starts the SAP CAP fixture (tests/providers/http-odata/cap, `@sap/cds` + `@cap-js/sqlite`) as
 * a real Node.js process on a free port, loaded with the Northwind rows of the subset it models.
 * Installs its node_modules with `npm ci` when they are missing.
 */

import { cp, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readNorthwindRows } from "../../../examples/northwind/data.ts";

const FIXTURE = new URL("./cap/", import.meta.url).pathname;

/** The entity sets and properties the CAP model has (a subset of Northwind). */
export const CAP_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Categories: ["CategoryID", "CategoryName", "Description"],
  Products: [
    "ProductID",
    "ProductName",
    "SupplierID",
    "CategoryID",
    "QuantityPerUnit",
    "UnitPrice",
    "UnitsInStock",
    "UnitsOnOrder",
    "ReorderLevel",
    "Discontinued",
  ],
  Orders: [
    "OrderID",
    "CustomerID",
    "EmployeeID",
    "OrderDate",
    "ShippedDate",
    "Freight",
    "ShipCity",
    "ShipCountry",
  ],
  Order_Details: ["OrderID", "ProductID", "UnitPrice", "Quantity", "Discount"],
};

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Installs the fixture's dependencies from its lockfile when they are missing. */
export async function ensureCapInstalled(): Promise<void> {
  if (await exists(join(FIXTURE, "node_modules/@sap/cds/bin/serve.js"))) return;
  const result = await new Deno.Command("npm", {
    args: ["ci", "--no-audit", "--no-fund"],
    cwd: FIXTURE,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`npm ci in ${FIXTURE} failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
}

function csvValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString().replace(".000Z", "Z");
  if (typeof value === "string") return `"${value.replace(/"/g, '""')}"`;
  return String(value);
}

/** A running CAP service. */
export interface CapServer extends AsyncDisposable {
  /** The service root, ending in `/`. */
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Starts the CAP service on a free port (chosen by the OS) and waits until it listens. */
export async function startCapServer(): Promise<CapServer> {
  await ensureCapInstalled();
  const dir = await mkdtemp(join(tmpdir(), "oar-cap-"));
  await cp(join(FIXTURE, "db/schema.cds"), join(dir, "db/schema.cds"));
  await cp(join(FIXTURE, "srv/service.cds"), join(dir, "srv/service.cds"));
  await cp(join(FIXTURE, "package.json"), join(dir, "package.json"));
  await symlink(join(FIXTURE, "node_modules"), join(dir, "node_modules"), "dir");
  const rows = await readNorthwindRows();
  await Deno.mkdir(join(dir, "db/data"), { recursive: true });
  for (const [entity, fields] of Object.entries(CAP_FIELDS)) {
    const lines = [fields.join(";")];
    for (const row of rows[entity] ?? []) lines.push(fields.map((f) => csvValue(row[f])).join(";"));
    await writeFile(join(dir, `db/data/nwdb-${entity}.csv`), lines.join("\n") + "\n");
  }
  const child = new Deno.Command("node", {
    args: ["node_modules/@sap/cds/bin/serve.js", "--port", "0"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", CDS_ENV: "development" },
  }).spawn();
  let output = "";
  let resolveUrl!: (url: string) => void;
  let rejectUrl!: (error: Error) => void;
  const listening = new Promise<string>((resolve, reject) => {
    resolveUrl = resolve;
    rejectUrl = reject;
  });
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      output += chunk;
      const match = /server listening on \{ url: '(http:\/\/[^']+)'/.exec(output);
      if (match) resolveUrl(match[1]!.replace("localhost", "127.0.0.1"));
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const status = child.status.then((s) => {
    rejectUrl(new Error(`the CAP server exited (${s.code}) before listening:\n${output}`));
    return s;
  });
  let url: string;
  try {
    url = await listening;
  } catch (error) {
    await drained;
    await status;
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // exited already
    }
    await status;
    await drained;
    await rm(dir, { recursive: true, force: true });
  };
  return { baseUrl: `${url}/odata/northwind/`, close, [Symbol.asyncDispose]: close };
}
