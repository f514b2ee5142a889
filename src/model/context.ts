/**
 * What a model needs from its surroundings: the provider operations to run on (the namespace's
 * provider, or one transaction), the namespace's schema, and its options. Namespaces and
 * transactions both implement it, so one model class serves both.
 *
 * @module
 */

import type { ProviderCapabilities, ProviderOperations } from "../provider/provider.ts";
import type { DateInputFormat, SchemaResolver } from "./schema.ts";

/** Options that shape how a namespace reads and writes. */
export interface NamespaceOptions {
  /**
   * Extra date input formats accepted by every date/datetime field of the namespace.
   * @default {[]}
   */
  readonly dateFormats?: readonly DateInputFormat[];
  /** The clock used for relative dates ("yesterday"); injectable for tests. */
  readonly now?: () => Date;
}

/** The execution context of a model (a namespace or a transaction). */
export interface ModelContext {
  /** The namespace name, for messages. */
  readonly namespaceName: string;
  /** Resolves entities of the namespace. */
  readonly schema: SchemaResolver;
  /** Namespace options. */
  readonly options: NamespaceOptions;
  /** The provider operations, connecting first when needed. */
  operations(): Promise<ProviderOperations>;
  /** The provider's capabilities, once connected (undefined before). */
  capabilities(): ProviderCapabilities | undefined;
}
