/**
 * Prints a `$search` AST as search text that parses back to the same AST.
 *
 * @module
 */

import type { SearchExpression, SearchTerm } from "../ast.ts";
import { invalidArgument, show } from "../arguments.ts";
import { asModuleError } from "../validate.ts";

/**
 * Serializes a search expression (not percent-encoded). Binary operators are always written
 * out (`a AND b`), parentheses are added only where precedence or grouping needs them, and the
 * plain words `AND`, `OR` and `NOT` are written as `(AND)` so they are not read as operators.
 * A word that could not be read back as a word (it contains spaces, quotes or parentheses, as
 * only hand-built ASTs can) is written as a phrase.
 *
 * @example
 * ```ts
 * import { serializeSearch } from "./search.ts";
 * serializeSearch({
 *   kind: "SearchBinary",
 *   operator: "OR",
 *   left: { kind: "SearchTerm", text: "blue", phrase: false },
 *   right: { kind: "SearchTerm", text: "navy blue", phrase: true },
 * }); // 'blue OR "navy blue"'
 * ```
 */
export function serializeSearch(expr: SearchExpression): string {
  if (typeof expr !== "object" || expr === null) {
    throw invalidArgument(
      `serializeSearch() takes a search node such as { kind: "SearchTerm", text: "blue", ` +
        `phrase: false }, got ${show(expr)}`,
      { value: show(expr) },
    );
  }
  return searchText(expr, undefined);
}

/**
 * Prints a search expression. `inExpression` is set for the `$search` of a `$count(...)` segment
 * inside a common expression, where a raw `;` ends a search word. Only a query string can hold
 * such a word (with the `;` written `%3B`): when `inExpression` has a `semicolonMark`, the `;` of
 * a word is written as that mark, which the query serializer percent-encodes; elsewhere such a
 * word throws `INVALID_ARGUMENT` (writing it as a phrase would change it). Unknown node kinds and
 * operators throw `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { searchText } from "./search.ts";
 * searchText({ kind: "SearchTerm", text: "a;b", phrase: false }, undefined); // "a;b"
 * ```
 */
export function searchText(
  expr: SearchExpression,
  inExpression: SearchContext | undefined,
): string {
  // The `'...'` form of an empty term is only read at the start of a search expression.
  if (expr?.kind === "SearchTerm" && expr.text === "") return "''";
  try {
    return write(expr, inExpression);
  } catch (error) {
    throw asModuleError(error, "serializeSearch()");
  }
}

/**
 * Where a search expression is printed inside a common expression (`$count($search=...)`): the
 * mark to write for the `;` of a word (query strings only) and the count of marks written.
 */
export interface SearchContext {
  /** The char written for a `;` in a word; unset where no `;` can be written. */
  readonly semicolonMark: string | undefined;
  /** How many marks have been written. */
  marks: number;
}

/** Binding strength: OR 1, AND 2, NOT and terms 3. */
function strength(expr: SearchExpression): number {
  return expr.kind === "SearchBinary" ? (expr.operator === "OR" ? 1 : 2) : 3;
}

function write(expr: SearchExpression, inExpression: SearchContext | undefined): string {
  switch (expr?.kind) {
    case "SearchTerm":
      return writeTerm(expr, inExpression);
    case "SearchNot": {
      const operand = write(expr.operand, inExpression);
      return strength(expr.operand) < 3 ? `NOT (${operand})` : `NOT ${operand}`;
    }
    case "SearchBinary": {
      if (expr.operator !== "AND" && expr.operator !== "OR") {
        throw invalidArgument(`Unknown search operator ${show(expr.operator)}; expected AND or OR`);
      }
      const own = strength(expr);
      let left = write(expr.left, inExpression);
      let right = write(expr.right, inExpression);
      // Left-associative: a same-level right operand needs parentheses to keep its shape.
      if (strength(expr.left) < own) left = `(${left})`;
      if (strength(expr.right) <= own) right = `(${right})`;
      return `${left} ${expr.operator} ${right}`;
    }
    default: {
      const node: unknown = expr;
      throw invalidArgument(
        typeof node === "object" && node !== null
          ? `Unknown search node kind ${
            show((node as { kind: unknown }).kind)
          }; expected SearchTerm, SearchNot or SearchBinary`
          : `Expected a search node (SearchTerm, SearchNot or SearchBinary), got ${show(node)}`,
      );
    }
  }
}

function writeTerm(term: SearchTerm, inExpression: SearchContext | undefined): string {
  const text = term.text;
  if (typeof text !== "string") {
    throw invalidArgument(`A search term needs its text as a string, got ${show(text)}`);
  }
  if (!term.phrase && isPlainWord(text)) {
    if (inExpression !== undefined && text.includes(";")) {
      const semicolonMark = inExpression.semicolonMark;
      if (semicolonMark === undefined) {
        throw invalidArgument(
          `The search word ${show(text)} holds a ";", which ends a word inside $count(...) ` +
            "expression text; only a query string can hold it (serializeQuery writes it as %3B)",
        );
      }
      const parts = text.split(";");
      inExpression.marks += parts.length - 1;
      return parts.join(semicolonMark);
    }
    return text === "AND" || text === "OR" || text === "NOT" ? `(${text})` : text;
  }
  if (text === "") {
    throw invalidArgument("An empty search term can only be the whole search expression");
  }
  let out = '"';
  let chunk = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 92) {
      out += text.slice(chunk, i) + "\\";
      chunk = i;
    }
  }
  return out + text.slice(chunk) + '"';
}

/** True if `text` reads back as one search word. */
function isPlainWord(text: string): boolean {
  if (text === "" || text.charCodeAt(0) === 39) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 34 || c === 40 || c === 41) {
      return false;
    }
  }
  return true;
}
