/**
 * The shared scanner state of every OData parser: the (already percent-decoded) text, the
 * cursor, limit accounting and error helpers. Parsers work on char codes, never on regular
 * expressions over the rest of the input, so parsing stays linear and fast.
 *
 * @module
 */

import { ODataSyntaxError, QueryLimitError } from "../../errors/errors.ts";
import type { Expression } from "../ast.ts";
import type { QueryLimits } from "../limits.ts";

/** Char codes used across the parsers. */
export const CH = {
  TAB: 9,
  SPACE: 32,
  QUOTE: 34, // "
  HASH: 35,
  DOLLAR: 36,
  PERCENT: 37,
  AMP: 38,
  SQUOTE: 39, // '
  LPAREN: 40,
  RPAREN: 41,
  STAR: 42,
  PLUS: 43,
  COMMA: 44,
  MINUS: 45,
  DOT: 46,
  SLASH: 47,
  D0: 48,
  D9: 57,
  COLON: 58,
  SEMI: 59,
  EQUALS: 61,
  AT: 64,
  A: 65,
  Z: 90,
  LBRACKET: 91,
  RBRACKET: 93,
  UNDERSCORE: 95,
  a: 97,
  z: 122,
  LBRACE: 123,
  RBRACE: 125,
} as const;

/** Mutable state of one parse. */
export class ParserState {
  /** The text being parsed (reassigned only by `QueryState.reset`, between option values). */
  text: string;
  /** The cursor: index of the next unread char. */
  pos: number;
  /** Effective limits. */
  readonly limits: QueryLimits;
  /** Nodes created so far (checked against `limits.maxNodes`). */
  nodeCount = 0;
  /** Current nesting depth (checked against `limits.maxDepth`). */
  depth = 0;
  /** Current `$expand` nesting depth (checked against `limits.maxExpandDepth`). */
  expandDepth = 0;
  /**
   * Parameter alias values, already parsed; `undefined` keeps `@p` as an `Alias` node.
   * A lookup miss with a defined map resolves to `null` (OData: an alias without value is null).
   */
  readonly aliases: ReadonlyMap<string, Expression> | undefined;
  /** Offset of `text` inside the original input, added to error positions. */
  offset: number;
  /** The original input shown in error messages (defaults to `text`). */
  readonly source: string;
  /**
   * Lambda variables in scope, innermost last (`undefined` until the first lambda). Pushed and
   * popped in pairs by the lambda parser.
   */
  lambdaVariables: string[] | undefined = undefined;
  /**
   * The binary-operator look-up memo of the expression parser: after an operand the postfix check
   * and each enclosing precedence level ask again at the same position, so the last answer is
   * kept. `memoPos` is the position asked about (-1: none), `memoOp` the operator code found there
   * (-1: none) and `memoEnd` the end of its keyword. Cleared whenever `text` changes.
   */
  memoPos = -1;
  /** See {@linkcode memoPos}. */
  memoOp = -1;
  /** See {@linkcode memoPos}. */
  memoEnd = 0;
  /** End of the operator keyword found by the expression parser's last successful look-up. */
  operatorEnd = 0;

  /** Creates a state at position 0. */
  constructor(
    text: string,
    limits: QueryLimits,
    options: {
      aliases?: ReadonlyMap<string, Expression>;
      offset?: number;
      source?: string;
    } = {},
  ) {
    this.text = text;
    this.pos = 0;
    this.limits = limits;
    this.aliases = options.aliases;
    this.offset = options.offset ?? 0;
    this.source = options.source ?? text;
  }

  /** Throws an `ODataSyntaxError` at `position` (default: the cursor). */
  fail(
    expected: readonly string[],
    position: number = this.pos,
    detail?: string,
    suggestion?: string,
  ): never {
    throw new ODataSyntaxError(this.source, position + this.offset, expected, {
      detail,
      suggestion,
    });
  }

  /** Counts one node against `maxNodes`. */
  countNode(): void {
    if (++this.nodeCount > this.limits.maxNodes) {
      throw new QueryLimitError("maxNodes", this.limits.maxNodes);
    }
  }

  /** Enters one nesting level, checked against `maxDepth`; pair with {@linkcode leave}. */
  enter(): void {
    if (++this.depth > this.limits.maxDepth) {
      throw new QueryLimitError("maxDepth", this.limits.maxDepth);
    }
  }

  /** Leaves one nesting level. */
  leave(): void {
    this.depth--;
  }

  /** True when the whole text is consumed. */
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** The char code at the cursor (NaN at the end). */
  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  /** Skips spaces and tabs (RWS/BWS after percent-decoding). Returns true if any was skipped. */
  skipWhitespace(): boolean {
    const text = this.text;
    let p = this.pos;
    let c = text.charCodeAt(p);
    // Most calls find no whitespace: return before touching the cursor.
    if (c !== CH.SPACE && c !== CH.TAB && c !== 10 && c !== 13) return false;
    do c = text.charCodeAt(++p); while (c === CH.SPACE || c === CH.TAB || c === 10 || c === 13);
    this.pos = p;
    return true;
  }

  /** Consumes `code` if it is at the cursor. */
  eatChar(code: number): boolean {
    if (this.text.charCodeAt(this.pos) === code) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Consumes `code` or fails expecting `shown`. */
  expectChar(code: number, shown: string): void {
    if (this.text.charCodeAt(this.pos) !== code) this.fail([shown]);
    this.pos++;
  }

  /** True if `word` (case-sensitive) starts at the cursor. Does not move. */
  lookingAt(word: string): boolean {
    return this.text.startsWith(word, this.pos);
  }
}

/**
 * The error for a nesting that exhausted the call stack before `maxDepth` was reached (only
 * possible on a runtime with a small stack, since `maxDepth` is capped): a `QueryLimitError`
 * that says so, rather than claiming that `maxDepth` was exceeded.
 *
 * @example
 * ```ts
 * import { stackExhausted } from "./state.ts";
 * stackExhausted(180, 256).message;
 * // "Query nesting at depth 180 exhausted the call stack before maxDepth = 256 was reached"
 * ```
 */
export function stackExhausted(depth: number, maxDepth: number): QueryLimitError {
  const error = new QueryLimitError("callStack", depth, {
    context: { depth, maxDepth },
    suggestion: "Nest the query less deeply, or lower maxDepth so that it is reached first.",
  });
  error.message =
    `Query nesting at depth ${depth} exhausted the call stack before maxDepth = ${maxDepth} ` +
    "was reached";
  return error;
}

/** True when `error` is the engine's stack overflow. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * True for `A-Z a-z _` and non-ASCII letters (identifier start). `(c | 0x20) - 97` folds both
 * letter ranges onto 0..25 in one unsigned compare; the `|` also turns NaN (end of text) into a
 * number that fails every test.
 */
export function isIdentifierStart(c: number): boolean {
  return ((c | 0x20) - 97) >>> 0 < 26 || c === CH.UNDERSCORE || c > 127;
}

/** True for identifier continuation chars. */
export function isIdentifierPart(c: number): boolean {
  // `c | 0`, not `c`: NaN - 48 >>> 0 would be 0, a "digit".
  return ((c | 0x20) - 97) >>> 0 < 26 || ((c | 0) - CH.D0) >>> 0 < 10 || c === CH.UNDERSCORE ||
    c > 127;
}

/** True for `0-9`. */
export function isDigit(c: number): boolean {
  return c >= CH.D0 && c <= CH.D9;
}
