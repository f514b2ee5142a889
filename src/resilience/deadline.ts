/**
 * `delay` and `deadline` with the semantics of Deno std's `@std/async` (written here because JSR
 * is out of reach), plus deadlines passed down as an `AbortSignal`.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import { unrefTimer } from "../runtime/platform.ts";

/** Options of {@linkcode delay}. */
export interface DelayOptions {
  /** Rejects with the signal's reason when it aborts, and clears the timer. */
  readonly signal?: AbortSignal;
  /** When `false`, the timer does not keep the process alive. @default {true} */
  readonly persistent?: boolean;
}

/**
 * Resolves after `ms` milliseconds; rejects with `signal.reason` when the signal aborts first.
 *
 * @example
 * ```ts
 * import { delay } from "@oar/odata-active-record";
 * await delay(10);
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal, persistent = true } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, Math.max(0, ms));
    if (!persistent) unrefTimer(timer);
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/** Options of {@linkcode deadline}. */
export interface DeadlineOptions {
  /** Another signal (the caller's) that also ends the work. */
  readonly signal?: AbortSignal;
}

/** Arms the deadline's timeout; returns its disarm. */
type Arm = (ms: number, fire: () => void) => () => void;

const ownTimer: Arm = (ms, fire) => {
  const timer = setTimeout(fire, Math.max(0, ms));
  return () => clearTimeout(timer);
};

function runWithDeadline<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  outer: AbortSignal | undefined,
  arm: Arm,
): Promise<T> {
  if (outer?.aborted) return Promise.reject(abortedError(outer.reason));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      disarm();
      outer?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (settled) return;
      finish();
      controller.abort(outer!.reason);
      reject(abortedError(outer!.reason));
    };
    const disarm = arm(ms, () => {
      if (settled) return;
      finish();
      const reason = new DOMException(`Deadline of ${ms}ms passed`, "TimeoutError");
      controller.abort(reason);
      reject(
        new ODataActiveRecordError("TIMEOUT", `The operation's deadline of ${ms}ms passed`, {
          cause: reason,
          context: { timeoutMs: ms },
        }),
      );
    });
    outer?.addEventListener("abort", onAbort, { once: true });
    let promise: Promise<T>;
    try {
      promise = typeof work === "function" ? work(controller.signal) : work;
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}

/**
 * Runs `work` with a time limit. A function receives an `AbortSignal` that fires at the deadline
 * (pass it to the driver or `fetch`). Rejects with a `TIMEOUT` error when the deadline passes
 * first, and with `ABORTED` when the caller's signal fires; the timer is always cleared.
 *
 * @example
 * ```ts
 * import { deadline } from "@oar/odata-active-record";
 * const text = await deadline((signal) => Promise.resolve(signal.aborted ? "late" : "ok"), 1000);
 * ```
 */
export function deadline<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  return runWithDeadline(work, ms, options.signal, ownTimer);
}

/** A running deadline of a {@linkcode DeadlineScheduler}. */
export interface DeadlineTicket {
  /** Fires at the deadline or when the caller's signal fires. */
  readonly signal: AbortSignal;
  /** The caller's signal. */
  readonly outer: AbortSignal | undefined;
}

/** Calls whose deadlines fall in the same slot share one controller and one timer. */
interface DeadlineSlot extends DeadlineTicket {
  readonly key: string;
  readonly at: number;
  readonly controller: AbortController;
  readonly ms: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Calls racing this slot's deadline (see `enter()`), told when it fires: a doubly linked list,
   * since a Set of fresh callbacks costs a hash per call, several times a key lookup's work.
   */
  first: RacingEntry | undefined;
}

/**
 * A call racing a deadline, from {@linkcode DeadlineScheduler.enter}.
 *
 * @example
 * ```ts
 * import { DeadlineScheduler } from "@oar/odata-active-record";
 * const deadlines = new DeadlineScheduler();
 * const ticket = deadlines.start(1000);
 * const entry = deadlines.enter(ticket, (error) => console.log(error.code)); // "TIMEOUT" if late
 * deadlines.leave(entry);
 * deadlines.close();
 * ```
 */
export interface DeadlineEntry {
  /** Called with the `TIMEOUT` error when the deadline passes before `leave()`. */
  readonly onDeadline: (error: ODataActiveRecordError) => void;
}

class RacingEntry implements DeadlineEntry {
  readonly onDeadline: (error: ODataActiveRecordError) => void;
  /** The slot while listed in it. */
  slot: DeadlineSlot | undefined;
  previous: RacingEntry | undefined = undefined;
  next: RacingEntry | undefined;

  constructor(slot: DeadlineSlot, onDeadline: (error: ODataActiveRecordError) => void) {
    this.onDeadline = onDeadline;
    this.slot = slot;
    this.next = slot.first;
    if (slot.first !== undefined) slot.first.previous = this;
    slot.first = this;
  }

  unlink(): void {
    const slot = this.slot;
    if (slot === undefined) return;
    this.slot = undefined;
    if (this.previous === undefined) slot.first = this.next;
    else this.previous.next = this.next;
    if (this.next !== undefined) this.next.previous = this.previous;
    this.previous = this.next = undefined;
  }
}

/** Options of {@linkcode DeadlineScheduler}. */
export interface DeadlineSchedulerOptions {
  /**
   * How late a deadline may fire, at most, in milliseconds: calls whose deadlines fall in the
   * same slot of this width share one signal and one timer. @default {ms / 50, 1–100 ms}
   */
  readonly granularityMs?: number;
}

/**
 * Deadlines for a hot path, where a timer and an `AbortController` per call would cost more than
 * a SQLite key lookup. Calls whose deadlines fall in the same slot (2 % of the timeout, at most
 * 100 ms) share one controller and one timer, so a call costs a clock read and a comparison; a
 * deadline fires at most one slot late. At the deadline the work's `AbortSignal` fires and
 * `run()`/`race()` reject with `TIMEOUT`, even when the work ignores its signal. Timers may keep
 * the process alive until one deadline after the last call; `close()` clears them.
 *
 * @example
 * ```ts
 * import { DeadlineScheduler } from "@oar/odata-active-record";
 * const deadlines = new DeadlineScheduler();
 * console.log(await deadlines.run((signal) => Promise.resolve(signal.aborted), 5000)); // false
 * deadlines.close();
 * ```
 */
export class DeadlineScheduler {
  readonly #slots = new Map<string, DeadlineSlot>();
  readonly #granularity: number | undefined;
  #last: DeadlineSlot | undefined;

  /** Creates a scheduler with no timers yet. */
  constructor(options: DeadlineSchedulerOptions = {}) {
    this.#granularity = options.granularityMs;
  }

  /** Runs `work` with a signal that fires after `ms` (or when `options.signal` fires). */
  async run<T>(
    work: (signal: AbortSignal) => Promise<T>,
    ms: number,
    options: DeadlineOptions = {},
  ): Promise<T> {
    const ticket = this.start(ms, options.signal);
    try {
      return await this.race(ticket, work(ticket.signal));
    } catch (error) {
      throw this.explain(ticket, error);
    } finally {
      this.finish(ticket);
    }
  }

  /**
   * Starts a deadline of `ms` (the hot-path form of `run()`): pass `ticket.signal` to the work,
   * and `explain(ticket, error)` when it failed. `now` is `performance.now()` when the caller
   * read it (a monotonic clock: a wall-clock jump neither fires nor delays a deadline).
   */
  start(ms: number, outer?: AbortSignal, now: number = performance.now()): DeadlineTicket {
    if (outer?.aborted) throw abortedError(outer.reason);
    const width = this.#granularity ?? Math.min(100, Math.max(1, Math.floor(ms / 50)));
    const at = Math.ceil((now + Math.max(0, ms)) / width) * width;
    let slot = this.#last;
    if (slot === undefined || slot.at !== at || slot.ms !== ms) slot = this.#slot(at, ms);
    if (outer === undefined) return slot;
    return {
      signal: AbortSignal.any([slot.signal, outer]),
      outer,
      slot,
    } as DeadlineTicket;
  }

  #slot(at: number, ms: number): DeadlineSlot {
    const key = `${at}:${ms}`;
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      const controller = new AbortController();
      const created: DeadlineSlot = {
        key,
        at,
        controller,
        ms,
        signal: controller.signal,
        outer: undefined,
        timer: undefined,
        first: undefined,
      };
      created.timer = setTimeout(() => {
        this.#slots.delete(key);
        if (this.#last === created) this.#last = undefined;
        created.timer = undefined;
        const reason = new DOMException(`Deadline of ${ms}ms passed`, "TimeoutError");
        controller.abort(reason);
        // Work that does not honour its signal (e.g. waiting in a queue) is not waited for.
        const racing: RacingEntry[] = [];
        for (let entry = created.first; entry !== undefined; entry = entry.next) {
          racing.push(entry);
        }
        for (const entry of racing) entry.unlink();
        for (const entry of racing) entry.onDeadline(timeoutError(ms, reason, undefined));
      }, Math.max(0, at - performance.now()));
      this.#slots.set(key, created);
      slot = created;
    }
    this.#last = slot;
    return slot;
  }

  /**
   * Settles with `work`, or rejects with `TIMEOUT` when the ticket's deadline passes first even
   * if the work ignores its signal (the work itself goes on).
   */
  race<T>(ticket: DeadlineTicket, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = this.enter(ticket, reject);
      if (entry === undefined) {
        work.catch(() => {}); // its outcome no longer matters
        return;
      }
      work.then(
        (value) => {
          this.leave(entry);
          resolve(value);
        },
        (error) => {
          this.leave(entry);
          reject(error);
        },
      );
    });
  }

  /**
   * The parts of {@linkcode race} for a caller that settles its own promise (one promise per call
   * instead of two): `onDeadline` gets the `TIMEOUT` error if the ticket's deadline passes before
   * `leave(entry)`. When the deadline has passed already, calls `onDeadline` at once and returns
   * `undefined`.
   */
  enter(
    ticket: DeadlineTicket,
    onDeadline: (error: ODataActiveRecordError) => void,
  ): DeadlineEntry | undefined {
    const slot = (ticket as { slot?: DeadlineSlot }).slot ?? (ticket as DeadlineSlot);
    if (slot.signal.aborted) {
      onDeadline(timeoutError(slot.ms, slot.signal.reason, undefined));
      return undefined;
    }
    return new RacingEntry(slot, onDeadline);
  }

  /** Ends what {@linkcode enter} started: the deadline no longer calls the entry's `onDeadline`. */
  leave(entry: DeadlineEntry | undefined): void {
    (entry as RacingEntry | undefined)?.unlink();
  }

  /** Ends a deadline (nothing to undo: the slot's timer serves every call in it). */
  finish(_ticket: DeadlineTicket): void {}

  /** The error to report for a failure under `ticket`: `TIMEOUT`, `ABORTED`, or `error` itself. */
  explain(ticket: DeadlineTicket, error: unknown): unknown {
    const slot = (ticket as { slot?: DeadlineSlot }).slot ?? (ticket as DeadlineSlot);
    if (slot.signal.aborted) {
      return timeoutError(slot.ms, slot.signal.reason, error);
    }
    if (ticket.outer?.aborted) return abortedError(ticket.outer.reason);
    return error;
  }

  /** Clears every timer; deadlines still pending never fire. */
  close(): void {
    for (const slot of this.#slots.values()) clearTimeout(slot.timer);
    this.#slots.clear();
    this.#last = undefined;
  }
}

function timeoutError(ms: number, reason: unknown, error: unknown): ODataActiveRecordError {
  if (error instanceof ODataActiveRecordError && error.code === "TIMEOUT") return error;
  return new ODataActiveRecordError("TIMEOUT", `The operation's deadline of ${ms}ms passed`, {
    cause: error ?? reason,
    context: { timeoutMs: ms },
  });
}

function abortedError(reason: unknown): ODataActiveRecordError {
  if ((reason as { name?: string } | undefined)?.name === "TimeoutError") {
    return new ODataActiveRecordError("TIMEOUT", "The operation's deadline passed", {
      cause: reason,
    });
  }
  return new ODataActiveRecordError("ABORTED", "The operation was aborted", { cause: reason });
}
