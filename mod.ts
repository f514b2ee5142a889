/**
 * odata-active-record: the OData v4 query model with an Active Record API over SQLite (the
 * embedded default), MongoDB and remote OData services, in isolated namespaces.
 *
 * ```ts
 * import { EntityNamespaceManager, parseFilter } from "@oar/odata-active-record";
 *
 * const manager = new EntityNamespaceManager();
 * const shop = manager.createNamespace("shop", { provider: { type: "sqlite", filePath: ":memory:" } });
 * const Product = shop.registerEntity("Products", {
 *   fields: {
 *     ProductID: { type: "integer", primaryKey: true },
 *     ProductName: { type: "string", required: true },
 *     UnitPrice: { type: "decimal", scale: 2 },
 *   },
 * });
 * await shop.sync();
 * await Product.createMany([
 *   { ProductName: "Chai", UnitPrice: 18 },
 *   { ProductName: "Côte de Blaye", UnitPrice: 263.5 },
 * ]);
 * const { data } = await Product.where("UnitPrice", "gt", 20).orderBy("ProductName").find();
 * console.log(data.map((p) => p.ProductName)); // ["Côte de Blaye"]
 * console.log(parseFilter("UnitPrice gt 20 and contains(ProductName,'Ch')").kind); // "Binary"
 * await manager.close();
 * ```
 *
 * @module
 */

// Query language
export type {
  AggregateCountItem,
  AggregateCustomItem,
  AggregateExpressionItem,
  AggregateFrom,
  AggregateFunction,
  AggregateItem,
  AggregateSegment,
  AggregateTransformation,
  AliasExpression,
  AnnotationSegment,
  BinaryExpression,
  BinaryOperator,
  CallExpression,
  CanonicalFunction,
  CaseExpression,
  ComputeItem,
  ComputeTransformation,
  ConcatTransformation,
  CountSegment,
  ExpandItem,
  Expression,
  ExpressionKind,
  FilterExpression,
  FilterSegment,
  FilterTransformation,
  FunctionSegment,
  GenericTransformation,
  GroupByTransformation,
  GroupingItem,
  IdentityTransformation,
  JsonEmbeddedExpression,
  JsonExpression,
  KeySegment,
  KeyValue,
  LambdaSegment,
  ListExpression,
  LiteralNode,
  LiteralType,
  NamedArgument,
  ODataQuery,
  OrderByItem,
  OrderByTransformation,
  PagingTransformation,
  PathExpression,
  PathRoot,
  PathSegment,
  PropertySegment,
  SearchBinary,
  SearchExpression,
  SearchNot,
  SearchTerm,
  SearchTransformation,
  SelectAllOperationsSegment,
  SelectItem,
  SelectOperationSegment,
  SelectSegment,
  SelectStarSegment,
  Transformation,
  TransformationArgument,
  TypeCastSegment,
  TypeFunctionExpression,
  UnaryExpression,
} from "./src/odata/ast.ts";
export { EXPRESSION_KINDS } from "./src/odata/ast.ts";
export {
  and,
  arithmetic,
  call,
  eq,
  ge,
  gt,
  inList,
  isExpression,
  lambda,
  le,
  list,
  literal,
  type LiteralInput,
  lt,
  ne,
  not,
  type Operand,
  or,
  prop,
  typedLiteral,
  variable,
} from "./src/odata/builders.ts";
export {
  DEFAULT_QUERY_LIMITS,
  MAX_SUPPORTED_DEPTH,
  type ParseOptions,
  type QueryLimits,
  resolveLimits,
} from "./src/odata/limits.ts";
export { parseFilter } from "./src/odata/parser/expression.ts";
export { parseQuery } from "./src/odata/parser/query.ts";
export { parseSearchText } from "./src/odata/parser/search.ts";
export { serializeExpression, serializeFilter } from "./src/odata/serializer/expression.ts";
export { serializeQuery } from "./src/odata/serializer/query.ts";
export { serializeSearch } from "./src/odata/serializer/search.ts";

// Errors
export { ERROR_CATALOGUE, type ErrorCatalogueEntry, type ErrorCode } from "./src/errors/codes.ts";
export {
  type ErrorOptions,
  type FieldIssue,
  NotSupportedError,
  ODataActiveRecordError,
  ODataSyntaxError,
  QueryLimitError,
  throwIfAborted,
  ValidationError,
} from "./src/errors/errors.ts";
export { closestName } from "./src/errors/suggest.ts";

// Active Record core
export {
  type DateInputFormat,
  EDM_TYPES,
  type EntityDefinition,
  type EntityMetadata,
  type FieldDefinition,
  type FieldMetadata,
  type FieldType,
  type FieldValidator,
  type RelationDefinition,
  type RelationMetadata,
  resolveEntity,
  resolveRelation,
  type SchemaResolver,
} from "./src/model/schema.ts";
export type { ModelContext, NamespaceOptions } from "./src/model/context.ts";
export {
  type CoerceOptions,
  type CoerceResult,
  coerceValue,
  formatDecimal,
} from "./src/model/coerce.ts";
export {
  assertKnownField,
  keyFromValue,
  type ValidateOptions,
  validateRecord,
  type WriteMode,
} from "./src/model/validate.ts";
export {
  type AnyOperator,
  type CheckedOperator,
  type ComparisonOperator,
  type ConditionArgs,
  ConditionBuilder,
  type ConditionGroup,
  type Conditions,
  type ConditionScope,
  MAX_WHERE_IN_LENGTH,
  type OperatorValue,
  type TextFieldName,
  type TextOperator,
  type UnknownOperator,
  type WhereOperator,
} from "./src/model/conditions.ts";
export {
  type BulkWriteOptions,
  type Expanded,
  type FindResult,
  Query,
  type Selected,
  type TargetShape,
  type WithExpanded,
} from "./src/model/query.ts";
export { EntityModel, type UpsertOptions } from "./src/model/model.ts";
export {
  ActiveRecord,
  type PlainRecord,
  type PlainValue,
  type RecordClass,
  type RecordOf,
  type RecordPlan,
  type UntypedValues,
} from "./src/model/record.ts";
export {
  type CreateNamespaceOptions,
  EntityNamespace,
  EntityNamespaceManager,
  type EntityNamespaceManagerOptions,
  TransactionScope,
} from "./src/model/namespace.ts";
export {
  type AnyValues,
  type CreateInput,
  type DefaultShape,
  defineEntities,
  type EntityDefinitions,
  type EntityName,
  type EntityShape,
  type FieldInput,
  type FieldInputTypes,
  type FieldName,
  type FieldsOf,
  type FieldValueTypes,
  type Generated,
  type InputOf,
  type InputType,
  type IsAny,
  type IsSingle,
  type JsonOf,
  jsonOf,
  type KeyInput,
  type KeyNames,
  type KnownDefinitions,
  type ModelOf,
  type MustGive,
  type NavigationName,
  type NavigationsOf,
  type NeverNull,
  type NumericFieldName,
  type PathInputs,
  type Present,
  type RecordType,
  type ShapeFromRecord,
  type ShapeOf,
  type Simplify,
  type TargetOf,
  type TypedTransactionScope,
  type UnionToIntersection,
  type UntypedModel,
  type UntypedShape,
  type UpdateInput,
  type ValueOf,
  type WriteValue,
} from "./src/model/types.ts";
export type { MetadataRegistration } from "./src/model/namespace.ts";

// Providers
export type {
  ColumnInfo,
  DriftWarning,
  ExecutionOptions,
  InsertOptions,
  Provider,
  ProviderCapabilities,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  SyncReport,
  WriteTarget,
} from "./src/provider/provider.ts";
export type { IntrospectionResult } from "./src/provider/provider.ts";
export type { RowBuilder } from "./src/provider/provider.ts";
export { EXPANDED_COUNTS, expandedCount } from "./src/provider/expanded_counts.ts";
export {
  createProvider,
  type MongoProviderConfig,
  type PostgresProviderConfig,
  type ProviderConfig,
  providerTypes,
  type SqliteProviderConfig,
} from "./src/provider/registry.ts";
export type { HttpODataProviderConfig } from "./src/provider/registry.ts";

// The OData HTTP endpoint
export {
  type CorsOptions,
  createODataHandler,
  type EntityHooks,
  type ODataHandlerOptions,
  type ReadHookContext,
  type WriteHookContext,
} from "./src/http/handler.ts";
export { toNodeListener } from "./src/http/node.ts";

// Production runtime: resilience, pool, monitoring, service, configuration, shutdown
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitStats,
} from "./src/resilience/breaker.ts";
export {
  deadline,
  type DeadlineEntry,
  type DeadlineOptions,
  DeadlineScheduler,
  type DeadlineSchedulerOptions,
  type DeadlineTicket,
  delay,
  type DelayOptions,
} from "./src/resilience/deadline.ts";
export {
  backoffDelay,
  type BackoffOptions,
  retry,
  type RetryAttemptInfo,
  type RetryOptions,
} from "./src/resilience/retry.ts";
export { describeError, isTransientError, retryAfterMs } from "./src/resilience/transient.ts";
export { PercentileTracker, type PercentileTrackerOptions } from "./src/monitoring/percentile.ts";
export {
  type EntityMetrics,
  formatPoolStats,
  type MetricsSnapshot,
  PerformanceMonitor,
  type PerformanceMonitorOptions,
  type QueryRecorder,
} from "./src/monitoring/monitor.ts";
export { ConnectionPool, PooledConnection } from "./src/runtime/pool.ts";
export {
  type ConnectionConfig,
  type ConnectionPoolOptions,
  type ConnectionState,
  type ConnectionStats,
  type CustomConnectionConfig,
  type HttpODataConnectionConfig,
  type MongoConnectionConfig,
  type PoolStats,
  type SqliteConnectionConfig,
  toProviderConfig,
} from "./src/runtime/pool_types.ts";
export { LOG_CATEGORY } from "./src/runtime/log.ts";
export {
  CONFIG_VARIABLES,
  type ConfigProblem,
  ConfigurationError,
  loadConfigFromEnv,
  type LogLevelName,
  poolOptionsFromConfig,
  type ProductionConfig,
} from "./src/runtime/config.ts";
export { buildProductionQuery, type ProductionQuery } from "./src/runtime/production_query.ts";
export {
  type HealthReport,
  type NamespaceHealth,
  type NamespaceSpec,
  ProductionODataService,
  type ProductionQueryOptions,
  type ProductionServiceOptions,
  serviceOptionsFromConfig,
  type ShutdownReport,
} from "./src/runtime/service.ts";
export {
  installShutdownHandlers,
  type ShutdownHandlerOptions,
  type ShutdownHandlers,
  type ShutdownSignal,
} from "./src/runtime/signals.ts";
