/**
 * `$search` for MongoDB: escaped, case-insensitive regular expressions over the searchable
 * string fields (what every deployment runs), or the collection's text index when it has one
 * and the expression has a `$text` form: words (any of them), phrases and `AND` of terms (all of
 * them, as phrases), each optionally with `NOT` terms. Other shapes use regular expressions.
 *
 * @module
 */

import type { SearchExpression } from "../../../src/odata/ast.ts";
import type { EntityMetadata } from "../../../src/model/schema.ts";
import type { Document } from "../values.ts";
import { escapeRegex, notSupported } from "./expression.ts";

/**
 * `$search` as a filter document: a term matches when any searchable string field contains it,
 * case-insensitively (escaped regular expressions only).
 *
 * @example
 * ```ts
 * import { compileSearch } from "./search.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const e = resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } });
 * compileSearch({ kind: "SearchTerm", text: "tea", phrase: false }, e);
 * ```
 */
export function compileSearch(search: SearchExpression, entity: EntityMetadata): Document {
  switch (search.kind) {
    case "SearchTerm": {
      const fields = entity.fieldList.filter((f) =>
        f.searchable && (f.type === "string" || f.type === "guid")
      );
      if (fields.length === 0) return { $expr: { $literal: false } };
      const regex = escapeRegex(search.text);
      return { $or: fields.map((f) => ({ [f.column]: { $regex: regex, $options: "i" } })) };
    }
    case "SearchNot":
      return { $nor: [compileSearch(search.operand, entity)] };
    case "SearchBinary":
      return {
        [search.operator === "AND" ? "$and" : "$or"]: [
          compileSearch(search.left, entity),
          compileSearch(search.right, entity),
        ],
      };
    default:
      throw notSupported("this $search expression");
  }
}

/**
 * Terms of a search in `$text` syntax, or undefined when `$text` cannot say it. `all`: every
 * term must match (under an AND), so words become phrases; a NOT is only meaningful there.
 */
function textTerms(search: SearchExpression, all: boolean): string[] | undefined {
  switch (search.kind) {
    case "SearchTerm":
      if (search.text.includes('"') || search.text.startsWith("-")) return undefined;
      return [search.phrase || all ? `"${search.text}"` : search.text];
    case "SearchNot": {
      const operand = search.operand;
      if (!all || operand.kind !== "SearchTerm" || operand.phrase) return undefined;
      if (/[\s"]/.test(operand.text) || operand.text.startsWith("-")) return undefined;
      return [`-${operand.text}`];
    }
    case "SearchBinary": {
      if (search.operator === "OR" && all) return undefined; // an OR inside an AND
      const inner = all || search.operator === "AND";
      const left = textTerms(search.left, inner);
      const right = left && textTerms(search.right, inner);
      return left && right ? [...left, ...right] : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * `$search` as a `$text` query, or undefined when the expression has no `$text` form (or only
 * negations).
 *
 * @example
 * ```ts
 * import { textSearch } from "./search.ts";
 * textSearch({ kind: "SearchTerm", text: "tea", phrase: false }); // { $text: { $search: "tea" } }
 * ```
 */
export function textSearch(search: SearchExpression): Document | undefined {
  const terms = textTerms(search, search.kind === "SearchBinary" && search.operator === "AND");
  if (terms === undefined || terms.every((t) => t.startsWith("-"))) return undefined;
  // $text ORs words but ANDs phrases: a mix of both would change the meaning.
  const positive = terms.filter((t) => !t.startsWith("-"));
  const phrases = positive.filter((t) => t.startsWith('"'));
  if (phrases.length > 0 && phrases.length < positive.length) return undefined;
  return { $text: { $search: terms.join(" ") } };
}
