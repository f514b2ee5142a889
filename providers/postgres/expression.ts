/**
 * PostgreSQL expressions: OData filter, order and search expressions over an entity's fields,
 * to-one navigation paths, `any`/`all` lambdas and `$count` paths (as subqueries), with `$n`
 * parameters. Shared by the statements of compiler.ts.
 *
 * OData semantics kept: comparisons are two-valued (`null gt 1` is false, so its `not` is true);
 * `eq`/`ne` treat null as a value; string functions are case-sensitive and match their argument
 * literally (`strpos`, no LIKE pattern); `indexof` and `substring` count from 0.
 *
 * @module
 */

import { NotSupportedError, ODataActiveRecordError } from "../../src/errors/errors.ts";
import type {
  BinaryExpression,
  CallExpression,
  Expression,
  LiteralNode,
} from "../../src/odata/ast.ts";
import type { EntityMetadata, FieldType, SchemaResolver } from "../../src/model/schema.ts";
import { encodeValue, placeholder } from "./values.ts";

/**
 * Quotes an identifier (`"a""b"`); names with a NUL are refused.
 *
 * @example
 * ```ts
 * import { quoteIdentifier } from "./expression.ts";
 * quoteIdentifier('we"ird'); // '"we""ird"'
 * ```
 */
export function quoteIdentifier(name: string): string {
  if (name.includes("\u0000")) {
    throw new ODataActiveRecordError("INVALID_ARGUMENT", "An identifier cannot contain NUL", {
      context: { provider: "postgres" },
    });
  }
  return `"${name.replaceAll('"', '""')}"`;
}

const q = quoteIdentifier;

export function unsupported(feature: string): NotSupportedError {
  return new NotSupportedError(feature, "the postgres provider");
}

/** The SQL type a compiled expression has, as far as the compiler needs to know. */
type Kind = FieldType | "null" | "unknown";

interface Compiled {
  readonly sql: string;
  readonly kind: Kind;
  /** False when the value is never null (a literal, a required column, a two-valued test). */
  readonly nullable?: boolean;
}

/** SQL comparisons are three-valued; OData's are not: `null gt 1` is false, so its `not` is true. */
function twoValued(test: string, ...operands: Compiled[]): Compiled {
  const guards = operands.filter((o) => o.nullable !== false).map((o) => `${o.sql} IS NOT NULL`);
  const sql = guards.length === 0 ? test : `(${test} AND ${guards.join(" AND ")})`;
  return { sql, kind: "boolean", nullable: false };
}

/** Collects parameters while compiling one statement. */
export class Parameters {
  readonly values: unknown[] = [];

  /** Adds a parameter and returns its typed placeholder. */
  add(value: unknown, type: FieldType): string {
    this.values.push(encodeValue(value, type));
    return placeholder(this.values.length, type);
  }

  /** Adds an untyped text parameter (the server infers its type from the context). */
  addText(value: string): string {
    this.values.push(value);
    return `$${this.values.length}::text`;
  }
}

/** Field types sent as text and cast on the server (see `placeholder`). */
export const TEXT_TRAVEL = new Set<FieldType>(["date", "time", "json"]);

const LITERAL_KINDS: Partial<Record<LiteralNode["type"], FieldType>> = {
  boolean: "boolean",
  int: "integer",
  decimal: "decimal",
  double: "number",
  string: "string",
  date: "date",
  datetimeoffset: "datetime",
  timeofday: "time",
  guid: "guid",
};

const COMPARISONS: Readonly<Record<string, string>> = {
  gt: ">",
  ge: ">=",
  lt: "<",
  le: "<=",
};

const ARITHMETIC: Readonly<Record<string, string>> = {
  add: "+",
  sub: "-",
  mul: "*",
  mod: "%",
};

const TEXTUAL_LITERALS = new Set<string>(["string", "guid", "date", "datetimeoffset", "timeofday"]);
const TEXTUAL_FIELDS = new Set<Kind>(["string", "guid", "date", "datetime", "time"]);

const NUMERIC_KINDS = new Set<Kind>(["integer", "number", "decimal"]);

/** Compiles expressions over one entity's own fields. */
export class ExpressionCompiler {
  readonly #entity: EntityMetadata;
  readonly #params: Parameters;
  readonly #alias: string;
  readonly #schema: SchemaResolver | undefined;
  /** Lambda variables in scope: the entity and alias each stands for. */
  readonly #variables: ReadonlyMap<string, { entity: EntityMetadata; alias: string }>;
  /** Subquery aliases are unique in the statement. */
  readonly #aliases: { n: number };

  constructor(
    entity: EntityMetadata,
    params: Parameters,
    alias: string,
    schema?: SchemaResolver,
    variables: ReadonlyMap<string, { entity: EntityMetadata; alias: string }> = new Map(),
    aliases: { n: number } = { n: 0 },
  ) {
    this.#entity = entity;
    this.#params = params;
    this.#alias = alias;
    this.#schema = schema;
    this.#variables = variables;
    this.#aliases = aliases;
  }

  /** A boolean condition. */
  condition(expression: Expression): string {
    const compiled = this.compile(expression);
    if (compiled.kind !== "boolean" && compiled.kind !== "null" && compiled.kind !== "unknown") {
      throw new ODataActiveRecordError(
        "TYPE_MISMATCH",
        `A filter must be a boolean expression, not ${compiled.kind}`,
        { context: { provider: "postgres" } },
      );
    }
    return compiled.sql;
  }

  compile(expression: Expression): Compiled {
    switch (expression.kind) {
      case "Literal":
        return this.#literal(expression);
      case "Path":
        return this.#path(expression);
      case "Binary":
        return this.#binary(expression);
      case "Unary": {
        const operand = this.compile(expression.operand);
        return expression.operator === "not"
          ? { sql: `(NOT ${operand.sql})`, kind: "boolean", nullable: operand.nullable }
          : { sql: `(-${operand.sql})`, kind: operand.kind };
      }
      case "Call":
        return this.#call(expression);
      default:
        throw unsupported(`The ${expression.kind} expression`);
    }
  }

  #literal(node: LiteralNode): Compiled {
    if (node.type === "null") return { sql: "NULL", kind: "null" };
    if (node.type === "boolean") {
      return { sql: node.value ? "TRUE" : "FALSE", kind: "boolean", nullable: false };
    }
    const kind = LITERAL_KINDS[node.type];
    if (kind === undefined) throw unsupported(`A ${node.type} literal`);
    let value: unknown = node.value;
    if (kind === "integer" && typeof value === "bigint") value = value.toString();
    if (kind === "number" && typeof value === "number" && !Number.isFinite(value)) {
      value = Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
    }
    if (kind === "datetime") value = new Date(String(value));
    return { sql: this.#params.add(value, kind), kind, nullable: false };
  }

  #path(node: Extract<Expression, { kind: "Path" }>): Compiled {
    const start = this.#start(node);
    return this.#walk(start.entity, start.alias, node.segments, 0);
  }

  /** Where a path starts: the current row, or a lambda variable's row. */
  #start(node: Extract<Expression, { kind: "Path" }>): { entity: EntityMetadata; alias: string } {
    if (node.root === "variable") {
      const bound = this.#variables.get(node.variable ?? "");
      if (bound === undefined) throw unsupported(`The lambda variable ${node.variable}`);
      return bound;
    }
    if (node.root !== "implicit" && node.root !== "$it") throw unsupported(`A ${node.root} path`);
    return { entity: this.#entity, alias: this.#alias };
  }

  /** The field type a path ends on, following to-one navigations; without compiling it. */
  #pathKind(node: Extract<Expression, { kind: "Path" }>): Kind {
    let entity: EntityMetadata | undefined;
    try {
      entity = this.#start(node).entity;
    } catch {
      return "unknown";
    }
    for (const [i, segment] of node.segments.entries()) {
      if (segment.kind !== "Property" || entity === undefined) return "unknown";
      const field = entity.fields.get(segment.name);
      if (field !== undefined) return i === node.segments.length - 1 ? field.type : "unknown";
      const relation = entity.relations.get(segment.name);
      if (relation?.kind !== "one") return "unknown";
      entity = this.#schema?.getEntityMetadata(relation.target);
    }
    return "unknown";
  }

  #walk(
    entity: EntityMetadata,
    alias: string,
    segments: Extract<Expression, { kind: "Path" }>["segments"],
    index: number,
  ): Compiled {
    const segment = segments[index];
    if (segment?.kind !== "Property") throw unsupported("A type cast, function or annotation path");
    const field = entity.fields.get(segment.name);
    if (field !== undefined) {
      if (index !== segments.length - 1) throw unsupported("A path through a structural field");
      return {
        sql: `${alias}.${q(field.column)}`,
        kind: field.type,
        nullable: field.nullable && !field.primaryKey,
      };
    }
    const relation = entity.relations.get(segment.name);
    const target = relation && this.#schema?.getEntityMetadata(relation.target);
    if (relation === undefined || target === undefined) {
      throw new ODataActiveRecordError(
        "UNKNOWN_FIELD",
        `Unknown field '${segment.name}' on ${entity.name}`,
        { context: { entity: entity.name, field: segment.name } },
      );
    }
    const remote = relation.targetFields.length > 0 ? relation.targetFields : target.key;
    const inner = `r${++this.#aliases.n}`;
    const join = relation.localFields.map((name, i) =>
      `${inner}.${q(target.fields.get(remote[i]!)!.column)} = ${alias}.${
        q(entity.fields.get(name)!.column)
      }`
    ).join(" AND ");
    const from = `FROM ${q(target.table)} AS ${inner} WHERE ${join}`;
    const next = segments[index + 1];
    if (relation.kind === "one") {
      if (next === undefined) throw unsupported("A navigation property as a value");
      const value = this.#walk(target, inner, segments, index + 1);
      // No related row gives null, as the navigation's value would be.
      return { sql: `(SELECT ${value.sql} ${from})`, kind: value.kind, nullable: true };
    }
    if (index + 2 !== segments.length) throw unsupported("A path through a collection");
    if (next?.kind === "Count") {
      if (next.search !== undefined) throw unsupported("$search inside $count");
      const scoped = new ExpressionCompiler(
        target,
        this.#params,
        inner,
        this.#schema,
        this.#variables,
        this.#aliases,
      );
      const filter = next.filter === undefined ? "" : ` AND ${scoped.condition(next.filter)}`;
      return { sql: `(SELECT count(*) ${from}${filter})`, kind: "integer", nullable: false };
    }
    if (next?.kind === "Lambda") {
      if (next.predicate === undefined) {
        return { sql: `EXISTS (SELECT 1 ${from})`, kind: "boolean", nullable: false };
      }
      // Inside the lambda, bare paths still mean the outer row; the variable means the item.
      const variables = new Map(this.#variables);
      variables.set(next.variable ?? "", { entity: target, alias: inner });
      const scoped = new ExpressionCompiler(
        this.#entity,
        this.#params,
        this.#alias,
        this.#schema,
        variables,
        this.#aliases,
      );
      const predicate = scoped.condition(next.predicate);
      const sql = next.operator === "any"
        ? `EXISTS (SELECT 1 ${from} AND ${predicate})`
        : `NOT EXISTS (SELECT 1 ${from} AND NOT coalesce(${predicate}, FALSE))`;
      return { sql, kind: "boolean", nullable: false };
    }
    throw unsupported("A collection navigation as a value");
  }

  #binary(node: BinaryExpression): Compiled {
    const op = node.operator;
    if (op === "and" || op === "or") {
      const left = this.compile(node.left);
      const right = this.compile(node.right);
      return {
        sql: `(${left.sql} ${op.toUpperCase()} ${right.sql})`,
        kind: "boolean",
        nullable: left.nullable !== false || right.nullable !== false,
      };
    }
    if (op === "in") return this.#in(node);
    const left = this.#operand(node.left, node.right);
    const right = this.#operand(node.right, node.left);
    if (op === "eq" || op === "ne") {
      if (right.kind === "null" || left.kind === "null") {
        const other = right.kind === "null" ? left : right;
        return {
          sql: `(${other.sql} IS ${op === "eq" ? "" : "NOT "}NULL)`,
          kind: "boolean",
          nullable: false,
        };
      }
      const leftNull = left.nullable !== false;
      const rightNull = right.nullable !== false;
      if (leftNull && rightNull) {
        // null eq null is true in OData.
        const operator = op === "eq" ? "IS NOT DISTINCT FROM" : "IS DISTINCT FROM";
        return { sql: `(${left.sql} ${operator} ${right.sql})`, kind: "boolean", nullable: false };
      }
      if (op === "eq") return twoValued(`${left.sql} = ${right.sql}`, left, right);
      // At most one side may be null, and then they differ. `=`/`<>` keep indexes usable.
      const other = leftNull ? left : rightNull ? right : undefined;
      const test = `${left.sql} <> ${right.sql}`;
      return {
        sql: other === undefined ? `(${test})` : `(${test} OR ${other.sql} IS NULL)`,
        kind: "boolean",
        nullable: false,
      };
    }
    const comparison = COMPARISONS[op];
    if (comparison !== undefined) {
      return twoValued(`${left.sql} ${comparison} ${right.sql}`, left, right);
    }
    const kind = arithmeticKind(left.kind, right.kind);
    const arithmetic = ARITHMETIC[op];
    if (arithmetic !== undefined) {
      return { sql: `(${left.sql} ${arithmetic} ${right.sql})`, kind };
    }
    if (op === "div") {
      // Integer division truncates (OData and PostgreSQL agree); a zero divisor is an error.
      return { sql: `(${left.sql} / ${right.sql})`, kind };
    }
    if (op === "divby") {
      return { sql: `(${left.sql}::numeric / ${right.sql})`, kind: "decimal" };
    }
    throw unsupported(`The ${op} operator`);
  }

  /**
   * A text-like literal compared with a field takes the field's type (`'…' eq GuidField` is a
   * uuid comparison, not text against uuid).
   */
  #operand(expression: Expression, other: Expression): Compiled {
    if (
      expression.kind === "Literal" && TEXTUAL_LITERALS.has(expression.type) &&
      other.kind === "Path"
    ) {
      const target = this.#pathKind(other);
      if (target !== "null" && target !== "unknown" && TEXTUAL_FIELDS.has(target)) {
        const value = target === "datetime"
          ? new Date(String(expression.value))
          : String(expression.value);
        return { sql: this.#params.add(value, target), kind: target };
      }
    }
    return this.compile(expression);
  }

  #in(node: BinaryExpression): Compiled {
    const left = this.compile(node.left);
    if (node.right.kind !== "List") throw unsupported("in with a non-list right side");
    const items = node.right.items;
    if (items.length === 0) return { sql: "FALSE", kind: "boolean" };
    const type = left.kind === "null" || left.kind === "unknown" ? "string" : left.kind;
    const values: unknown[] = [];
    let hasNull = false;
    for (const item of items) {
      if (item.kind !== "Literal") {
        const compiled = items.map((each) => this.compile(each).sql).join(", ");
        return { sql: `(${left.sql} IN (${compiled}))`, kind: "boolean" };
      }
      if (item.type === "null") hasNull = true;
      else {
        let value = item.value;
        if (typeof value === "bigint") value = value.toString();
        values.push(encodeValue(type === "datetime" ? new Date(String(value)) : value, type));
      }
    }
    // One array parameter, whatever the length of the list.
    this.#params.values.push(values);
    const array = `$${this.#params.values.length}::${arrayType(type)}`;
    const test = twoValued(`${left.sql} = ANY(${array})`, left);
    const sql = hasNull ? `(${test.sql} OR ${left.sql} IS NULL)` : test.sql;
    return { sql, kind: "boolean", nullable: false };
  }

  #call(node: CallExpression): Compiled {
    const compiled = this.#callValue(node);
    if (compiled.kind !== "boolean") return compiled;
    // A predicate on a null argument is false (so its `not` is true), as in OData.
    return { sql: `coalesce(${compiled.sql}, FALSE)`, kind: "boolean", nullable: false };
  }

  #callValue(node: CallExpression): Compiled {
    const args = node.args.map((arg) => this.compile(arg));
    const [a, b, c] = args;
    switch (node.name) {
      case "contains":
        return { sql: `(strpos(${a!.sql}, ${b!.sql}) > 0)`, kind: "boolean" };
      case "startswith":
        return { sql: `starts_with(${a!.sql}, ${b!.sql})`, kind: "boolean" };
      case "endswith":
        return {
          sql: `(right(${a!.sql}, length(${b!.sql})) = ${b!.sql})`,
          kind: "boolean",
        };
      case "indexof":
        return { sql: `(strpos(${a!.sql}, ${b!.sql}) - 1)`, kind: "integer" };
      case "length":
        return { sql: `length(${a!.sql})`, kind: "integer" };
      case "tolower":
        return { sql: `lower(${a!.sql})`, kind: "string" };
      case "toupper":
        return { sql: `upper(${a!.sql})`, kind: "string" };
      case "trim":
        return { sql: `btrim(${a!.sql})`, kind: "string" };
      case "concat":
        return { sql: `(${a!.sql} || ${b!.sql})`, kind: "string" };
      case "substring": {
        // 0-based start; a negative start counts as 0.
        const start = `CAST(greatest(${b!.sql}, 0) + 1 AS integer)`;
        return c === undefined ? { sql: `substr(${a!.sql}, ${start})`, kind: "string" } : {
          sql: `substr(${a!.sql}, ${start}, CAST(greatest(${c.sql}, 0) AS integer))`,
          kind: "string",
        };
      }
      case "year":
      case "month":
      case "day":
      case "hour":
      case "minute":
        return {
          sql: `CAST(EXTRACT(${node.name.toUpperCase()} FROM ${timeSource(a!)}) AS bigint)`,
          kind: "integer",
        };
      case "second":
        return {
          sql: `CAST(floor(EXTRACT(SECOND FROM ${timeSource(a!)})) AS bigint)`,
          kind: "integer",
        };
      case "round":
        return { sql: `round(${a!.sql})`, kind: a!.kind };
      case "floor":
        return { sql: `floor(${a!.sql})`, kind: a!.kind };
      case "ceiling":
        return { sql: `ceiling(${a!.sql})`, kind: a!.kind };
      case "now":
        return { sql: "now()", kind: "datetime" };
      default:
        throw unsupported(`The ${node.name}() function`);
    }
  }
}

/** Datetimes are read in UTC, as the canonical `Date` values are instants. */
function timeSource(value: Compiled): string {
  return value.kind === "datetime" ? `(${value.sql} AT TIME ZONE 'UTC')` : value.sql;
}

function arithmeticKind(left: Kind, right: Kind): Kind {
  if (!NUMERIC_KINDS.has(left) && left !== "null" && left !== "unknown") {
    throw new ODataActiveRecordError("TYPE_MISMATCH", `Arithmetic on a ${left} value`, {
      context: { provider: "postgres" },
    });
  }
  if (left === "decimal" || right === "decimal") return "decimal";
  if (left === "number" || right === "number") return "number";
  return left === "integer" && right === "integer" ? "integer" : "unknown";
}

export function arrayType(type: FieldType): string {
  const base = type === "json" ? "jsonb" : placeholder(0, type).replace(/^.*::/, "");
  return `${base}[]`;
}
