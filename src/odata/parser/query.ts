/**
 * `parseQuery`: a whole OData query string (`$filter=...&$select=...&@p=...&custom=...`) into an
 * {@linkcode ODataQuery}.
 *
 * @module
 */

import { ODataSyntaxError, QueryLimitError } from "../../errors/errors.ts";
import { closestName } from "../../errors/suggest.ts";
import { checkParseOptions, invalidArgument, show } from "../arguments.ts";
import type { Expression, ODataQuery } from "../ast.ts";
import { type ParseOptions, type QueryLimits, resolveLimits } from "../limits.ts";
import { decodeText, QueryState } from "./decode.ts";
import { failAfterOperand, parseExpression } from "./expression.ts";
import { isStackOverflow, stackExhausted } from "./state.ts";
import {
  type OptionKey,
  optionKey,
  optionKeyAt,
  parseOptionValue,
  type QueryDraft,
  setOption,
} from "./nested.ts";

/** One `name=value` pair of the query, with where its parts start in the source. */
interface Entry {
  readonly name: string;
  readonly nameStart: number;
  /** Undefined when the pair has no `=`. */
  readonly value: string | undefined;
  readonly valueStart: number;
  /** Raw end of the value when it had `%` escapes, else -1 (see {@linkcode QueryState}). */
  readonly rawEnd: number;
}

/** The system option names accepted at the top level, for "did you mean" suggestions. */
const TOP_LEVEL_NAMES = [
  "$filter",
  "$select",
  "$expand",
  "$orderby",
  "$top",
  "$skip",
  "$count",
  "$search",
  "$compute",
  "$apply",
  "$skiptoken",
  "$deltatoken",
  "$format",
  "$index",
  "$schemaversion",
];

/**
 * Parses a whole query string into an {@linkcode ODataQuery}.
 *
 * - A leading `?` is optional. The text is split on `&` and each option on its first `=` before
 *   percent-decoding, so `%26` inside a string literal stays part of the value.
 * - Decoding is percent-decoding, not form decoding: `+` stays `+` (as in
 *   `2024-01-01T00:00:00+02:00`). Raw spaces are accepted inside expressions, but, as the ABNF
 *   says, not right after the `=` (allowed only for `$search`; tokens, `$format` and
 *   `$schemaversion` keep their text as written), not around the commas of `$select`, `$expand`,
 *   `$orderby` and `$compute` lists and not inside nested option lists `(...;...)`; a malformed
 *   `%` escape or a raw `#` (which would start the URL fragment) is an `ODataSyntaxError`.
 * - A parameter alias defined twice (`@x=1&@x=2`) is an `ODataSyntaxError`, like a repeated
 *   system query option.
 * - System option names are case-insensitive and may omit the `$` (OData 4.01); `$skiptoken`
 *   and `$deltatoken` always need it. Other names without `$`/`@` are custom options (`custom`),
 *   and so are `$id`/`id`, which this parser does not interpret. A repeated system option is an
 *   error, and so is an empty name (`=x`). `$levels` is only valid inside `$expand` options.
 * - Parameter aliases (`@p=value`, or `options.aliases`; the query's own win) are parsed as
 *   common expressions or JSON and substituted where used, also in nested option lists that
 *   define their own aliases. An alias used but not defined is `null`.
 * - Error positions index into the given string (exact for values without `%` escapes, the
 *   first char of the escape otherwise).
 * - A `URLSearchParams` input is already decoded; note that it has turned every `+` into a
 *   space, so pass the raw string when values may contain `+`. Error positions then index into
 *   the pairs joined as `name=value&...`.
 *
 * @example
 * ```ts
 * import { parseQuery } from "./query.ts";
 * const query = parseQuery("?$filter=Price gt 20&$orderby=Name desc&$top=5&$count=true");
 * console.log(query.top, query.count, query.orderby?.[0]?.direction); // 5 true "desc"
 * ```
 */
export function parseQuery(query: string | URLSearchParams, options?: ParseOptions): ODataQuery {
  if (typeof query !== "string" && !(query instanceof URLSearchParams)) {
    throw invalidArgument(
      `parseQuery() takes a query string or URLSearchParams, got ${show(query)}`,
      { value: show(query) },
    );
  }
  checkParseOptions(options, "parseQuery()");
  const limits = resolveLimits(options?.limits);
  let source: string;
  let entries: Entry[];
  if (typeof query === "string") {
    source = query;
    entries = splitQuery(query, limits);
  } else {
    const built = entriesFromParams(query);
    source = built.source;
    entries = built.entries;
    if (source.length > limits.maxLength) throw new QueryLimitError("maxLength", limits.maxLength);
  }
  return parseEntries(source, entries, limits, options);
}

/** Splits `text` into entries, decoding names and values. */
function splitQuery(text: string, limits: QueryLimits): Entry[] {
  const length = text.length;
  const start = text.charCodeAt(0) === 63 ? 1 : 0; // "?"
  // The decoded text is never longer than the raw one, so escapes only need counting when the
  // raw text is over the limit.
  let decodedLength = length - start;
  if (decodedLength > limits.maxLength) {
    const percent = text.indexOf("%", start);
    if (percent === -1 || decodedLength > 3 * limits.maxLength) {
      throw new QueryLimitError("maxLength", limits.maxLength);
    }
    for (let i = percent; i !== -1; i = text.indexOf("%", i + 1)) decodedLength -= 2;
    if (decodedLength > limits.maxLength) throw new QueryLimitError("maxLength", limits.maxLength);
  }
  const hash = text.indexOf("#", start);
  if (hash !== -1) {
    throw new ODataSyntaxError(text, hash, [], {
      detail: "A raw # starts the URL fragment and cannot appear in a query",
      suggestion: "Percent-encode # as %23.",
    });
  }
  const entries: Entry[] = [];
  // The next "%" at or after the current entry (length when there is none): one scan per escape,
  // not one per entry.
  let percent = text.indexOf("%", start);
  if (percent === -1) percent = length;
  let i = start;
  while (i <= length) {
    let amp = text.indexOf("&", i);
    if (amp === -1) amp = length;
    if (amp > i) {
      if (percent < i) {
        percent = text.indexOf("%", i);
        if (percent === -1) percent = length;
      }
      let eq = text.indexOf("=", i);
      if (eq > amp) eq = -1;
      const nameEnd = eq === -1 ? amp : eq;
      const name = percent >= nameEnd ? text.slice(i, nameEnd) : decodeText(text, i, nameEnd);
      if (eq === -1) {
        entries.push({ name, nameStart: i, value: undefined, valueStart: amp, rawEnd: -1 });
      } else if (percent >= amp) {
        const value = text.slice(eq + 1, amp);
        entries.push({ name, nameStart: i, value, valueStart: eq + 1, rawEnd: -1 });
      } else {
        const value = decodeText(text, eq + 1, amp);
        entries.push({ name, nameStart: i, value, valueStart: eq + 1, rawEnd: amp });
      }
    }
    i = amp + 1;
  }
  return entries;
}

/** Entries of already-decoded pairs, positioned in a synthetic `name=value&...` source. */
function entriesFromParams(params: URLSearchParams): { source: string; entries: Entry[] } {
  const entries: Entry[] = [];
  let source = "";
  for (const [name, value] of params) {
    if (source.length > 0) source += "&";
    const nameStart = source.length;
    source += `${name}=${value}`;
    entries.push({
      name,
      nameStart,
      value,
      valueStart: nameStart + name.length + 1,
      rawEnd: -1,
    });
  }
  return { source, entries };
}

/** The alias scope of queries without aliases: every `@name` then resolves to `null`. */
const NO_ALIASES: ReadonlyMap<string, Expression> = new Map();

/** Where a system option was given. */
interface Slot {
  readonly key: OptionKey;
  readonly entry: Entry;
}

/** Options whose value is taken as written, whitespace included. */
function isVerbatim(key: OptionKey): boolean {
  return key === "skiptoken" || key === "deltatoken" || key === "format" ||
    key === "schemaversion";
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function syntaxError(
  source: string,
  position: number,
  expected: readonly string[],
  detail?: string,
  suggestion?: string,
): ODataSyntaxError {
  return new ODataSyntaxError(source, position, expected, { detail, suggestion });
}

function parseEntries(
  source: string,
  entries: readonly Entry[],
  limits: QueryLimits,
  options: ParseOptions | undefined,
): ODataQuery {
  const slots: Slot[] = [];
  const aliasEntries: Entry[] = [];
  let custom: Record<string, string> | undefined;
  for (const entry of entries) {
    const name = entry.name;
    if (name.length === 0) {
      // `=x`: every option, alias and custom option has a name (customName = 1*qchar...).
      throw syntaxError(source, entry.nameStart, ["query option name"], "Empty query option name");
    }
    const first = name.charCodeAt(0);
    if (first === 64) { // "@"
      aliasEntries.push(entry);
      continue;
    }
    let key = first === 36 ? optionKeyAt(name, 1, name.length) : undefined;
    if (key !== undefined && key !== "levels") {
      // Fast path: the usual lower-case `$name` spelling.
    } else if (first === 36) { // "$"
      const lower = name.slice(1).toLowerCase();
      key = optionKey(lower);
      if (key === undefined || key === "levels") {
        if (lower === "id") {
          (custom ??= {})[name] = entry.value ?? "";
          continue;
        }
        const guess = closestName(name, TOP_LEVEL_NAMES);
        throw syntaxError(
          source,
          entry.nameStart + badNameChar(name),
          TOP_LEVEL_NAMES,
          key === "levels"
            ? "$levels is only allowed in $expand options"
            : `Unknown system query option ${name}` +
              (guess === undefined ? "" : `; did you mean ${guess}?`),
          guess === undefined ? undefined : `Did you mean ${guess}?`,
        );
      }
    } else {
      key = optionKey(name.toLowerCase());
      // Without "$", tokens and $levels are not system options (OData 4.01 ABNF).
      if (key === "skiptoken" || key === "deltatoken" || key === "levels") key = undefined;
    }
    if (key === undefined) {
      const bag = custom ??= {};
      if (name === "__proto__") {
        Object.defineProperty(bag, name, {
          value: entry.value ?? "",
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else bag[name] = entry.value ?? "";
      continue;
    }
    if (entry.value === undefined) {
      throw syntaxError(source, entry.valueStart, ["="], `Missing value of ${name}`);
    }
    for (const slot of slots) {
      if (slot.key === key) {
        throw syntaxError(
          source,
          entry.nameStart,
          [],
          `Duplicate system query option ${name}`,
          "Give each system query option at most once.",
        );
      }
    }
    slots.push({ key, entry });
  }

  const nodes = { count: 0 };
  let aliases: ReadonlyMap<string, Expression> = NO_ALIASES;
  if (options?.aliases !== undefined || aliasEntries.length > 0) {
    const scope = new AliasScope(source, limits, nodes);
    for (const [key, text] of Object.entries(options?.aliases ?? {})) {
      const name = key.startsWith("@") ? key.slice(1) : key;
      const entry = { name: `@${name}`, nameStart: 0, value: text, valueStart: 0, rawEnd: -1 };
      scope.define(name, entry, text);
    }
    const defined = new Set<string>();
    for (const entry of aliasEntries) {
      const name = entry.name.slice(1);
      if (defined.has(name)) {
        throw syntaxError(
          source,
          entry.nameStart,
          [],
          `Duplicate parameter alias ${entry.name}`,
          "Give each parameter alias one value.",
        );
      }
      defined.add(name);
      if (!isAliasName(name)) {
        throw syntaxError(source, entry.nameStart + 1, ["alias name"], "Invalid alias name");
      }
      if (entry.value === undefined) {
        throw syntaxError(source, entry.valueStart, ["="], `Missing value of ${entry.name}`);
      }
      scope.define(name, entry, source);
    }
    scope.resolveAll();
    aliases = scope;
  }

  const result: QueryDraft = {};
  if (slots.length === 0) {
    if (custom !== undefined) result.custom = custom;
    return result;
  }
  // One state serves every option value (reset in between); the node count runs on across them.
  const state = new QueryState("", limits, { aliases, offset: 0, source });
  state.nodeCount = nodes.count;
  try {
    parseSlots(state, slots, result);
  } catch (error) {
    if (isStackOverflow(error)) throw stackExhausted(state.depth, limits.maxDepth);
    throw error;
  }
  if (custom !== undefined) result.custom = custom;
  return result;
}

/** Parses each system option value into `result`. */
function parseSlots(state: QueryState, slots: readonly Slot[], result: QueryDraft): void {
  for (const { key, entry } of slots) {
    const text = entry.value!;
    state.reset(text, entry.valueStart, entry.rawEnd);
    // Only `search = "$search" EQ BWS searchExpr` allows whitespace after the "=" (ABNF); other
    // values are refused where they start, as the ABNF test cases report it. Tokens, $format and
    // $schemaversion take their text as written (a %20 is part of a token).
    if (isSpace(text.charCodeAt(0)) && !isVerbatim(key)) {
      state.skipWhitespace();
      if (key !== "search") {
        state.fail([], state.pos, `No whitespace is allowed between ${entry.name}= and its value`);
      }
    }
    const value = parseOptionValue(state, key);
    const end = state.pos;
    state.skipWhitespace();
    if (!state.atEnd()) {
      if (key === "filter") {
        state.pos = end;
        failAfterOperand(state, ["operator", "end of input"]);
      }
      state.fail(expectedAfter(key));
    }
    setOption(result, key, value);
  }
}

function expectedAfter(key: OptionKey): string[] {
  switch (key) {
    case "select":
    case "expand":
    case "orderby":
    case "compute":
      return [",", "end of input"];
    case "apply":
      return ["/", "end of input"];
    default:
      return ["end of input"];
  }
}

/**
 * Offset of the first char of an unknown `$name` that cannot be part of an option name (`$filter `
 * fails at the space), or 0 to point at the whole name.
 */
function badNameChar(name: string): number {
  for (let i = 1; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return i;
  }
  return 0;
}

function isAliasName(name: string): boolean {
  if (name.length === 0) return false;
  const c = name.charCodeAt(0);
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127)) return false;
  for (let i = 1; i < name.length; i++) {
    const d = name.charCodeAt(i);
    if (
      !((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 95 || d > 127 ||
        (d >= 48 && d <= 57))
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Parameter alias values, parsed on first use so that an alias may refer to another one defined
 * later in the query; a cycle is a syntax error.
 */
class AliasScope extends Map<string, Expression> {
  readonly #pending = new Map<string, { entry: Entry; source: string }>();
  readonly #resolving = new Set<string>();
  readonly #source: string;
  readonly #limits: QueryLimits;
  readonly #nodes: { count: number };

  constructor(source: string, limits: QueryLimits, nodes: { count: number }) {
    super();
    this.#source = source;
    this.#limits = limits;
    this.#nodes = nodes;
  }

  /** Registers an alias; a later definition of the same name replaces an earlier one. */
  define(name: string, entry: Entry, source: string): void {
    super.delete(name);
    this.#pending.set(name, { entry, source });
  }

  override has(name: string): boolean {
    return super.has(name) || this.#pending.has(name);
  }

  override get(name: string): Expression | undefined {
    const value = super.get(name);
    return value !== undefined ? value : this.#resolve(name);
  }

  /** Parses every alias not used yet, so invalid values are reported. */
  resolveAll(): void {
    for (const name of [...this.#pending.keys()]) this.#resolve(name);
  }

  #resolve(name: string): Expression | undefined {
    const pending = this.#pending.get(name);
    if (pending === undefined) return undefined;
    const { entry, source } = pending;
    if (this.#resolving.has(name)) {
      throw syntaxError(
        this.#source,
        entry.nameStart,
        [],
        `Parameter alias @${name} refers to itself`,
      );
    }
    this.#resolving.add(name);
    const state = new QueryState(
      entry.value!,
      this.#limits,
      { aliases: this, offset: entry.valueStart, source },
      entry.rawEnd,
    );
    state.nodeCount = this.#nodes.count;
    // `aliasAndValue = parameterAlias EQ parameterValue`: no whitespace after the "=".
    const value = parseAliasValue(state);
    this.#nodes.count = state.nodeCount;
    this.#resolving.delete(name);
    this.#pending.delete(name);
    super.set(name, value);
    return value;
  }
}

/** A parameter alias value: a common expression or a JSON object/array, filling the text. */
function parseAliasValue(state: QueryState): Expression {
  const value = parseExpression(state);
  state.skipWhitespace();
  if (!state.atEnd()) state.fail(["end of input"]);
  return value;
}
