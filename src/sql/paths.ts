/**
 * Member paths: fields, computed properties, to-one navigation (a correlated scalar subquery,
 * null when the related row is missing or the foreign key is null), `any`/`all` lambdas over
 * to-many navigation (`EXISTS` / `NOT EXISTS`, each lambda with its own table alias so nested
 * lambdas and `$it` resolve to the right rows) and `/$count` (a `COUNT(*)` subquery with its
 * optional `$filter`/`$search`).
 *
 * Scoping: unqualified paths and `$it` refer to the context root (the entity being filtered;
 * inside `/$count(...)` options, the counted entity), a lambda variable to its collection item.
 * `$this` inside a lambda and `$root` are not supported.
 *
 * @module
 */

import type {
  CountSegment,
  LambdaSegment,
  PathExpression,
  PathRoot,
  PathSegment,
} from "../odata/ast.ts";
import { type RelationMetadata, resolveRelation } from "../model/schema.ts";
import {
  type Compilers,
  dispatch,
  entityScope,
  type ExprContext,
  invalidArgument,
  type Mode,
  notSupported,
  type Scope,
  type Typed,
  unknownField,
} from "./context.ts";
import { type Fragment, ident, join, sql } from "./fragment.ts";
import { compileSearch } from "./search.ts";

interface Step {
  readonly scope: Scope;
  readonly segments: readonly PathSegment[];
  readonly index: number;
  readonly ctx: ExprContext;
  readonly c: Compilers;
}

type SegmentHandler<S> = (segment: S, step: Step) => Typed;

const ROOTS: Readonly<Record<PathRoot, (path: PathExpression, ctx: ExprContext) => Scope>> = {
  implicit: (_path, ctx) => ctx.root,
  $it: (_path, ctx) => ctx.root,
  $this: (_path, ctx) => {
    if (ctx.variables.size > 0) throw notSupported("$this inside a lambda expression");
    return ctx.root;
  },
  $root: () => {
    throw notSupported("$root paths");
  },
  $these: () => {
    throw notSupported("$these paths (aggregation extension)");
  },
  variable: (path, ctx) => {
    const scope = path.variable === undefined ? undefined : ctx.variables.get(path.variable);
    if (scope === undefined) {
      throw invalidArgument(`Unknown lambda variable '${path.variable ?? ""}'`, {
        variable: path.variable,
      });
    }
    return scope;
  },
};

/**
 * The join condition between a scope and the target side of one of its relations.
 *
 * @example
 * ```ts
 * import { linkCondition } from "./paths.ts";
 * import type { RelationMetadata } from "../model/schema.ts";
 * import type { Scope } from "./context.ts";
 * declare const products: Scope, categories: Scope, relation: RelationMetadata;
 * linkCondition(products, relation, categories); // "t1"."CategoryID" = "t0"."CategoryID"
 * ```
 */
export function linkCondition(scope: Scope, relation: RelationMetadata, target: Scope): Fragment {
  const pairs = relation.localFields.map((local, i) => {
    const left = scope.properties.get(local);
    const right = target.properties.get(relation.targetFields[i]!);
    if (left === undefined || right === undefined) {
      throw invalidArgument(`Relation ${relation.name} links unknown fields`, {
        relation: relation.name,
      });
    }
    return sql`${right.sql} = ${left.sql}`;
  });
  return join(pairs, " AND ");
}

function walk(step: Step): Typed {
  const segment = step.segments[step.index]!;
  return (dispatch(SEGMENTS, segment.kind, "path segment") as SegmentHandler<PathSegment>)(
    segment,
    step,
  );
}

/** A grouped `Category/CategoryName` output is one property named by the joined path. */
function joinedProperty(step: Step): Typed | undefined {
  const rest = step.segments.slice(step.index);
  if (rest.length < 2 || !rest.every((s) => s.kind === "Property")) return undefined;
  return step.scope.properties.get(rest.map((s) => (s as { name: string }).name).join("/"));
}

function property(name: string, step: Step): Typed {
  const { scope, segments, index, ctx } = step;
  const last = index === segments.length - 1;
  const found = scope.properties.get(name);
  if (found !== undefined) {
    if (last) return found;
    if (found.type === "json") throw notSupported("paths into json fields");
    throw invalidArgument(
      `'${name}' on ${scope.label} is a ${found.type} field and has no members`,
      {
        field: name,
      },
    );
  }
  const joined = joinedProperty(step);
  if (joined !== undefined) return joined;
  if (scope.entity === undefined || !scope.entity.relations.has(name)) {
    throw unknownField(scope, name);
  }
  const { relation, target } = resolveRelation(ctx.schema, scope.entity, name);
  const alias = ctx.aliases.next();
  const targetScope = entityScope(target, alias);
  const from = sql`${ident(target.table)} AS ${ident(alias)}`;
  const link = linkCondition(scope, relation, targetScope);
  if (relation.kind === "one") {
    if (last) {
      throw notSupported(
        `the navigation property '${name}' as a value`,
        `Compare one of its fields instead, e.g. ${name}/${target.key[0]} eq null.`,
      );
    }
    const inner = walk({ ...step, scope: targetScope, index: index + 1 });
    // A missing related row (or a null foreign key) makes the subquery NULL.
    return {
      ...inner,
      sql: sql`(SELECT ${inner.sql} FROM ${from} WHERE ${link})`,
      nullable: true,
      constant: undefined,
    };
  }
  const next = segments[index + 1];
  if (next?.kind === "Key") throw notSupported("key predicates inside expression paths");
  if (next?.kind === "Lambda" || next?.kind === "Count") {
    if (index + 2 < segments.length) {
      throw invalidArgument(
        `Nothing can follow ${name}/${next.kind === "Count" ? "$count" : next.operator}()`,
      );
    }
    const collection = { step, scope: targetScope, from, link };
    return next.kind === "Lambda" ? lambda(next, collection) : count(next, collection);
  }
  if (next === undefined) {
    throw notSupported(
      `the collection '${name}' as a value`,
      `Use ${name}/any(...), ${name}/all(...) or ${name}/$count.`,
    );
  }
  throw invalidArgument(
    `'${name}' on ${scope.label} is a collection; use any(), all() or $count on it`,
    {
      navigation: name,
    },
  );
}

interface Collection {
  readonly step: Step;
  readonly scope: Scope;
  readonly from: Fragment;
  readonly link: Fragment;
}

function lambda(segment: LambdaSegment, { step, scope, from, link }: Collection): Typed {
  if (segment.operator !== "any" && segment.operator !== "all") {
    throw invalidArgument(`Unknown lambda operator '${String(segment.operator)}'`);
  }
  if (segment.predicate === undefined) {
    if (segment.operator === "all") throw invalidArgument("all() needs a lambda predicate");
    return {
      sql: sql`EXISTS (SELECT 1 FROM ${from} WHERE ${link})`,
      type: "boolean",
      nullable: false,
    };
  }
  if (segment.variable === undefined) {
    throw invalidArgument(`${segment.operator}() needs a lambda variable`);
  }
  const variables = new Map(step.ctx.variables).set(segment.variable, scope);
  const predicate = step.c.condition(segment.predicate, { ...step.ctx, variables });
  const sqlText = segment.operator === "any"
    ? sql`EXISTS (SELECT 1 FROM ${from} WHERE ${link} AND (${predicate}))`
    // all: no member for which the predicate is not true (false or null).
    : sql`NOT EXISTS (SELECT 1 FROM ${from} WHERE ${link} AND ((${predicate}) IS NOT TRUE))`;
  return { sql: sqlText, type: "boolean", nullable: false };
}

function count(segment: CountSegment, { step, scope, from, link }: Collection): Typed {
  const conditions = [link];
  // Inside /$count(...) options, unqualified paths and $it refer to the counted entities.
  if (segment.filter !== undefined) {
    conditions.push(step.c.condition(segment.filter, { ...step.ctx, root: scope }));
  }
  if (segment.search !== undefined) {
    conditions.push(compileSearch(segment.search, scope, step.ctx.dialect));
  }
  return {
    sql: sql`(SELECT COUNT(*) FROM ${from} WHERE ${join(conditions, " AND ")})`,
    type: "integer",
    nullable: false,
  };
}

const SEGMENTS: {
  readonly [K in PathSegment["kind"]]: SegmentHandler<Extract<PathSegment, { kind: K }>>;
} = {
  Property: (segment, step) => property(segment.name, step),
  TypeCast: (segment) => {
    throw notSupported(`type-cast segments (${segment.type}); entities have no derived types`);
  },
  Key: () => {
    throw notSupported("key predicates inside expression paths");
  },
  Function: (segment) => {
    throw notSupported(`the bound function ${segment.name}`);
  },
  Lambda: (segment) => {
    throw invalidArgument(
      `${segment.operator}() must follow a collection-valued navigation property`,
    );
  },
  Count: () => {
    throw invalidArgument("$count must follow a collection-valued navigation property");
  },
  Annotation: (segment) => {
    throw notSupported(`annotation values (@${segment.term})`);
  },
  FilterSegment: () => {
    throw notSupported("the $filter(...) path segment");
  },
  AggregateSegment: () => {
    throw notSupported("the aggregate(...) path segment (aggregation extension)");
  },
};

/**
 * The first segment of `segments` that this compiler cannot compile anywhere in a path, checked
 * up front so that the step before it does not report a less precise error (`Price/@Currency`
 * would otherwise read as a member of a decimal field).
 */
function unsupportedSegment(segments: readonly PathSegment[]): PathSegment | undefined {
  return segments.find((s) =>
    s.kind === "Annotation" || s.kind === "FilterSegment" || s.kind === "AggregateSegment"
  );
}

/**
 * Compiles a member path to a typed value.
 *
 * @example
 * ```ts
 * import { compilePath } from "./paths.ts";
 * import type { Compilers, ExprContext } from "./context.ts";
 * declare const ctx: ExprContext, compilers: Compilers;
 * compilePath({ kind: "Path", root: "implicit", segments: [{ kind: "Property", name: "Id" }] }, ctx, compilers, "value");
 * ```
 */
export function compilePath(
  path: PathExpression,
  ctx: ExprContext,
  c: Compilers,
  _mode: Mode,
): Typed {
  const scope = dispatch(ROOTS, path.root, "path root")(path, ctx);
  const refused = unsupportedSegment(path.segments);
  if (refused !== undefined) {
    return (SEGMENTS[refused.kind] as SegmentHandler<PathSegment>)(refused, {
      scope,
      segments: path.segments,
      index: path.segments.indexOf(refused),
      ctx,
      c,
    });
  }
  if (path.segments.length === 0) {
    throw notSupported(`'${path.root === "variable" ? path.variable : path.root}' as a value`);
  }
  return walk({ scope, segments: path.segments, index: 0, ctx, c });
}
