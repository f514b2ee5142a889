/**
 * Log sinks of the production service. The library only logs to categories under
 * `["odata-active-record", ...]`; the application decides where lines go:
 *
 * - development (default): the original design's readable lines (`✅ SQLite connection
 *   established (attempt 1)`), one per record, warnings and errors to stderr;
 * - `LOG_FORMAT=json`: one JSON object per line on stdout (`@timestamp`, `level`, `logger`,
 *   `message`, `properties`) for log shippers;
 * - `LOG_LEVEL` sets the lowest level;
 * - `DEBUG=odata-active-record:*` turns on debug for every library category,
 *   `DEBUG=odata-active-record:pool,odata-active-record:service` for some of them.
 *
 * The variables are read and validated by the library's config loader (`loadConfigFromEnv`).
 * Lines are written synchronously so that the last lines before `Deno.exit` (the final metrics)
 * are never lost.
 *
 * @module
 */

import {
  configure,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  reset,
} from "@logtape/logtape";

/** The library's root category. */
export const LIBRARY_CATEGORY: readonly string[] = ["odata-active-record"];
/** The service's own category (request log, start-up, shutdown). */
export const SERVICE_CATEGORY: readonly string[] = ["odata-active-record", "example"];

/** How log lines look. */
export type LogFormat = "text" | "json";

/** Settings for {@link configureLogging}. */
export interface LoggingSettings {
  /** Lowest level logged. */
  readonly level: LogLevel;
  /** Readable lines or JSON lines. */
  readonly format: LogFormat;
  /** The `DEBUG` variable as given (`odata-active-record:*`, comma- or space-separated). */
  readonly debug?: string | undefined;
  /** Where lines go; defaults to stdout (info and below) and stderr (warning and above). */
  readonly write?: ((line: string, level: LogLevel) => void) | undefined;
}

/**
 * The categories `DEBUG` turns to debug level: `odata-active-record:*` is the library root,
 * `odata-active-record:pool` its `pool` child; other namespaces in the list are ignored.
 *
 * @example
 * ```ts
 * debugCategories("odata-active-record:pool"); // [["odata-active-record", "pool"]]
 * ```
 */
export function debugCategories(debug: string | undefined): string[][] {
  if (debug === undefined) return [];
  const result: string[][] = [];
  for (const item of debug.split(/[\s,]+/)) {
    const parts = item.split(":");
    if (parts[0] !== LIBRARY_CATEGORY[0]) continue;
    const rest = parts.slice(1).filter((part) => part !== "");
    if (rest.length === 0 || rest[0] === "*") result.push([...LIBRARY_CATEGORY]);
    else result.push([...LIBRARY_CATEGORY, ...rest.filter((part) => part !== "*")]);
  }
  return result;
}

function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The message of a record with its placeholders filled in. */
export function renderMessage(record: LogRecord): string {
  return record.message.map(renderValue).join("");
}

/** The development format: the message as written (the design's emoji lines). */
export function formatText(record: LogRecord): string {
  const message = renderMessage(record);
  if (record.level === "debug" || record.level === "trace") {
    return `🐛 [${record.category.join(":")}] ${message}`;
  }
  return message;
}

/** The production format: one JSON object. */
export function formatJson(record: LogRecord): string {
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record.properties)) {
    properties[key] = value instanceof Error ? { name: value.name, message: value.message } : value;
  }
  return JSON.stringify({
    "@timestamp": new Date(record.timestamp).toISOString(),
    level: record.level,
    logger: record.category.join("."),
    message: renderMessage(record),
    properties,
  });
}

const encoder = new TextEncoder();

function writeLine(line: string, level: LogLevel): void {
  const bytes = encoder.encode(line + "\n");
  const stream = level === "warning" || level === "error" || level === "fatal"
    ? Deno.stderr
    : Deno.stdout;
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

/**
 * Configures LogTape for the service (replacing any earlier configuration).
 *
 * @example
 * ```ts
 * await configureLogging({ level: "info", format: "json" });
 * ```
 */
export async function configureLogging(settings: LoggingSettings): Promise<void> {
  const format = settings.format === "json" ? formatJson : formatText;
  const write = settings.write ?? writeLine;
  const sink = (record: LogRecord): void => write(format(record), record.level);
  const debug = debugCategories(settings.debug);
  const rootDebug = debug.some((category) => category.length === LIBRARY_CATEGORY.length);
  const children = rootDebug ? [] : [...new Map(debug.map((c) => [c.join(":"), c])).values()];
  await configure({
    reset: true,
    sinks: { main: sink },
    loggers: [
      {
        category: [...LIBRARY_CATEGORY],
        sinks: ["main"],
        lowestLevel: rootDebug ? "debug" : settings.level,
      },
      // A child with its own sink: the root's level must not filter its debug records.
      ...children.map((category) => ({
        category,
        sinks: ["main" as const],
        parentSinks: "override" as const,
        lowestLevel: "debug" as const,
      })),
      { category: ["logtape", "meta"], sinks: ["main"], lowestLevel: "warning" },
    ],
  });
}

/** Drops the configuration (tests). */
export async function resetLogging(): Promise<void> {
  await reset();
}

/**
 * The service's logger.
 *
 * @example
 * ```ts
 * serviceLogger().info("🚀 Initializing Production OData Service...");
 * ```
 */
export function serviceLogger(): Logger {
  return getLogger([...SERVICE_CATEGORY]);
}
