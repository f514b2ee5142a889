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

/** The ticket is also the pending entry: one object per call. */
interface PendingDeadline extends DeadlineTicket {
  readonly at: number;
  readonly controller: AbortController;
  readonly ms: number;
}

/**
 * Deadlines for a hot path. Two costs are avoided: a timer per call (more than a SQLite key
 * lookup) and a racing wrapper promise. Pending deadlines sit in a set with one timer armed for
 * the earliest; at the deadline the work's `AbortSignal` fires and the work (every provider
 * honours its signal) rejects, which `run()` reports as `TIMEOUT`. Work that ignores its signal
 * is not cut short: use {@linkcode deadline} for that. The timer may keep the process alive
 * until one deadline after the last call; `close()` clears it.
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
  readonly #pending = new Set<PendingDeadline>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;

  /** Runs `work` with a signal that fires after `ms` (or when `options.signal` fires). */
  async run<T>(
    work: (signal: AbortSignal) => Promise<T>,
    ms: number,
    options: DeadlineOptions = {},
  ): Promise<T> {
    const ticket = this.start(ms, options.signal);
    try {
      return await work(ticket.signal);
    } catch (error) {
      throw this.explain(ticket, error);
    } finally {
      this.finish(ticket);
    }
  }

  /**
   * Starts a deadline of `ms` (the hot-path form of `run()`): pass `ticket.signal` to the work,
   * call `finish(ticket)` when it settles and `explain(ticket, error)` when it failed. `now` is
   * `Date.now()` when the caller read it already.
   */
  start(ms: number, outer?: AbortSignal, now: number = Date.now()): DeadlineTicket {
    if (outer?.aborted) throw abortedError(outer.reason);
    const controller = new AbortController();
    const entry: PendingDeadline = {
      at: now + Math.max(0, ms),
      controller,
      ms,
      signal: outer === undefined ? controller.signal : AbortSignal.any([controller.signal, outer]),
      outer,
    };
    this.#pending.add(entry);
    if (entry.at < this.#armedAt) this.#arm(entry.at);
    return entry;
  }

  /** Ends a deadline (the timer stays armed: re-arming per call would cost more than the call). */
  finish(ticket: DeadlineTicket): void {
    this.#pending.delete(ticket as PendingDeadline);
  }

  /** The error to report for a failure under `ticket`: `TIMEOUT`, `ABORTED`, or `error` itself. */
  explain(ticket: DeadlineTicket, error: unknown): unknown {
    const { controller, ms } = ticket as PendingDeadline;
    if (controller.signal.aborted) return timeoutError(ms, controller.signal.reason, error);
    if (ticket.outer?.aborted) return abortedError(ticket.outer.reason);
    return error;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, at - Date.now()));
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const entry of this.#pending) {
      if (entry.at <= now) {
        this.#pending.delete(entry);
        entry.controller.abort(
          new DOMException(`Deadline of ${entry.ms}ms passed`, "TimeoutError"),
        );
      } else if (entry.at < next) {
        next = entry.at;
      }
    }
    if (next !== Infinity) this.#arm(next);
  }

  /** Clears the timer; deadlines still pending never fire. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
    this.#pending.clear();
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
