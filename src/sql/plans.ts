/**
 * A bounded cache of compiled reads and expansion queries, keyed by the *shape* of the request:
 * the entity and schema, the AST's structure with every name, operator, direction and literal
 * type, `$top`, whether `$skip` is positive, and the extra key fields — everything compilation
 * reads except literal values, the `$skip` count and the parents' keys of an expansion. Those
 * become the parameter list of the cached statement.
 *
 * A template is made by compiling the real request once, with literals (and expansion keys)
 * bound to unique placeholders; where the SQL ends up depending on a literal's *value* (a
 * literal divisor, a day expanded into a range, `case` with a literal last condition — see the
 * `valueDependent()` calls) the result is used once and not cached. On a hit every literal is
 * encoded again exactly as the compiler does, with the type hint it got then; a literal that
 * now encodes to another type (a string read as a date instead of a datetime) falls back to a
 * fresh compilation. Requests outside what the shape covers (`$apply`, `$compute`, `$search`,
 * lambdas, aliases, ...) are always compiled afresh.
 *
 * @module
 */

import type { Expression, LiteralNode, ODataQuery } from "../odata/ast.ts";
import type { FieldType } from "../model/schema.ts";
import type { ReadRequest } from "../provider/provider.ts";
import {
  compileExpansion,
  compileKeyedRead,
  type ExpansionRequest,
  type KeyedRead,
} from "./expand.ts";
import type { ValueType } from "./context.ts";
import type { SqlDialect } from "./dialect.ts";
import { type CompiledRead, compileRead } from "./select.ts";
import { recording } from "./template.ts";

/** A bound value in the driver's form. */
type SqlValue = unknown;

/** Where one parameter of a cached statement comes from. */
type Source =
  | { readonly kind: "constant"; readonly value: SqlValue }
  | { readonly kind: "literal"; readonly use: number }
  | { readonly kind: "key"; readonly tuple: number; readonly field: number }
  | { readonly kind: "keyList"; readonly field: number }
  | { readonly kind: "skip" };

/** One encoding of a literal during the template compilation, in compilation order. */
interface LiteralUse {
  readonly slot: number;
  readonly hint: FieldType | undefined;
  readonly type: ValueType;
}

interface Template {
  readonly sql: string;
  readonly columns: CompiledRead["columns"];
  readonly uses: readonly LiteralUse[];
  readonly sources: readonly Source[];
}

/** A request's shape key and its literals in shape order, or undefined when not covered. */
interface Shape {
  readonly key: string;
  readonly literals: readonly LiteralNode[];
}

const NO_KEYS: readonly (readonly SqlValue[])[] = Object.freeze([]);

const ids = new WeakMap<object, number>();
let nextId = 0;

/** A number standing for an object's identity in shape keys. */
function idOf(target: object): number {
  let id = ids.get(target);
  if (id === undefined) {
    id = nextId++;
    ids.set(target, id);
  }
  return id;
}

/**
 * Query options a shape covers: those written into it, and those compilation ignores (`expand`
 * and `count` are the executor's, the rest the service's). Any other option, including ones
 * added to the AST later, means a fresh compilation.
 */
const COVERED_OPTIONS: ReadonlySet<string> = new Set([
  "filter",
  "orderby",
  "select",
  "top",
  "skip",
  "expand",
  "count",
  "format",
  "index",
  "schemaversion",
  "custom",
]);

/** Writes the shape of AST parts; every string is length-prefixed, so keys cannot collide. */
class ShapeWriter {
  text = "";
  readonly literals: LiteralNode[] = [];

  name(value: unknown): boolean {
    if (typeof value !== "string") return false;
    this.text += `${value.length}:${value}`;
    return true;
  }

  expression(node: unknown): boolean {
    if (node === null || typeof node !== "object") return false;
    const e = node as Expression;
    switch (e.kind) {
      case "Literal":
        this.text += "L";
        this.literals.push(e);
        return this.name(e.type);
      case "Path": {
        if (e.root !== "implicit" && e.root !== "$it") return false;
        if (!Array.isArray(e.segments)) return false;
        this.text += `P${e.root === "$it" ? "i" : ""}${e.segments.length}`;
        return e.segments.every((s) => s?.kind === "Property" && this.name(s.name));
      }
      case "Binary":
        this.text += "B";
        return this.name(e.operator) && this.expression(e.left) && this.expression(e.right);
      case "Unary":
        this.text += "U";
        return this.name(e.operator) && this.expression(e.operand);
      case "Call":
        if (!Array.isArray(e.args)) return false;
        this.text += "C";
        return this.name(e.name) && this.list(e.args, (arg) => this.expression(arg));
      case "TypeFunction":
        this.text += e.operand === null ? "T0" : "T1";
        return this.name(e.name) && this.name(e.type) &&
          (e.operand === null || this.expression(e.operand));
      case "Case":
        if (!Array.isArray(e.branches)) return false;
        this.text += "K";
        return this.list(e.branches, (b) => this.expression(b?.when) && this.expression(b?.then));
      case "List":
        if (!Array.isArray(e.items)) return false;
        this.text += "[";
        return this.list(e.items, (item) => this.expression(item));
      default:
        return false; // aliases, JSON, unknown kinds: compiled afresh (and refused there)
    }
  }

  list<T>(items: readonly T[], write: (item: T) => boolean): boolean {
    this.text += `${items.length}(`;
    for (const item of items) if (!write(item)) return false;
    this.text += ")";
    return true;
  }

  /** The options `compileRead` and `compileExpansion` turn into SQL (not expand or count). */
  query(query: ODataQuery, skipKnown: boolean): boolean {
    for (const option in query) {
      const value = query[option as keyof ODataQuery];
      if (value !== undefined && !COVERED_OPTIONS.has(option)) return false;
    }
    if (query.filter !== undefined) {
      this.text += "F";
      if (!this.expression(query.filter)) return false;
    }
    if (query.orderby !== undefined) {
      if (!Array.isArray(query.orderby)) return false;
      this.text += "O";
      const ok = this.list(query.orderby, (item) => {
        if (item?.direction !== "asc" && item?.direction !== "desc") return false;
        this.text += item.direction === "asc" ? "a" : "d";
        return this.expression(item.expression);
      });
      if (!ok) return false;
    }
    if (query.select !== undefined) {
      if (!Array.isArray(query.select)) return false;
      this.text += "S";
      const ok = this.list(query.select, (item) => {
        if (item?.options !== undefined || !Array.isArray(item?.segments)) return false;
        // Plain property paths and `*` only; other steps compile without the plan cache.
        return this.list(
          item.segments,
          (segment: { kind?: unknown; name?: unknown } | null) =>
            segment?.kind === "Property"
              ? this.name(segment.name)
              : segment?.kind === "Star" && this.name("*"),
        );
      });
      if (!ok) return false;
    }
    if (query.top !== undefined) {
      if (!Number.isSafeInteger(query.top)) return false;
      this.text += `T${query.top}`;
    }
    if (query.skip !== undefined) {
      if (!Number.isSafeInteger(query.skip) || query.skip < 0) return false;
      // A top-level skip is the statement's trailing OFFSET parameter; elsewhere it is SQL.
      this.text += skipKnown ? `K${query.skip}` : query.skip > 0 ? "K+" : "K0";
    }
    return true;
  }
}

function readShape(request: ReadRequest, keyFields: readonly string[]): Shape | undefined {
  const writer = new ShapeWriter();
  writer.text = `R${idOf(request.entity)}.${idOf(request.schema)}`;
  if (!writer.list(keyFields, (field) => writer.name(field))) return undefined;
  if (!writer.query(request.query, false)) return undefined;
  return { key: writer.text, literals: writer.literals };
}

function keyedShape(keyed: KeyedRead): Shape | undefined {
  const { keys, keyFields = [], linkFields, request } = keyed;
  const width = linkFields.length;
  const complete = (tuple: readonly SqlValue[]) =>
    tuple.length === width && tuple.every((v) => v !== null && v !== undefined);
  if (keys.length === 0 || !keys.every(complete) || request.query.count) return undefined;
  const writer = new ShapeWriter();
  writer.text = `Y${idOf(request.entity)}.${idOf(request.schema)}.${keys.length}`;
  if (!writer.list(linkFields, (field) => writer.name(field))) return undefined;
  if (!writer.list(keyFields, (field) => writer.name(field))) return undefined;
  if (!writer.query(request.query, true)) return undefined;
  return { key: writer.text, literals: writer.literals };
}

function expansionShape(request: ExpansionRequest): Shape | undefined {
  const { keys, keyFields = [], query } = request;
  const width = keys[0]?.length ?? 0;
  const complete = (tuple: readonly SqlValue[]) =>
    tuple.length === width && tuple.every((v) => v !== null && v !== undefined);
  // Refused requests (no keys, incomplete keys, `$count`) are left to compileExpansion.
  if (keys.length === 0 || !keys.every(complete) || query.count) return undefined;
  const writer = new ShapeWriter();
  writer.text = `X${idOf(request.parent)}.${idOf(request.schema)}.${keys.length}x${width}`;
  if (!writer.name(request.navigation)) return undefined;
  if (!writer.list(keyFields, (field) => writer.name(field))) return undefined;
  // Per-parent paging puts $top and $skip values into the SQL: both are part of the shape.
  if (!writer.query(request.query, true)) return undefined;
  return { key: writer.text, literals: writer.literals };
}

/** The outcome of a template compilation: the real statement, and the template if reusable. */
interface Recorded {
  readonly compiled: CompiledRead;
  readonly template?: Template;
}

/**
 * Compiles with literals (and keys) bound to placeholders, then derives the real statement and,
 * when nothing depended on a literal's value, the template.
 */
function record(
  shape: Shape,
  keys: readonly (readonly SqlValue[])[],
  skip: number | undefined,
  compile: (keys: readonly (readonly SqlValue[])[]) => CompiledRead,
): Recorded {
  const slots = new Map<LiteralNode, number>();
  shape.literals.forEach((node, i) => slots.set(node, i));
  // Placeholders are fresh empty byte arrays: values the compiler passes on but never reads.
  const placeholders = new Map<unknown, Source>();
  const realValues = new Map<unknown, SqlValue>();
  const uses: LiteralUse[] = [];
  let reusable = true;
  const placeholder = (source: Source, value: SqlValue): SqlValue => {
    const token = new Uint8Array(0);
    placeholders.set(token, source);
    realValues.set(token, value);
    return token;
  };
  const keyTokens: SqlValue[][] = keys.map((tuple, t) =>
    tuple.map((value, f) => placeholder({ kind: "key", tuple: t, field: f }, value))
  );
  const template = recording({
    literal: (node, hint, encoded) => {
      const slot = slots.get(node);
      if (slot === undefined) {
        reusable = false; // a literal the shape does not know about
        return encoded.value;
      }
      uses.push({ slot, hint, type: encoded.type });
      return placeholder({ kind: "literal", use: uses.length - 1 }, encoded.value);
    },
    valueDependent: () => {
      reusable = false;
    },
  }, () => compile(keyTokens));
  const real = (p: SqlValue) => realValues.has(p) ? realValues.get(p)! : p;
  const params = template.params.map((p) => Array.isArray(p) ? p.map(real) : real(p));
  const sources: Source[] = template.params.map((p) =>
    placeholders.get(p) ?? keyList(p, keyTokens) ?? { kind: "constant", value: p }
  );
  // Every key must be bound where a source says so (alone, or in a list of one field's keys).
  const bound = new Set<SqlValue>();
  sources.forEach((source, i) => {
    if (source.kind === "key") bound.add(template.params[i]);
    if (source.kind === "keyList") keyTokens.forEach((tuple) => bound.add(tuple[source.field]));
  });
  if (keyTokens.some((tuple) => tuple.some((token) => !bound.has(token)))) reusable = false;
  const compiled: CompiledRead = { sql: template.sql, params, columns: template.columns };
  if (!reusable) return { compiled };
  if (skip !== undefined && skip > 0) {
    // render() ends a paged statement with `OFFSET ?`, bound to the skip count.
    const last = sources[sources.length - 1];
    const offset = last?.kind === "constant" && last.value === BigInt(skip);
    if (!offset || !/ OFFSET (?:\?|\$\d+)$/.test(template.sql)) return { compiled };
    sources[sources.length - 1] = { kind: "skip" };
  }
  return { compiled, template: { sql: template.sql, columns: template.columns, uses, sources } };
}

/** A parameter that is the list of every parent's key of one field (an SQL array), if it is. */
function keyList(param: SqlValue, keyTokens: readonly SqlValue[][]): Source | undefined {
  if (!Array.isArray(param) || param.length !== keyTokens.length || param.length === 0) {
    return undefined;
  }
  const field = keyTokens[0]!.indexOf(param[0]);
  if (field < 0) return undefined;
  return param.every((token, t) => keyTokens[t]![field] === token)
    ? { kind: "keyList", field }
    : undefined;
}

/** The statement of a template for a request of the same shape, or undefined to recompile. */
function instantiate(
  dialect: SqlDialect,
  template: Template,
  literals: readonly LiteralNode[],
  keys: readonly (readonly SqlValue[])[],
  skip: number | undefined,
): CompiledRead | undefined {
  const { uses, sources } = template;
  const values: SqlValue[] = new Array(uses.length);
  for (let i = 0; i < uses.length; i++) {
    const use = uses[i]!;
    const encoded = dialect.encodeLiteral(literals[use.slot]!, use.hint);
    if (encoded.type !== use.type) return undefined;
    values[i] = encoded.value;
  }
  const params: SqlValue[] = new Array(sources.length);
  for (let i = 0; i < sources.length; i++) {
    const source = sources[i]!;
    switch (source.kind) {
      case "constant":
        params[i] = source.value;
        break;
      case "literal":
        params[i] = values[source.use]!;
        break;
      case "key":
        params[i] = keys[source.tuple]![source.field]!;
        break;
      case "keyList":
        params[i] = keys.map((tuple) => tuple[source.field]);
        break;
      case "skip":
        params[i] = BigInt(skip!);
        break;
    }
  }
  return { sql: template.sql, params, columns: template.columns };
}

/**
 * Compiled reads and expansion queries by request shape, at most `capacity` of them (least
 * recently used first out). Results equal a fresh compilation's, errors included.
 *
 * @example
 * ```ts
 * import { PlanCache } from "./plans.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import type { ReadRequest } from "../provider/provider.ts";
 * declare const dialect: SqlDialect, request: ReadRequest;
 * const plans = new PlanCache(256, dialect);
 * const { sql, params, columns } = plans.read(request, []);
 * ```
 */
export class PlanCache {
  readonly #capacity: number;
  readonly #dialect: SqlDialect;
  readonly #templates = new Map<string, Template>();
  #latest: Template | undefined;

  /** A cache holding at most `capacity` templates of statements for `dialect`. */
  constructor(capacity: number, dialect: SqlDialect) {
    this.#capacity = capacity;
    this.#dialect = dialect;
  }

  /** The number of cached templates. */
  get size(): number {
    return this.#templates.size;
  }

  /** `compileRead(request, { keyFields })`, from the cache when the shape was seen before. */
  read(request: ReadRequest, keyFields: readonly string[]): CompiledRead {
    const shape = readShape(request, keyFields);
    const dialect = this.#dialect;
    if (shape === undefined) return compileRead(dialect, request, { keyFields });
    const skip = request.query.skip;
    return this.#reuse(shape, NO_KEYS, skip) ??
      this.#record(shape, NO_KEYS, skip, () => compileRead(dialect, request, { keyFields }));
  }

  /** `compileExpansion(request)`, from the cache when the shape was seen before. */
  expansion(request: ExpansionRequest): CompiledRead {
    const shape = expansionShape(request);
    const dialect = this.#dialect;
    if (shape === undefined) return compileExpansion(dialect, request);
    return this.#reuse(shape, request.keys, undefined) ??
      this.#record(
        shape,
        request.keys,
        undefined,
        (keys) => compileExpansion(dialect, { ...request, keys }),
      );
  }

  /** `compileKeyedRead(keyed)`, from the cache when the shape was seen before. */
  keyed(keyed: KeyedRead): CompiledRead {
    const shape = keyedShape(keyed);
    const dialect = this.#dialect;
    if (shape === undefined) return compileKeyedRead(dialect, keyed);
    return this.#reuse(shape, keyed.keys, undefined) ??
      this.#record(
        shape,
        keyed.keys,
        undefined,
        (keys) => compileKeyedRead(dialect, { ...keyed, keys }),
      );
  }

  /** Drops every template. */
  clear(): void {
    this.#templates.clear();
    this.#latest = undefined;
  }

  /** The statement from the cached template of this shape, if any and if it applies. */
  #reuse(
    shape: Shape,
    keys: readonly (readonly SqlValue[])[],
    skip: number | undefined,
  ): CompiledRead | undefined {
    const template = this.#templates.get(shape.key);
    if (template === undefined) return undefined;
    if (this.#latest !== template) {
      // Least recently used first out: move it to the end (unless it is there already).
      this.#templates.delete(shape.key);
      this.#templates.set(shape.key, template);
      this.#latest = template;
    }
    return instantiate(this.#dialect, template, shape.literals, keys, skip);
  }

  /** Compiles through the template recorder; keeps the template unless one is cached already. */
  #record(
    shape: Shape,
    keys: readonly (readonly SqlValue[])[],
    skip: number | undefined,
    compile: (keys: readonly (readonly SqlValue[])[]) => CompiledRead,
  ): CompiledRead {
    const recorded = record(shape, keys, skip, compile);
    // A cached template that did not apply (other literal types) stays: the first shape wins.
    if (recorded.template !== undefined && !this.#templates.has(shape.key)) {
      this.#add(shape.key, recorded.template);
    }
    return recorded.compiled;
  }

  #add(key: string, template: Template): void {
    if (this.#templates.size >= this.#capacity) {
      const oldest = this.#templates.keys().next().value;
      if (oldest !== undefined) this.#templates.delete(oldest);
    }
    this.#templates.set(key, template);
    this.#latest = template;
  }
}
