/**
 * `deno bench bench/parser_bench.ts`: parse throughput of our parser (the baseline of each group)
 * against the npm peers `odata-v4-parser` and `@odata/parser`, on the same inputs. Each iteration
 * parses the whole input set once. Inputs that any parser rejects are dropped from the set for
 * all three and listed once at start-up (see `parser_ratio.ts`, which also holds the inputs and
 * prints the median µs/op and ratios as a plain script).
 *
 * @module
 */

import { commonInputs, PARSERS, printDropped } from "./parser_ratio.ts";

const inputs = commonInputs();
printDropped(inputs);

for (const parser of PARSERS) {
  const baseline = parser.name === "ours";
  Deno.bench({
    name: `${parser.name}: ${inputs.filters.length} filters`,
    group: "filters",
    baseline,
    fn: () => {
      for (const text of inputs.filters) parser.filter(text);
    },
  });
  Deno.bench({
    name: `${parser.name}: ${inputs.queries.length} query strings`,
    group: "query strings",
    baseline,
    fn: () => {
      for (const text of inputs.queries) parser.query(text);
    },
  });
}
