/**
 * Reads the Northwind sample rows from the PostgreSQL dump `data/northwind.sql` and maps them to
 * the entity sets of {@linkcode NORTHWIND_ENTITIES}: PascalCase field names and the canonical value
 * of each field type (see `src/provider/provider.ts`).
 *
 * Portable: it uses only `node:fs/promises`, so it runs unchanged under Deno, Node and Bun.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import type { EntityDefinition, FieldDefinition } from "../../src/model/schema.ts";
import { NORTHWIND_ENTITIES } from "./schema.ts";

/**
 * Rows by entity set name; each row keyed by field name.
 *
 * @example
 * ```ts
 * import type { NorthwindRows } from "./data.ts";
 * const rows: NorthwindRows = { Regions: [{ RegionID: 1, RegionDescription: "Eastern" }] };
 * ```
 */
export type NorthwindRows = Record<string, Record<string, unknown>[]>;

/** Dump table → entity set. Tables not listed (`us_states`, `customer_demographics`, ...) are skipped. */
const TABLE_TO_ENTITY: Readonly<Record<string, string>> = {
  categories: "Categories",
  suppliers: "Suppliers",
  products: "Products",
  customers: "Customers",
  employees: "Employees",
  shippers: "Shippers",
  orders: "Orders",
  order_details: "Order_Details",
  region: "Regions",
  territories: "Territories",
  employee_territories: "EmployeeTerritories",
};

/** Column names that the snake_case → PascalCase rule does not produce. */
const COLUMN_OVERRIDES: Readonly<Record<string, string>> = { homepage: "HomePage" };

/** `category_id` → `CategoryID`, `ship_postal_code` → `ShipPostalCode`. */
function fieldNameOf(column: string): string {
  const override = COLUMN_OVERRIDES[column];
  if (override !== undefined) return override;
  return column.split("_").map((part) =>
    part === "id" ? "ID" : part.charAt(0).toUpperCase() + part.slice(1)
  ).join("");
}

type Token =
  | { readonly kind: "null" }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly text: string }
  | { readonly kind: "boolean"; readonly value: boolean };

interface Column {
  readonly name: string;
  /** The SQL type as declared, lower case (`smallint`, `real`, `character varying(40)`, ...). */
  readonly sqlType: string;
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const HEX = /^\\x((?:[0-9a-fA-F]{2})*)$/;

function fail(message: string, sql: string, position: number): never {
  const line = sql.slice(0, position).split("\n").length;
  throw new SyntaxError(`northwind.sql line ${line}: ${message}`);
}

/**
 * Splits SQL text into statements (without the `;`), skipping `--` comments and blank space and
 * honouring `'...'` literals (with `''` escapes), which may contain `;` or newlines.
 */
function* statements(sql: string): Generator<{ text: string; start: number }> {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    // Skip whitespace and comments between statements.
    const c = sql.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    if (sql.startsWith("--", i)) {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
      continue;
    }
    const start = i;
    while (i < n) {
      const ch = sql[i];
      if (ch === "'") {
        i++;
        for (;;) {
          const close = sql.indexOf("'", i);
          if (close === -1) fail("unterminated string literal", sql, start);
          if (sql[close + 1] === "'") {
            i = close + 2;
            continue;
          }
          i = close + 1;
          break;
        }
      } else if (ch === ";") {
        break;
      } else if (ch === "-" && sql[i + 1] === "-") {
        const end = sql.indexOf("\n", i);
        i = end === -1 ? n : end + 1;
      } else {
        i++;
      }
    }
    if (i >= n) fail("statement without a terminating ';'", sql, start);
    yield { text: sql.slice(start, i), start };
    i++; // the ';'
  }
}

/** Column names and types of `CREATE TABLE name (col type, ...)`. */
function parseCreateTable(
  text: string,
  sql: string,
  start: number,
): { table: string; columns: Column[] } {
  const match = /^CREATE TABLE\s+(\w+)\s*\(([\s\S]*)\)\s*$/i.exec(text);
  if (match === null) fail("cannot read CREATE TABLE", sql, start);
  const columns: Column[] = [];
  for (const part of match[2]!.split(/,\s*\n/)) {
    const column = /^\s*(\w+)\s+([\s\S]+?)(?:\s+NOT NULL)?\s*$/i.exec(part);
    if (column === null) fail(`cannot read column definition '${part.trim()}'`, sql, start);
    columns.push({ name: column[1]!.toLowerCase(), sqlType: column[2]!.toLowerCase() });
  }
  return { table: match[1]!.toLowerCase(), columns };
}

/**
 * Tokens of each tuple of `INSERT INTO name VALUES (...), (...)` (no column list: values are
 * positional, in `CREATE TABLE` order). With `standard_conforming_strings = on` (set by the dump)
 * a backslash in `'...'` is an ordinary character; only `''` is an escape.
 */
function parseInsert(
  text: string,
  sql: string,
  start: number,
): { table: string; tuples: Token[][] } {
  const head = /^INSERT INTO\s+(\w+)\s+VALUES\s*/i.exec(text);
  if (head === null) fail("only INSERT INTO table VALUES (...) is supported", sql, start);
  const tuples: Token[][] = [];
  let i = head[0].length;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(text[i]!)) i++;
  };
  const at = (message: string): never => fail(message, sql, start + i);
  for (;;) {
    skipSpace();
    if (text[i] !== "(") at("expected '('");
    i++;
    const tuple: Token[] = [];
    for (;;) {
      skipSpace();
      if (text[i] === "'") {
        let value = "";
        i++;
        for (;;) {
          const close = text.indexOf("'", i);
          if (close === -1) at("unterminated string literal");
          value += text.slice(i, close);
          if (text[close + 1] === "'") {
            value += "'";
            i = close + 2;
          } else {
            i = close + 1;
            break;
          }
        }
        tuple.push({ kind: "string", value });
      } else {
        const end = text.slice(i).search(/[\s,)]/);
        const word = end === -1 ? text.slice(i) : text.slice(i, i + end);
        i += word.length;
        const upper = word.toUpperCase();
        if (upper === "NULL") tuple.push({ kind: "null" });
        else if (upper === "TRUE" || upper === "FALSE") {
          tuple.push({ kind: "boolean", value: upper === "TRUE" });
        } else if (NUMBER.test(word)) tuple.push({ kind: "number", text: word });
        else at(`unsupported value '${word}'`);
      }
      skipSpace();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === ")") {
        i++;
        break;
      }
      at("expected ',' or ')'");
    }
    tuples.push(tuple);
    skipSpace();
    if (i >= n) break;
    if (text[i] !== ",") at("expected ',' or the end of the statement");
    i++;
  }
  return { table: head[1]!.toLowerCase(), tuples };
}

/**
 * The shortest decimal that reads back as the same float4 (what PostgreSQL ≥ 12 prints by
 * default): `32.3800011` → `32.38`, `0.0500000007` → `0.05`.
 */
function float4(text: string): number {
  const single = Math.fround(Number(text));
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return single;
}

const FLOAT4 = new Set(["real", "float4"]);
const FLOAT8 = new Set(["double precision", "float8"]);

/** Decimal digits as a canonical string: `scale` rounding, no trailing zeros (`18`, `32.38`). */
function decimalString(value: number, scale: number): string {
  const fixed = value.toFixed(scale);
  const trimmed = fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
  return trimmed === "-0" ? "0" : trimmed;
}

/** Converts one dump value to the canonical value of `field`. */
function convert(token: Token, field: FieldDefinition, column: Column, where: string): unknown {
  if (token.kind === "null") return null;
  const wrong = (): never => {
    throw new SyntaxError(
      `northwind.sql ${where}: cannot read ${JSON.stringify(token)} as ${field.type}`,
    );
  };
  switch (field.type) {
    case "integer": {
      if (token.kind !== "number" || !/^-?\d+$/.test(token.text)) return wrong();
      const value = Number(token.text);
      return Number.isSafeInteger(value) ? value : wrong();
    }
    case "number": {
      if (token.kind !== "number") return wrong();
      return FLOAT4.has(column.sqlType) ? float4(token.text) : Number(token.text);
    }
    case "decimal": {
      if (token.kind !== "number") return wrong();
      const scale = field.scale ?? 4;
      if (FLOAT4.has(column.sqlType) || FLOAT8.has(column.sqlType)) {
        const value = FLOAT4.has(column.sqlType) ? float4(token.text) : Number(token.text);
        return decimalString(value, scale);
      }
      // numeric/integer columns: exact digits, trailing zeros stripped.
      return /^-?\d+(\.\d+)?$/.test(token.text)
        ? token.text.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "")
        : wrong();
    }
    case "boolean": {
      if (token.kind === "boolean") return token.value;
      if (token.kind === "number" && (token.text === "0" || token.text === "1")) {
        return token.text === "1";
      }
      return wrong();
    }
    case "datetime":
    case "date": {
      if (token.kind !== "string") return wrong();
      const match = DATE.exec(token.value);
      if (match === null) return wrong();
      const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
      if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== token.value) {
        return wrong();
      }
      return field.type === "date" ? token.value : date;
    }
    case "binary": {
      if (token.kind !== "string") return wrong();
      const match = HEX.exec(token.value);
      if (match === null) return wrong();
      const hex = match[1]!;
      const bytes = new Uint8Array(hex.length / 2);
      for (let b = 0; b < bytes.length; b++) bytes[b] = parseInt(hex.slice(2 * b, 2 * b + 2), 16);
      return bytes;
    }
    case "string": {
      if (token.kind !== "string") return wrong();
      // The dump writes line breaks inside addresses as the two characters `\n`, which
      // PostgreSQL (standard_conforming_strings = on) would keep literally: restore the break.
      return token.value.includes("\\n") ? token.value.replaceAll("\\n", "\n") : token.value;
    }
    default:
      return wrong();
  }
}

/**
 * Parses the text of the Northwind PostgreSQL dump into rows per entity set (canonical values,
 * PascalCase field names). Every entity set of `entities` is present in the result (possibly
 * empty); dump tables that map to no entity set are skipped.
 *
 * @example
 * ```ts
 * import { parseNorthwindSql } from "./data.ts";
 * const rows = parseNorthwindSql(
 *   "CREATE TABLE region (\n    region_id smallint NOT NULL,\n    region_description character varying(60) NOT NULL\n);\n" +
 *     "INSERT INTO region VALUES (1, 'Eastern');\n",
 * );
 * rows.Regions; // [{ RegionID: 1, RegionDescription: "Eastern" }]
 * ```
 */
export function parseNorthwindSql(
  sql: string,
  entities: Readonly<Record<string, EntityDefinition>> = NORTHWIND_ENTITIES,
): NorthwindRows {
  const result: NorthwindRows = {};
  for (const name of Object.keys(entities)) result[name] = [];
  const tables = new Map<string, Column[]>();
  for (const { text, start } of statements(sql)) {
    if (/^CREATE TABLE\b/i.test(text)) {
      const { table, columns } = parseCreateTable(text, sql, start);
      tables.set(table, columns);
      continue;
    }
    if (!/^INSERT\b/i.test(text)) continue; // SET, DROP, ALTER TABLE: nothing to read
    const { table, tuples } = parseInsert(text, sql, start);
    const entityName = TABLE_TO_ENTITY[table];
    if (entityName === undefined) continue;
    const definition = entities[entityName];
    const rows = result[entityName];
    if (definition === undefined || rows === undefined) continue;
    const columns = tables.get(table);
    if (columns === undefined) fail(`INSERT INTO ${table} before its CREATE TABLE`, sql, start);
    const fields = columns.map((column) => {
      const name = fieldNameOf(column.name);
      const field = definition.fields[name];
      if (field === undefined) {
        fail(`column ${table}.${column.name} maps to no field of ${entityName}`, sql, start);
      }
      return { name, field, column };
    });
    for (const tuple of tuples) {
      if (tuple.length !== fields.length) {
        fail(`${table}: ${tuple.length} values for ${fields.length} columns`, sql, start);
      }
      const row: Record<string, unknown> = {};
      for (let c = 0; c < fields.length; c++) {
        const { name, field, column } = fields[c]!;
        row[name] = convert(tuple[c]!, field, column, `${table}.${column.name}`);
      }
      rows.push(row);
    }
  }
  return result;
}

/**
 * Reads `data/northwind.sql` (next to this module) and returns its rows per entity set of
 * {@linkcode NORTHWIND_ENTITIES}: 8 `Categories`, 29 `Suppliers`, 77 `Products`, 91 `Customers`,
 * 9 `Employees`, 6 `Shippers`, 830 `Orders`, 2155 `Order_Details`, 4 `Regions`, 53 `Territories`
 * and 49 `EmployeeTerritories`.
 *
 * @example
 * ```ts
 * import { readNorthwindRows } from "./data.ts";
 * const rows = await readNorthwindRows();
 * rows.Products?.[0]; // { ProductID: 1, ProductName: "Chai", UnitPrice: "18", Discontinued: true, ... }
 * ```
 */
export async function readNorthwindRows(): Promise<Record<string, Record<string, unknown>[]>> {
  const sql = await readFile(new URL("./data/northwind.sql", import.meta.url), "utf8");
  return parseNorthwindSql(sql);
}
