/**
 * Prints a `$search` AST as search text that parses back to the same AST.
 *
 * @module
 */

import type { SearchExpression, SearchTerm } from "../ast.ts";

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
  return write(expr);
}

/** Binding strength: OR 1, AND 2, NOT and terms 3. */
function strength(expr: SearchExpression): number {
  return expr.kind === "SearchBinary" ? (expr.operator === "OR" ? 1 : 2) : 3;
}

function write(expr: SearchExpression): string {
  switch (expr.kind) {
    case "SearchTerm":
      return writeTerm(expr);
    case "SearchNot": {
      const operand = write(expr.operand);
      return strength(expr.operand) < 3 ? `NOT (${operand})` : `NOT ${operand}`;
    }
    case "SearchBinary": {
      const own = strength(expr);
      let left = write(expr.left);
      let right = write(expr.right);
      // Left-associative: a same-level right operand needs parentheses to keep its shape.
      if (strength(expr.left) < own) left = `(${left})`;
      if (strength(expr.right) <= own) right = `(${right})`;
      return `${left} ${expr.operator} ${right}`;
    }
  }
}

function writeTerm(term: SearchTerm): string {
  const text = term.text;
  if (!term.phrase && isPlainWord(text)) {
    return text === "AND" || text === "OR" || text === "NOT" ? `(${text})` : text;
  }
  if (text === "") return "''";
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
