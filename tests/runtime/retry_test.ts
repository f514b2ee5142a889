/** retry/deadline/delay semantics: counts, backoff growth, Retry-After, idempotency, logs. */
import assert from "node:assert/strict";
import {
  backoffDelay,
  deadline,
  DeadlineScheduler,
  delay,
  describeError,
  isTransientError,
  ODataActiveRecordError,
  retry,
  retryAfterMs,
} from "../../mod.ts";
import { errno, isCode, unavailable, withLogs } from "./helpers.ts";

Deno.test("backoff: 1000 ms base doubling up to the cap; jitter only shortens", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { jitter: 0, maxTimeout: 30000 })),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000],
  );
  assert.equal(backoffDelay(1, { jitter: 0.5, random: () => 1 }), 1000);
  assert.equal(backoffDelay(1, { jitter: 0.5, random: () => 0 }), 2000);
  assert.equal(backoffDelay(2, { minTimeout: 10, multiplier: 3, jitter: 0 }), 90);
});

Deno.test("retry: 3 retries by default, growing delays, then the last error unchanged", async () => {
  const delays: number[] = [];
  let calls = 0;
  const last = unavailable({ attempt: "last" });
  await assert.rejects(
    retry(() => {
      calls++;
      return Promise.reject(calls === 4 ? last : errno("ECONNREFUSED"));
    }, { minTimeout: 1, jitter: 0, onRetry: ({ delayMs }) => delays.push(delayMs) }),
    (error) => error === last,
  );
  assert.equal(calls, 4);
  assert.deepEqual(delays, [1, 2, 4]);
});

Deno.test("retry: succeeds on a later attempt and passes the attempt number", async () => {
  const seen: number[] = [];
  const value = await retry((attempt) => {
    seen.push(attempt);
    return attempt < 3 ? Promise.reject(errno("ECONNRESET")) : Promise.resolve("ok");
  }, { minTimeout: 1, jitter: 0 });
  assert.equal(value, "ok");
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("retry: permanent errors are not retried", async () => {
  for (
    const error of [
      new ODataActiveRecordError("VALIDATION_FAILED", "bad"),
      new ODataActiveRecordError("CIRCUIT_OPEN", "open"),
      new ODataActiveRecordError("ABORTED", "cancelled"),
      new Error("plain bug"),
    ]
  ) {
    let calls = 0;
    await assert.rejects(retry(() => {
      calls++;
      return Promise.reject(error);
    }, { minTimeout: 1 }));
    assert.equal(calls, 1, error.message);
  }
});

Deno.test("retry: a non-idempotent write is never retried without an idempotency key", async () => {
  let calls = 0;
  const write = () => {
    calls++;
    return Promise.reject(errno("ECONNRESET"));
  };
  await assert.rejects(retry(write, { idempotent: false, minTimeout: 1 }));
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(retry(write, { idempotent: false, idempotencyKey: "", minTimeout: 1 }));
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    retry(write, { idempotent: false, idempotencyKey: "order-42", minTimeout: 1, jitter: 0 }),
  );
  assert.equal(calls, 4);
});

Deno.test("retry: Retry-After is honoured as the least wait; longer than maxRetryAfter is not waited", async () => {
  const delays: number[] = [];
  let calls = 0;
  const busy = new ODataActiveRecordError("PROVIDER_ERROR", "429", {
    context: { httpStatus: 429, retryAfter: "0.02" },
  });
  const value = await retry(() => {
    calls++;
    return calls < 3 ? Promise.reject(busy) : Promise.resolve(calls);
  }, { minTimeout: 1, jitter: 0, onRetry: ({ delayMs }) => delays.push(delayMs) });
  assert.equal(value, 3);
  assert.deepEqual(delays, [20, 20]);

  calls = 0;
  const tooLong = new ODataActiveRecordError("PROVIDER_ERROR", "503", {
    context: { httpStatus: 503, retryAfter: "120" },
  });
  await assert.rejects(
    retry(() => {
      calls++;
      return Promise.reject(tooLong);
    }, { minTimeout: 1 }),
    (error) => error === tooLong,
  );
  assert.equal(calls, 1);
});

Deno.test("retry: the design's log lines for each attempt", async () => {
  await withLogs(async (lines) => {
    let calls = 0;
    await retry(() => {
      calls++;
      return calls < 3 ? Promise.reject(errno("ECONNREFUSED")) : Promise.resolve();
    }, { minTimeout: 1, jitter: 0, label: "connection mongodb_prod" });
    assert.deepEqual(lines, [
      "⚠️ Connection mongodb_prod attempt 1 failed: ECONNREFUSED",
      "🔄 Retrying connection mongodb_prod in 1ms...",
      "⚠️ Connection mongodb_prod attempt 2 failed: ECONNREFUSED",
      "🔄 Retrying connection mongodb_prod in 2ms...",
    ]);
  });
});

Deno.test("retry: an aborted signal ends the wait with its reason", async () => {
  const controller = new AbortController();
  const reason = new Error("stop");
  const pending = retry(() => Promise.reject(errno("ECONNREFUSED")), {
    minTimeout: 60000,
    onRetry: () => controller.abort(reason),
    signal: controller.signal,
  });
  await assert.rejects(pending, (error) => error === reason);
});

Deno.test("transient classification", () => {
  const transient = [
    errno("ECONNREFUSED"),
    errno("ETIMEDOUT"),
    unavailable(),
    new ODataActiveRecordError("TIMEOUT", "late"),
    new ODataActiveRecordError("PROVIDER_ERROR", "x", { context: { httpStatus: 503 } }),
    new ODataActiveRecordError("PROVIDER_ERROR", "x", { context: { httpStatus: 429 } }),
    new ODataActiveRecordError("PROVIDER_ERROR", "x", { context: { status: 502 } }), // http-odata
    new ODataActiveRecordError("PROVIDER_ERROR", "x", { context: { retryable: true } }),
    Object.assign(new Error("x"), { status: 502 }),
    Object.assign(new Error("x"), { name: "ConnectionRefused" }),
    Object.assign(new Error("x"), { name: "MongoNetworkError" }),
    Object.assign(new Error("x"), { errorLabels: ["RetryableWriteError"] }),
    { hasErrorLabel: (label: string) => label === "TransientTransactionError" },
    new ODataActiveRecordError("PROVIDER_ERROR", "wrapped", { cause: errno("ECONNRESET") }),
  ];
  for (const error of transient) assert.ok(isTransientError(error), String(error));
  const permanent = [
    new ODataActiveRecordError("PROVIDER_ERROR", "x", { context: { httpStatus: 400 } }),
    new ODataActiveRecordError("PROVIDER_ERROR", "x", { context: { httpStatus: 501 } }),
    new ODataActiveRecordError("NOT_FOUND", "x"),
    new ODataActiveRecordError("CLOSED", "x"),
    new Error("x"),
    "text",
    undefined,
  ];
  for (const error of permanent) assert.ok(!isTransientError(error), String(error));
  const wrapped = new ODataActiveRecordError("PROVIDER_UNAVAILABLE", "down", {
    cause: errno("ECONNREFUSED"),
  });
  assert.equal(describeError(wrapped), "ECONNREFUSED");
  assert.equal(describeError(new Error("first line\nsecond")), "first line");
});

Deno.test("Retry-After: seconds, HTTP date, headers", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs({ context: { retryAfter: "3" } }, now), 3000);
  assert.equal(retryAfterMs({ context: { retryAfter: 1.5 } }, now), 1500);
  assert.equal(
    retryAfterMs({ context: { retryAfter: "Thu, 01 Jan 2026 00:00:10 GMT" } }, now),
    10000,
  );
  assert.equal(
    retryAfterMs({ context: { headers: new Headers({ "Retry-After": "7" }) } }, now),
    7000,
  );
  assert.equal(retryAfterMs(new Error("x", { cause: { context: { retryAfter: "2" } } })), 2000);
  assert.equal(retryAfterMs({ context: { retryAfter: "soon" } }, now), undefined);
});

Deno.test("deadline: TIMEOUT when it passes, the signal reaches the work, the timer is cleared", async () => {
  let seen: AbortSignal | undefined;
  await assert.rejects(
    deadline((signal) => {
      seen = signal;
      return new Promise((resolve) => signal.addEventListener("abort", resolve));
    }, 5),
    isCode("TIMEOUT"),
  );
  assert.equal(seen?.aborted, true);
  assert.equal((seen?.reason as DOMException).name, "TimeoutError");
  assert.equal(await deadline(Promise.resolve(7), 60000), 7); // sanitizers: no timer left
  await assert.rejects(deadline(Promise.reject(new Error("own")), 60000), /own/);
});

Deno.test("deadline: the caller's signal aborts with ABORTED", async () => {
  const controller = new AbortController();
  const pending = deadline((signal) => delay(60000, { signal }), 60000, {
    signal: controller.signal,
  });
  controller.abort();
  await assert.rejects(pending, isCode("ABORTED"));
  await assert.rejects(
    deadline(Promise.resolve(1), 10, { signal: AbortSignal.abort() }),
    isCode("ABORTED"),
  );
});

Deno.test("delay: resolves, or rejects with the signal's reason", async () => {
  await delay(1);
  // An unref'd timer does not keep the process alive: something else must (the second delay).
  await Promise.all([delay(1, { persistent: false }), delay(5)]);
  const controller = new AbortController();
  const pending = delay(60000, { signal: controller.signal });
  controller.abort(new Error("cancelled"));
  await assert.rejects(pending, /cancelled/);
  await assert.rejects(delay(1, { signal: AbortSignal.abort(new Error("early")) }), /early/);
});

Deno.test("DeadlineScheduler: one shared timer; TIMEOUT through the work's signal; close() clears", async () => {
  const deadlines = new DeadlineScheduler();
  try {
    const waitForAbort = (signal: AbortSignal) =>
      new Promise<never>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason), { once: true })
      );
    const late = deadlines.run(waitForAbort, 20);
    const early = deadlines.run(waitForAbort, 5); // earlier than the armed one: re-armed
    const fine = deadlines.run((signal) => Promise.resolve(signal.aborted), 60000);
    assert.equal(await fine, false);
    await assert.rejects(early, (e) => isCode("TIMEOUT")(e) && /5ms/.test((e as Error).message));
    await assert.rejects(late, (e) => isCode("TIMEOUT")(e) && /20ms/.test((e as Error).message));
    await assert.rejects(deadlines.run(() => Promise.reject(new Error("own")), 60000), /own/);
    const controller = new AbortController();
    const cancelled = deadlines.run(waitForAbort, 60000, { signal: controller.signal });
    controller.abort();
    await assert.rejects(cancelled, isCode("ABORTED"));
    await assert.rejects(
      deadlines.run(() => Promise.resolve(1), 10, { signal: AbortSignal.abort() }),
      isCode("ABORTED"),
    );
  } finally {
    deadlines.close(); // sanitizers: the shared timer is gone
  }
});

Deno.test("DeadlineScheduler.enter/leave: told at the deadline unless it left; late entries told at once", async () => {
  const deadlines = new DeadlineScheduler({ granularityMs: 1 });
  try {
    const told: string[] = [];
    const ticket = deadlines.start(10);
    const staying = deadlines.enter(ticket, (error) => told.push(`staying ${error.code}`));
    const leaving = deadlines.enter(ticket, (error) => told.push(`leaving ${error.code}`));
    const middle = deadlines.enter(ticket, (error) => told.push(`middle ${error.code}`));
    assert.ok(staying !== undefined && leaving !== undefined && middle !== undefined);
    deadlines.leave(leaving);
    deadlines.leave(middle);
    deadlines.leave(middle); // twice is harmless
    await new Promise<void>((resolve) =>
      ticket.signal.addEventListener("abort", () => resolve(), { once: true })
    );
    assert.deepEqual(told, ["staying TIMEOUT"]);
    deadlines.leave(staying); // after the deadline: nothing to undo
    const late = deadlines.enter(ticket, (error) => told.push(`late ${error.code}`));
    assert.equal(late, undefined);
    assert.deepEqual(told, ["staying TIMEOUT", "late TIMEOUT"]);
    // race() rejects work that ignores its signal, and lets settled work through.
    const ignoring = deadlines.race(deadlines.start(5), new Promise(() => {}));
    await assert.rejects(ignoring, isCode("TIMEOUT"));
    assert.equal(await deadlines.race(deadlines.start(60000), Promise.resolve(7)), 7);
  } finally {
    deadlines.close();
  }
});

Deno.test("retry over a real refused TCP connection until the server appears", async () => {
  // A free port, closed again: connecting to it is refused for real.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const url = `http://127.0.0.1:${port}/`;
  const refused = await fetch(url).then(() => undefined, (error: unknown) => error);
  assert.ok(isTransientError(refused), String(refused));
  assert.equal(describeError(refused), "ECONNREFUSED");

  await withLogs(async (lines) => {
    let server: Deno.HttpServer | undefined;
    try {
      const text = await retry(async (attempt) => {
        // The server comes up after the second refusal (the "provider appears" case).
        if (attempt === 3) {
          server = Deno.serve(
            { hostname: "127.0.0.1", port, onListen: () => {} },
            () => new Response("up"),
          );
        }
        const response = await fetch(url);
        return await response.text();
      }, { minTimeout: 1, jitter: 0, label: "connection odata_remote" });
      assert.equal(text, "up");
      assert.deepEqual(lines, [
        "⚠️ Connection odata_remote attempt 1 failed: ECONNREFUSED",
        "🔄 Retrying connection odata_remote in 1ms...",
        "⚠️ Connection odata_remote attempt 2 failed: ECONNREFUSED",
        "🔄 Retrying connection odata_remote in 2ms...",
      ]);
    } finally {
      await server?.shutdown();
    }
  });
});
