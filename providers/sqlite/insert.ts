/**
 * Inserts at driver speed. Consecutive rows that give the same fields are written by one
 * prepared multi-row INSERT per {@linkcode INSERT_BATCH} rows (compiled and prepared once, run
 * with the encoded values: no SQL is built per row, and one driver call covers many rows); a
 * shorter tail goes row by row through the single-row statement. Returned rows are made from
 * the values bound (decoded only where the stored form reads back differently), and generated
 * keys come from `RETURNING` (a batch) or `lastInsertRowid` (one row).
 *
 * A long insert runs in chunks: between two chunks it yields to the event loop when
 * {@linkcode YIELD_INTERVAL_MS} have passed, so timers and I/O keep running, and checks the
 * signal. The caller keeps every other use of the connection out meanwhile and wraps the whole
 * insert in one transaction (or a savepoint), so it stays all-or-nothing.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { StatementSync } from "node:sqlite";
import type { EntityMetadata, FieldMetadata } from "../../src/model/schema.ts";
import type { Row } from "../../src/provider/provider.ts";
import { ODataActiveRecordError, throwIfAborted } from "../../src/errors/errors.ts";
import { columnDecoder, setOwn } from "./decode.ts";
import { assertStorableDecimals } from "./compiler.ts";
import { entityScope, ident, unknownField } from "../../src/sql/mod.ts";
import { mapSqliteError, type SqliteConnection, type SqlParameter } from "./connection.ts";
import { fieldEncoder, type SqlValue } from "./values.ts";

/** Rows of one multi-row INSERT (SQLite binds at most 32766 parameters per statement). */
export const INSERT_BATCH = 64;

/** Rows between two looks at the clock and the signal. */
export const INSERT_CHUNK = 1024;

/** The longest a chunked insert keeps the event loop without a turn for others (ms). */
export const YIELD_INTERVAL_MS = 20;

/** The prepared INSERTs of rows giving the same fields. */
interface InsertPlan {
  /** Per field of the entity, whether the rows give it. */
  readonly given: readonly boolean[];
  readonly fields: readonly FieldMetadata[];
  readonly encoders: readonly ((value: unknown) => SqlValue)[];
  /** How stored values read back; `undefined` where the canonical value is what reads back. */
  readonly decoders: readonly (ValueDecoder | undefined)[];
  readonly one: StatementSync;
  /** `INSERT_BATCH` rows at once (when that many parameters are allowed). */
  readonly batch: StatementSync | undefined;
  /** The batch statement returning the generated keys, when SQLite generates them. */
  readonly batchKeys: StatementSync | undefined;
}

/** Lets timers and I/O run (a macrotask, without the clamping of nested `setTimeout`). */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Options of {@linkcode insertRows}. */
export interface InsertRowsOptions {
  /** Whether to return the stored rows. */
  readonly returning: boolean;
  /** The key SQLite generates for rows without one (a rowid alias). */
  readonly key: FieldMetadata | undefined;
  /** Whether to yield to the event loop between chunks. */
  readonly yielding: boolean;
  /** Checked between chunks. */
  readonly signal?: AbortSignal;
  /** Called after each yield to the event loop (throws when the insert must not go on). */
  readonly resumed?: () => void;
}

/**
 * Writes `rows` through prepared statements (see the module doc); the caller provides the
 * transaction. Resolves to the stored rows, or `[]` when `returning` is false.
 *
 * @example
 * ```ts ignore
 * const stored = await insertRows(connection, entity, rows, { returning: true, key, yielding: true });
 * ```
 */
export async function insertRows(
  connection: SqliteConnection,
  entity: EntityMetadata,
  rows: readonly Row[],
  options: InsertRowsOptions,
): Promise<Row[]> {
  const plans = new Map<string, InsertPlan>();
  const stored: Row[] = options.returning ? new Array(rows.length) : [];
  const { key, returning } = options;
  const tracker: KeyTracker = { max: undefined };
  let yielded = performance.now();
  let start = 0;
  while (start < rows.length) {
    if (start > 0) {
      throwIfAborted(options.signal);
      if (options.yielding && performance.now() - yielded >= YIELD_INTERVAL_MS) {
        await macrotask();
        throwIfAborted(options.signal);
        options.resumed?.();
        yielded = performance.now();
      }
    }
    const end = Math.min(start + INSERT_CHUNK, rows.length);
    assertStorableDecimals(
      entity,
      start === 0 && end === rows.length ? rows : rows.slice(start, end),
      start,
    );
    let i = start;
    let plan: InsertPlan | undefined;
    while (i < end) {
      if (plan === undefined || !gives(entity, plan, rows[i]!)) {
        const signature = signatureOf(entity, rows[i]!);
        plan = plans.get(signature);
        if (plan === undefined) {
          plan = prepare(connection, entity, rows[i]!, key);
          plans.set(signature, plan);
        }
      }
      // The run of rows giving the same fields, up to a whole batch.
      let last = i + 1;
      const limit = Math.min(i + INSERT_BATCH, end);
      while (last < limit && gives(entity, plan, rows[last]!)) last++;
      try {
        if (plan.batch !== undefined && last - i === INSERT_BATCH) {
          runBatch(plan, rows, i, stored, options, tracker);
        } else {
          for (let r = i; r < last; r++) runOne(plan, rows, r, stored, options, tracker);
        }
      } catch (error) {
        throw mapSqliteError(error, { entity: entity.name, rows: [i, last - 1] });
      }
      i = last;
    }
    start = end;
  }
  return returning ? stored : [];
}

/**
 * Whether a row gives exactly the plan's fields (and nothing else, so no unknown field either):
 * its own keys with a value are those fields.
 */
function gives(entity: EntityMetadata, plan: InsertPlan, row: Row): boolean {
  const given = plan.given;
  const fields = entity.fieldList;
  for (let f = 0; f < fields.length; f++) {
    if ((row[fields[f]!.name] !== undefined) !== given[f]) return false;
  }
  let keys = 0;
  for (const name in row) if (row[name] !== undefined && Object.hasOwn(row, name)) keys++;
  return keys === plan.fields.length;
}

/** Which fields a row gives (`"1"`/`"0"` per field); unknown fields are refused. */
function signatureOf(entity: EntityMetadata, row: Row): string {
  for (const name of Object.keys(row)) {
    if (!entity.fields.has(name)) throw unknownField(entityScope(entity, "t"), name);
  }
  let signature = "";
  for (const field of entity.fieldList) signature += row[field.name] === undefined ? "0" : "1";
  return signature;
}

function runOne(
  plan: InsertPlan,
  rows: readonly Row[],
  index: number,
  stored: Row[],
  options: InsertRowsOptions,
  tracker: KeyTracker,
): void {
  const { fields, encoders } = plan;
  const row = rows[index]!;
  const params = new Array<SqlParameter>(fields.length);
  for (let f = 0; f < fields.length; f++) params[f] = encoders[f]!(row[fields[f]!.name]);
  const result = plan.one.run(...params);
  if (options.key !== undefined) {
    // The largest key: a generated one is the largest (max + 1); a given one may be larger.
    const rowid = Number(result.lastInsertRowid);
    const generated = row[options.key.name] === undefined || row[options.key.name] === null;
    tracker.max = generated
      ? rowid
      : tracker.max === undefined
      ? undefined
      : Math.max(tracker.max, rowid);
  }
  if (!options.returning) return;
  const out = storedValues(plan, row, params, 0);
  const key = options.key;
  if (key !== undefined && (row[key.name] === undefined || row[key.name] === null)) {
    out[key.name] = Number(result.lastInsertRowid);
  }
  stored[index] = out;
}

function runBatch(
  plan: InsertPlan,
  rows: readonly Row[],
  first: number,
  stored: Row[],
  options: InsertRowsOptions,
  tracker: KeyTracker,
): void {
  const { fields, encoders } = plan;
  const width = fields.length;
  const params = new Array<SqlParameter>(width * INSERT_BATCH);
  for (let r = 0; r < INSERT_BATCH; r++) {
    const row = rows[first + r]!;
    for (let f = 0; f < width; f++) params[r * width + f] = encoders[f]!(row[fields[f]!.name]);
  }
  if (!options.returning || plan.batchKeys === undefined) {
    plan.batch!.run(...params);
    tracker.max = undefined; // given keys, or keys nobody asked for: no longer known
  } else if (tracker.max !== undefined) {
    // SQLite gives each new row the largest key + 1: with the largest known, the batch's keys
    // are the next INSERT_BATCH numbers, as its lastInsertRowid confirms (else: refuse).
    const last = Number(plan.batch!.run(...params).lastInsertRowid);
    const from = tracker.max + 1;
    if (last !== tracker.max + INSERT_BATCH) throw outOfSequence();
    tracker.max = last;
    for (let r = 0; r < INSERT_BATCH; r++) {
      const out = storedValues(plan, rows[first + r]!, params, r * width);
      out[options.key!.name] = from + r;
      stored[first + r] = out;
    }
    return;
  } else {
    const keys = (plan.batchKeys.all(...params) as { k: number | bigint }[]).map((row) =>
      Number(row.k)
    );
    // Generated rowids grow in the order the VALUES rows are inserted; RETURNING's own order is
    // unspecified, hence the sort. Anything but consecutive keys (SQLite picks random rowids
    // once the largest is taken) cannot be matched to the rows: refuse instead of guessing.
    keys.sort((a, b) => a - b);
    if (keys.length !== INSERT_BATCH || keys[INSERT_BATCH - 1]! - keys[0]! !== INSERT_BATCH - 1) {
      throw outOfSequence();
    }
    tracker.max = keys[INSERT_BATCH - 1];
    for (let r = 0; r < INSERT_BATCH; r++) {
      const out = storedValues(plan, rows[first + r]!, params, r * width);
      out[options.key!.name] = keys[r];
      stored[first + r] = out;
    }
    return;
  }
  if (!options.returning) return;
  for (let r = 0; r < INSERT_BATCH; r++) {
    stored[first + r] = storedValues(plan, rows[first + r]!, params, r * width);
  }
}

/** Generated keys that cannot be matched to the rows (SQLite's random rowids past the max). */
function outOfSequence(): ODataActiveRecordError {
  return new ODataActiveRecordError(
    "PROVIDER_ERROR",
    "SQLite generated keys out of sequence; they cannot be matched to the inserted rows",
    { suggestion: "Give the keys explicitly.", context: { provider: "sqlite" } },
  );
}

/** The largest key of the table while an insert runs, when known (see `runBatch`). */
interface KeyTracker {
  max: number | undefined;
}

/** The given values of a row as they read back. */
function storedValues(plan: InsertPlan, row: Row, params: SqlParameter[], offset: number): Row {
  const { fields, decoders } = plan;
  const out: Row = {};
  for (let f = 0; f < fields.length; f++) {
    const decode = decoders[f];
    const name = fields[f]!.name;
    setOwn(out, name, decode === undefined ? row[name] : decode(params[offset + f], row[name]));
  }
  return out;
}

/**
 * How a bound value reads back: `undefined` where the given value is what reads back (strings
 * and booleans: their encoders accept nothing else), else the read path's own decoder.
 */
function decoderOf(field: FieldMetadata): ValueDecoder | undefined {
  if (field.type === "string" || field.type === "boolean") return undefined;
  const general = columnDecoder(field);
  switch (field.type) {
    case "integer":
      // A safe integer reads back as itself (it is bound as a bigint).
      return (stored, given) => Number.isSafeInteger(given) ? given : general(stored);
    case "datetime":
      // The bound text is the Date's own ISO form: the same instant reads back.
      return (stored, given) => given instanceof Date ? given : general(stored);
    case "decimal": {
      const scale = field.definition.scale;
      if (scale === undefined) return general;
      // Canonical text of the declared scale is what the stored float reads back as.
      return (stored, given) =>
        typeof given === "string" && given.length - given.indexOf(".") - 1 === scale &&
          scale > 0 && CANONICAL_DECIMAL.test(given)
          ? given
          : general(stored);
    }
    default:
      return general;
  }
}

/** Decimal text as the read path formats it (no "+", no leading zeros, no "-0"). */
const CANONICAL_DECIMAL = /^(?:-(?=\d*[1-9]))?(?:0|[1-9]\d*)\.\d+$/;

/** Decodes a bound value, given the canonical value it was encoded from. */
type ValueDecoder = (stored: unknown, given: unknown) => unknown;

function prepare(
  connection: SqliteConnection,
  entity: EntityMetadata,
  row: Row,
  key: FieldMetadata | undefined,
): InsertPlan {
  const fields = entity.fieldList.filter((f) => row[f.name] !== undefined);
  const table = ident(entity.table).sql;
  const columns = fields.map((f) => ident(f.column).sql).join(", ");
  const tuple = `(${fields.map(() => "?").join(", ")})`;
  const head = fields.length === 0
    ? `INSERT INTO ${table}`
    : `INSERT INTO ${table} (${columns}) VALUES `;
  const one = connection.prepare(fields.length === 0 ? `${head} DEFAULT VALUES` : head + tuple);
  const batched = fields.length > 0 && fields.length * INSERT_BATCH <= 32766;
  const values = head + Array(INSERT_BATCH).fill(tuple).join(", ");
  const batch = batched ? connection.prepare(values) : undefined;
  const batchKeys = batched && key !== undefined && !fields.includes(key)
    ? connection.prepare(`${values} RETURNING ${ident(key.column).sql} AS "k"`)
    : undefined;
  return {
    given: entity.fieldList.map((field) => row[field.name] !== undefined),
    fields,
    encoders: fields.map((field) => fieldEncoder(field)),
    decoders: fields.map(decoderOf),
    one,
    batch,
    batchKeys,
  };
}
