/**
 * The write queue of one database file, shared by every connection of this process that writes
 * to it. node:sqlite is synchronous: a writer that met another connection's lock inside SQLite
 * would sleep in the busy handler and block the event loop, so the connection holding the lock
 * (in this same thread) could never finish. Writers of this process therefore wait for each
 * other here, asynchronously and in arrival order; SQLite's `busy_timeout` is left to cover
 * writers of other processes.
 *
 * @module
 */

import { ODataActiveRecordError } from "../../src/errors/errors.ts";

/**
 * A first-in, first-out asynchronous lock with bounded waits.
 *
 * @example
 * ```ts
 * import { WriteQueue } from "./lock.ts";
 * const queue = new WriteQueue();
 * const release = await queue.acquire(1000);
 * release();
 * ```
 */
export class WriteQueue {
  #held = false;
  readonly #waiters: (() => void)[] = [];

  /** True while a writer holds the lock. */
  get held(): boolean {
    return this.#held;
  }

  /** Takes the lock when it is free, without waiting; `undefined` when it is held. */
  tryAcquire(): (() => void) | undefined {
    if (this.#held) return undefined;
    this.#held = true;
    return this.#releaser();
  }

  /**
   * Takes the lock, waiting at most `timeoutMs` for the writers ahead (then `TIMEOUT`: the usual
   * cause of a long wait is a transaction that waits, in turn, for this very writer).
   */
  acquire(timeoutMs: number): Promise<() => void> {
    const free = this.tryAcquire();
    if (free !== undefined) return Promise.resolve(free);
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve(this.#releaser());
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(grant);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(
          new ODataActiveRecordError(
            "TIMEOUT",
            `Waited ${timeoutMs} ms for another writer of this SQLite database to finish`,
            {
              suggestion: "A transaction holds the write lock this long: keep transactions " +
                "short, or raise busyTimeoutMs. Inside namespace.transaction(), writes to " +
                "another namespace on the same database file wait for the transaction to end.",
              context: { provider: "sqlite", timeoutMs },
            },
          ),
        );
      }, timeoutMs);
      this.#waiters.push(grant);
    });
  }

  /** A release function that works once: hands the lock to the next waiter, or frees it. */
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next === undefined) this.#held = false;
      else next(); // the lock passes on without ever being free: no writer can cut in
    };
  }
}

/** The shared queues by database file, with how many connections use each. */
const QUEUES = new Map<string, { queue: WriteQueue; users: number }>();

/**
 * The write queue of the database file at the absolute path `file`, shared in this process;
 * call {@linkcode releaseWriteQueue} when the connection closes. An empty `file` (an in-memory
 * or temporary database, private to its connection) gets a queue of its own.
 *
 * @example
 * ```ts
 * import { releaseWriteQueue, writeQueueFor } from "./lock.ts";
 * const queue = writeQueueFor("/tmp/app.db");
 * releaseWriteQueue("/tmp/app.db");
 * ```
 */
export function writeQueueFor(file: string): WriteQueue {
  if (file === "") return new WriteQueue();
  let entry = QUEUES.get(file);
  if (entry === undefined) {
    entry = { queue: new WriteQueue(), users: 0 };
    QUEUES.set(file, entry);
  }
  entry.users++;
  return entry.queue;
}

/**
 * Drops one user of the queue of `file` (the queue goes when its last user does).
 *
 * @example
 * ```ts
 * import { releaseWriteQueue } from "./lock.ts";
 * releaseWriteQueue("/tmp/app.db");
 * ```
 */
export function releaseWriteQueue(file: string): void {
  const entry = QUEUES.get(file);
  if (entry === undefined) return;
  if (--entry.users <= 0) QUEUES.delete(file);
}
