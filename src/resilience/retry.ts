/**
 * `retry` with the semantics of Deno std's `@std/async/retry` (exponential backoff with jitter),
 * limited to transient failures, honouring `Retry-After`, and refusing to repeat a
 * non-idempotent write unless the caller supplied an idempotency key.
 *
 * @module
 */

import { libraryLogger, literal } from "../runtime/log.ts";
import { delay } from "./deadline.ts";
import { describeError, isTransientError, retryAfterMs } from "./transient.ts";

/** What `onRetry` learns before each wait. */
export interface RetryAttemptInfo {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** How long the next wait is, in milliseconds. */
  readonly delayMs: number;
  /** Why the attempt failed. */
  readonly error: unknown;
}

/** The backoff shape: `min(maxTimeout, minTimeout × multiplier^n)`, minus up to `jitter` of it. */
export interface BackoffOptions {
  /** The first delay, in milliseconds. @default {1000} */
  readonly minTimeout?: number;
  /** Growth per retry. @default {2} */
  readonly multiplier?: number;
  /** The cap on one delay, in milliseconds. @default {30000} */
  readonly maxTimeout?: number;
  /** The share of the delay randomised away (0 = none, 1 = full jitter). @default {0.2} */
  readonly jitter?: number;
  /** The random source in [0, 1) (tests inject a seeded one). @default {Math.random} */
  readonly random?: () => number;
}

/**
 * Options of {@linkcode retry}.
 *
 * @example
 * ```ts
 * import { retry, type RetryOptions } from "@oar/odata-active-record";
 * const options: RetryOptions = { maxRetries: 5, minTimeout: 200, maxTimeout: 5000, label: "connection orders_api" };
 * await retry(() => Promise.resolve("ok"), options);
 * ```
 */
export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt. @default {3} */
  readonly maxRetries?: number;
  /** Which errors are retried. @default {isTransientError} */
  readonly isRetryable?: (error: unknown) => boolean;
  /** False for a write that must not run twice; then only an `idempotencyKey` allows retries. @default {true} */
  readonly idempotent?: boolean;
  /** A key that makes a non-idempotent write safe to repeat (the store deduplicates on it). */
  readonly idempotencyKey?: string;
  /** A `Retry-After` longer than this (ms) is not waited for: the error is rethrown. @default {60000} */
  readonly maxRetryAfter?: number;
  /** Ends the waits between attempts (rejecting with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Names what is retried in log lines, e.g. `"connection mongodb_prod"`. */
  readonly label?: string;
  /** Called before each wait. */
  readonly onRetry?: (info: RetryAttemptInfo) => void;
  /** When `false`, the waits do not keep the process alive. @default {true} */
  readonly persistent?: boolean;
}

const logger = libraryLogger("retry");

/**
 * The delay before retry number `retryIndex` (0-based).
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@oar/odata-active-record";
 * backoffDelay(0, { jitter: 0 }); // 1000
 * backoffDelay(2, { jitter: 0 }); // 4000
 * ```
 */
export function backoffDelay(retryIndex: number, options: BackoffOptions = {}): number {
  const { minTimeout = 1000, multiplier = 2, maxTimeout = 30000, jitter = 0.2 } = options;
  const random = options.random ?? Math.random;
  const exponential = Math.min(maxTimeout, minTimeout * multiplier ** retryIndex);
  return Math.round(exponential - jitter * random() * exponential);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Calls `fn` until it succeeds, retrying transient failures with exponential backoff; rethrows
 * the last error (unchanged, with its code) once the retries are spent or the error is not
 * retryable.
 *
 * @example
 * ```ts
 * import { retry } from "@oar/odata-active-record";
 * let calls = 0;
 * const value = await retry(async () => {
 *   if (++calls < 2) throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
 *   return "ok";
 * }, { minTimeout: 1, label: "connection demo" });
 * ```
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const {
    maxRetries = 3,
    isRetryable = isTransientError,
    idempotent = true,
    maxRetryAfter = 60000,
    signal,
    label,
    onRetry,
    persistent = true,
  } = options;
  // Repeating a write that is not idempotent could apply it twice: only a key makes it safe.
  const allowed = idempotent || (options.idempotencyKey ?? "") !== "" ? maxRetries : 0;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (label !== undefined) {
        const reason = describeError(error);
        logger.warn(literal(`⚠️ ${capitalise(label)} attempt ${attempt} failed: ${reason}`), {
          target: label,
          attempt,
          error: reason,
        });
      }
      if (attempt > allowed || signal?.aborted || !isRetryable(error)) throw error;
      const asked = retryAfterMs(error);
      if (asked !== undefined && asked > maxRetryAfter) throw error;
      const delayMs = Math.max(backoffDelay(attempt - 1, options), asked ?? 0);
      onRetry?.({ attempt, delayMs, error });
      if (label !== undefined) {
        logger.info(literal(`🔄 Retrying ${label} in ${delayMs}ms...`), {
          target: label,
          attempt,
          delayMs,
        });
      }
      await delay(delayMs, { signal, persistent });
    }
  }
}
