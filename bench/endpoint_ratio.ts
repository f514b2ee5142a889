// deno-lint-ignore-file no-console
/**
 * The OData endpoint against a bare `Deno.serve` handler that runs the same SQL through
 * `node:sqlite` and writes the same JSON by hand (`bench/endpoint_server.ts`, started as a child
 * process so that the load generator does not share its event loop). Load comes from autocannon
 * (npm) on loopback; each request alternates endpoint and bare rounds so machine noise hits both
 * alike. Before measuring, both servers' answers are compared byte for byte.
 *
 *   deno run -A bench/endpoint_ratio.ts [seconds per round, default 2] [rounds, default 5]
 *
 * The ratio reported is the median of the per-round ratios (each round runs the endpoint and then
 * the bare handler back to back), which keeps slow drifts of machine load out of it.
 *
 * Target (issue 8): the endpoint ≥ 70 % of the bare handler's requests per second on each
 * request; p50/p99 latency reported.
 */

import autocannon from "autocannon";

const seconds = Number(Deno.args[0] ?? "2");
const rounds = Number(Deno.args[1] ?? "5");
const CONNECTIONS = 10;

const ALL_REQUESTS = [
  "Products(7)",
  "Products?$filter=UnitPrice gt 20&$orderby=ProductName&$top=20",
  "Orders?$expand=Order_Details($expand=Product)&$top=50",
  "Orders?$filter=ShipCountry eq 'Germany'&$count=true&$top=10",
  "Customers?$filter=contains(CompanyName,'a')&$select=CustomerID,CompanyName",
];

// BENCH_ONLY=<text> measures only the requests containing that text.
const only = Deno.env.get("BENCH_ONLY");
const REQUESTS = only === undefined ? ALL_REQUESTS : ALL_REQUESTS.filter((r) => r.includes(only));

const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./endpoint_server.ts", import.meta.url).pathname],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let firstLine = "";
while (!firstLine.includes("\n")) {
  const { value, done } = await reader.read();
  if (done) throw new Error("the server process ended early");
  firstLine += value;
}
const ports = JSON.parse(firstLine.split("\n")[0]!) as { endpoint: number; bare: number };
const url = (port: number, path: string) =>
  `http://127.0.0.1:${port}/odata/northwind/${encodeURI(path)}`;

// Same answers: the comparison is only fair when both write the same bytes.
for (const path of REQUESTS) {
  const [a = "", b = ""] = await Promise.all(
    [ports.endpoint, ports.bare].map(async (port) =>
      (await (await fetch(url(port, path))).text()).replaceAll(String(port), "PORT")
    ),
  );
  if (a !== b) {
    console.error(
      `different answers for ${path}:\nendpoint: ${a.slice(0, 400)}\nbare:     ${b.slice(0, 400)}`,
    );
    Deno.exit(1);
  }
}
console.log("both servers give identical bodies for all five requests\n");

interface Figures {
  rps: number[];
  p50: number[];
  p99: number[];
}

/** The part of autocannon's result this benchmark reads (the package ships no types). */
interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

function run(target: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: target, connections: CONNECTIONS, duration: seconds },
      (error: unknown, result: LoadResult) => error ? reject(error) : resolve(result),
    );
  });
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results: { path: string; endpoint: Figures; bare: Figures }[] = [];
for (const path of REQUESTS) {
  const figures = {
    endpoint: { rps: [], p50: [], p99: [] } as Figures,
    bare: { rps: [], p50: [], p99: [] } as Figures,
  };
  await run(url(ports.endpoint, path)); // warm-up: JIT, statement caches
  for (let round = 0; round < rounds; round++) {
    for (const side of ["endpoint", "bare"] as const) {
      const result = await run(url(ports[side], path));
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${side} ${path}: failures`);
      figures[side].rps.push(result.requests.average);
      figures[side].p50.push(result.latency.p50);
      figures[side].p99.push(result.latency.p99);
    }
  }
  results.push({ path, ...figures });
}

console.log(
  `autocannon, ${CONNECTIONS} connections, ${rounds} × ${seconds}s per side; medians of rounds\n`,
);
console.log(
  "| request | endpoint rps | bare rps | ratio | endpoint p50/p99 ms | bare p50/p99 ms |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
let failed = false;
for (const { path, endpoint, bare } of results) {
  const ratio = median(endpoint.rps.map((rps, i) => rps / bare.rps[i]!));
  if (ratio < 0.7) failed = true;
  console.log(
    `| \`${path}\` | ${median(endpoint.rps).toFixed(0)} | ${median(bare.rps).toFixed(0)} | ${
      (ratio * 100).toFixed(0)
    } % | ${median(endpoint.p50)}/${median(endpoint.p99)} | ${median(bare.p50)}/${
      median(bare.p99)
    } |`,
  );
}
console.log(
  failed ? "\nbelow the 70 % target on some request" : "\nall ≥ 70 % of the bare handler",
);

await child.stdin.close();
await reader.cancel();
await child.status;
