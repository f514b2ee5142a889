/** The circuit breaker: opens on consecutive failures or a failure ratio, probes, closes. */
import assert from "node:assert/strict";
import { CircuitBreaker, ODataActiveRecordError } from "../../mod.ts";
import { isCode, unavailable, withLogs } from "./helpers.ts";

function clock(start = Date.parse("2026-01-01T00:00:00Z")) {
  const state = { now: start };
  return { now: () => state.now, advance: (ms: number) => (state.now += ms) };
}

const fail = () => Promise.reject(unavailable());
const ok = () => Promise.resolve("ok");

Deno.test("breaker opens after N consecutive failures; open calls fail fast without running", async () => {
  const time = clock();
  const breaker = new CircuitBreaker({
    name: "mongodb_prod",
    failureThreshold: 3,
    cooldownMs: 10000,
    now: time.now,
  });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(breaker.execute(fail), isCode("PROVIDER_UNAVAILABLE"));
  }
  assert.equal(breaker.state, "closed");
  await assert.rejects(breaker.execute(fail), isCode("PROVIDER_UNAVAILABLE"));
  assert.equal(breaker.state, "open");

  let ran = false;
  let settled = false;
  const call = breaker.execute(() => {
    ran = true;
    return new Promise<string>(() => {}); // a call that would hang until its timeout
  });
  call.catch(() => (settled = true));
  // Rejected before any timer could fire: it never waits for the store or a deadline.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(settled, true);
  assert.equal(ran, false);
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof ODataActiveRecordError);
    assert.equal(error.code, "CIRCUIT_OPEN");
    assert.equal(error.status, 503);
    assert.match(error.message, /Circuit mongodb_prod is open/);
    assert.match(error.message, /it will retry at 2026-01-01T00:00:10\.000Z \(in 10\.0 s\)/);
    assert.equal(error.context.retryInMs, 10000);
    return true;
  });
  const stats = breaker.stats();
  assert.equal(stats.state, "open");
  assert.equal(stats.rejected, 1);
  assert.equal(stats.opened, 1);
  assert.equal(stats.retryAt, time.now() + 10000);
});

Deno.test("breaker: half-open probe after the cool-down; success closes, failure re-opens", async () => {
  const time = clock();
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 5000, now: time.now });
  await assert.rejects(breaker.execute(fail));
  assert.equal(breaker.state, "open");
  time.advance(4999);
  await assert.rejects(breaker.execute(ok), isCode("CIRCUIT_OPEN"));
  time.advance(1);
  assert.equal(breaker.state, "half-open");
  // The probe fails: open again for a whole cool-down.
  await assert.rejects(breaker.execute(fail), isCode("PROVIDER_UNAVAILABLE"));
  assert.equal(breaker.state, "open");
  time.advance(5000);
  // Only one probe at a time while half-open.
  let release!: () => void;
  const probe = breaker.execute(() =>
    new Promise<string>((resolve) => (release = () => resolve("up")))
  );
  await assert.rejects(breaker.execute(ok), isCode("CIRCUIT_OPEN"));
  release();
  assert.equal(await probe, "up");
  assert.equal(breaker.state, "closed");
  assert.equal(await breaker.execute(ok), "ok");
});

Deno.test("breaker opens on the failure ratio over the window", async () => {
  const breaker = new CircuitBreaker({
    failureThreshold: 100,
    failureRateThreshold: 0.5,
    minimumRequests: 10,
    windowSize: 10,
  });
  for (let i = 0; i < 9; i++) {
    if (i % 2 === 0) await assert.rejects(breaker.execute(fail));
    else await breaker.execute(ok);
  }
  assert.equal(breaker.state, "closed"); // 5 of 9: too few calls yet
  await breaker.execute(ok); // 5 of 10 = 0.5 but this call succeeded: the ratio trips on failures
  assert.equal(breaker.state, "closed");
  await assert.rejects(breaker.execute(fail)); // 5 of 10 in the window (oldest dropped) -> open
  assert.equal(breaker.state, "open");
});

Deno.test("breaker: errors that are the caller's fault do not count", async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 1 });
  const bad = new ODataActiveRecordError("VALIDATION_FAILED", "bad input");
  for (let i = 0; i < 5; i++) await assert.rejects(breaker.execute(() => Promise.reject(bad)));
  assert.equal(breaker.state, "closed");
  assert.equal(breaker.stats().failures, 0);
});

Deno.test("breaker logs when it opens and closes; reset() closes", async () => {
  await withLogs(async (lines) => {
    const time = clock();
    const breaker = new CircuitBreaker({
      name: "orders",
      failureThreshold: 1,
      cooldownMs: 1000,
      now: time.now,
    });
    await assert.rejects(breaker.execute(fail));
    time.advance(1000);
    await breaker.execute(ok);
    assert.deepEqual(lines, [
      "🔌 Circuit orders opened after 1 consecutive failure(s): store down; next probe in 1000ms",
      "✅ Circuit orders closed",
    ]);
    await assert.rejects(breaker.execute(fail));
    breaker.reset();
    assert.equal(breaker.state, "closed");
  });
});

Deno.test("breaker options are validated", () => {
  assert.throws(() => new CircuitBreaker({ failureThreshold: 0 }), isCode("INVALID_ARGUMENT"));
  assert.throws(() => new CircuitBreaker({ failureRateThreshold: 2 }), isCode("INVALID_ARGUMENT"));
  assert.throws(() => new CircuitBreaker({ cooldownMs: -1 }), isCode("INVALID_ARGUMENT"));
});
