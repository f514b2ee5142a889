/**
 * Percent-decoding of query option names and values, and a {@linkcode ParserState} that maps
 * positions in the decoded text back to the raw query string so that syntax errors point at
 * what the user actually wrote.
 *
 * Decoding is URL percent-decoding, not form decoding: `+` stays `+` (it is part of
 * `2024-01-01T00:00:00+02:00`), raw spaces are kept, and a malformed escape is a syntax error.
 *
 * @module
 */

import { ODataSyntaxError } from "../../errors/errors.ts";
import type { Expression } from "../ast.ts";
import type { QueryLimits } from "../limits.ts";
import { ParserState } from "./state.ts";

/**
 * A parser state over one decoded query option value. When the raw value had `%` escapes,
 * `rawEnd` is where it ends in `source` (it starts at `offset`), and positions in the decoded
 * text are translated back to the raw text; otherwise `rawEnd` is -1 and positions are identical.
 * The decoded → raw index map is built only when needed (a syntax error, a `;` in `$search`), so
 * the common, valid query never pays for it.
 *
 * @example
 * ```ts
 * import { QueryState } from "./decode.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const source = "$search=a%3Bb";
 * const state = new QueryState("a;b", DEFAULT_QUERY_LIMITS, { offset: 8, source }, source.length);
 * state.isEscaped(1); // true: the ";" was written as %3B
 * state.rawPosition(2); // 12
 * ```
 */
export class QueryState extends ParserState {
  /** End of the raw value in `source` when it had escapes, else -1. */
  rawEnd: number;
  /** Decoded index → raw index (relative to `offset`), built on first use. */
  #map: readonly number[] | undefined;

  /** Creates a state; `rawEnd` is the raw end of a value that had `%` escapes (default -1). */
  constructor(
    text: string,
    limits: QueryLimits,
    options: { aliases?: ReadonlyMap<string, Expression>; offset?: number; source?: string } = {},
    rawEnd = -1,
  ) {
    super(text, limits, options);
    this.rawEnd = rawEnd;
    this.#map = undefined;
  }

  /**
   * Points the state at the next option value of the same query (same source, limits and
   * aliases), so that one state object serves all of them.
   */
  reset(text: string, offset: number, rawEnd: number): void {
    this.text = text;
    this.pos = 0;
    this.offset = offset;
    this.rawEnd = rawEnd;
    this.#map = undefined;
    this.depth = 0;
    this.expandDepth = 0;
    this.memoPos = -1;
  }

  /** Throws an `ODataSyntaxError` at `position`, translated into the raw source. */
  override fail(
    expected: readonly string[],
    position: number = this.pos,
    detail?: string,
    suggestion?: string,
  ): never {
    throw new ODataSyntaxError(this.source, this.rawPosition(position), expected, {
      detail,
      suggestion,
    });
  }

  /** The position in `source` of decoded position `position`. */
  rawPosition(position: number): number {
    const map = this.#rawMap();
    if (map === undefined) return position + this.offset;
    const i = position < 0 ? 0 : position >= map.length ? map.length - 1 : position;
    return map[i]! + this.offset;
  }

  /** True if the char at decoded position `i` was written percent-encoded. */
  isEscaped(i: number): boolean {
    const map = this.#rawMap();
    return map !== undefined && i + 1 < map.length && map[i + 1]! - map[i]! === 3 &&
      this.text.charCodeAt(i) < 128;
  }

  #rawMap(): readonly number[] | undefined {
    if (this.rawEnd < 0) return undefined;
    return this.#map ??= decodeComponent(this.source, this.offset, this.rawEnd).map;
  }
}

/**
 * A state over the same text as `state` (same position, counters, source and raw mapping) but
 * with another alias map. Used for option lists that define their own parameter aliases.
 * Copy `pos` and `nodeCount` back when done.
 *
 * @example
 * ```ts
 * import { withAliases } from "./decode.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const child = withAliases(new ParserState("@a", DEFAULT_QUERY_LIMITS), new Map());
 * console.log(child.pos); // 0
 * ```
 */
export function withAliases(
  state: ParserState,
  aliases: ReadonlyMap<string, Expression>,
): ParserState {
  const options = { aliases, offset: state.offset, source: state.source };
  const child = state instanceof QueryState
    ? new QueryState(state.text, state.limits, options, state.rawEnd)
    : new ParserState(state.text, state.limits, options);
  child.pos = state.pos;
  child.nodeCount = state.nodeCount;
  child.depth = state.depth;
  child.expandDepth = state.expandDepth;
  child.lambdaVariables = state.lambdaVariables;
  return child;
}

/**
 * The result of {@linkcode decodeComponent}.
 *
 * @example
 * ```ts
 * import { decodeComponent, type DecodedText } from "./decode.ts";
 * const decoded: DecodedText = decodeComponent("a%20b", 0, 5);
 * decoded.map; // [0, 1, 4, 5]
 * ```
 */
export interface DecodedText {
  /** The decoded text. */
  readonly text: string;
  /** Decoded index → raw index relative to the component start; undefined if nothing changed. */
  readonly map: readonly number[] | undefined;
}

// `ignoreBOM`: a U+FEFF written as %EF%BB%BF is data, which the decoder would otherwise drop from
// the start of each run it decodes.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Percent-decodes `source.slice(start, end)` (UTF-8), keeping `+` as is, without a position
 * map: the fast path of every escaped query option. The native decoder does the work; when it
 * refuses the text, {@linkcode decodeComponent} finds and reports the exact position.
 *
 * @example
 * ```ts
 * import { decodeText } from "./decode.ts";
 * decodeText("a=O%27Neil+x", 2, 12); // "O'Neil+x"
 * ```
 */
export function decodeText(source: string, start: number, end: number): string {
  try {
    // Same semantics as decodeComponent: UTF-8, `+` kept, invalid sequences refused, and a
    // %EF%BB%BF is kept (only TextDecoder strips it). (A JS loop for ASCII escapes measured no
    // faster: its concatenated result is flattened on first access anyway.)
    return decodeURIComponent(source.slice(start, end));
  } catch {
    return decodeComponent(source, start, end).text;
  }
}

/**
 * Percent-decodes `source.slice(start, end)` (UTF-8), keeping `+` as is, with the decoded → raw
 * position map. Throws an `ODataSyntaxError` positioned in `source` for a malformed escape or
 * invalid UTF-8.
 *
 * @example
 * ```ts
 * import { decodeComponent } from "./decode.ts";
 * decodeComponent("a=O%27Neil+x", 2, 12).text; // "O'Neil+x"
 * ```
 */
export function decodeComponent(source: string, start: number, end: number): DecodedText {
  let i = source.indexOf("%", start);
  if (i === -1 || i >= end) return { text: source.slice(start, end), map: undefined };
  const parts: string[] = [];
  const map: number[] = [];
  for (let k = start; k < i; k++) map.push(k - start);
  parts.push(source.slice(start, i));
  while (i < end) {
    if (source.charCodeAt(i) !== 37) {
      // Copy the literal run up to the next escape in one slice.
      let next = source.indexOf("%", i);
      if (next === -1 || next > end) next = end;
      parts.push(source.slice(i, next));
      for (let k = i; k < next; k++) map.push(k - start);
      i = next;
      continue;
    }
    // A run of consecutive escapes is decoded together so multi-byte UTF-8 sequences work.
    const runStart = i;
    const bytes: number[] = [];
    while (i < end && source.charCodeAt(i) === 37) {
      const hi = i + 1 < end ? hexValue(source.charCodeAt(i + 1)) : -1;
      const lo = i + 2 < end ? hexValue(source.charCodeAt(i + 2)) : -1;
      if (hi < 0 || lo < 0) {
        throw new ODataSyntaxError(source, i, ["%XX"], {
          detail: "Malformed percent-encoding (a % must be followed by two hex digits)",
          suggestion: "Write a literal % as %25.",
        });
      }
      bytes.push(hi * 16 + lo);
      i += 3;
    }
    let decoded: string;
    let ascii = true;
    for (const b of bytes) {
      if (b > 127) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      decoded = String.fromCharCode(...bytes);
      for (let k = 0; k < bytes.length; k++) map.push(runStart - start + 3 * k);
    } else {
      try {
        decoded = utf8.decode(new Uint8Array(bytes));
      } catch {
        throw new ODataSyntaxError(source, runStart, [], {
          detail: "Percent-encoded bytes are not valid UTF-8",
        });
      }
      // Each decoded UTF-16 unit maps to the first escape of its UTF-8 sequence.
      let byteIndex = 0;
      for (const ch of decoded) {
        const cp = ch.codePointAt(0)!;
        const at = runStart - start + 3 * byteIndex;
        map.push(at);
        if (cp > 0xffff) map.push(at);
        byteIndex += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      }
    }
    parts.push(decoded);
  }
  map.push(end - start);
  return { text: parts.join(""), map };
}
