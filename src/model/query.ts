/**
 * The immutable Active Record query builder. Each call returns a new query over a new AST
 * (`ODataQuery`); nothing concatenates OData or SQL text.
 *
 * @module
 */

import type {
  ExpandItem,
  Expression,
  ODataQuery,
  OrderByItem,
  SearchExpression,
} from "../odata/ast.ts";
import { and, isExpression, or } from "../odata/builders.ts";
import { parseFilter } from "../odata/parser/expression.ts";
import { parseQuery } from "../odata/parser/query.ts";
import { parseSearchText } from "../odata/parser/search.ts";
import { serializeQuery } from "../odata/serializer/query.ts";
import { ODataActiveRecordError } from "../errors/errors.ts";
import type { ExecutionOptions, Row } from "../provider/provider.ts";
import {
  assertBuilderLimits,
  type CheckedOperator,
  conditionFromArgs,
  type ConditionGroup,
  type Conditions,
  type OperatorValue,
  resolveFieldPath,
} from "./conditions.ts";
import type { EntityModel } from "./model.ts";
import type { RecordOf } from "./record.ts";
import type {
  DefaultShape,
  EntityShape,
  FieldInput,
  FieldName,
  NavigationName,
  NumericFieldName,
  Simplify,
} from "./types.ts";

/** The record type after `select(fields)`: the chosen fields, plus what `expand` added. */
export type Selected<T extends Row, S extends EntityShape, K extends string> = Simplify<
  & Pick<S["record"], K & keyof S["record"]>
  & Omit<T, keyof S["record"]>
>;

/** The shape of the target of navigation `N`. */
export type TargetShape<S extends EntityShape, N extends string> = S["navigations"][N]["shape"];

/** What an expanded navigation property holds: a record (or null), or an array of records. */
export type Expanded<S extends EntityShape, N extends string, U extends Row> =
  S["navigations"][N]["many"] extends true ? RecordOf<U>[]
    : S["navigations"][N]["many"] extends false ? RecordOf<U> | null
    : RecordOf<U> | RecordOf<U>[] | null;

/** The record type after `expand(N)`. */
export type WithExpanded<T extends Row, S extends EntityShape, N extends string, U extends Row> =
  Simplify<Omit<T, N> & { [P in N]: Expanded<S, N, U> }>;

/** The result of `find()`. */
export interface FindResult<T extends Row> {
  /** The records. */
  readonly data: RecordOf<T>[];
  /** Total matching rows ignoring limit/offset, when requested with `withCount()`/`$count=true`. */
  readonly count?: number;
  /** Non-fatal remarks about the query. */
  readonly warnings: string[];
  /** Execution facts. */
  readonly metadata: { readonly executionTime: number };
}

/** Options of `update()`/`delete()` on a query. */
export interface BulkWriteOptions extends ExecutionOptions {
  /** Allow the write without a filter (every row). @default {false} */
  readonly all?: boolean;
}

/**
 * An immutable query over one entity. Obtain one from a model (`Product.where(...)`); the model
 * itself is the root query.
 *
 * @example
 * ```ts ignore
 * const { data } = await Product.where("UnitPrice", "gt", 20).orderBy("ProductName").limit(10).find();
 * ```
 */
export class Query<T extends Row = Row, S extends EntityShape = DefaultShape<T>> {
  readonly #model: EntityModel<Row, S> | undefined;
  /** The query AST this builder stands for. */
  readonly ast: ODataQuery;

  /** Internal: use the model's methods to start a query. */
  constructor(model: EntityModel<Row, S> | undefined, ast: ODataQuery) {
    this.#model = model;
    this.ast = ast;
  }

  /** The model this query reads (the model itself for the root query). */
  protected get target(): EntityModel<Row, S> {
    return this.#model ?? (this as unknown as EntityModel<Row, S>);
  }

  #with<U extends Row = T>(changes: Partial<Record<keyof ODataQuery, unknown>>): Query<U, S> {
    return new Query<U, S>(this.target, { ...this.ast, ...changes } as ODataQuery);
  }

  #andFilter(expression: Expression): Query<T, S> {
    return this.#with({
      filter: this.ast.filter === undefined ? expression : and(this.ast.filter, expression),
    });
  }

  /** `#andFilter` for conditions made in code: the parser's node and depth limits apply. */
  #andBuilt(expression: Expression): Query<T, S> {
    const query = this.#andFilter(expression);
    assertBuilderLimits(query.ast.filter!);
    return query;
  }

  /**
   * Adds a condition with `and`: `where("UnitPrice", "gt", 20)`, `where("Discontinued", false)`,
   * `where({ CategoryID: 1 })`, or a group `where(q => q.where(...).or(...))`.
   */
  where<K extends FieldName<S>, const O extends string>(
    field: K,
    operator: O & CheckedOperator<O>,
    value: OperatorValue<S, K, O>,
  ): Query<T, S>;
  /** Adds an equality with `and` (an array means `in`). */
  where<K extends FieldName<S>>(
    field: K,
    value: FieldInput<S, K> | readonly (FieldInput<S, K> | null)[] | null,
  ): Query<T, S>;
  /** Adds a parenthesised group with `and`: `where((q) => q.where(...).or(...))`. */
  where(group: ConditionGroup<S>): Query<T, S>;
  /** Adds an expression node (made with the builders) with `and`. */
  where(expression: Expression): Query<T, S>;
  /** Adds equalities with `and`: `where({ CategoryID: 1, Discontinued: false })`. */
  where(conditions: Conditions<S>): Query<T, S>;
  where(...args: unknown[]): Query<T, S> {
    return this.#andBuilt(conditionFromArgs(this.target.scope, args));
  }

  /** Adds a condition with `or` to everything so far: `(previous) or condition`. */
  or<K extends FieldName<S>, const O extends string>(
    field: K,
    operator: O & CheckedOperator<O>,
    value: OperatorValue<S, K, O>,
  ): Query<T, S>;
  /** Adds an equality with `or` (an array means `in`). */
  or<K extends FieldName<S>>(
    field: K,
    value: FieldInput<S, K> | readonly (FieldInput<S, K> | null)[] | null,
  ): Query<T, S>;
  /** Adds a parenthesised group with `or`. */
  or(group: ConditionGroup<S>): Query<T, S>;
  /** Adds an expression node with `or`. */
  or(expression: Expression): Query<T, S>;
  /** Adds equalities with `or`. */
  or(conditions: Conditions<S>): Query<T, S>;
  or(...args: unknown[]): Query<T, S> {
    const next = conditionFromArgs(this.target.scope, args);
    const filter = this.ast.filter === undefined ? next : or(this.ast.filter, next);
    return this.#with({ filter: assertBuilderLimits(filter) });
  }

  /**
   * Adds a `$filter` expression with `and`: OData text (`filter("UnitPrice gt 20")`) or an AST
   * made with the builders (`filter(gt(prop("UnitPrice"), literal(20)))`).
   */
  filter(expression: string | Expression): Query<T, S> {
    if (typeof expression === "string") return this.#andFilter(parseFilter(expression));
    if (isExpression(expression)) return this.#andBuilt(expression);
    throw invalid("filter() takes OData $filter text or an expression node", {
      filter: expression,
    });
  }

  /** Restricts the fields returned; the records' type keeps only those fields. */
  select<const K extends FieldName<S>>(fields: readonly K[]): Query<Selected<T, S, K>, S>;
  /** Restricts the fields returned: `select("ProductID", "ProductName")`. */
  select<const K extends FieldName<S>>(field: K, ...more: K[]): Query<Selected<T, S, K>, S>;
  select(fields: readonly string[] | string, ...more: string[]): unknown {
    if (typeof fields !== "string" && !Array.isArray(fields)) {
      throw invalid('select() takes field names: select(["A", "B"]) or select("A", "B")', {
        fields,
      });
    }
    const list = typeof fields === "string" ? [fields, ...more] : [...fields, ...more];
    for (const field of list) resolveFieldPath(this.target.scope, field);
    return this.#with<Row>({
      select: list.map((name) => ({
        segments: name.split("/").map((step: string) => ({
          kind: "Property" as const,
          name: step,
        })),
      })),
    });
  }

  /** Adds a sort key; call again for more keys. */
  orderBy(field: FieldName<S>, direction: "asc" | "desc" = "asc"): Query<T, S> {
    if (direction !== "asc" && direction !== "desc") {
      throw new ODataActiveRecordError(
        "INVALID_ARGUMENT",
        `orderBy direction must be "asc" or "desc"`,
        {
          context: { direction },
        },
      );
    }
    const { node } = resolveFieldPath(this.target.scope, field);
    const item: OrderByItem = { expression: node, direction };
    return this.#with({ orderby: [...(this.ast.orderby ?? []), item] });
  }

  /** Returns at most `n` rows (`$top`). */
  limit(n: number): Query<T, S> {
    return this.#with({ top: nonNegativeInteger("limit", n) });
  }

  /** Skips `n` rows (`$skip`). */
  offset(n: number): Query<T, S> {
    return this.#with({ skip: nonNegativeInteger("offset", n) });
  }

  /** Also returns the total count in `find()`. */
  withCount(): Query<T, S> {
    return this.#with({ count: true });
  }

  /**
   * Expands a navigation property; the callback shapes the nested query (select, where,
   * orderBy, limit, expand) on the target entity.
   */
  expand<
    N extends NavigationName<S>,
    U extends Row = TargetShape<S, N>["record"],
  >(
    navigation: N,
    shape?: (
      q: Query<TargetShape<S, N>["record"], TargetShape<S, N>>,
    ) => Query<U, TargetShape<S, N>>,
  ): Query<WithExpanded<T, S, N, U>, S>;
  expand(navigation: string, shape?: (q: never) => unknown): unknown {
    const entity = this.target.metadata;
    if (typeof navigation !== "string") {
      throw invalid("expand() takes a navigation property name", { navigation });
    }
    if (!entity.relations.has(navigation)) throw this.target.unknownField(navigation);
    let item: ExpandItem = { path: [navigation] };
    if (shape !== undefined) {
      const targetModel = this.target.relatedModel(navigation);
      const nested = shape(targetModel as never);
      if (!(nested instanceof Query)) {
        throw new ODataActiveRecordError(
          "INVALID_ARGUMENT",
          "An expand() callback must return a query",
          {
            context: { navigation },
          },
        );
      }
      item = { path: [navigation], options: nested.ast };
    }
    const others = (this.ast.expand ?? []).filter((e) => e.path.join("/") !== navigation);
    return this.#with<Row>({ expand: [...others, item] });
  }

  /** Free-text search over the entity's searchable fields (`$search` syntax). */
  search(text: string): Query<T, S> {
    if (typeof text !== "string") throw invalid("search() takes the search text", { text });
    const search: SearchExpression = parseSearchText(text);
    return this.#with({ search });
  }

  /** Applies a whole OData query string; options it gives replace those set before. */
  query(odata: string | URLSearchParams): Query<T, S> {
    if (typeof odata !== "string" && !(odata instanceof URLSearchParams)) {
      throw invalid("query() takes an OData query string or URLSearchParams", { query: odata });
    }
    const parsed = parseQuery(odata);
    const merged: Record<string, unknown> = { ...this.ast };
    for (const [name, value] of Object.entries(parsed)) {
      if (value === undefined) continue;
      merged[name] = name === "filter" && this.ast.filter !== undefined
        ? and(this.ast.filter, value as Expression)
        : value;
    }
    const query = merged as ODataQuery;
    this.#checkNames(query);
    return new Query<T, S>(this.target, query);
  }

  // Every provider would otherwise answer a misspelt name its own way (an error, a remote 400,
  // or silently all fields): check the first step of $select items and $filter paths here,
  // once, for all of them. After $apply the names are the transformation's, not the entity's.
  #checkNames(query: ODataQuery): void {
    if (query.apply !== undefined) return;
    const entity = this.target.metadata;
    const computed = new Set(query.compute?.map((item) => item.alias));
    const check = (name: string): void => {
      if (entity.fields.has(name) || entity.relations.has(name) || computed.has(name)) return;
      throw this.target.unknownField(name);
    };
    for (const item of query.select ?? []) {
      const [first] = item.segments;
      if (first?.kind === "Property") check(first.name);
    }
    if (query.filter !== undefined) forEachRootName(query.filter, check);
  }

  /** The canonical OData query string of this query (for logs and remote services). */
  toString(): string {
    return serializeQuery(this.ast);
  }

  /** Runs the query. */
  find(options?: ExecutionOptions): Promise<FindResult<T>> {
    return this.target.runFind(this.ast, options) as Promise<FindResult<Row>> as Promise<
      FindResult<T>
    >;
  }

  /** The first matching record, or `undefined`. */
  async findOne(options?: ExecutionOptions): Promise<RecordOf<T> | undefined> {
    const { data } = await this.target.runFind({ ...this.ast, top: 1, count: undefined }, options);
    return data[0] as RecordOf<T> | undefined;
  }

  /** Counts the matching rows (ignores limit/offset). */
  count(options?: ExecutionOptions): Promise<number> {
    return this.target.runCount(this.ast, options);
  }

  /** True when at least one row matches. */
  async exists(options?: ExecutionOptions): Promise<boolean> {
    if (this.ast.apply !== undefined) return (await this.count(options)) > 0;
    const keySelect = this.target.metadata.key.map((name) => ({
      segments: [{ kind: "Property" as const, name }],
    }));
    const { data } = await this.target.runFind(
      { filter: this.ast.filter, search: this.ast.search, select: keySelect, top: 1 },
      options,
    );
    return data.length > 0;
  }

  /** Iterates the matching records with flat memory, however many there are. */
  stream(options?: ExecutionOptions): AsyncIterable<RecordOf<T>> {
    return this.target.runStream(this.ast, options) as AsyncIterable<
      RecordOf<Row>
    > as AsyncIterable<
      RecordOf<T>
    >;
  }

  /**
   * Updates every row the filter matches; refuses to run without a filter unless `{ all: true }`.
   * A query narrowed by `search`, `limit`, `offset` or `$apply` is refused: writing only some of
   * the filtered rows, or all of them, would both surprise.
   */
  async update(changes: S["update"], options?: BulkWriteOptions): Promise<number> {
    this.#assertWritable("update");
    return await this.target.runUpdate(this.ast.filter, changes, options);
  }

  /**
   * Adds `by` (default 1) to a numeric field of every row the filter matches, in one atomic
   * statement (no lost update however many run at once; a null counts as 0); returns the number
   * of affected rows. Same rules as {@linkcode update}; the version field, if any, moves on.
   *
   * @example
   * ```ts ignore
   * await Product.where("CategoryID", 1).increment("UnitsInStock", 5);
   * ```
   */
  async increment(
    field: NumericFieldName<S>,
    by: number = 1,
    options?: BulkWriteOptions,
  ): Promise<number> {
    this.#assertWritable("increment");
    return await this.target.runIncrement(this.ast.filter, field, by, options);
  }

  /** Subtracts `by` (default 1) from a numeric field, like {@linkcode increment}. */
  async decrement(
    field: NumericFieldName<S>,
    by: number = 1,
    options?: BulkWriteOptions,
  ): Promise<number> {
    this.#assertWritable("decrement");
    return await this.target.runIncrement(this.ast.filter, field, negate(by), options);
  }

  /** Deletes every row the filter matches, under the same rules as {@linkcode update}. */
  async delete(options?: BulkWriteOptions): Promise<number> {
    this.#assertWritable("delete");
    return await this.target.runDelete(this.ast.filter, options);
  }

  #assertWritable(action: string): void {
    const narrowing = (["search", "top", "skip", "apply", "compute"] as const)
      .filter((option) => this.ast[option] !== undefined);
    if (narrowing.length > 0) {
      throw new ODataActiveRecordError(
        "NOT_SUPPORTED",
        `${action}() works on filtered rows only; this query also has ${
          narrowing.map((o) => `$${o}`).join(", ")
        }`,
        {
          suggestion: `Express the rows to ${action} with where()/filter() alone, or find() them ` +
            `and ${action} by key`,
          context: { entity: this.target.name, action, options: narrowing },
        },
      );
    }
  }
}

/** `-by` for numbers; anything else is passed on unchanged, for the check to name it. */
export function negate(by: number): number {
  return typeof by === "number" ? -by : by;
}

function invalid(message: string, context: Record<string, unknown>): ODataActiveRecordError {
  return new ODataActiveRecordError("INVALID_ARGUMENT", message, { context });
}

function nonNegativeInteger(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ODataActiveRecordError(
      "INVALID_ARGUMENT",
      `${name}() needs a non-negative integer, got ${n}`,
      {
        context: { [name]: n },
      },
    );
  }
  return n;
}

/** Calls `visit` with the first step of every path that starts at the entity itself. */
function forEachRootName(expression: Expression, visit: (name: string) => void): void {
  switch (expression.kind) {
    case "Path": {
      const [first] = expression.segments;
      const fromEntity = expression.root === "implicit" || expression.root === "$it";
      if (fromEntity && first?.kind === "Property") visit(first.name);
      for (const segment of expression.segments) {
        if (segment.kind === "Lambda" && segment.predicate !== undefined) {
          forEachRootName(segment.predicate, visit);
        }
      }
      return;
    }
    case "Binary":
      forEachRootName(expression.left, visit);
      forEachRootName(expression.right, visit);
      return;
    case "Unary":
      forEachRootName(expression.operand, visit);
      return;
    case "Call":
      for (const arg of expression.args) forEachRootName(arg, visit);
      return;
    case "TypeFunction":
      if (expression.operand !== null) forEachRootName(expression.operand, visit);
      return;
    case "Case":
      for (const branch of expression.branches) {
        forEachRootName(branch.when, visit);
        forEachRootName(branch.then, visit);
      }
      return;
    case "List":
      for (const item of expression.items) forEachRootName(item, visit);
      return;
  }
}
