/**
 * The SQLite compiler: OData AST → `{ sql, params }`. Values always travel as parameters (the
 * one exception: `LIMIT` counts, validated integers, see `level.ts`) and identifiers pass
 * {@linkcode quoteIdentifier}. {@linkcode PlanCache} reuses compiled statements by request shape.
 *
 * @example
 * ```ts
 * import { compileRead } from "./mod.ts";
 * import { resolveEntity } from "../../../src/model/schema.ts";
 * const entity = resolveEntity("Products", {
 *   fields: { ProductID: { type: "integer", primaryKey: true }, ProductName: { type: "string" } },
 * });
 * const { sql, params } = compileRead({
 *   entity,
 *   schema: { getEntityMetadata: () => entity },
 *   query: { top: 5 },
 * });
 * ```
 *
 * @module
 */

export { quoteIdentifier } from "./identifiers.ts";
export { AliasGenerator, type CompiledQuery, type Fragment } from "./fragment.ts";
export {
  createContext,
  entityScope,
  type ExprContext,
  type Mode,
  type Scope,
  type Typed,
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
export { compileExpansion, type ExpansionRequest } from "./expand.ts";
export { PlanCache } from "./plans.ts";
export { compileDelete, compileInsert, compileUpdate } from "./write.ts";
export { registerSqliteFunctions, SQLITE_FUNCTIONS, type SqliteFunctionHost } from "./udf.ts";
