// deno-lint-ignore-file no-console
/**
 * The example service's HTTP layer alone (ServiceApp routing, request counting, OData metrics
 * hook, request deadline) around an OData handler that answers at once: CPU time per request,
 * with the deadline raced inside the app's own promise (`new ServiceApp(backend, { deadlines })`,
 * as `main.ts` does) against wrapping the handler in `deadlines.run()` (one promise layer more).
 * Alternating rounds; medians.
 *
 *   deno run -A bench/service_app_layer.ts [--rounds=20]
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { ServiceApp } from "../examples/production-ready/app.ts";
import { RequestDeadlines } from "../examples/production-ready/deadlines.ts";

const arg = Deno.args.find((value) => value.startsWith("--rounds="));
const ROUNDS = arg === undefined ? 20 : Number(arg.slice("--rounds=".length));
const PER_ROUND = 100_000;

const deadlines = new RequestDeadlines(5000, () => new Response(null, { status: 504 }));
const body = new Response("{}");
const handler = (_request: Request) => Promise.resolve(body);

function appWith(
  odata: (request: Request) => Promise<Response>,
  withDeadlines: boolean,
): ServiceApp {
  const app = new ServiceApp({
    health: () => Promise.reject(new Error("not used")),
    metrics: () => "",
    namespaces: () => ["northwind"],
    odata: () => odata,
    recordOData: () => {},
  }, withDeadlines ? { deadlines } : {});
  app.markReady();
  return app;
}

const integrated = appWith(handler, true);
const wrapped = appWith((request) => deadlines.run(handler(request)), false);
const request = new Request("http://localhost/odata/northwind/Products(7)");

async function time(app: ServiceApp): Promise<number> {
  const start = cpuUsage();
  for (let i = 0; i < PER_ROUND; i++) await app.handle(request);
  const used = cpuUsage(start);
  return (used.user + used.system) * 1000 / PER_ROUND; // ns per request
}

await time(integrated);
await time(wrapped);
const a: number[] = [];
const b: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    a.push(await time(integrated));
    b.push(await time(wrapped));
  } else {
    b.push(await time(wrapped));
    a.push(await time(integrated));
  }
}
const median = (values: number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
console.log(
  `HTTP layer CPU per request (${ROUNDS} alternating rounds): deadline inside the app ${
    median(a).toFixed(0)
  } ns, handler wrapped in deadlines.run() ${median(b).toFixed(0)} ns`,
);
deadlines.close();
