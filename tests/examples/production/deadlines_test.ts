/** The service's per-request deadlines: one timer, no clock read per request. */
import assert from "node:assert/strict";
import { RequestDeadlines } from "../../../examples/production-ready/deadlines.ts";

Deno.test("RequestDeadlines: a stuck response times out, settled ones pass, the timer stops when idle", async () => {
  const deadlines = new RequestDeadlines(20, () => new Response("late", { status: 504 }));
  // The deadlines' timer never keeps a process alive (the server does that): this test must.
  const keepAlive = setTimeout(() => {}, 60_000);
  try {
    let release!: (response: Response) => void;
    const held = new Promise<Response>((resolve) => (release = resolve));
    const stuck = deadlines.run(new Promise<Response>(() => {}));
    const fast = deadlines.run(Promise.resolve(new Response("ok")));
    const failing = deadlines.run(Promise.reject(new Error("boom")));
    const slow = deadlines.run(held);
    assert.equal(deadlines.pending, 4);
    const fastResponse = await fast;
    await assert.rejects(failing, /boom/);
    assert.equal(deadlines.pending, 2); // only microtasks so far: no tick could have run
    assert.equal(await fastResponse.text(), "ok");
    const timedOut = await stuck;
    assert.equal(timedOut.status, 504);
    assert.equal(await timedOut.text(), "late");
    // The slow one arrived with the stuck one: it timed out at the same tick.
    assert.equal((await slow).status, 504);
    release(new Response("too late")); // settling afterwards changes nothing
    assert.equal(deadlines.pending, 0);
    // A later request starts the timer again and is timed from its own arrival.
    const again = await deadlines.run(new Promise<Response>(() => {}));
    assert.equal(again.status, 504);
  } finally {
    deadlines.close();
    clearTimeout(keepAlive);
  }
});
