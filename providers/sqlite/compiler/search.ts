/**
 * `$search`: a term matches a row when any searchable field contains it. Matching is
 * case-insensitive with Unicode case folding (JavaScript `toLowerCase`, through the `oar_lower`
 * function the driver registers, see `udf.ts`); a phrase matches as one substring. Searchable
 * fields are those with `searchable` true whose values are stored as text (string, guid);
 * other types are not searched. Null fields match nothing, and `NOT` is two-valued.
 *
 * @module
 */

import type { SearchExpression } from "../../../src/odata/ast.ts";
import { dispatch, notSupported, type Scope } from "./context.ts";
import { type Fragment, join, param, raw, sql } from "./fragment.ts";

const SEARCH_OPERATORS: Readonly<Record<string, string>> = { AND: "AND", OR: "OR" };

type SearchHandler<N> = (node: N, scope: Scope) => Fragment;

const SEARCH: {
  readonly [K in SearchExpression["kind"]]: SearchHandler<Extract<SearchExpression, { kind: K }>>;
} = {
  SearchTerm: (node, scope) => {
    const fields = scope.entity!.fieldList.filter((f) =>
      f.searchable && (f.type === "string" || f.type === "guid")
    );
    const columns = fields.map((f) => scope.properties.get(f.name)!.sql);
    if (columns.length === 0) return raw("0");
    const needle = node.text.toLowerCase();
    const tests = columns.map((c) =>
      sql`(instr(oar_lower(COALESCE(${c}, '')), ${param(needle)}) > 0)`
    );
    return sql`(${join(tests, " OR ")})`;
  },
  SearchNot: (node, scope) => sql`(NOT ${compileSearchNode(node.operand, scope)})`,
  SearchBinary: (node, scope) =>
    sql`(${compileSearchNode(node.left, scope)} ${
      raw(dispatch(SEARCH_OPERATORS, node.operator, "search operator"))
    } ${compileSearchNode(node.right, scope)})`,
};

function compileSearchNode(node: SearchExpression, scope: Scope): Fragment {
  return (dispatch(SEARCH, node?.kind, "search node") as SearchHandler<SearchExpression>)(
    node,
    scope,
  );
}

/**
 * Compiles a `$search` expression over the scope's entity to a WHERE condition.
 *
 * @example
 * ```ts
 * import { compileSearch } from "./search.ts";
 * import { entityScope } from "./context.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const scope = entityScope(resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } }), "t0");
 * compileSearch({ kind: "SearchTerm", text: "Tea", phrase: false }, scope).params; // ["tea"]
 * ```
 */
export function compileSearch(search: SearchExpression, scope: Scope): Fragment {
  if (scope.entity === undefined) throw notSupported("$search after groupby or aggregate");
  return compileSearchNode(search, scope);
}
