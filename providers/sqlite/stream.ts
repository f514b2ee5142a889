/**
 * Streamed reads. A stream must show the rows as they were when it started, whatever is written
 * meanwhile — through the same provider, in a transaction, by the stream's own consumer (a loop
 * that saves the rows it reads would otherwise meet them again, without end).
 *
 * - File databases: each stream reads through its own read-only connection, opened for the
 *   stream and closed when it ends (also when the consumer stops early). In WAL mode that
 *   connection reads one snapshot from the first row to the last.
 * - `:memory:` (a second connection would be another, empty database) and streams inside a
 *   transaction (which must see the transaction's own writes) read through the connection that
 *   writes. Before any write, transaction boundary or schema change on that connection, the
 *   provider calls {@linkcode SharedCursors.drain}: the open streams read the rest of their rows
 *   into memory first, so they keep showing the state from before the write. Memory stays flat
 *   unless such a write happens during a stream.
 *
 * The stream also yields to the event loop's macrotask queue at least every
 * {@linkcode YIELD_INTERVAL_MS} (timers, I/O and `AbortSignal.timeout` get their turn: node:sqlite
 * is synchronous), checks the signal before every row, and throws `CLOSED` once the provider is
 * closed.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { ReadRequest, Row } from "../../src/provider/provider.ts";
import type { CompiledQuery, CompiledRead, PlanCache } from "../../src/sql/mod.ts";
import { mapSqliteError, type SqliteConnection } from "./connection.ts";
import { rowDecoder } from "./decode.ts";
import { checkSignal, compileStream } from "./read.ts";

/**
 * The longest a stream runs without yielding to the macrotask queue, in milliseconds.
 *
 * @example
 * ```ts
 * import { YIELD_INTERVAL_MS } from "./stream.ts";
 * YIELD_INTERVAL_MS; // 10
 * ```
 */
export const YIELD_INTERVAL_MS = 10;

/** Rows between two looks at the clock (a power of two: a mask test). */
const CHECK_EVERY = 256;

/**
 * The rows of one streamed read as stored column values, one at a time.
 *
 * @example
 * ```ts
 * import type { Cursor } from "./stream.ts";
 * const empty: Cursor = { next: () => undefined, close: () => {} };
 * ```
 */
export interface Cursor {
  /** The next row, or `undefined` after the last. */
  next(): unknown[] | undefined;
  /** Releases the statement (and the connection, when the cursor owns one). Idempotent. */
  close(): void;
}

/** Resets a statement's iteration; its database may be closed already, which is fine. */
function release(rows: IterableIterator<unknown[]> | undefined): void {
  try {
    rows?.return?.();
  } catch {
    // Closing the database finalized the statement: nothing left to release.
  }
}

/**
 * A cursor over `connection`, which it owns and closes (then calls `onClose`): a read-only
 * connection opened for this stream, whose WAL snapshot keeps later writes out of it.
 *
 * @example
 * ```ts
 * import { snapshotCursor } from "./stream.ts";
 * import type { SqliteConnection } from "./connection.ts";
 * declare const readOnly: SqliteConnection;
 * const cursor = snapshotCursor(readOnly, { sql: "SELECT 1", params: [] });
 * cursor.close();
 * ```
 */
export function snapshotCursor(
  connection: SqliteConnection,
  compiled: CompiledQuery,
  onClose?: () => void,
): Cursor {
  let rows: IterableIterator<unknown[]> | undefined;
  const close = () => {
    release(rows);
    rows = undefined;
    connection.close();
    onClose?.();
  };
  try {
    rows = connection.iterateValues(compiled.sql, compiled.params);
  } catch (error) {
    close();
    throw error;
  }
  return {
    next() {
      if (rows === undefined) return undefined;
      const step = rows.next();
      return step.done ? undefined : step.value;
    },
    close,
  };
}

/** A cursor on the shared connection; drained into memory before that connection writes. */
class SharedCursor implements Cursor {
  #rows: IterableIterator<unknown[]> | undefined;
  #buffer: unknown[][] | undefined;
  #index = 0;
  readonly #owner: Set<SharedCursor>;

  constructor(rows: IterableIterator<unknown[]>, owner: Set<SharedCursor>) {
    this.#rows = rows;
    this.#owner = owner;
    owner.add(this);
  }

  next(): unknown[] | undefined {
    if (this.#buffer !== undefined) {
      return this.#index < this.#buffer.length ? this.#buffer[this.#index++] : undefined;
    }
    if (this.#rows === undefined) return undefined;
    const step = this.#rows.next();
    if (!step.done) return step.value;
    this.close();
    return undefined;
  }

  drain(): void {
    if (this.#rows === undefined) return;
    this.#buffer = [...this.#rows];
    this.#rows = undefined;
    this.#owner.delete(this);
  }

  close(): void {
    release(this.#rows);
    this.#rows = undefined;
    this.#buffer = undefined;
    this.#owner.delete(this);
  }
}

/**
 * The open cursors of one connection that also writes.
 *
 * @example
 * ```ts
 * import { SharedCursors } from "./stream.ts";
 * const cursors = new SharedCursors();
 * cursors.drain(); // before every write on the connection
 * ```
 */
export class SharedCursors {
  readonly #open = new Set<SharedCursor>();

  /** A cursor over `connection` (which stays open when the cursor closes). */
  open(connection: SqliteConnection, compiled: CompiledQuery): Cursor {
    return new SharedCursor(connection.iterateValues(compiled.sql, compiled.params), this.#open);
  }

  /** Reads the remaining rows of every open cursor into memory; call it before a write. */
  drain(): void {
    if (this.#open.size === 0) return;
    for (const cursor of [...this.#open]) cursor.drain();
  }

  /** Closes every open cursor (the provider is closing). */
  closeAll(): void {
    for (const cursor of [...this.#open]) cursor.close();
  }
}

/**
 * What a stream needs from the provider.
 *
 * @example
 * ```ts
 * import type { StreamHost } from "./stream.ts";
 * declare const host: StreamHost;
 * host.assertOpen();
 * ```
 */
export interface StreamHost {
  /** Something to wait for before the stream starts (another transaction), if anything. */
  wait(): Promise<void> | undefined;
  /** Opens the cursor of a compiled read. */
  cursor(compiled: CompiledRead): Cursor;
  /**
   * Throws a `CLOSED` error once the provider is closed. Closing must also close every open
   * cursor (their next row is then `undefined`), which is where streams look.
   */
  assertOpen(): void;
}

/** Lets timers and I/O run (`setImmediate`: a macrotask without the clamping of setTimeout). */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Streams the decoded rows of a read with flat memory (see the module doc).
 *
 * @example
 * ```ts
 * import { streamRead, type StreamHost } from "./stream.ts";
 * import type { ReadRequest } from "../../src/provider/provider.ts";
 * declare const host: StreamHost, request: ReadRequest;
 * for await (const row of streamRead(host, request, undefined, AbortSignal.timeout(1000))) {
 *   console.log(row);
 * }
 * ```
 */
export async function* streamRead(
  host: StreamHost,
  request: ReadRequest,
  plans: PlanCache | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<Row, void, undefined> {
  let cursor: Cursor | undefined;
  try {
    checkSignal(signal);
    const wait = host.wait();
    if (wait !== undefined) await wait;
    host.assertOpen();
    const compiled = compileStream(request, plans);
    const decode = rowDecoder(compiled.columns);
    cursor = host.cursor(compiled);
    let count = 0;
    let yielded = performance.now();
    for (;;) {
      // On every row: a consumer that aborts after row 3 gets no row 4 (one property read).
      if (signal?.aborted) checkSignal(signal);
      const stored = cursor.next();
      if (stored === undefined) {
        // Closing the provider closes every cursor: that must not look like the end of the rows.
        host.assertOpen();
        return;
      }
      if ((++count & (CHECK_EVERY - 1)) === 0) {
        if (performance.now() - yielded >= YIELD_INTERVAL_MS) {
          await macrotask();
          yielded = performance.now();
          host.assertOpen();
        }
      }
      yield decode(stored);
    }
  } catch (error) {
    throw mapSqliteError(error, { entity: request.entity.name });
  } finally {
    cursor?.close();
  }
}
