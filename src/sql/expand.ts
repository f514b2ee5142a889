/**
 * One batched query per expanded navigation property: the related rows of many parents at once
 * (`WHERE fk IN (...)`, or `(a, b) IN (VALUES (...), ...)` for composite keys), with the nested
 * `$filter`, `$search`, `$compute`, `$orderby` and `$select`. Nested `$top`/`$skip` apply per
 * parent through `ROW_NUMBER() OVER (PARTITION BY fk ORDER BY ...)`. The link fields of the
 * related side are always fetched (hidden when not selected) so the executor can stitch rows.
 *
 * @module
 */

import type { ODataQuery } from "../odata/ast.ts";
import { type EntityMetadata, resolveRelation, type SchemaResolver } from "../model/schema.ts";
import type { ReadRequest } from "../provider/provider.ts";
import { compiling, invalidArgument, notSupported, type Scope } from "./context.ts";
import type { SqlDialect } from "./dialect.ts";
import { AliasGenerator, type Fragment, ident, join, raw, sql } from "./fragment.ts";
import { addWhere, orderKeys, render } from "./level.ts";
import {
  type CompiledRead,
  filteredLevel,
  orderedLevel,
  projection,
  type ResultColumn,
} from "./select.ts";

/**
 * What one expansion query needs.
 *
 * @example
 * ```ts
 * import type { ExpansionRequest } from "./expand.ts";
 * import type { EntityMetadata, SchemaResolver } from "../model/schema.ts";
 * declare const schema: SchemaResolver, orders: EntityMetadata;
 * const request: ExpansionRequest = { schema, parent: orders, navigation: "Order_Details", query: { top: 2 }, keys: [[1], [2]] };
 * ```
 */
export interface ExpansionRequest {
  /** Resolves the navigation target. */
  readonly schema: SchemaResolver;
  /** The entity whose rows are being expanded. */
  readonly parent: EntityMetadata;
  /** The navigation property. */
  readonly navigation: string;
  /** The nested options (`$levels` and `$expand` already taken out by the executor). */
  readonly query: ODataQuery;
  /** The parents' values of the relation's local fields, one tuple per parent (no nulls), as
   * read from their rows (the driver's form). */
  readonly keys: readonly (readonly unknown[])[];
  /** Further fields of the related entity to fetch (for its own nested expansions). */
  readonly keyFields?: readonly string[];
}

function linkIn(
  dialect: SqlDialect,
  scope: Scope,
  fields: readonly string[],
  keys: readonly (readonly unknown[])[],
): Fragment {
  const columns = fields.map((f) => scope.properties.get(f)!);
  if (columns.length === 1) {
    const column = columns[0]!;
    const type = column.type === "null" ? "string" : column.type;
    return dialect.keyList(column.sql, type, keys.map((k) => k[0]!));
  }
  const types = columns.map((c) => c.type === "null" ? "string" : c.type);
  const tuples = keys.map((k) =>
    sql`(${join(k.map((v, i) => dialect.parameter(v, types[i]!)), ", ")})`
  );
  return sql`(${join(columns.map((c) => c.sql), ", ")}) IN (VALUES ${join(tuples, ", ")})`;
}

/**
 * Compiles the query fetching the related rows of a batch of parents.
 *
 * @example
 * ```ts
 * import { compileExpansion } from "./expand.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import type { EntityMetadata, SchemaResolver } from "../model/schema.ts";
 * declare const dialect: SqlDialect, schema: SchemaResolver, orders: EntityMetadata;
 * compileExpansion(dialect, { schema, parent: orders, navigation: "Order_Details", query: {}, keys: [[10248]] });
 * ```
 */
export function compileExpansion(dialect: SqlDialect, request: ExpansionRequest): CompiledRead {
  return compiling(dialect, () => expansionStatement(dialect, request));
}

/** The relation of an expansion request, its keys checked. */
function checkedRelation(request: ExpansionRequest): ReturnType<typeof resolveRelation> {
  const { schema, parent, navigation, query, keys } = request;
  const resolved = resolveRelation(schema, parent, navigation);
  if (query.apply !== undefined) throw notSupported("$apply inside $expand");
  const width = resolved.relation.targetFields.length;
  if (keys.some((k) => k.length !== width || k.some((v) => v === null))) {
    throw invalidArgument(
      `Parent keys of ${parent.name}.${navigation} must be complete non-null tuples`,
    );
  }
  if (keys.length === 0) throw invalidArgument("An expansion needs at least one parent key");
  return resolved;
}

/** The name of the count column of {@linkcode compileExpansionCount}'s statement. */
const COUNT_COLUMN = "$count";

/**
 * Compiles the count of the related rows per parent for `$expand=Nav($count=true)` and
 * `Nav/$count`: `SELECT link..., COUNT(*) ... WHERE link IN (...) GROUP BY link` restricted by
 * the nested `$filter` and `$search` (nested `$top`/`$skip`/`$orderby` do not change a count).
 * The columns are the relation's target fields (hidden) and the count, named `$count`.
 *
 * @example
 * ```ts
 * import { compileExpansionCount } from "./expand.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * import type { EntityMetadata, SchemaResolver } from "../model/schema.ts";
 * declare const dialect: SqlDialect, schema: SchemaResolver, orders: EntityMetadata;
 * compileExpansionCount(dialect, { schema, parent: orders, navigation: "Order_Details", query: {}, keys: [[10248]] });
 * ```
 */
export function compileExpansionCount(
  dialect: SqlDialect,
  request: ExpansionRequest,
): CompiledRead {
  return compiling(dialect, () => {
    const { relation, target } = checkedRelation(request);
    const { filter, search, compute } = request.query;
    const aliases = new AliasGenerator();
    let level = filteredLevel(dialect, {
      entity: target,
      schema: request.schema,
      query: { filter, search, compute },
    }, aliases);
    const fields = relation.targetFields;
    level = addWhere(level, linkIn(dialect, level.scope, fields, request.keys), aliases);
    const columns: ResultColumn[] = [];
    const projected: { sql: Fragment; alias: string }[] = [];
    for (const field of fields) {
      const typed = level.scope.properties.get(field)!;
      const type = typed.type === "null" ? "string" : typed.type;
      columns.push({ alias: field, path: [field], type, hidden: true });
      projected.push({ sql: dialect.output(typed.sql, typed.type), alias: field });
    }
    columns.push({ alias: COUNT_COLUMN, path: [COUNT_COLUMN], type: "integer", hidden: false });
    projected.push({ sql: raw("COUNT(*)"), alias: COUNT_COLUMN });
    const statement = render({ ...level, orderBy: [], tiebreak: [] }, projected, {
      ordered: false,
      groupBy: fields.length,
    });
    return { sql: dialect.finish(statement.sql), params: statement.params, columns };
  });
}

function expansionStatement(dialect: SqlDialect, request: ExpansionRequest): CompiledRead {
  const { schema, query, keys } = request;
  const { relation, target } = checkedRelation(request);
  return keyedStatement(dialect, {
    request: { entity: target, schema, query },
    linkFields: relation.targetFields,
    keys,
    keyFields: request.keyFields,
  });
}

/**
 * A read restricted to rows whose link fields hold one of the key tuples: one level of a
 * batched `$expand`, however the provider found the parents' keys.
 *
 * @example
 * ```ts
 * import type { KeyedRead } from "./expand.ts";
 * import type { ReadRequest } from "../provider/provider.ts";
 * declare const request: ReadRequest;
 * const keyed: KeyedRead = { request, linkFields: ["OrderID"], keys: [[10248], [10249]] };
 * ```
 */
export interface KeyedRead {
  /** The related entity and the nested options (`$levels` and `$expand` taken out). */
  readonly request: ReadRequest;
  /** The fields of the related entity that hold the parents' keys. */
  readonly linkFields: readonly string[];
  /** One tuple of link values per parent, in the driver's form (no nulls). */
  readonly keys: readonly (readonly unknown[])[];
  /** Further fields to fetch (hidden unless selected). */
  readonly keyFields?: readonly string[];
}

/**
 * Compiles a {@linkcode KeyedRead}: nested `$top`/`$skip` page each parent's rows.
 *
 * @example
 * ```ts
 * import { compileKeyedRead, type KeyedRead } from "./expand.ts";
 * import type { SqlDialect } from "./dialect.ts";
 * declare const dialect: SqlDialect, keyed: KeyedRead;
 * compileKeyedRead(dialect, keyed).columns;
 * ```
 */
export function compileKeyedRead(dialect: SqlDialect, keyed: KeyedRead): CompiledRead {
  return compiling(dialect, () => keyedStatement(dialect, keyed));
}

function keyedStatement(dialect: SqlDialect, keyed: KeyedRead): CompiledRead {
  const { request: childRequest, linkFields, keys } = keyed;
  const query = childRequest.query;
  if (query.count !== undefined && query.count) throw notSupported("$count inside $expand");
  if (query.levels !== undefined) throw notSupported("$levels here");
  if (query.skiptoken !== undefined || query.deltatoken !== undefined) {
    throw notSupported("tokens inside $expand");
  }
  if (keys.length === 0) throw invalidArgument("An expansion needs at least one parent key");
  const aliases = new AliasGenerator();
  let level = filteredLevel(dialect, childRequest, aliases);
  const link = linkIn(dialect, level.scope, linkFields, keys);
  level = addWhere(level, link, aliases);
  level = orderedLevel(level, childRequest, aliases);
  const keyFields = [...new Set([...linkFields, ...(keyed.keyFields ?? [])])];
  const { columns, sql: projected } = projection(level, query.select, keyFields);
  if (query.top === undefined && (query.skip === undefined || query.skip === 0)) {
    const statement = render(level, projected, { ordered: true });
    return { sql: dialect.finish(statement.sql), params: statement.params, columns };
  }
  const skip = query.skip ?? 0;
  for (const [name, n] of [["top", query.top ?? 0], ["skip", skip]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw invalidArgument(`${name} must be a non-negative integer, got ${n}`);
    }
  }
  // Per-parent paging: number the rows of each parent in the requested order.
  const partition = join(linkFields.map((f) => level.scope.properties.get(f)!.sql), ", ");
  const rowNumber = sql`ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${
    join(orderKeys(level), ", ")
  })`;
  const inner = render(level, [...projected, { sql: rowNumber, alias: "$rn" }], { ordered: false });
  const w = aliases.next();
  const rn = ident(w, "$rn");
  const count = (n: number) => dialect.parameter(BigInt(n), "integer");
  const conditions = [sql`${rn} > ${count(skip)}`];
  if (query.top !== undefined) conditions.push(sql`${rn} <= ${count(skip + query.top)}`);
  const outer = join(projected.map((p) => sql`${ident(w, p.alias)} AS ${ident(p.alias)}`), ", ");
  const statement = sql`SELECT ${outer} FROM (${inner}) AS ${ident(w)} WHERE ${
    join(conditions, " AND ")
  } ORDER BY ${rn}`;
  return { sql: dialect.finish(statement.sql), params: statement.params, columns };
}
