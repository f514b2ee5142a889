/**
 * The entities of the original design's namespaces, besides Northwind: `logs` on `sqlite_prod`
 * (per-replica application log rows) and `users` / `orders` on `mongodb_prod` and `postgres_prod`
 * (data shared by every replica).
 *
 * @module
 */

import type { EntityDefinition } from "../../mod.ts";

/** `sqlite_prod.logs`: what the service writes about itself, kept next to each replica. */
export const LOG_ENTITY: EntityDefinition = {
  table: "logs",
  fields: {
    id: { type: "integer", primaryKey: true },
    level: { type: "string", maxLength: 10, required: true, index: true },
    message: { type: "string", required: true },
    source: { type: "string", maxLength: 100 },
    createdAt: { type: "datetime", required: true, index: true },
  },
};

/** `mongodb_prod.users` of the original design (`where: { isActive: true }`). */
export const USER_ENTITY: EntityDefinition = {
  table: "users",
  fields: {
    id: { type: "string", primaryKey: true },
    name: { type: "string", required: true },
    email: { type: "string", required: true, unique: true },
    isActive: { type: "boolean", required: true, index: true },
    createdAt: { type: "datetime" },
    // Replicas share these rows: a counter that is incremented atomically (`incrementById`), and
    // a row version, so that concurrent read-modify-write saves (and PATCH with If-Match, whose
    // ETag is this version) meet a conflict instead of overwriting each other.
    loginCount: { type: "integer", defaultValue: 0 },
    version: { type: "integer", version: true },
  },
  relations: { orders: { type: "many", entity: "orders", foreignKey: "userId" } },
};

/** `mongodb_prod.orders`: a user's orders. */
export const ORDER_ENTITY: EntityDefinition = {
  table: "orders",
  fields: {
    id: { type: "string", primaryKey: true },
    userId: { type: "string", required: true, index: true },
    total: { type: "decimal", precision: 12, scale: 2, required: true },
    status: { type: "string", maxLength: 20, required: true },
    createdAt: { type: "datetime" },
  },
  relations: { user: { type: "one", entity: "users", foreignKey: "userId" } },
};
