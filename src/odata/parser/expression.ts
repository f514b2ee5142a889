/**
 * The OData common-expression parser (`$filter`, and the expressions of `$orderby`, `$compute`,
 * `$apply`, lambda predicates, ...): hand-written precedence climbing over the char codes of a
 * {@linkcode ParserState}, no tokens, no regular expressions.
 *
 * Precedence follows OData URL Conventions §5.1.1.17, from the tightest: grouping and primaries;
 * `has` and `in` (their right operand is a primary); unary `-` and `not`; `mul div divby mod`;
 * `add sub`; `gt ge lt le`; `eq ne`; `and`; `or`. Binary operators are left-associative,
 * case-insensitive (OData 4.01; the AST holds them in lower case) and need whitespace on both
 * sides.
 *
 * @module
 */

import { QueryLimitError } from "../../errors/errors.ts";
import { checkParseOptions, expectText } from "../arguments.ts";
import { closestName } from "../../errors/suggest.ts";
import type { BinaryOperator, Expression, FilterExpression } from "../ast.ts";
import { type ParseOptions, type QueryLimits, resolveLimits } from "../limits.ts";
import { parseFunctionCall } from "./functions.ts";
import { parseArrayOrObject } from "./json.ts";
import { scanKeywordLiteral, scanLiteral, startsNegativeLiteral } from "./literal.ts";
import { parseAlias, parseMemberPath, parseRootedPath, scanQualifiedName } from "./path.ts";
import {
  CH,
  isIdentifierPart,
  isIdentifierStart,
  isStackOverflow,
  ParserState,
  stackExhausted,
} from "./state.ts";

// Operator codes index these tables.
const OR = 0, AND = 1, EQ = 2, NE = 3, GT = 4, GE = 5, LT = 6, LE = 7, HAS = 8, IN = 9;
const ADD = 10, SUB = 11, MUL = 12, DIV = 13, DIVBY = 14, MOD = 15;
const OPERATORS: readonly BinaryOperator[] = [
  "or",
  "and",
  "eq",
  "ne",
  "gt",
  "ge",
  "lt",
  "le",
  "has",
  "in",
  "add",
  "sub",
  "mul",
  "div",
  "divby",
  "mod",
];
const PRECEDENCE: readonly number[] = [1, 2, 3, 3, 4, 4, 4, 4, 8, 8, 5, 5, 6, 6, 6, 6];

function isSpaceCode(c: number): boolean {
  return c === CH.SPACE || c === CH.TAB || c === 10 || c === 13;
}

/** ASCII lower case of `c` for letters; other codes may change too, but never into a letter. */
function lower(c: number): number {
  return c | 0x20;
}

/**
 * If whitespace and a binary operator keyword start at the cursor, returns its code and sets
 * `state.operatorEnd`; otherwise -1. Does not move the cursor, so callers that do not take the
 * operator (`$orderby` before ` desc`) stop cleanly before the whitespace. Operators are
 * case-insensitive (OData 4.01: "services MUST support case-insensitive operator names"); `| 0x20`
 * folds ASCII letters to lower case and maps no other code onto a letter, so the check stays
 * branch-cheap. The last answer is memoized in the state (see `ParserState.memoPos`).
 */
function peekOperator(state: ParserState): number {
  const text = state.text;
  const pos = state.pos;
  if (!isSpaceCode(text.charCodeAt(pos))) return -1;
  if (pos === state.memoPos) {
    state.operatorEnd = state.memoEnd;
    return state.memoOp;
  }
  const op = scanOperator(state, text, pos);
  state.memoPos = pos;
  state.memoOp = op;
  state.memoEnd = state.operatorEnd;
  return op;
}

/** {@linkcode peekOperator} without the memo: the keyword after the whitespace at `pos`. */
function scanOperator(state: ParserState, text: string, pos: number): number {
  let p = pos + 1;
  let c = text.charCodeAt(p);
  while (isSpaceCode(c)) c = text.charCodeAt(++p);
  const c1 = lower(text.charCodeAt(p + 1));
  const c2 = lower(text.charCodeAt(p + 2));
  let op = -1;
  let length = 2;
  switch (lower(c)) {
    case 97: // a
      if (c1 === 110 && c2 === 100) op = AND;
      else if (c1 === 100 && c2 === 100) op = ADD;
      length = 3;
      break;
    case 111: // o
      if (c1 === 114) op = OR;
      break;
    case 101: // e
      if (c1 === 113) op = EQ;
      break;
    case 110: // n
      if (c1 === 101) op = NE;
      break;
    case 103: // g
      if (c1 === 116) op = GT;
      else if (c1 === 101) op = GE;
      break;
    case 108: // l
      if (c1 === 116) op = LT;
      else if (c1 === 101) op = LE;
      break;
    case 104: // h
      if (c1 === 97 && c2 === 115) op = HAS;
      length = 3;
      break;
    case 105: // i
      if (c1 === 110) op = IN;
      break;
    case 115: // s
      if (c1 === 117 && c2 === 98) op = SUB;
      length = 3;
      break;
    case 109: // m
      if (c1 === 117 && c2 === 108) op = MUL;
      else if (c1 === 111 && c2 === 100) op = MOD;
      length = 3;
      break;
    case 100: // d
      if (c1 === 105 && c2 === 118) {
        if (lower(text.charCodeAt(p + 3)) === 98 && lower(text.charCodeAt(p + 4)) === 121) {
          op = DIVBY;
          length = 5;
        } else {
          op = DIV;
          length = 3;
        }
      }
      break;
  }
  if (op < 0 || isIdentifierPart(text.charCodeAt(p + length))) return -1;
  state.operatorEnd = p + length;
  return op;
}

/** Moves past an accepted operator and its required trailing whitespace. */
function takeOperator(state: ParserState, op: number): void {
  state.pos = state.operatorEnd;
  if (!state.skipWhitespace()) {
    if (state.atEnd()) state.fail(["expression"]);
    state.fail([" "], state.pos, `The operator "${OPERATORS[op]}" must be followed by a space`);
  }
}

/**
 * Parses one common expression at `state.pos` and leaves the cursor just after it, before any
 * whitespace or text it does not own (`,`, `)`, `;`, ` asc`, ` as`, ` with`, ...). Parameter
 * aliases are substituted from `state.aliases` when the state has them.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { parseExpression } from "./expression.ts";
 * const state = new ParserState("Price mul 2 desc", resolveLimits(undefined));
 * parseExpression(state).kind; // "Binary"
 * state.pos; // 11
 * ```
 */
export function parseExpression(state: ParserState): Expression {
  return parseBinary(state, 1);
}

/** Precedence climbing: operands bind operators of precedence `minPrecedence` and tighter. */
function parseBinary(state: ParserState, minPrecedence: number): Expression {
  let left = parseUnary(state);
  for (;;) {
    const op = peekOperator(state);
    if (op < 0) return left;
    const precedence = PRECEDENCE[op]!;
    // `has`/`in` were taken by parsePostfix; seeing one here means a non-primary left operand.
    if (precedence < minPrecedence || precedence === 8) return left;
    takeOperator(state, op);
    const right = parseBinary(state, precedence + 1);
    state.countNode();
    left = { kind: "Binary", operator: OPERATORS[op]!, left, right };
  }
}

function parseUnary(state: ParserState): Expression {
  const text = state.text;
  const p = state.pos;
  const c = text.charCodeAt(p);
  if (c === CH.MINUS && !startsNegativeLiteral(text, p)) {
    state.pos++;
    state.skipWhitespace();
    state.enter();
    const operand = parseUnary(state);
    state.leave();
    state.countNode();
    return { kind: "Unary", operator: "negate", operand };
  }
  if (
    lower(c) === 110 && lower(text.charCodeAt(p + 1)) === 111 &&
    lower(text.charCodeAt(p + 2)) === 116
  ) { // not, case-insensitive like the binary operators
    const d = text.charCodeAt(p + 3);
    // `not` needs whitespace after it (`not(x)` is accepted too: nothing else can mean).
    if (isSpaceCode(d) || d === CH.LPAREN) {
      state.pos = p + 3;
      state.skipWhitespace();
      state.enter();
      const operand = parseUnary(state);
      state.leave();
      state.countNode();
      return { kind: "Unary", operator: "not", operand };
    }
  }
  return parsePostfix(state, parsePrimary(state));
}

/** `has` and `in` after a primary: they bind tighter than unary operators (§5.1.1.17). */
function parsePostfix(state: ParserState, operand: Expression): Expression {
  for (;;) {
    const op = peekOperator(state);
    if (op !== IN && op !== HAS) return operand;
    takeOperator(state, op);
    const right = op === IN ? parseInOperand(state) : parsePrimary(state);
    state.countNode();
    operand = { kind: "Binary", operator: OPERATORS[op]!, left: operand, right };
  }
}

/**
 * The right operand of `in`: `(list)`, a JSON array, or a primary (path, alias). A parenthesis
 * with a single non-literal expression is grouping (`X in (Path)`), as the ABNF reads it.
 */
function parseInOperand(state: ParserState): Expression {
  const text = state.text;
  const max = state.limits.maxInListLength;
  if (text.charCodeAt(state.pos) !== CH.LPAREN) {
    const right = parsePrimary(state);
    if (right.kind === "List" && right.items.length > max) {
      throw new QueryLimitError("maxInListLength", max);
    }
    return right;
  }
  state.enter();
  state.pos++;
  state.skipWhitespace();
  const items: Expression[] = [];
  if (text.charCodeAt(state.pos) !== CH.RPAREN) {
    for (;;) {
      const itemStart = state.pos;
      const item = parseExpression(state);
      state.skipWhitespace();
      const c = text.charCodeAt(state.pos);
      if (item.kind !== "Literal" && item.kind !== "Alias") {
        if (items.length > 0) {
          state.fail(
            ["primitive literal"],
            itemStart,
            "An in list may only contain primitive literals",
          );
        }
        if (c === CH.COMMA) {
          state.fail([")"], state.pos, "An in list may only contain primitive literals");
        }
        expectClose(state);
        state.leave();
        return item;
      }
      items.push(item);
      if (items.length > max) throw new QueryLimitError("maxInListLength", max);
      if (c === CH.RPAREN) break;
      if (c !== CH.COMMA) state.fail([",", ")"]);
      state.pos++;
      state.skipWhitespace();
    }
  }
  state.pos++;
  state.leave();
  state.countNode();
  return { kind: "List", items };
}

function parsePrimary(state: ParserState): Expression {
  const text = state.text;
  const c = text.charCodeAt(state.pos);
  if (isIdentifierStart(c)) return parseIdentifierPrimary(state);
  switch (c) {
    case CH.LPAREN:
      return parseParenthesized(state);
    case CH.LBRACKET:
    case CH.LBRACE:
      return parseArrayOrObject(state);
    case CH.AT:
      return parseAlias(state);
    case CH.DOLLAR:
      return parseRootedPath(state);
    default: {
      const literal = scanLiteral(state);
      if (literal !== undefined) return literal;
      if (c === CH.QUOTE) failDoubleQuotedString(state);
      if (c === 33) { // "!"
        state.fail(["expression"], state.pos, 'Unknown operator "!"; OData writes "not"');
      }
      return state.fail(["expression"]);
    }
  }
}

/** A name: a literal keyword/prefix/enum/guid, a function call, or a member path. */
function parseIdentifierPrimary(state: ParserState): Expression {
  const text = state.text;
  const start = state.pos;
  let end = start + 1;
  while (isIdentifierPart(text.charCodeAt(end))) end++;
  const c = text.charCodeAt(end);
  let name: string;
  if (c === CH.SQUOTE || c === CH.DOT || c === CH.MINUS || end - start > 128) {
    // Prefixed literals (`duration'P1D'`), enums, guids, qualified and overlong names: the
    // general scanners (rare).
    const literal = scanLiteral(state);
    if (literal !== undefined) return literal;
    name = scanQualifiedName(state)!;
  } else {
    // A plain word (the usual property name): one scan decides keyword literal or name.
    const keyword = scanKeywordLiteral(state, start, end);
    if (keyword !== undefined) return keyword;
    state.pos = end;
    name = text.slice(start, end);
  }
  if (text.charCodeAt(state.pos) === CH.LPAREN) {
    const call = parseFunctionCall(state, name);
    if (call !== undefined) return call;
  }
  return parseMemberPath(state, name, start);
}

function parseParenthesized(state: ParserState): Expression {
  state.enter();
  state.pos++;
  state.skipWhitespace();
  const inner = parseExpression(state);
  state.skipWhitespace();
  expectClose(state);
  state.leave();
  return inner;
}

function expectClose(state: ParserState): void {
  if (state.text.charCodeAt(state.pos) !== CH.RPAREN) failAfterOperand(state, [")"]);
  state.pos++;
}

/**
 * Fails after a complete operand where `expected` was due. A word there is probably a mistyped
 * operator, so the message says which one was meant (`eqq` → `eq`); so is a symbol of another
 * language (`=`, `>`, `&&` → `eq`, `gt`, `and`); a quote that ends a string right before more
 * text was probably meant to be doubled (`'O'Brien'`).
 *
 * @example
 * ```ts
 * import { failAfterOperand, parseExpression } from "./expression.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * const state = new ParserState("Price > 20", DEFAULT_QUERY_LIMITS);
 * parseExpression(state);
 * try {
 *   failAfterOperand(state, ["end of input"]);
 * } catch (error) {
 *   console.log((error as Error).message); // Unknown operator ">"; OData writes "gt" ...
 * }
 * ```
 */
export function failAfterOperand(state: ParserState, expected: readonly string[]): never {
  const text = state.text;
  let start = state.pos;
  // `'O'Brien'`: a quote that ends a string right before more text was meant to be inside it.
  if (
    state.pos > 0 && text.charCodeAt(state.pos - 1) === CH.SQUOTE &&
    isIdentifierPart(text.charCodeAt(state.pos))
  ) {
    failUnescapedQuote(state);
  }
  while (isSpaceCode(text.charCodeAt(start))) start++;
  const symbol = symbolOperatorAt(text, start);
  if (symbol !== undefined) {
    const [written, meant] = symbol;
    state.fail(
      expected,
      start,
      `Unknown operator "${written}"; OData writes "${meant}"`,
      `Write ${meant} instead of ${written} (OData operators are words: eq ne gt ge lt le and or not).`,
    );
  }
  let p = start;
  while (isIdentifierPart(text.charCodeAt(p))) p++;
  // Only a word after whitespace stands where an operator would (`'O'Neil'` is no operator).
  if (start > state.pos && p > start && p - start <= 8) {
    const word = text.slice(start, p);
    const suggestion = closestName(word.toLowerCase(), OPERATORS);
    if (suggestion !== undefined && word.length > 1) {
      state.fail(expected, start, `Unknown operator "${word}"; did you mean "${suggestion}"?`);
    }
  }
  return state.fail(expected, start < text.length ? start : state.pos);
}

/** Operators of other languages, longest first, with the OData operator they mean. */
const SYMBOL_OPERATORS: readonly (readonly [string, string])[] = [
  ["===", "eq"],
  ["!==", "ne"],
  ["==", "eq"],
  ["!=", "ne"],
  ["<>", "ne"],
  [">=", "ge"],
  ["<=", "le"],
  ["&&", "and"],
  ["||", "or"],
  ["=", "eq"],
  [">", "gt"],
  ["<", "lt"],
  ["&", "and"],
  ["|", "or"],
];

/** The symbol operator at `i` and the OData operator it means, if any. */
function symbolOperatorAt(text: string, i: number): readonly [string, string] | undefined {
  for (const entry of SYMBOL_OPERATORS) {
    if (text.startsWith(entry[0], i)) return entry;
  }
  return undefined;
}

/**
 * Fails at the quote before the cursor, which ended a string that goes on (`'O'Brien'`), with
 * the string written with that quote doubled (`'O''Brien'`).
 */
function failUnescapedQuote(state: ParserState): never {
  const text = state.text;
  const quote = state.pos - 1;
  // The opening quote: the nearest one before that is not half of a doubled '' pair.
  let open = quote - 1;
  while (open >= 0) {
    if (text.charCodeAt(open) === CH.SQUOTE) {
      if (open > 0 && text.charCodeAt(open - 1) === CH.SQUOTE) {
        open -= 2;
        continue;
      }
      break;
    }
    open--;
  }
  const close = text.indexOf("'", state.pos);
  const fixed = open < 0 || close === -1
    ? "'O''Brien'"
    : text.slice(open, quote) + "''" + text.slice(state.pos, close + 1);
  state.fail(
    [],
    quote,
    `This quote ends the string; a quote inside a string is written twice: ${fixed}`,
    `Double each quote inside a string literal: ${fixed}.`,
  );
}

/** Fails on a `"` where an expression starts: strings take single quotes. */
function failDoubleQuotedString(state: ParserState): never {
  const text = state.text;
  const start = state.pos;
  const end = text.indexOf('"', start + 1);
  const content = end === -1 ? "..." : text.slice(start + 1, end);
  const fixed = "'" + content.replaceAll("'", "''") + "'";
  return state.fail(
    ["expression"],
    start,
    `Strings take single quotes in OData: ${fixed}`,
    `Write string literals in single quotes: ${fixed}.`,
  );
}

/** Parses a whole text as one expression; a stack overflow is reported as what it is. */
function parseComplete(state: ParserState): Expression {
  try {
    const expression = parseExpression(state);
    if (!state.atEnd()) failAfterOperand(state, ["operator", "end of input"]);
    return expression;
  } catch (error) {
    if (isStackOverflow(error)) throw stackExhausted(state.depth, state.limits.maxDepth);
    throw error;
  }
}

/**
 * Parses parameter alias values given as OData text (`{ p1: "'Chai'" }`, keys with or without
 * `@`) into the map a {@linkcode ParserState} substitutes while parsing.
 *
 * @example
 * ```ts
 * import { resolveLimits } from "../limits.ts";
 * import { parseAliasValues } from "./expression.ts";
 * parseAliasValues({ "@p": "'Chai'" }, resolveLimits(undefined)).get("p");
 * // { kind: "Literal", type: "string", value: "Chai" }
 * ```
 */
export function parseAliasValues(
  aliases: Readonly<Record<string, string>>,
  limits: QueryLimits,
): Map<string, Expression> {
  const map = new Map<string, Expression>();
  for (const [key, text] of Object.entries(aliases)) {
    if (text.length > limits.maxLength) throw new QueryLimitError("maxLength", limits.maxLength);
    map.set(key.startsWith("@") ? key.slice(1) : key, parseComplete(new ParserState(text, limits)));
  }
  return map;
}

/**
 * Parses a `$filter` value (already percent-decoded): the whole text must be one common
 * expression. Aliases in `options.aliases` are parsed and substituted (an alias without a value
 * is `null`); without `options.aliases`, `@p` stays an `Alias` node. Throws `ODataSyntaxError`
 * with the position and what was expected, or `QueryLimitError` when a limit is exceeded.
 *
 * @example
 * ```ts
 * import { parseFilter } from "./expression.ts";
 * const ast = parseFilter("UnitPrice gt 20 and contains(ProductName,'Ch')");
 * ast.kind; // "Binary"
 * parseFilter("Name eq @p", { aliases: { p: "'Chai'" } });
 * // { kind: "Binary", operator: "eq", left: <Name>, right: { kind: "Literal", type: "string", value: "Chai" } }
 * ```
 */
export function parseFilter(text: string, options?: ParseOptions): FilterExpression {
  expectText(text, "parseFilter()", "the $filter text");
  checkParseOptions(options, "parseFilter()");
  return parseWhole(text, options);
}

/**
 * Parses a whole text as one common expression (the same as {@linkcode parseFilter}, named for
 * `$orderby`/`$compute`-style callers).
 *
 * @example
 * ```ts
 * import { parseExpressionText } from "./expression.ts";
 * parseExpressionText("Price mul Quantity").kind; // "Binary"
 * ```
 */
export function parseExpressionText(text: string, options?: ParseOptions): Expression {
  expectText(text, "parseExpressionText()", "the expression text");
  checkParseOptions(options, "parseExpressionText()");
  return parseWhole(text, options);
}

function parseWhole(text: string, options: ParseOptions | undefined): Expression {
  const limits = resolveLimits(options?.limits);
  if (text.length > limits.maxLength) throw new QueryLimitError("maxLength", limits.maxLength);
  const aliases = options?.aliases === undefined
    ? undefined
    : parseAliasValues(options.aliases, limits);
  return parseComplete(new ParserState(text, limits, { aliases }));
}
