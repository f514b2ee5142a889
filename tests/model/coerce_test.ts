import assert from "node:assert/strict";
import {
  type CoerceResult,
  coerceValue,
  describeValue,
  formatDecimal,
  typeHint,
} from "../../src/model/coerce.ts";
import { type FieldDefinition, type FieldMetadata, resolveEntity } from "../../src/model/schema.ts";
import { ODataActiveRecordError } from "../../src/errors/errors.ts";

function field(definition: FieldDefinition): FieldMetadata {
  const entity = resolveEntity("T", {
    fields: { id: { type: "integer", primaryKey: true }, f: definition },
  });
  return entity.fields.get("f")!;
}

type Options = Parameters<typeof coerceValue>[2];

function accepts(def: FieldDefinition, input: unknown, expected: unknown, options?: Options): void {
  const result = coerceValue(field(def), input, options);
  assert.ok(
    result.ok,
    `expected ${describeValue(input)} to be accepted: ${JSON.stringify(result)}`,
  );
  assert.deepEqual(result.value, expected);
}

function refuses(def: FieldDefinition, input: unknown, options?: Options): CoerceResult & {
  ok: false;
} {
  const result = coerceValue(field(def), input, options);
  assert.ok(
    !result.ok,
    `expected ${describeValue(input)} to be refused, got ${String(result.ok && result.value)}`,
  );
  assert.ok(result.reason.length > 0);
  assert.ok(result.suggestion.length > 0);
  return result;
}

Deno.test("integer accepts safe integers and digit strings", () => {
  const t: FieldDefinition = { type: "integer" };
  accepts(t, 42, 42);
  accepts(t, "42", 42);
  accepts(t, " -7 ", -7);
  accepts(t, "+3", 3);
  accepts(t, 42n, 42);
  accepts(t, 4.0, 4);
  const zero = coerceValue(field(t), -0);
  assert.ok(zero.ok && Object.is(zero.value, 0));
});

Deno.test("integer refuses fractions, NaN, text, booleans and unsafe values", () => {
  const t: FieldDefinition = { type: "integer" };
  for (const bad of [4.5, "4.5", NaN, "abc", true, false, "", "1e3", "0x10", null, [], {}]) {
    const { suggestion } = refuses(t, bad);
    assert.match(suggestion, /42/);
  }
  assert.match(refuses(t, 2 ** 53).reason, /safe integer range/);
  assert.match(refuses(t, "9007199254740993").reason, /safe integer range/);
  assert.match(refuses(t, 2n ** 60n).suggestion, /decimal/);
});

Deno.test("number accepts finite numbers and numeric strings", () => {
  const t: FieldDefinition = { type: "number" };
  accepts(t, 18.5, 18.5);
  accepts(t, "18.5", 18.5);
  accepts(t, "-.5", -0.5);
  accepts(t, "1e3", 1000);
  accepts(t, " 2 ", 2);
  accepts(t, 10n, 10);
  for (
    const bad of [
      Infinity,
      -Infinity,
      NaN,
      "Infinity",
      "NaN",
      "0x10",
      "abc",
      "",
      true,
      2n ** 64n + 1n,
    ]
  ) {
    refuses(t, bad);
  }
  assert.match(refuses(t, "1e999").reason, /finite/);
});

Deno.test("decimal keeps exact digits and normalises the notation", () => {
  const t: FieldDefinition = { type: "decimal" };
  accepts(t, "018.50", "18.50");
  accepts(t, 18.5, "18.5");
  accepts(t, 10n, "10");
  accepts(t, "+1.5e2", "150");
  accepts(t, "1.25e-3", "0.00125");
  accepts(t, "-0.00", "0.00");
  accepts(t, ".5", "0.5");
  accepts(t, "5.", "5");
  accepts(
    t,
    "123456789012345678901234567890.123456789",
    "123456789012345678901234567890.123456789",
  );
  accepts(t, 1e21, "1000000000000000000000");
  for (const bad of ["abc", "1.2.3", "", ".", "-", NaN, Infinity, true, "1e5000", "1e99999", [1]]) {
    refuses(t, bad);
  }
});

Deno.test("decimal scale pads and refuses to round silently", () => {
  const t: FieldDefinition = { type: "decimal", scale: 2 };
  accepts(t, "18.5", "18.50");
  accepts(t, 18, "18.00");
  accepts(t, "18.500", "18.50");
  accepts(t, "-0.5", "-0.50");
  const tooFine = refuses(t, "18.555");
  assert.match(tooFine.reason, /3 decimal places; at most 2/);
  assert.match(tooFine.suggestion, /"18\.56"/);
  assert.match(refuses(t, "9.999").suggestion, /"10\.00"/);
  assert.match(refuses(t, "-0.125").suggestion, /"-0\.13"/);
  // The floating-point sum is not rounded behind the user's back.
  assert.match(refuses(t, 0.1 + 0.2).suggestion, /"0\.30"/);
  accepts({ type: "decimal", scale: 0 }, "7.000", "7");
  assert.match(refuses({ type: "decimal", scale: 0 }, "7.5").suggestion, /"8"/);
});

Deno.test("decimal precision bounds the digits", () => {
  const t: FieldDefinition = { type: "decimal", precision: 5, scale: 2 };
  accepts(t, "999.99", "999.99");
  accepts(t, "-999.99", "-999.99");
  accepts(t, "0.5", "0.50");
  assert.match(refuses(t, "1000").reason, /4 digits before the decimal point; at most 3/);
  const noScale: FieldDefinition = { type: "decimal", precision: 3 };
  accepts(noScale, "1.23", "1.23");
  accepts(noScale, "1.200", "1.200");
  accepts(noScale, "0.001", "0.001");
  assert.match(refuses(noScale, "12.34").reason, /4 significant digits; at most 3/);
});

Deno.test("formatDecimal pads, normalises and refuses rounding", () => {
  assert.equal(formatDecimal("018.5", 2), "18.50");
  assert.equal(formatDecimal("1.5e2", 0), "150");
  assert.equal(formatDecimal("1.230", 2), "1.23");
  assert.equal(formatDecimal(String(1e-7), 8), "0.00000010");
  for (const [text, scale] of [["1.234", 2], ["abc", 2]] as const) {
    assert.throws(
      () => formatDecimal(text, scale),
      (error) => error instanceof ODataActiveRecordError && error.code === "INVALID_ARGUMENT",
    );
  }
});

Deno.test("boolean accepts booleans, 0/1 and true/false text only", () => {
  const t: FieldDefinition = { type: "boolean" };
  accepts(t, true, true);
  accepts(t, false, false);
  accepts(t, 1, true);
  accepts(t, 0, false);
  accepts(t, "TRUE", true);
  accepts(t, " False ", false);
  for (const bad of ["1", "0", "yes", "no", "on", "", 2, -1, null, [], {}]) refuses(t, bad);
});

Deno.test("string accepts text only and enforces maxLength in code points", () => {
  const t: FieldDefinition = { type: "string", maxLength: 3 };
  accepts(t, "abc", "abc");
  accepts(t, " a ", " a ");
  accepts(t, "😀😀😀", "😀😀😀");
  assert.match(refuses(t, "abcd").reason, /4 characters long; at most 3/);
  assert.match(refuses(t, 42).suggestion, /"42"/);
  assert.match(refuses(t, true).suggestion, /"true"/);
  assert.match(refuses(t, {}).suggestion, /Chai/);
});

Deno.test("date accepts ISO dates, midnight date-times, Dates and epoch ms", () => {
  const t: FieldDefinition = { type: "date" };
  accepts(t, "2024-01-31", "2024-01-31");
  accepts(t, " 2024-01-31 ", "2024-01-31");
  accepts(t, "2024-01-31T00:00:00Z", "2024-01-31");
  accepts(t, "2024-01-31T00:00:00.000+05:00", "2024-01-31"); // the date as written
  accepts(t, "2024-01-31T00:00", "2024-01-31");
  accepts(t, new Date("2024-01-31T23:30:00Z"), "2024-01-31");
  accepts(t, Date.UTC(2024, 0, 31, 12), "2024-01-31");
  accepts(t, "0050-06-01", "0050-06-01");
  const withTime = refuses(t, "2024-01-31T10:00:00Z");
  assert.match(withTime.reason, /time of day/);
  assert.match(withTime.suggestion, /"2024-01-31"/);
  for (const bad of [new Date(NaN), 4.5, true, "", "2024-1-31", "31 Jan 2024", "0000-01-01"]) {
    refuses(t, bad);
  }
  assert.match(refuses(t, new Date(Date.UTC(10000, 0, 1))).reason, /0001–9999/);
});

Deno.test("dates are real calendar dates, with leap years", () => {
  const t: FieldDefinition = { type: "date" };
  accepts(t, "2024-02-29", "2024-02-29");
  accepts(t, "2000-02-29", "2000-02-29");
  for (
    const bad of [
      "2023-02-29",
      "1900-02-29",
      "2024-02-30",
      "2024-04-31",
      "2024-13-01",
      "2024-00-10",
      "2024-01-00",
    ]
  ) {
    assert.match(refuses(t, bad).reason, /not a real calendar date/);
  }
  assert.match(refuses({ type: "datetime" }, "2023-02-29T10:00:00Z").reason, /real calendar/);
});

Deno.test("datetime requires an offset and yields a Date", () => {
  const t: FieldDefinition = { type: "datetime" };
  accepts(t, "2024-01-31T10:00:00+02:00", new Date("2024-01-31T08:00:00Z"));
  accepts(t, "2024-01-31T10:00:00Z", new Date("2024-01-31T10:00:00Z"));
  accepts(t, "2024-01-31T10:00Z", new Date("2024-01-31T10:00:00Z"));
  accepts(t, "2024-01-31 10:00:00z", new Date("2024-01-31T10:00:00Z"));
  accepts(t, "2024-01-31T10:00:00-05:30", new Date("2024-01-31T15:30:00Z"));
  accepts(t, "2024-01-31T10:00:00+0200", new Date("2024-01-31T08:00:00Z"));
  accepts(t, "2024-01-31T10:00:00.123000Z", new Date("2024-01-31T10:00:00.123Z"));
  assert.match(refuses(t, "2024-01-31T10:00:00.123456Z").reason, /below the millisecond/);
  accepts(t, "2024-01-31T10:00:00.5Z", new Date("2024-01-31T10:00:00.500Z"));
  accepts(t, "2024-01-31", new Date("2024-01-31T00:00:00Z"));
  accepts(t, "0099-01-01T00:00:00Z", new Date("0099-01-01T00:00:00Z"));
  accepts(t, 0, new Date(0));
  const original = new Date("2024-01-31T10:00:00Z");
  const copy = coerceValue(field(t), original);
  assert.ok(copy.ok && copy.value instanceof Date && copy.value !== original);
  const naive = refuses(t, "2024-01-31T10:00:00");
  assert.match(naive.reason, /no time zone offset/);
  assert.match(naive.suggestion, /"2024-01-31T10:00:00Z"/);
  assert.match(naive.suggestion, /\+02:00/);
  for (
    const bad of [
      "2024-01-31T24:00:00Z",
      "2024-01-31T10:60:00Z",
      "2024-01-31T10:00:60Z",
      "2024-01-31T10:00:00+24:00",
      new Date(NaN),
      1.5,
      "yesterday",
      "abc",
      true,
    ]
  ) {
    refuses(t, bad);
  }
});

Deno.test("declared day/month formats are read, undeclared ones never guessed", () => {
  accepts({ type: "date", formats: ["DD/MM/YYYY"] }, "31/01/2024", "2024-01-31");
  accepts({ type: "date", formats: ["DD/MM/YYYY"] }, "1/2/2024", "2024-02-01");
  accepts({ type: "date", formats: ["MM/DD/YYYY"] }, "01/31/2024", "2024-01-31");
  accepts({ type: "date", formats: ["MM/DD/YYYY"] }, "02/29/2024", "2024-02-29");
  accepts({ type: "date", formats: ["DD-MM-YYYY"] }, "31-01-2024", "2024-01-31");
  accepts({ type: "date", formats: ["DD.MM.YYYY"] }, "31.01.2024", "2024-01-31");
  accepts(
    { type: "datetime", formats: ["DD.MM.YYYY"] },
    "31.01.2024",
    new Date("2024-01-31T00:00:00Z"),
  );
  accepts({ type: "date", formats: ["DD/MM/YYYY"] }, "2024-01-31", "2024-01-31"); // ISO still works
  assert.match(
    refuses({ type: "date", formats: ["MM/DD/YYYY"] }, "02/30/2024").reason,
    /not a real calendar date/,
  );
  assert.match(
    refuses({ type: "date", formats: ["MM/DD/YYYY"] }, "02/29/2023").reason,
    /MM\/DD\/YYYY/,
  );
  refuses({ type: "date", formats: ["DD/MM/YYYY"] }, "31.01.2024"); // declared with slashes only
  for (const input of ["01/02/2024", "31/01/2024", "31.01.2024", "31-01-2024", "1/2/24"]) {
    for (const type of ["date", "datetime"] as const) {
      const { reason, suggestion } = refuses({ type }, input);
      assert.match(reason, /ambiguous|never guessed/);
      assert.match(suggestion, /formats/);
    }
  }
  assert.match(refuses({ type: "date" }, "2024/01/31").reason, /not an ISO date/);
});

Deno.test("namespace dateFormats apply unless the field declares its own", () => {
  const plain: FieldDefinition = { type: "date" };
  accepts(plain, "31/01/2024", "2024-01-31", { dateFormats: ["DD/MM/YYYY"] });
  accepts(plain, "01/02/2024", "2024-01-02", { dateFormats: ["MM/DD/YYYY"] });
  const own: FieldDefinition = { type: "date", formats: ["MM/DD/YYYY"] };
  accepts(own, "01/02/2024", "2024-01-02", { dateFormats: ["DD/MM/YYYY"] });
  refuses({ type: "date", formats: [] }, "31/01/2024", { dateFormats: ["DD/MM/YYYY"] });
});

Deno.test("both slash formats declared: only an unambiguous reading is accepted", () => {
  const t: FieldDefinition = { type: "date", formats: ["MM/DD/YYYY", "DD/MM/YYYY"] };
  const { reason, suggestion } = refuses(t, "05/06/2024");
  assert.match(reason, /2024-05-06 \(MM\/DD\/YYYY\) or 2024-06-05 \(DD\/MM\/YYYY\)/);
  assert.match(suggestion, /ISO/);
  accepts(t, "13/01/2024", "2024-01-13");
  accepts(t, "01/13/2024", "2024-01-13");
  accepts(t, "05/05/2024", "2024-05-05");
  refuses(t, "13/13/2024");
});

Deno.test("relative dates only when declared, computed in UTC from the clock", () => {
  const now = (): Date => new Date("2024-03-10T15:30:00Z");
  const date: FieldDefinition = { type: "date", formats: ["relative"] };
  const datetime: FieldDefinition = { type: "datetime", formats: ["relative"] };
  accepts(date, "today", "2024-03-10", { now });
  accepts(date, "Yesterday", "2024-03-09", { now });
  accepts(date, "tomorrow", "2024-03-11", { now });
  accepts(date, "now", "2024-03-10", { now });
  accepts(date, "3 days ago", "2024-03-07", { now });
  accepts(date, "1 day ago", "2024-03-09", { now });
  accepts(date, "in  2   weeks", "2024-03-24", { now });
  accepts(date, "16 hours ago", "2024-03-09", { now });
  accepts(date, "2 years ago", "2022-03-10", { now });
  accepts(datetime, "now", now(), { now });
  accepts(datetime, "today", new Date("2024-03-10T00:00:00Z"), { now });
  accepts(datetime, "yesterday", new Date("2024-03-09T00:00:00Z"), { now });
  accepts(datetime, "an hour ago", new Date("2024-03-10T14:30:00Z"), { now });
  accepts(datetime, "in 90 minutes", new Date("2024-03-10T17:00:00Z"), { now });
  accepts(datetime, "30 seconds ago", new Date("2024-03-10T15:29:30Z"), { now });
  accepts(date, "a month ago", "2024-02-10", { now });
  // Months clamp to the end of the target month, leap years included.
  const endOfJanuary = (): Date => new Date("2024-01-31T12:00:00Z");
  accepts(date, "in 1 month", "2024-02-29", { now: endOfJanuary });
  accepts(date, "in 13 months", "2025-02-28", { now: endOfJanuary });
  accepts(date, "1 year ago", "2023-02-28", { now: () => new Date("2024-02-29T00:00:00Z") });
  accepts({ type: "date" }, "today", "2024-03-10", { now, dateFormats: ["relative"] });
  for (const input of ["yesterday", "3 days ago", "in 2 weeks", "today"]) {
    assert.match(refuses({ type: "date" }, input, { now }).suggestion, /formats: \["relative"\]/);
  }
  assert.match(refuses(date, "3 days later", { now }).suggestion, /3 days ago/);
  refuses(date, "someday", { now });
  refuses(date, "3 fortnights ago", { now });
});

Deno.test("time accepts HH:MM[:SS[.fff]] and keeps the fraction", () => {
  const t: FieldDefinition = { type: "time" };
  accepts(t, "10:30", "10:30:00");
  accepts(t, "9:05:07", "09:05:07");
  accepts(t, "23:59:59.999", "23:59:59.999");
  accepts(t, "00:00:00.1234567", "00:00:00.1234567");
  for (
    const bad of ["24:00", "10:60", "10:30:60", "10h30", "10:3", 1030, new Date(), "", "10:30:00Z"]
  ) {
    refuses(t, bad);
  }
});

Deno.test("guid accepts the 8-4-4-4-12 form, with or without braces, lowercased", () => {
  const t: FieldDefinition = { type: "guid" };
  const id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  accepts(t, id, id);
  accepts(t, id.toUpperCase(), id);
  accepts(t, `{${id.toUpperCase()}}`, id);
  for (
    const bad of [
      `{${id}`,
      `${id}}`,
      id.replaceAll("-", ""),
      id.slice(1),
      `${id}0`,
      "g".repeat(36),
      123,
      null,
    ]
  ) {
    refuses(t, bad);
  }
});

Deno.test("json accepts plain data as a deep copy and refuses what would not round-trip", () => {
  const t: FieldDefinition = { type: "json" };
  const input = { a: [1, "x", null, true, { b: 2.5 }], c: "d" };
  const result = coerceValue(field(t), input);
  assert.ok(result.ok);
  assert.deepEqual(result.value, input);
  assert.notEqual(result.value, input);
  accepts(t, "text", "text");
  accepts(t, 0, 0);
  accepts(t, [], []);
  accepts(t, { keep: 1, drop: undefined }, { keep: 1 });
  const bare = Object.assign(Object.create(null), { a: 1 });
  accepts(t, bare, { a: 1 });
  const shared = { x: 1 };
  accepts(t, [shared, shared], [{ x: 1 }, { x: 1 }]); // shared, but not a cycle
  assert.match(refuses(t, { a: { b: 1n } }).reason, /^a\.b is 1n/);
  assert.match(refuses(t, [1, undefined]).reason, /^\[1\] is undefined/);
  assert.match(refuses(t, { when: new Date() }).reason, /when is a Date/);
  assert.match(refuses(t, { f: NaN }).reason, /NaN/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(refuses(t, cyclic).reason, /cycle/);
  class Point {
    x = 1;
  }
  for (const bad of [() => 1, 1n, Infinity, new Map(), new Set(), new Point(), Symbol("s")]) {
    refuses(t, bad);
  }
  let deep: unknown = 1;
  for (let i = 0; i < 600; i++) deep = [deep];
  assert.match(refuses(t, deep).reason, /nested/);
});

Deno.test("binary accepts bytes, buffers, views and base64 text", () => {
  const t: FieldDefinition = { type: "binary" };
  const bytes = new Uint8Array([1, 2, 3]);
  const same = coerceValue(field(t), bytes);
  assert.ok(same.ok && same.value === bytes);
  accepts(t, bytes.buffer, new Uint8Array([1, 2, 3]));
  accepts(t, new DataView(new Uint8Array([9, 1, 2, 3, 9]).buffer, 1, 3), new Uint8Array([1, 2, 3]));
  const view = coerceValue(field(t), new Uint16Array([0x0201]));
  assert.ok(view.ok && view.value instanceof Uint8Array && view.value.length === 2);
  accepts(t, "AQID", new Uint8Array([1, 2, 3]));
  accepts(t, "AQI", new Uint8Array([1, 2]));
  accepts(t, "AQI=", new Uint8Array([1, 2]));
  accepts(t, "-_8", new Uint8Array([251, 255]));
  accepts(t, "+/8=", new Uint8Array([251, 255]));
  accepts(t, "", new Uint8Array([]));
  for (const bad of ["A", "AQ=", "AQI==", "***", "AQ ID", 42, [1, 2, 3], null]) refuses(t, bad);
});

Deno.test("describeValue and typeHint give short texts for messages", () => {
  assert.equal(describeValue("abc"), '"abc"');
  assert.equal(describeValue("x".repeat(50)), JSON.stringify(`${"x".repeat(40)}…`));
  assert.equal(describeValue(5n), "5n");
  assert.equal(describeValue(null), "null");
  assert.equal(describeValue(undefined), "undefined");
  assert.equal(describeValue([1]), "an array");
  assert.equal(describeValue(new Uint8Array(3)), "binary data");
  assert.equal(describeValue(() => 1), "a function");
  assert.equal(describeValue(new Date(NaN)), "an invalid Date");
  for (const type of ["string", "integer", "date", "binary"] as const) {
    assert.match(typeHint(type), /^Pass /);
  }
});
