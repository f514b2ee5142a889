/** The per-file write queue: first come, first served; bounded waits; one release per holder. */
import assert from "node:assert/strict";
import { releaseWriteQueue, WriteQueue, writeQueueFor } from "../../../providers/sqlite/lock.ts";
import { isCode } from "./helpers.ts";

Deno.test("write queue: waiters get the lock in arrival order, never two at once", async () => {
  const queue = new WriteQueue();
  const first = queue.tryAcquire()!;
  assert.equal(queue.tryAcquire(), undefined);
  const order: number[] = [];
  let holders = 0;
  const waiters = [1, 2, 3].map(async (n) => {
    const release = await queue.acquire(5000);
    holders++;
    assert.equal(holders, 1);
    order.push(n);
    await new Promise((resolve) => setTimeout(resolve, 0));
    holders--;
    release();
    release(); // a second call does nothing
  });
  first();
  await Promise.all(waiters);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(queue.held, false);
});

Deno.test("write queue: a wait past its bound is TIMEOUT and leaves the queue", async () => {
  const queue = new WriteQueue();
  const holder = queue.tryAcquire()!;
  await assert.rejects(queue.acquire(5), isCode("TIMEOUT"));
  const next = queue.acquire(5000);
  holder(); // goes to the waiter still there, not to the one that gave up
  (await next)();
  assert.equal(queue.held, false);
});

Deno.test("write queue: one queue per database file, private ones for in-memory databases", () => {
  const a = writeQueueFor("/tmp/oar-lock-test.db");
  const b = writeQueueFor("/tmp/oar-lock-test.db");
  assert.equal(a, b);
  assert.notEqual(writeQueueFor(""), writeQueueFor(""));
  releaseWriteQueue("/tmp/oar-lock-test.db");
  releaseWriteQueue("/tmp/oar-lock-test.db");
  assert.notEqual(writeQueueFor("/tmp/oar-lock-test.db"), a); // the last user took it away
  releaseWriteQueue("/tmp/oar-lock-test.db");
});
