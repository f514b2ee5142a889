/**
 * `$search`: a term matches a row when any searchable field contains it. Matching is
 * case-insensitive with Unicode case folding (the term is lower-cased here with JavaScript's
 * `toLowerCase`, the column by the dialect's `searchTerm`) and literal; a phrase matches as one
 * substring. Searchable
 * fields are those with `searchable` true whose values are stored as text (string, guid);
 * other types are not searched. Null fields match nothing, and `NOT` is two-valued.
 *
 * @module
 */

import type { SearchExpression } from "../odata/ast.ts";
import { dispatch, notSupported, type Scope } from "./context.ts";
import { type Fragment, join, raw, sql } from "./fragment.ts";
import type { SqlDialect } from "./dialect.ts";

const SEARCH_OPERATORS: Readonly<Record<string, string>> = { AND: "AND", OR: "OR" };

type SearchHandler<N> = (node: N, scope: Scope, dialect: SqlDialect) => Fragment;

const SEARCH: {
  readonly [K in SearchExpression["kind"]]: SearchHandler<Extract<SearchExpression, { kind: K }>>;
} = {
  SearchTerm: (node, scope, dialect) => {
    const fields = scope.entity!.fieldList.filter((f) =>
      f.searchable && (f.type === "string" || f.type === "guid")
    );
    const columns = fields.map((f) => scope.properties.get(f.name)!.sql);
    if (columns.length === 0) return raw(dialect.booleans.false);
    const needle = node.text.toLowerCase();
    const tests = columns.map((c) => dialect.searchTerm(c, needle));
    return sql`(${join(tests, " OR ")})`;
  },
  SearchNot: (node, scope, dialect) =>
    sql`(NOT ${compileSearchNode(node.operand, scope, dialect)})`,
  SearchBinary: (node, scope, dialect) =>
    sql`(${compileSearchNode(node.left, scope, dialect)} ${
      raw(dispatch(SEARCH_OPERATORS, node.operator, "search operator"))
    } ${compileSearchNode(node.right, scope, dialect)})`,
};

function compileSearchNode(node: SearchExpression, scope: Scope, dialect: SqlDialect): Fragment {
  return (dispatch(SEARCH, node?.kind, "search node") as SearchHandler<SearchExpression>)(
    node,
    scope,
    dialect,
  );
}

/**
 * Compiles a `$search` expression over the scope's entity to a WHERE condition.
 *
 * @example
 * ```ts
 * import { compileSearch } from "./search.ts";
 * import { entityScope } from "./context.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const scope = entityScope(resolveEntity("P", { fields: { Id: { type: "integer", primaryKey: true }, Name: { type: "string" } } }), "t0");
 * compileSearch({ kind: "SearchTerm", text: "Tea", phrase: false }, scope, dialect).params; // ["tea"]
 * ```
 */
export function compileSearch(
  search: SearchExpression,
  scope: Scope,
  dialect: SqlDialect,
): Fragment {
  if (scope.entity === undefined) throw notSupported("$search after groupby or aggregate");
  return compileSearchNode(search, scope, dialect);
}
