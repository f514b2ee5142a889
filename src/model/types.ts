/**
 * Types inferred from entity definitions: the record type, what `create`/`update` accept, the key
 * and the field names `where`/`orderBy`/`select`/`expand` may use. Everything here is type-level
 * except the `jsonOf` marker; the heavy mapping runs once per registered entity (`EntityShape`),
 * and the query builder only indexes into that shape, so type-checking stays fast.
 *
 * @module
 */

import type { Row } from "../provider/provider.ts";
import type { EntityModel } from "./model.ts";
import type { TransactionScope } from "./namespace.ts";
import type { EntityDefinition, FieldType } from "./schema.ts";

/**
 * A type-only marker for the value type of a `json` field (`of: jsonOf<string[]>()`); nothing of
 * it exists at run time besides an empty frozen object.
 */
export interface JsonOf<V> {
  /** Never present: it only carries `V` for the type checker. */
  readonly "~json"?: V;
}

const JSON_MARKER: JsonOf<never> = Object.freeze({});

/**
 * Declares the TypeScript type of a `json` field's values (type-only; values are not checked
 * against it at run time).
 *
 * @example
 * ```ts
 * import { jsonOf } from "@oar/odata-active-record";
 * const fields = {
 *   Tags: { type: "json", of: jsonOf<string[]>(), defaultValue: () => [] },
 * } as const;
 * ```
 */
export function jsonOf<V>(): JsonOf<V> {
  return JSON_MARKER as JsonOf<V>;
}

/** The value type a record holds for each field type (canonical values, as reads return them). */
export interface FieldValueTypes {
  /** Text. */
  string: string;
  /** Integers (Edm.Int64 within the safe integer range). */
  integer: number;
  /** Doubles. */
  number: number;
  /** Decimals as exact text, with the field's scale (`"18.50"`). */
  decimal: string;
  /** Booleans. */
  boolean: boolean;
  /** `YYYY-MM-DD`. */
  date: string;
  /** Instants. */
  datetime: Date;
  /** `HH:MM:SS[.fff]`. */
  time: string;
  /** Lower-case GUID text. */
  guid: string;
  /** Any JSON value (declare a type with `of: jsonOf<T>()`). */
  json: unknown;
  /** Bytes. */
  binary: Uint8Array;
}

/** What writes and conditions accept for each field type (coerced to the canonical value). */
export interface FieldInputTypes {
  /** Text. */
  string: string;
  /** A safe integer or a bigint. */
  integer: number | bigint;
  /** A number or a bigint. */
  number: number | bigint;
  /** Decimal text, a number or a bigint. */
  decimal: string | number | bigint;
  /** A boolean. */
  boolean: boolean;
  /** `YYYY-MM-DD` text (or a declared format) or a `Date`. */
  date: string | Date;
  /** A `Date`, ISO 8601 text or epoch milliseconds. */
  datetime: Date | string | number;
  /** `HH:MM[:SS[.fff]]` text. */
  time: string;
  /** GUID text. */
  guid: string;
  /** Any JSON value. */
  json: unknown;
  /** Bytes, an `ArrayBuffer` or base64 text. */
  binary: Uint8Array | ArrayBuffer | string;
}

/** Any value but `null` and `undefined` (a default that makes a field never null). */
export type Present = NonNullable<unknown>;

/** The fields of a definition. */
export type FieldsOf<D extends EntityDefinition> = D["fields"];

/** Union members as a tuple test: true when `T` is one member (not a union, not never). */
export type IsSingle<T> = [T] extends [never] ? false
  : (T extends unknown ? (x: T) => void : never) extends (x: infer I) => void
    ? ([T] extends [I] ? true : false)
  : false;

/** The names of the key fields of a definition (`key`, or fields with `primaryKey: true`). */
export type KeyNames<D extends EntityDefinition> = D extends { readonly key: infer K }
  ? K extends string ? K : K extends readonly (infer X)[] ? X & string : never
  :
    & {
      [N in keyof FieldsOf<D>]: FieldsOf<D>[N] extends { readonly primaryKey: true } ? N : never;
    }[keyof FieldsOf<D>]
    & string;

/** The value type of one field as records hold it, without `null`. */
export type ValueOf<F> = F extends { readonly of: JsonOf<infer V> } ? V
  : F extends { readonly type: "string" | "integer"; readonly enum: readonly (infer E)[] } ? E
  : F extends { readonly type: infer T extends FieldType } ? FieldValueTypes[T]
  : unknown;

/** The input type of one field, without `null`. */
export type InputOf<F> = F extends { readonly of: JsonOf<infer V> } ? V
  : F extends { readonly type: "string" | "integer"; readonly enum: readonly (infer E)[] } ? E
  : F extends { readonly type: infer T extends FieldType } ? FieldInputTypes[T]
  : unknown;

/** True when the field never holds null: a key, required, `nullable: false`, or a default. */
export type NeverNull<D extends EntityDefinition, N> = N extends KeyNames<D> ? true
  : FieldsOf<D>[N & keyof FieldsOf<D>] extends infer F
    ? F extends { readonly required: true } ? true
    : F extends { readonly nullable: false } ? true
    : F extends { readonly nullable: true } ? false
    : F extends { readonly defaultValue: Present } ? true
    : false
  : false;

/** True when the store generates the field's value (auto-increment keys). */
export type Generated<D extends EntityDefinition, N> = FieldsOf<D>[N & keyof FieldsOf<D>] extends
  infer F ? F extends { readonly autoIncrement: true } ? true
  : F extends { readonly autoIncrement: false } ? false
  : N extends KeyNames<D>
    ? IsSingle<KeyNames<D>> extends true ? F extends { readonly type: "integer" } ? true : false
    : false
  : false
  : false;

/** True when `create` must be given the field. */
export type MustGive<D extends EntityDefinition, N> = Generated<D, N> extends true ? false
  : FieldsOf<D>[N & keyof FieldsOf<D>] extends { readonly defaultValue: Present } ? false
  : N extends KeyNames<D> ? true
  : FieldsOf<D>[N & keyof FieldsOf<D>] extends infer F
    ? F extends { readonly required: true } ? true
    : F extends { readonly nullable: false } ? true
    : false
  : false;

/** Flattens an intersection for readable hovers and messages. */
export type Simplify<T> = { [K in keyof T]: T[K] };

/**
 * The record type of a definition: each field's canonical value, `| null` unless the field is a
 * key, required, not nullable, or has a default.
 *
 * @example
 * ```ts
 * import type { RecordType } from "@oar/odata-active-record";
 * type Product = RecordType<{ fields: { ProductID: { type: "integer"; primaryKey: true } } }>;
 * const p: Product = { ProductID: 1 };
 * ```
 */
export type RecordType<D extends EntityDefinition> = string extends keyof FieldsOf<D> ? Row
  : {
    -readonly [N in keyof FieldsOf<D>]:
      | ValueOf<FieldsOf<D>[N]>
      | (NeverNull<D, N> extends true ? never : null);
  };

/** What each field accepts in writes and conditions (without null). */
export type InputType<D extends EntityDefinition> = {
  -readonly [N in keyof FieldsOf<D>]: InputOf<FieldsOf<D>[N]>;
};

/** Field values a write may set: null only where the record type allows it. */
export type WriteValue<D extends EntityDefinition, N> =
  | InputOf<FieldsOf<D>[N & keyof FieldsOf<D>]>
  | (NeverNull<D, N> extends true ? never : null);

/**
 * What `create()` accepts: the fields that must be given (required or key, without a default, not
 * generated), and the others as optional.
 */
export type CreateInput<D extends EntityDefinition> = string extends keyof FieldsOf<D> ? Row
  : Simplify<
    & {
      -readonly [N in keyof FieldsOf<D> as MustGive<D, N> extends true ? N : never]: WriteValue<
        D,
        N
      >;
    }
    & {
      -readonly [N in keyof FieldsOf<D> as MustGive<D, N> extends true ? never : N]?:
        | WriteValue<D, N>
        | undefined;
    }
  >;

/** What `update()` accepts: any subset of the fields. */
export type UpdateInput<D extends EntityDefinition> = string extends keyof FieldsOf<D> ? Row
  : { -readonly [N in keyof FieldsOf<D>]?: WriteValue<D, N> | undefined };

/** What `findById()` accepts: the key value, or an object of every key field. */
export type KeyInput<D extends EntityDefinition> = string extends keyof FieldsOf<D> ? unknown
  : IsSingle<KeyNames<D>> extends true ?
      | InputType<D>[KeyNames<D> & keyof InputType<D>]
      | { readonly [K in KeyNames<D>]: InputType<D>[K & keyof InputType<D>] }
  : { readonly [K in KeyNames<D>]: InputType<D>[K & keyof InputType<D>] };

/** Entity definitions by entity name (what a typed namespace knows). */
export type EntityDefinitions = { readonly [name: string]: EntityDefinition };

/** True when `T` is `any`. */
export type IsAny<T> = 0 extends 1 & T ? true : false;

/** The definitions a namespace type knows: none for an untyped namespace (`any`). */
export type KnownDefinitions<E> = IsAny<E> extends true ? Record<never, never> : E;

/** The definition of a relation target, when the namespace knows it. */
export type TargetOf<E, R> = R extends { readonly entity: infer T extends string }
  ? T extends keyof KnownDefinitions<E>
    ? KnownDefinitions<E>[T] extends EntityDefinition ? KnownDefinitions<E>[T] : undefined
  : undefined
  : undefined;

/**
 * The shape of an entity the namespace does not describe: any names, values not checked (so
 * models of typed entities can be passed where untyped ones are expected).
 */
export interface UntypedShape {
  /** The record type. */
  readonly record: Row;
  /** Field names (and paths) usable in conditions and their values. */
  readonly where: AnyValues;
  /** What `create` accepts. */
  readonly create: AnyValues;
  /** What `update` accepts. */
  readonly update: AnyValues;
  /** What `findById` accepts. */
  // deno-lint-ignore no-explicit-any
  readonly key: any;
  /** Navigation properties. */
  readonly navigations: {
    readonly [name: string]: { readonly many: boolean; readonly shape: UntypedShape };
  };
}

/** Values of any name and type. */
// deno-lint-ignore no-explicit-any
export type AnyValues = { [name: string]: any };

/**
 * The shape of models typed by a record type alone. An untyped model (`Row`) checks nothing:
 * its shape is `any`, so models of typed entities can be passed where `EntityModel` is expected.
 */
export type DefaultShape<T extends Row> = string extends keyof T
  // deno-lint-ignore no-explicit-any
  ? any
  : ShapeFromRecord<T>;

/**
 * What the query builder and the model know about an entity at compile time, worked out once
 * from its definition (`ShapeOf<D, E>`), or `UntypedShape` for untyped models.
 */
export interface EntityShape {
  /** The record type. */
  readonly record: Row;
  /** Field names (and paths through to-one relations) usable in conditions and their values. */
  readonly where: Row;
  /** What `create` accepts. */
  readonly create: Row;
  /** What `update` accepts. */
  readonly update: Row;
  /** What `findById` accepts. */
  readonly key: unknown;
  /** Navigation properties: whether each is a collection, and the target's shape. */
  readonly navigations: {
    readonly [name: string]: { readonly many: boolean; readonly shape: EntityShape };
  };
}

/** The shape of a typed record without a definition (`EntityModel<{ A: number }>`). */
export interface ShapeFromRecord<T extends Row> {
  /** The record type. */
  readonly record: T;
  /** Field names usable in conditions. */
  readonly where: T;
  /** What `create` accepts. */
  readonly create: Partial<T>;
  /** What `update` accepts. */
  readonly update: Partial<T>;
  /** What `findById` accepts. */
  readonly key: unknown;
  /** Navigation properties (none known). */
  readonly navigations: UntypedShape["navigations"];
}

/** `Category/CategoryName` style paths through a to-one relation, with their value types. */
export type PathInputs<D extends EntityDefinition, E> = D extends { readonly relations: infer Rels }
  ? UnionToIntersection<
    {
      [R in keyof Rels & string]: Rels[R] extends { readonly type: "one" }
        ? TargetOf<E, Rels[R]> extends infer T extends EntityDefinition
          ? string extends keyof T["fields"] ? { [P in `${R}/${string}`]: unknown }
          : { [F in keyof T["fields"] & string as `${R}/${F}`]: InputOf<T["fields"][F]> }
        : { [P in `${R}/${string}`]: unknown }
        : never;
    }[keyof Rels & string]
  >
  : unknown;

/** The intersection of the members of union `U`. */
export type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends
  (x: infer I) => void ? I : never;

/** The navigation properties of a definition with their targets' shapes. */
export type NavigationsOf<D extends EntityDefinition, E> = D extends
  { readonly relations: infer Rels } ? {
    readonly [R in keyof Rels]: {
      readonly many: Rels[R] extends { readonly type: "many" } ? true : false;
      readonly shape: TargetOf<E, Rels[R]> extends infer T extends EntityDefinition ? ShapeOf<T, E>
        : UntypedShape;
    };
  }
  // deno-lint-ignore ban-types
  : {};

/**
 * The compile-time shape of an entity defined by `D` in a namespace whose definitions are `E`.
 *
 * @example
 * ```ts
 * import type { ShapeOf } from "@oar/odata-active-record";
 * type Products = ShapeOf<{ fields: { ProductID: { type: "integer"; primaryKey: true } } }>;
 * const key: Products["key"] = 1;
 * ```
 */
export type ShapeOf<D extends EntityDefinition, E = Record<never, never>> = string extends
  keyof FieldsOf<D> ? UntypedShape : {
  readonly record: RecordType<D>;
  readonly where: InputType<D> & PathInputs<D, E>;
  readonly create: CreateInput<D>;
  readonly update: UpdateInput<D>;
  readonly key: KeyInput<D>;
  readonly navigations: NavigationsOf<D, E>;
};

/** Field names (and to-one paths) usable in `where`, `orderBy` and `select`. */
export type FieldName<S extends EntityShape> = keyof S["where"] & string;

/** The value accepted for `name` in a condition. */
export type FieldInput<S extends EntityShape, K> = K extends keyof S["where"] ? S["where"][K]
  : unknown;

/** Navigation property names of a shape. */
export type NavigationName<S extends EntityShape> = keyof S["navigations"] & string;

/** Names of the fields whose values are numbers (what `increment`/`decrement` take). */
export type NumericFieldName<S extends EntityShape> = IsAny<S> extends true ? string
  :
    & {
      [K in keyof S["record"]]: unknown extends S["record"][K] ? K
        : [NonNullable<S["record"][K]>] extends [number] ? K
        : never;
    }[keyof S["record"]]
    & string;

/** Entity names a namespace typed with `E` accepts: any name when it has no definitions. */
export type EntityName<E extends EntityDefinitions> = [keyof KnownDefinitions<E>] extends [never]
  ? string
  : keyof E & string;

/**
 * The model type of entity `N` in a namespace typed with `E`; an untyped model (any names, values
 * not checked, assignable to typed models) for a namespace that does not know `N`.
 */
export type ModelOf<E extends EntityDefinitions, N extends string> = IsAny<E> extends true
  ? UntypedModel
  : N extends keyof E ? EntityModel<RecordType<E[N]>, ShapeOf<E[N], E>>
  : UntypedModel;

/** The model of an entity whose definition the type checker does not know. */
// deno-lint-ignore no-explicit-any
export type UntypedModel = EntityModel<any, any>;

/**
 * The transaction scope handed to `transaction()` of a namespace typed with `E`: its
 * `getEntity` returns typed models.
 */
export type TypedTransactionScope<E extends EntityDefinitions> = [keyof KnownDefinitions<E>] extends
  [never] ? TransactionScope
  : {
    /** The model of `name`, bound to this transaction. */
    getEntity<N extends keyof E & string>(name: N): ModelOf<E, N>;
  } & TransactionScope;

/**
 * Keeps entity definitions with their literal types, so a namespace made from them types every
 * model: `createNamespace("shop", { provider, entities })`.
 *
 * @example
 * ```ts
 * import { defineEntities } from "@oar/odata-active-record";
 * const entities = defineEntities({
 *   Categories: { fields: { CategoryID: { type: "integer", primaryKey: true } } },
 * });
 * ```
 */
export function defineEntities<const E extends EntityDefinitions>(entities: E): E {
  return entities;
}
