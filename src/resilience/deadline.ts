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
  const outer = options.signal;
  if (outer?.aborted) {
    return Promise.reject(abortedError(outer.reason));
  }
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (settled) return;
      finish();
      controller.abort(outer!.reason);
      reject(abortedError(outer!.reason));
    };
    const timer = setTimeout(() => {
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
    }, Math.max(0, ms));
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

function abortedError(reason: unknown): ODataActiveRecordError {
  if ((reason as { name?: string } | undefined)?.name === "TimeoutError") {
    return new ODataActiveRecordError("TIMEOUT", "The operation's deadline passed", {
      cause: reason,
    });
  }
  return new ODataActiveRecordError("ABORTED", "The operation was aborted", { cause: reason });
}
