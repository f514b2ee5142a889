/**
 * Per-request deadlines for the HTTP endpoint at a constant cost: one timer for the whole
 * process instead of a timer and an AbortController per request (which cost the service more
 * than all its monitoring together), and no clock read per request either. The requests wait in
 * a list in arrival order; every tick (`ms / 40`, 5–125 ms) stamps the ones that arrived since
 * the last tick with the time (a bound on when they started) and times out those stamped `ms`
 * ago, so a request times out between `ms` and `ms + 2 ticks` (at most `ms / 20` late) after it
 * started.
 *
 * @module
 */

/** A request racing its deadline, from {@linkcode RequestDeadlines.enter}. */
export interface RequestDeadline {
  /** Called with the timeout response when the deadline passes first. */
  readonly resolve: (response: Response) => void;
}

/** A response waiting for its deadline: a node of the list, in arrival order. */
class Waiting implements RequestDeadline {
  readonly resolve: (response: Response) => void;
  /** `performance.now()` of the first tick after the request arrived (NaN until then). */
  stampedAt = NaN;
  previous: Waiting | undefined;
  next: Waiting | undefined = undefined;

  constructor(resolve: (response: Response) => void, previous: Waiting | undefined) {
    this.resolve = resolve;
    this.previous = previous;
  }
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
  readonly #tick: number;
  #first: Waiting | undefined;
  #last: Waiting | undefined;
  /** The first request not stamped yet (every one after it is not either). */
  #unstamped: Waiting | undefined;
  #size = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `onTimeout` builds the response sent when `ms` passed first. */
  constructor(ms: number, onTimeout: () => Response) {
    this.#ms = ms;
    this.#onTimeout = onTimeout;
    this.#tick = Math.min(125, Math.max(5, Math.floor(ms / 40)));
  }

  /** The response, or `onTimeout()` once the deadline passed. */
  run(response: Promise<Response>): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const waiting = this.enter(resolve);
      response.then((value) => {
        this.leave(waiting);
        resolve(value);
      }, (error) => {
        this.leave(waiting);
        reject(error);
      });
    });
  }

  /**
   * The parts of {@linkcode run} for a caller that settles its own promise (one promise layer
   * per request instead of two): `expire` gets the `onTimeout()` response if the deadline passes
   * before `leave()` (and is never called after it).
   */
  enter(expire: (response: Response) => void): RequestDeadline {
    return this.#append(expire);
  }

  /** Ends what {@linkcode enter} started (again, or after the deadline: nothing happens). */
  leave(entry: RequestDeadline): void {
    this.#remove(entry as Waiting);
  }

  /** Requests waiting now. */
  get pending(): number {
    return this.#size;
  }

  /** Stops the timer (requests still pending never time out). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #append(resolve: (response: Response) => void): Waiting {
    const waiting = new Waiting(resolve, this.#last);
    if (this.#last === undefined) this.#first = waiting;
    else this.#last.next = waiting;
    this.#last = waiting;
    this.#unstamped ??= waiting;
    this.#size++;
    if (this.#timer === undefined) this.#start();
    return waiting;
  }

  /** Takes a request out of the list (once: a timed-out one is out already). */
  #remove(waiting: Waiting): void {
    if (waiting.previous === undefined && this.#first !== waiting) return;
    if (this.#unstamped === waiting) this.#unstamped = waiting.next;
    if (waiting.previous === undefined) this.#first = waiting.next;
    else waiting.previous.next = waiting.next;
    if (waiting.next === undefined) this.#last = waiting.previous;
    else waiting.next.previous = waiting.previous;
    waiting.previous = waiting.next = undefined;
    this.#size--;
  }

  #start(): void {
    const timer = setInterval(() => {
      const now = performance.now();
      for (let waiting = this.#unstamped; waiting !== undefined; waiting = waiting.next) {
        waiting.stampedAt = now;
      }
      this.#unstamped = undefined;
      // Stamps grow along the list: the oldest requests come first.
      for (
        let waiting = this.#first;
        waiting !== undefined && now - waiting.stampedAt >= this.#ms;
        waiting = this.#first
      ) {
        this.#remove(waiting);
        waiting.resolve(this.#onTimeout());
      }
      if (this.#size === 0) this.close(); // idle: no timer keeps the process busy
    }, this.#tick);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }
}
