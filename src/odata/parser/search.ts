/**
 * The `$search` grammar: words, `"phrases"`, `NOT`/`AND`/`OR` (uppercase only), parentheses and
 * juxtaposition (= `AND`). Precedence is NOT > AND > OR. `AND`, `OR` and `NOT` are operators only
 * where an operand follows them; elsewhere they are plain words (`$search=AND OR` finds items
 * containing both words). A value written as a single-quoted string (`'"bl'`, OData's form for
 * incomplete type-ahead input) is one phrase holding the string's content.
 *
 * @module
 */

import { QueryLimitError } from "../../errors/errors.ts";
import { checkParseOptions, expectText } from "../arguments.ts";
import type { SearchExpression, SearchTerm } from "../ast.ts";
import { type ParseOptions, resolveLimits } from "../limits.ts";
import { QueryState } from "./decode.ts";
import { CH, ParserState } from "./state.ts";

const BACKSLASH = 92;

/** True for whitespace that separates search terms. */
function isSpace(c: number): boolean {
  return c === CH.SPACE || c === CH.TAB || c === 10 || c === 13;
}

/** Marks a state that parses stand-alone search text, where `;` has no special meaning. */
class StandaloneState extends ParserState {}

/**
 * True if a raw `;` at `i` ends the search expression. A `;` written as `%3B` is part of a word
 * (`$search=a%3Bb`), and in stand-alone search text (`parseSearchText`) it is always a word char.
 */
function semicolonEnds(state: ParserState, i: number): boolean {
  if (state instanceof QueryState) return !state.isEscaped(i);
  return !(state instanceof StandaloneState);
}

/** True if the char at `i` ends a search word. */
function endsWord(state: ParserState, i: number): boolean {
  const c = state.text.charCodeAt(i);
  if (c !== c) return true; // NaN: end of text
  if (isSpace(c) || c === CH.LPAREN || c === CH.RPAREN || c === CH.QUOTE) return true;
  return c === CH.SEMI && semicolonEnds(state, i);
}

/** True if an operand (term, phrase, group or NOT) can start at `i`. */
function operandStartsAt(state: ParserState, i: number): boolean {
  const c = state.text.charCodeAt(i);
  if (c !== c || isSpace(c) || c === CH.RPAREN) return false;
  return !(c === CH.SEMI && semicolonEnds(state, i));
}

/** If `word` (an operator keyword) is at `i` as a whole word, the index after it; else -1. */
function keywordAt(state: ParserState, i: number, word: string): number {
  if (!state.text.startsWith(word, i)) return -1;
  const end = i + word.length;
  return endsWord(state, end) ? end : -1;
}

/**
 * If operator `word` is at `i` followed by whitespace and an operand, the index of that operand;
 * else -1 (the keyword is then an ordinary word).
 */
function operatorAt(state: ParserState, i: number, word: string): number {
  let j = keywordAt(state, i, word);
  if (j === -1 || !isSpace(state.text.charCodeAt(j))) return -1;
  while (isSpace(state.text.charCodeAt(j))) j++;
  return operandStartsAt(state, j) ? j : -1;
}

/**
 * Parses a search expression at `state.pos` and leaves the cursor after it (before trailing
 * whitespace, a `)` or a raw `;` it does not own). A leading `'...'` is the single-quoted form.
 *
 * @example
 * ```ts
 * import { parseSearch } from "./search.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const state = new ParserState("blue OR green", DEFAULT_QUERY_LIMITS);
 * parseSearch(state).kind; // "SearchBinary"
 * ```
 */
export function parseSearch(state: ParserState): SearchExpression {
  state.skipWhitespace();
  if (state.peek() === CH.SQUOTE) return parseQuoted(state);
  return parseOr(state);
}

/**
 * Parses stand-alone, already-decoded search text (the value of `$search`).
 *
 * @example
 * ```ts
 * import { parseSearchText } from "./search.ts";
 * parseSearchText('NOT "blue green"');
 * // { kind: "SearchNot", operand: { kind: "SearchTerm", text: "blue green", phrase: true } }
 * ```
 */
export function parseSearchText(text: string, options?: ParseOptions): SearchExpression {
  expectText(text, "parseSearchText()", "the $search text");
  checkParseOptions(options, "parseSearchText()");
  const limits = resolveLimits(options?.limits);
  if (text.length > limits.maxLength) throw new QueryLimitError("maxLength", limits.maxLength);
  const state = new StandaloneState(text, limits);
  const result = parseSearch(state);
  state.skipWhitespace();
  if (!state.atEnd()) state.fail(["end of input"]);
  return result;
}

function parseOr(state: ParserState): SearchExpression {
  let left = parseAnd(state);
  for (;;) {
    const save = state.pos;
    if (!state.skipWhitespace()) break;
    const next = operatorAt(state, state.pos, "OR");
    if (next === -1) {
      state.pos = save;
      break;
    }
    state.pos = next;
    const right = parseAnd(state);
    state.countNode();
    left = { kind: "SearchBinary", operator: "OR", left, right };
  }
  return left;
}

function parseAnd(state: ParserState): SearchExpression {
  let left = parseUnary(state);
  for (;;) {
    const save = state.pos;
    // Juxtaposition needs whitespace: `"a"b` and `a(b)` are errors, not `a AND b`.
    if (!state.skipWhitespace() || !operandStartsAt(state, state.pos)) {
      state.pos = save;
      break;
    }
    if (operatorAt(state, state.pos, "OR") !== -1) {
      state.pos = save;
      break;
    }
    const next = operatorAt(state, state.pos, "AND");
    if (next !== -1) state.pos = next;
    const right = parseUnary(state);
    state.countNode();
    left = { kind: "SearchBinary", operator: "AND", left, right };
  }
  return left;
}

function parseUnary(state: ParserState): SearchExpression {
  const next = operatorAt(state, state.pos, "NOT");
  if (next === -1) return parsePrimary(state);
  state.pos = next;
  state.enter();
  const operand = parseUnary(state);
  state.leave();
  state.countNode();
  return { kind: "SearchNot", operand };
}

function parsePrimary(state: ParserState): SearchExpression {
  const c = state.peek();
  if (c === CH.LPAREN) {
    state.pos++;
    state.enter();
    state.skipWhitespace();
    const inner = parseOr(state);
    state.skipWhitespace();
    state.expectChar(CH.RPAREN, ")");
    state.leave();
    return inner;
  }
  if (c === CH.QUOTE) return parsePhrase(state);
  const start = state.pos;
  // A word may contain single quotes, but not start with one (`'...'` is the quoted form).
  if (c === CH.SQUOTE || endsWord(state, start)) state.fail(["search term"]);
  let i = start + 1;
  while (!endsWord(state, i)) i++;
  state.pos = i;
  state.countNode();
  return { kind: "SearchTerm", text: state.text.slice(start, i), phrase: false };
}

/** `"..."` with `\"` and `\\` escapes; must not be empty. */
function parsePhrase(state: ParserState): SearchTerm {
  const text = state.text;
  const start = ++state.pos;
  let i = start;
  let parts: string[] | undefined;
  let chunk = start;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== c) state.fail(['"'], text.length, "Unterminated search phrase");
    if (c === CH.QUOTE) break;
    if (c === BACKSLASH) {
      const n = text.charCodeAt(i + 1);
      if (n === CH.QUOTE || n === BACKSLASH) {
        (parts ??= []).push(text.slice(chunk, i));
        chunk = i + 1;
        i += 2;
        continue;
      }
    }
    i++;
  }
  if (i === start) state.fail(["search phrase"], i, "Empty search phrase");
  const value = parts === undefined ? text.slice(start, i) : parts.join("") + text.slice(chunk, i);
  state.pos = i + 1;
  state.countNode();
  return { kind: "SearchTerm", text: value, phrase: true };
}

/** `'...'` with `''` for a quote: the whole (possibly incomplete) expression as one phrase. */
function parseQuoted(state: ParserState): SearchTerm {
  const text = state.text;
  let i = ++state.pos;
  let value = "";
  let chunk = i;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== c) state.fail(["'"], text.length, "Unterminated quoted search");
    if (c === CH.SQUOTE) {
      if (text.charCodeAt(i + 1) !== CH.SQUOTE) break;
      value += text.slice(chunk, i + 1);
      i += 2;
      chunk = i;
      continue;
    }
    i++;
  }
  value += text.slice(chunk, i);
  state.pos = i + 1;
  state.countNode();
  return { kind: "SearchTerm", text: value, phrase: true };
}
