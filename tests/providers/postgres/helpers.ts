/** Shared pieces of the PostgreSQL tests: a namespace on a fresh database, and error checks. */
import postgres from "postgres";
import {
  type EntityNamespace,
  EntityNamespaceManager,
  ODataActiveRecordError,
} from "../../../mod.ts";
import type { PostgresProviderConfig } from "../../../src/provider/registry.ts";
import { available, createDatabase, HOW_TO_ENABLE } from "./server.ts";
import { EXPANDED_COUNTS } from "../../../src/provider/expanded_counts.ts";

export { available, HOW_TO_ENABLE };

/** A test that runs only when a PostgreSQL server can be had. */
export function pgTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `postgres: ${name}`, ignore: !available, fn });
}

/** A predicate for `assert.rejects` on an error code. */
export function isCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => {
    if (error instanceof ODataActiveRecordError && error.code === code) return true;
    throw error;
  };
}

/** The context of a fresh database: URL, a raw driver pool and namespace factory. */
export interface PgContext {
  readonly url: string;
  /** A raw postgres.js pool on the database (for checks made independently of the library). */
  readonly raw: ReturnType<typeof postgres>;
  /** Creates a namespace on the database (closed at the end). */
  namespace(options?: Partial<PostgresProviderConfig>): EntityNamespace;
}

/** Runs `fn` on a fresh database that is dropped afterwards. */
export async function withDatabase(fn: (context: PgContext) => Promise<void>): Promise<void> {
  const database = await createDatabase();
  const raw = postgres(database.url, { max: 4, onnotice: () => {} });
  const managers: EntityNamespaceManager[] = [];
  let count = 0;
  try {
    await fn({
      url: database.url,
      raw,
      namespace: (options = {}) => {
        const manager = new EntityNamespaceManager();
        managers.push(manager);
        return manager.createNamespace(`pg${++count}`, {
          provider: { type: "postgres", url: database.url, ...options },
        });
      },
    });
  } finally {
    for (const manager of managers) await manager.close().catch(() => {});
    await raw.end({ timeout: 1 });
    await database.drop();
  }
}

/**
 * One query's answer as comparable texts (rows, count), or its error code; unordered answers
 * sorted, numbers to 6 decimals: what the cross-checks compare between SQLite and PostgreSQL.
 */
export async function answer(
  namespace: EntityNamespace,
  entitySet: string,
  text: string,
): Promise<unknown> {
  let result;
  try {
    result = await namespace.getEntity(entitySet).query(text).find();
  } catch (error) {
    return { error: error instanceof ODataActiveRecordError ? error.code : String(error) };
  }
  const rows = result.data.map((r) =>
    JSON.stringify(r.toJSON(), (_k, v) => {
      if (typeof v === "number") return Number(v.toFixed(6));
      // Counts of expanded collections ($count=true) sit under a symbol: show them.
      if (v !== null && typeof v === "object" && Object.hasOwn(v, EXPANDED_COUNTS)) {
        return { ...v, "@counts": v[EXPANDED_COUNTS] };
      }
      return v;
    })
  );
  const ordered = text.includes("$orderby") || text.includes("orderby(");
  return { rows: ordered ? rows : rows.sort(), count: result.count };
}
