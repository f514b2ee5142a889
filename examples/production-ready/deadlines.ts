/**
 * Per-request deadlines for the HTTP endpoint at a constant cost: one timer for the whole
 * process instead of a timer and an AbortController per request (which cost the service more
 * than all its monitoring together). The check runs every `ms / 20` (10–250 ms), so a request
 * times out between `ms` and `ms + tick` after it started.
 *
 * @module
 */

interface Pending {
  readonly expiresAt: number;
  readonly expire: () => void;
}

/**
 * Races responses against a deadline shared by every request.
 *
 * @example
 * ```ts
 * const deadlines = new RequestDeadlines(5000, () => new Response(null, { status: 504 }));
 * const response = await deadlines.run(handler(request));
 * deadlines.close();
 * ```
 */
export class RequestDeadlines {
  readonly #ms: number;
  readonly #onTimeout: () => Response;
  readonly #pending = new Set<Pending>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `onTimeout` builds the response sent when `ms` passed first. */
  constructor(ms: number, onTimeout: () => Response) {
    this.#ms = ms;
    this.#onTimeout = onTimeout;
  }

  /** The response, or `onTimeout()` once the deadline passed. */
  run(response: Promise<Response>): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const pending: Pending = {
        expiresAt: performance.now() + this.#ms,
        expire: () => resolve(this.#onTimeout()),
      };
      this.#pending.add(pending);
      this.#start();
      response.then((value) => {
        this.#pending.delete(pending);
        resolve(value);
      }, (error) => {
        this.#pending.delete(pending);
        reject(error);
      });
    });
  }

  /** Requests waiting now. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Stops the timer (requests still pending never time out). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    const tick = Math.min(250, Math.max(10, Math.floor(this.#ms / 20)));
    const timer = setInterval(() => {
      const now = performance.now();
      for (const pending of this.#pending) {
        if (pending.expiresAt <= now) {
          this.#pending.delete(pending);
          pending.expire();
        }
      }
      if (this.#pending.size === 0) this.close(); // idle: no timer keeps the process busy
    }, tick);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }
}
