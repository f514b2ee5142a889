/**
 * The shared SQL compiler: OData AST → `{ sql, params }` for any database a {@linkcode
 * SqlDialect} describes (no driver is imported here). Values always travel as parameters (the
 * one exception: validated integer `LIMIT` counts) and identifiers pass
 * {@linkcode quoteIdentifier}. {@linkcode PlanCache} reuses compiled statements by request
 * shape.
 *
 * @example
 * ```ts
 * import { compileRead, type SqlDialect } from "./mod.ts";
 * import { resolveEntity } from "../model/schema.ts";
 * declare const dialect: SqlDialect;
 * const entity = resolveEntity("Products", {
 *   fields: { ProductID: { type: "integer", primaryKey: true }, ProductName: { type: "string" } },
 * });
 * const { sql, params } = compileRead(dialect, {
 *   entity,
 *   schema: { getEntityMetadata: () => entity },
 *   query: { top: 5 },
 * });
 * ```
 *
 * @module
 */

export type {
  Arithmetic,
  DatePart,
  DecimalSql,
  EncodedLiteral,
  FunctionSql,
  SqlDialect,
  ValueField,
} from "./dialect.ts";
export {
  AliasGenerator,
  type CompiledQuery,
  type Fragment,
  ident,
  join,
  param,
  quoteIdentifier,
  raw,
  sql,
} from "./fragment.ts";
export {
  compiling,
  createContext,
  entityScope,
  type ExprContext,
  invalidArgument,
  isNumeric,
  type Mode,
  notSupported,
  type Scope,
  type Typed,
  unknownField,
  type ValueType,
} from "./context.ts";
export { compileCondition, compileFilter, compileValue } from "./expression.ts";
export { compileSearch } from "./search.ts";
export {
  compileCount,
  type CompiledRead,
  compileRead,
  type CompileReadOptions,
  HIDDEN_KEY_PREFIX,
  type ResultColumn,
} from "./select.ts";
export {
  compileExpansion,
  compileExpansionCount,
  compileKeyedRead,
  type ExpansionRequest,
  type KeyedRead,
} from "./expand.ts";
export {
  attachCounts,
  attachRelated,
  checkOverflow,
  type ExpansionPlan,
  linkFieldsOf,
  linkKey,
  parentLinks,
  planExpansions,
} from "./expansion_plan.ts";
export { PlanCache } from "./plans.ts";
export { compileDelete, compileIncrement, compileInsert, compileUpdate } from "./write.ts";
