// deno-lint-ignore-file no-console
/**
 * Parse-throughput comparison of our OData parser with the npm peers `odata-v4-parser` and
 * `@odata/parser`, on the same realistic Northwind inputs.
 *
 * Run `deno run -A bench/parser_ratio.ts`: for each input set it warms every parser up, times
 * 15 rounds with the parsers taking turns (so that load from other processes on a shared machine
 * falls on all of them alike), and prints each parser's median µs per parse and the median of the
 * per-round ratios ours/peer (below 1 means ours is faster). `parser_bench.ts` imports the inputs
 * and parsers from here for `deno bench`.
 *
 * Both peers are CommonJS packages; they load through the `npm:` specifiers mapped in `deno.json`
 * (Deno's CommonJS interop exposes `module.exports` as named exports). Neither supports the
 * OData 4.01 `in` operator, `$compute` or `$apply`, so inputs that any parser rejects are dropped
 * from the common set (and listed once) so that all three parse exactly the same inputs.
 *
 * @module
 */

import * as odataV4Parser from "odata-v4-parser";
import { defaultParser as odataParser } from "@odata/parser";
import { parseFilter } from "../src/odata/parser/expression.ts";
import { parseQuery } from "../src/odata/parser/query.ts";

/** Realistic `$filter` texts over the Northwind model (as decoded text). */
export const FILTER_INPUTS: readonly string[] = [
  "UnitPrice gt 20",
  "ProductName eq 'Chai' and Discontinued eq false",
  "contains(ProductName,'Ch') or startswith(CompanyName,'Alfreds')",
  "OrderDate ge 1997-01-01T00:00:00Z and OrderDate lt 1998-01-01T00:00:00Z",
  "Order_Details/any(d:d/Quantity gt 10 and d/UnitPrice lt 20)",
  "UnitPrice mul (1 sub Discount) gt 15",
  "tolower(ShipCountry) eq 'germany'",
  "ShipCountry in ('Germany','France','UK')",
  "year(OrderDate) eq 1997 and month(OrderDate) le 6",
  "not (UnitsInStock gt 0) or Freight div 2 ge 10.5",
  "Category/CategoryName eq 'Beverages' and UnitPrice le 18.00",
  "Orders/$count gt 5 and Country ne null",
  "Freight ge 100 and (ShipCountry eq 'Germany' or ShipCountry eq 'Austria') and ShippedDate ne null",
];

/** Whole realistic query strings (percent-encoded, as they arrive in a URL). */
export const QUERY_INPUTS: readonly string[] = [
  "$filter=UnitPrice%20gt%2020&$select=ProductName,UnitPrice&$orderby=UnitPrice%20desc&$top=10",
  "$filter=Discontinued%20eq%20false&$select=ProductID,ProductName&$orderby=ProductName&$top=20&$skip=40&$count=true",
  "$expand=Order_Details($select=Quantity,UnitPrice;$filter=Quantity%20gt%2010;$expand=Product)&$select=OrderID,OrderDate,ShipCountry&$top=5",
  "$filter=contains(CompanyName,'Alfreds')%20or%20startswith(City,'Ber')&$expand=Orders($select=OrderID,OrderDate;$orderby=OrderDate%20desc;$top=3)&$count=true",
  "$filter=OrderDate%20ge%201997-01-01T00:00:00Z%20and%20OrderDate%20lt%201998-01-01T00:00:00Z&$expand=Customer($select=CompanyName),Employee($select=FirstName,LastName)&$orderby=OrderDate%20desc,Freight&$skip=10&$top=10",
  "$filter=Order_Details/any(d:d/Quantity%20gt%2010%20and%20d/UnitPrice%20lt%2020)&$select=OrderID,Freight&$search=cheese&$top=25",
  "$filter=ShipCountry%20in%20('Germany','France')&$select=OrderID&$top=10",
  "$compute=UnitPrice%20mul%20UnitsInStock%20as%20StockValue&$select=ProductName,StockValue",
];

/** A parser under test: name plus one function per input set. */
export interface ParserEntry {
  readonly name: string;
  readonly filter: (text: string) => unknown;
  readonly query: (text: string) => unknown;
}

/** Ours first (the baseline), then the two peers. */
export const PARSERS: readonly ParserEntry[] = [
  { name: "ours", filter: (text) => parseFilter(text), query: (text) => parseQuery(text) },
  {
    name: "odata-v4-parser",
    filter: (text) => odataV4Parser.filter(text),
    query: (text) => odataV4Parser.query(text),
  },
  {
    name: "@odata/parser",
    filter: (text) => odataParser.filter(text),
    query: (text) => odataParser.query(text),
  },
];

/** Inputs that one or more parsers reject, with each rejection's message. */
export interface DroppedInput {
  readonly set: "filters" | "query strings";
  readonly input: string;
  readonly reasons: readonly string[];
}

/** The common input sets (accepted by every parser) and the dropped inputs. */
export interface CommonInputs {
  readonly filters: readonly string[];
  readonly queries: readonly string[];
  readonly dropped: readonly DroppedInput[];
}

function accepted(
  set: DroppedInput["set"],
  inputs: readonly string[],
  kind: "filter" | "query",
  dropped: DroppedInput[],
): string[] {
  const keep: string[] = [];
  for (const input of inputs) {
    const reasons: string[] = [];
    for (const parser of PARSERS) {
      try {
        if (parser[kind](input) == null) reasons.push(`${parser.name}: returned nothing`);
      } catch (error) {
        const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
        reasons.push(`${parser.name}: ${message}`);
      }
    }
    if (reasons.length === 0) keep.push(input);
    else dropped.push({ set, input, reasons });
  }
  return keep;
}

/** Tries every parser on every input and keeps the inputs that all of them accept. */
export function commonInputs(): CommonInputs {
  const dropped: DroppedInput[] = [];
  const filters = accepted("filters", FILTER_INPUTS, "filter", dropped);
  const queries = accepted("query strings", QUERY_INPUTS, "query", dropped);
  return { filters, queries, dropped };
}

/** Prints the dropped inputs and why. */
export function printDropped(inputs: CommonInputs): void {
  console.log(
    `Common input sets: ${inputs.filters.length}/${FILTER_INPUTS.length} filters, ` +
      `${inputs.queries.length}/${QUERY_INPUTS.length} query strings.`,
  );
  for (const { set, input, reasons } of inputs.dropped) {
    console.log(`  dropped from ${set}: ${input}`);
    for (const reason of reasons) console.log(`    ${reason}`);
  }
}

/** A parse function timed in rounds of a fixed number of passes over the inputs. */
interface Timer {
  /** Times one round; returns µs per parse of one input. */
  round(): number;
}

/** Warms `parse` up, then sizes a round to about 50 ms. */
function timer(parse: (text: string) => unknown, inputs: readonly string[]): Timer {
  const pass = () => {
    for (const input of inputs) parse(input);
  };
  const warmEnd = performance.now() + 300;
  let warmPasses = 0;
  while (performance.now() < warmEnd) {
    pass();
    warmPasses++;
  }
  const passesPerRound = Math.max(1, Math.round(warmPasses / 6));
  return {
    round() {
      const start = performance.now();
      for (let i = 0; i < passesPerRound; i++) pass();
      const elapsed = performance.now() - start;
      return (elapsed * 1000) / (passesPerRound * inputs.length);
    },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** One measured row. */
export interface RatioRow {
  readonly set: string;
  readonly parser: string;
  readonly microsPerOp: number;
  /** ours / this parser (time ratio; below 1 means ours is faster). */
  readonly oursOverPeer: number;
}

/**
 * Measures every parser on both common sets. The parsers take turns round by round (15 rounds),
 * so that load from other processes falls on all of them alike: µs/op is each parser's median
 * round, and the ratio is the median of the per-round ratios.
 */
export function measureAll(inputs: CommonInputs): RatioRow[] {
  const rows: RatioRow[] = [];
  for (
    const [set, kind, list] of [
      ["filters", "filter", inputs.filters],
      ["query strings", "query", inputs.queries],
    ] as const
  ) {
    if (list.length === 0) continue;
    const timers = PARSERS.map((parser) => timer(parser[kind], list));
    const rounds: number[][] = PARSERS.map(() => []);
    for (let round = 0; round < 15; round++) {
      timers.forEach((t, i) => rounds[i]!.push(t.round()));
    }
    const ours = rounds[0]!;
    PARSERS.forEach((parser, i) => {
      const ratios = rounds[i]!.map((micros, r) => ours[r]! / micros);
      rows.push({
        set,
        parser: parser.name,
        microsPerOp: median(rounds[i]!),
        oursOverPeer: median(ratios),
      });
    });
  }
  return rows;
}

if (import.meta.main) {
  const inputs = commonInputs();
  printDropped(inputs);
  const rows = measureAll(inputs);
  console.log("");
  console.log("set            parser            µs/op   ours/peer   ours is");
  for (const row of rows) {
    const speed = row.parser === "ours"
      ? "(baseline)"
      : row.oursOverPeer <= 1
      ? `${(1 / row.oursOverPeer).toFixed(1)}× faster`
      : `${row.oursOverPeer.toFixed(1)}× slower`;
    console.log(
      `${row.set.padEnd(14)} ${row.parser.padEnd(16)} ${row.microsPerOp.toFixed(2).padStart(7)}` +
        `   ${row.oursOverPeer.toFixed(3).padStart(9)}   ${speed}`,
    );
  }
}
