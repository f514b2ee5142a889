/**
 * A circuit breaker per external connection: closed → open after N consecutive failures or a
 * failure ratio over a sliding window; after a cool-down one half-open probe decides between
 * closed (success) and open again (failure). While open, calls fail at once with `CIRCUIT_OPEN`,
 * saying when the next attempt will be let through. State changes happen on calls, so the
 * breaker holds no timers.
 *
 * @module
 */

import { ODataActiveRecordError } from "../errors/errors.ts";
import { libraryLogger, literal } from "../runtime/log.ts";
import { describeError, isTransientError } from "./transient.ts";

/** The three states of a breaker. */
export type CircuitState = "closed" | "open" | "half-open";

/**
 * Options of {@linkcode CircuitBreaker}.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, type CircuitBreakerOptions } from "@oar/odata-active-record";
 * const options: CircuitBreakerOptions = { name: "orders_api", failureThreshold: 3, cooldownMs: 10000 };
 * const breaker = new CircuitBreaker(options);
 * ```
 */
export interface CircuitBreakerOptions {
  /** Names the circuit in errors, logs and metrics. @default {"circuit"} */
  readonly name?: string;
  /** Consecutive failures that open the circuit. @default {5} */
  readonly failureThreshold?: number;
  /** Failure ratio over the window that opens it (0–1). @default {0.5} */
  readonly failureRateThreshold?: number;
  /** Calls in the window before the ratio counts. @default {10} */
  readonly minimumRequests?: number;
  /** Recent calls the ratio is computed over. @default {20} */
  readonly windowSize?: number;
  /** How long the circuit stays open before a probe, in milliseconds. @default {30000} */
  readonly cooldownMs?: number;
  /** Which errors count as failures (others pass through as successes of the store). @default {isTransientError} */
  readonly isFailure?: (error: unknown) => boolean;
  /** The clock, in epoch milliseconds (tests inject one). @default {Date.now} */
  readonly now?: () => number;
}

/** A breaker's counters and state. */
export interface CircuitStats {
  /** The circuit's name. */
  readonly name: string;
  /** Its state now. */
  readonly state: CircuitState;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
  /** Failures counted since creation. */
  readonly failures: number;
  /** Successes counted since creation. */
  readonly successes: number;
  /** Calls refused while open. */
  readonly rejected: number;
  /** Times the circuit opened. */
  readonly opened: number;
  /** When it last opened (epoch ms). */
  readonly openedAt?: number;
  /** When the next probe is let through (epoch ms), while open. */
  readonly retryAt?: number;
  /** The last failure's reason. */
  readonly lastError?: string;
}

const logger = libraryLogger("circuit");

/**
 * Guards calls to one external dependency.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "@oar/odata-active-record";
 * const breaker = new CircuitBreaker({ name: "orders_api", failureThreshold: 3, cooldownMs: 5000 });
 * const value = await breaker.execute(() => Promise.resolve(42));
 * console.log(breaker.state); // "closed"
 * ```
 */
export class CircuitBreaker {
  /** The circuit's name. */
  readonly name: string;
  readonly #threshold: number;
  readonly #rate: number;
  readonly #minimum: number;
  // The outcomes of the last calls in a ring (1 = failure), with running totals: O(1) per call.
  readonly #window: Uint8Array;
  #windowNext = 0;
  #windowCount = 0;
  #windowFailures = 0;
  readonly #cooldown: number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #now: () => number;
  #state: CircuitState = "closed";
  #consecutive = 0;
  #failures = 0;
  #successes = 0;
  #rejected = 0;
  #opened = 0;
  #openedAt: number | undefined;
  #probing = false;
  #lastError: string | undefined;

  /** Creates a closed breaker. */
  constructor(options: CircuitBreakerOptions = {}) {
    this.name = options.name ?? "circuit";
    this.#threshold = positive(options.failureThreshold, 5, "failureThreshold");
    this.#rate = options.failureRateThreshold ?? 0.5;
    if (!(this.#rate > 0 && this.#rate <= 1)) {
      throw invalid("failureRateThreshold must be in (0, 1]", options.failureRateThreshold);
    }
    this.#minimum = positive(options.minimumRequests, 10, "minimumRequests");
    this.#window = new Uint8Array(positive(options.windowSize, 20, "windowSize"));
    this.#cooldown = options.cooldownMs ?? 30000;
    if (!(this.#cooldown >= 0)) throw invalid("cooldownMs must be >= 0", options.cooldownMs);
    this.#isFailure = options.isFailure ?? isTransientError;
    this.#now = options.now ?? Date.now;
  }

  /** The state now (an open circuit past its cool-down reads as half-open). */
  get state(): CircuitState {
    if (this.#state === "open" && this.#now() >= this.#retryAt()) return "half-open";
    return this.#state;
  }

  #retryAt(): number {
    return (this.#openedAt ?? 0) + this.#cooldown;
  }

  /** Runs `fn` through the breaker; throws `CIRCUIT_OPEN` at once while the circuit is open. */
  execute<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.admit();
      return this.observe(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The two halves of {@linkcode execute} for hot paths: `admit()` throws `CIRCUIT_OPEN` unless a
   * call may go through now; `observe(promise)` counts the outcome of the admitted call.
   */
  admit(): void {
    if (this.#state !== "closed") this.#admit();
  }

  /** Counts the outcome of a call admitted with `admit()`; returns the same outcome. */
  observe<T>(call: Promise<T>): Promise<T> {
    // A branch beside the call, not a link after it: the caller awaits the call itself (one
    // promise hop fewer), and the outcome is counted before the caller's reaction runs, since
    // this reaction is registered first.
    call.then(this.#succeeded, this.#failed);
    return call;
  }

  // Bound once: a call allocates no closures on the hot path.
  readonly #succeeded = (): void => {
    this.#onSuccess();
  };

  // Does not rethrow: the caller sees the rejection through the call it awaits.
  readonly #failed = (error: unknown): void => {
    if (this.#isFailure(error)) this.#onFailure(error);
    else this.#onSuccess();
  };

  /** Throws `CIRCUIT_OPEN` unless a call may go through now (claims the half-open probe). */
  #admit(): void {
    const state = this.state;
    if (state === "closed") return;
    if (state === "half-open" && !this.#probing) {
      this.#state = "half-open";
      this.#probing = true;
      return;
    }
    this.#rejected++;
    const now = this.#now();
    const retryAt = Math.max(this.#retryAt(), now);
    const seconds = ((retryAt - now) / 1000).toFixed(1);
    throw new ODataActiveRecordError(
      "CIRCUIT_OPEN",
      `Circuit ${this.name} is open after repeated failures (${
        this.#lastError ?? "unknown error"
      }); it will retry at ${new Date(retryAt).toISOString()} (in ${seconds} s)`,
      {
        context: {
          circuit: this.name,
          retryAt: new Date(retryAt).toISOString(),
          retryInMs: retryAt - now,
          lastError: this.#lastError,
        },
      },
    );
  }

  #record(failed: boolean): void {
    const window = this.#window;
    if (this.#windowCount === window.length) this.#windowFailures -= window[this.#windowNext]!;
    else this.#windowCount++;
    window[this.#windowNext] = failed ? 1 : 0;
    this.#windowFailures += failed ? 1 : 0;
    this.#windowNext = (this.#windowNext + 1) % window.length;
  }

  #onSuccess(): void {
    this.#successes++;
    this.#consecutive = 0;
    this.#record(false);
    if (this.#state !== "closed") {
      this.#state = "closed";
      this.#probing = false;
      this.#clearWindow();
      logger.info(literal(`✅ Circuit ${this.name} closed`), { circuit: this.name });
    }
  }

  #onFailure(error: unknown): void {
    this.#failures++;
    this.#consecutive++;
    this.#lastError = describeError(error);
    this.#record(true);
    if (this.#state === "half-open") {
      this.#open();
      return;
    }
    const ratioTripped = this.#windowCount >= this.#minimum &&
      this.#windowFailures / this.#windowCount >= this.#rate;
    if (this.#state === "closed" && (this.#consecutive >= this.#threshold || ratioTripped)) {
      this.#open();
    }
  }

  #open(): void {
    this.#state = "open";
    this.#probing = false;
    this.#opened++;
    this.#openedAt = this.#now();
    logger.warn(
      literal(
        `🔌 Circuit ${this.name} opened after ${this.#consecutive} consecutive failure(s): ${this.#lastError}; next probe in ${this.#cooldown}ms`,
      ),
      { circuit: this.name, error: this.#lastError, cooldownMs: this.#cooldown },
    );
  }

  #clearWindow(): void {
    this.#windowNext = 0;
    this.#windowCount = 0;
    this.#windowFailures = 0;
  }

  /** Closes the circuit and forgets the failures (e.g. after a successful reconnect). */
  reset(): void {
    this.#state = "closed";
    this.#consecutive = 0;
    this.#probing = false;
    this.#clearWindow();
  }

  /** The counters and state. */
  stats(): CircuitStats {
    const state = this.state;
    return {
      name: this.name,
      state,
      consecutiveFailures: this.#consecutive,
      failures: this.#failures,
      successes: this.#successes,
      rejected: this.#rejected,
      opened: this.#opened,
      ...(this.#openedAt === undefined ? {} : { openedAt: this.#openedAt }),
      ...(state === "closed" ? {} : { retryAt: this.#retryAt() }),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < 1) {
    throw invalid(`${name} must be a whole number >= 1`, value);
  }
  return result;
}

function invalid(message: string, value: unknown): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_ARGUMENT", `CircuitBreaker: ${message}`, {
    context: { value },
  });
}
