/**
 * The percentile tracker against exact sorted percentiles over 1,000,000 samples from several
 * distributions (fixed seeds): within 1 % relative error, in constant memory.
 */
import assert from "node:assert/strict";
import { PercentileTracker } from "../../mod.ts";
import { isCode, seeded } from "./helpers.ts";

const N = 1_000_000;

const DISTRIBUTIONS: Record<string, (random: () => number) => number> = {
  uniform: (r) => 1 + r() * 999,
  exponential: (r) => -Math.log(1 - r()) * 40,
  lognormal: (r) => {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.exp(3 + 1.2 * z);
  },
  pareto: (r) => 5 / Math.pow(1 - r(), 1 / 1.5),
  bimodal: (r) => (r() < 0.9 ? 2 + r() * 3 : 400 + r() * 600),
  "sub-millisecond": (r) => 0.001 + r() * 0.05,
};

function exact(sorted: Float64Array, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

for (const [name, sample] of Object.entries(DISTRIBUTIONS)) {
  Deno.test(`percentiles within 1% of exact over 1,000,000 ${name} samples`, () => {
    const random = seeded(0xC0FFEE ^ name.length);
    const values = new Float64Array(N);
    const tracker = new PercentileTracker();
    const bytes = tracker.memoryBytes();
    for (let i = 0; i < N; i++) {
      const value = sample(random);
      values[i] = value;
      tracker.record(value);
    }
    values.sort();
    for (const p of [50, 90, 95, 99, 99.9]) {
      const truth = exact(values, p);
      const estimate = tracker.percentile(p);
      const error = Math.abs(estimate - truth) / truth;
      assert.ok(
        error <= 0.01,
        `${name} P${p}: ${estimate} vs ${truth} (${(error * 100).toFixed(3)}%)`,
      );
    }
    assert.equal(tracker.count, N);
    assert.equal(tracker.min, values[0]);
    assert.equal(tracker.max, values[N - 1]);
    assert.equal(tracker.percentile(0), values[0]);
    assert.equal(tracker.percentile(100), values[N - 1]);
    assert.equal(tracker.memoryBytes(), bytes, "memory does not grow with samples");
  });
}

Deno.test("tracker: empty, zeros, out-of-range values, NaN, merge, reset", () => {
  const tracker = new PercentileTracker();
  assert.ok(Number.isNaN(tracker.percentile(50)));
  assert.ok(Number.isNaN(tracker.mean));
  tracker.record(NaN);
  assert.equal(tracker.count, 0);
  for (let i = 0; i < 10; i++) tracker.record(0);
  assert.equal(tracker.percentile(50), 0);
  tracker.record(1e15); // beyond maxValue: reported as the exact maximum
  assert.equal(tracker.percentile(100), 1e15);
  assert.equal(tracker.percentile(99.99), 1e15);

  const a = new PercentileTracker();
  const b = new PercentileTracker();
  for (let i = 1; i <= 500; i++) a.record(i);
  for (let i = 501; i <= 1000; i++) b.record(i);
  a.merge(b);
  assert.equal(a.count, 1000);
  assert.ok(Math.abs(a.percentile(95) - 950) / 950 < 0.01);
  assert.equal(a.sum, 500500);
  assert.throws(
    () => a.merge(new PercentileTracker({ maxValue: 2 ** 10 })),
    isCode("INVALID_ARGUMENT"),
  );
  a.reset();
  assert.equal(a.count, 0);
  assert.throws(() => a.percentile(101), isCode("INVALID_ARGUMENT"));
  assert.throws(() => new PercentileTracker({ minValue: 0 }), isCode("INVALID_ARGUMENT"));
});
