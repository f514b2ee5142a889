/**
 * The part of a provider that only hands each data call on to its operations object (the same
 * code serves the provider itself and its transactions). Providers extend one of these classes
 * instead of writing the same forwarding methods each.
 *
 * @module
 */

import type { EntityMetadata } from "../model/schema.ts";
import type {
  ExecutionOptions,
  InsertOptions,
  ProviderOperations,
  ReadRequest,
  ReadResult,
  Row,
  WriteTarget,
} from "./provider.ts";

/**
 * Forwards `read`, `stream`, `count`, `insert`, `update` and `delete` to the operations object
 * the subclass sets once in its constructor with {@linkcode ForwardingOperations.forwardTo}.
 *
 * @example
 * ```ts
 * import { ForwardingOperations } from "./forwarding.ts";
 * import type { ProviderOperations } from "./provider.ts";
 * class Store extends ForwardingOperations<ProviderOperations> {
 *   constructor(operations: ProviderOperations) {
 *     super();
 *     this.forwardTo(operations);
 *   }
 * }
 * ```
 */
export abstract class ForwardingOperations<O extends ProviderOperations> {
  #operations: O | undefined;

  /** Sets the operations every call goes to (once, in the subclass constructor). */
  protected forwardTo(operations: O): void {
    this.#operations = operations;
  }

  /** The operations set with `forwardTo`. */
  protected get operations(): O {
    return this.#operations!;
  }

  /** See {@linkcode ProviderOperations.read}. */
  read(request: ReadRequest, options?: ExecutionOptions): Promise<ReadResult> {
    return this.#operations!.read(request, options);
  }

  /** See {@linkcode ProviderOperations.stream}. */
  stream(request: ReadRequest, options?: ExecutionOptions): AsyncIterable<Row> {
    return this.#operations!.stream(request, options);
  }

  /** See {@linkcode ProviderOperations.count}. */
  count(request: ReadRequest, options?: ExecutionOptions): Promise<number> {
    return this.#operations!.count(request, options);
  }

  /** See {@linkcode ProviderOperations.insert}. */
  insert(entity: EntityMetadata, rows: readonly Row[], options?: InsertOptions): Promise<Row[]> {
    return this.#operations!.insert(entity, rows, options);
  }

  /** See {@linkcode ProviderOperations.update}. */
  update(target: WriteTarget, changes: Row, options?: ExecutionOptions): Promise<number> {
    return this.#operations!.update(target, changes, options);
  }

  /** See {@linkcode ProviderOperations.delete}. */
  delete(target: WriteTarget, options?: ExecutionOptions): Promise<number> {
    return this.#operations!.delete(target, options);
  }
}

/** Operations that can increment (the method is optional in {@linkcode ProviderOperations}). */
export type IncrementingOperations =
  & ProviderOperations
  & Required<Pick<ProviderOperations, "increment">>;

/**
 * {@linkcode ForwardingOperations} plus `increment`, for providers whose operations have it (a
 * provider without it must not have the method at all: the model checks for it).
 *
 * @example
 * ```ts
 * import { ForwardingIncrements, type IncrementingOperations } from "./forwarding.ts";
 * class Store extends ForwardingIncrements<IncrementingOperations> {
 *   constructor(operations: IncrementingOperations) {
 *     super();
 *     this.forwardTo(operations);
 *   }
 * }
 * ```
 */
export abstract class ForwardingIncrements<O extends IncrementingOperations>
  extends ForwardingOperations<O> {
  /** See {@linkcode ProviderOperations.increment}. */
  increment(
    target: WriteTarget,
    increments: Readonly<Record<string, number>>,
    changes?: Row,
    options?: ExecutionOptions,
  ): Promise<number> {
    return this.operations.increment(target, increments, changes, options);
  }
}
