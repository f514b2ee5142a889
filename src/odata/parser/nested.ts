/**
 * `$select` and `$expand` items with their nested options (`Items($filter=...;$top=5)`), and the
 * one dispatcher that parses the value of any system query option, shared by the top level
 * (`parseQuery`) and nested option lists.
 *
 * @module
 */

import { QueryLimitError } from "../../errors/errors.ts";
import type {
  AnnotationSegment,
  ExpandItem,
  Expression,
  ODataQuery,
  PropertySegment,
  SelectItem,
  SelectSegment,
  SelectStarSegment,
  TypeCastSegment,
} from "../ast.ts";
import { parseApply } from "./apply.ts";
import { withAliases } from "./decode.ts";
import { parseExpression } from "./expression.ts";
import {
  eatListComma,
  isSpace,
  parseComputeItems,
  parseCount,
  parseFormat,
  parseIndex,
  parseLevels,
  parseOrderByItems,
  parseSchemaVersion,
  parseSkip,
  parseToken,
  parseTop,
  readIdentifier,
  readQualifiedName,
  wordAt,
} from "./options.ts";
import { parseSearch } from "./search.ts";
import { CH, isIdentifierPart, isIdentifierStart, type ParserState } from "./state.ts";

/**
 * The keys of {@linkcode ODataQuery} that system query options fill.
 *
 * @example
 * ```ts
 * import type { OptionKey } from "./nested.ts";
 * const key: OptionKey = "orderby";
 * ```
 */
export type OptionKey = Exclude<keyof ODataQuery, "custom">;

/**
 * A mutable {@linkcode ODataQuery} under construction.
 *
 * @example
 * ```ts
 * import type { QueryDraft } from "./nested.ts";
 * const draft: QueryDraft = {};
 * draft.top = 5;
 * ```
 */
export type QueryDraft = { -readonly [K in keyof ODataQuery]: ODataQuery[K] };

/**
 * The system query option key for a lower-case option name without `$`, or undefined.
 *
 * @example
 * ```ts
 * import { optionKey } from "./nested.ts";
 * optionKey("orderby"); // "orderby"
 * optionKey("find"); // undefined
 * ```
 */
export function optionKey(lowerName: string): OptionKey | undefined {
  switch (lowerName) {
    case "filter":
    case "select":
    case "expand":
    case "orderby":
    case "top":
    case "skip":
    case "count":
    case "search":
    case "compute":
    case "apply":
    case "levels":
    case "skiptoken":
    case "deltatoken":
    case "format":
    case "index":
    case "schemaversion":
      return lowerName;
  }
  return undefined;
}

/**
 * The system query option key spelled in lower case, without `$`, at `text[start, end)`, or
 * undefined: {@linkcode optionKey} without slicing the name out first (the hot path of every
 * option list; other spellings fall back to `optionKey` on the lower-cased name).
 *
 * @example
 * ```ts
 * import { optionKeyAt } from "./nested.ts";
 * optionKeyAt("$top=5", 1, 4); // "top"
 * ```
 */
export function optionKeyAt(text: string, start: number, end: number): OptionKey | undefined {
  switch (end - start) {
    case 3:
      return text.startsWith("top", start) ? "top" : undefined;
    case 4:
      return text.startsWith("skip", start) ? "skip" : undefined;
    case 5:
      if (text.startsWith("count", start)) return "count";
      if (text.startsWith("apply", start)) return "apply";
      return text.startsWith("index", start) ? "index" : undefined;
    case 6:
      if (text.startsWith("filter", start)) return "filter";
      if (text.startsWith("select", start)) return "select";
      if (text.startsWith("expand", start)) return "expand";
      if (text.startsWith("search", start)) return "search";
      if (text.startsWith("levels", start)) return "levels";
      return text.startsWith("format", start) ? "format" : undefined;
    case 7:
      if (text.startsWith("orderby", start)) return "orderby";
      return text.startsWith("compute", start) ? "compute" : undefined;
    case 9:
      return text.startsWith("skiptoken", start) ? "skiptoken" : undefined;
    case 10:
      return text.startsWith("deltatoken", start) ? "deltatoken" : undefined;
    case 13:
      return text.startsWith("schemaversion", start) ? "schemaversion" : undefined;
  }
  return undefined;
}

/**
 * Parses the value of system query option `key` at the cursor. List values stop before `;`,
 * `)` or anything else they do not own; `$format`, `$schemaversion` and the tokens take the rest.
 *
 * @example
 * ```ts
 * import { parseOptionValue } from "./nested.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseOptionValue(new ParserState("5", DEFAULT_QUERY_LIMITS), "top"); // 5
 * ```
 */
export function parseOptionValue(state: ParserState, key: OptionKey): ODataQuery[OptionKey] {
  switch (key) {
    case "filter":
      return parseExpression(state);
    case "select":
      return parseSelect(state);
    case "expand":
      return parseExpand(state);
    case "orderby":
      return parseOrderByItems(state);
    case "top":
      return parseTop(state);
    case "skip":
      return parseSkip(state);
    case "count":
      return parseCount(state);
    case "search":
      return parseSearch(state);
    case "compute":
      return parseComputeItems(state);
    case "apply":
      return parseApply(state);
    case "levels":
      return parseLevels(state);
    case "skiptoken":
    case "deltatoken":
      return parseToken(state);
    case "format":
      return parseFormat(state);
    case "index":
      return parseIndex(state);
    case "schemaversion":
      return parseSchemaVersion(state);
  }
}

/**
 * Stores `value` under `key` with constant property names, so result objects keep few shapes
 * and stores stay fast (a computed `draft[key] = value` is a megamorphic keyed store).
 *
 * @example
 * ```ts
 * import { setOption, type QueryDraft } from "./nested.ts";
 * const draft: QueryDraft = {};
 * setOption(draft, "top", 5); // draft.top === 5
 * ```
 */
export function setOption(draft: QueryDraft, key: OptionKey, value: ODataQuery[OptionKey]): void {
  // The casts are safe: parseOptionValue(state, key) returns the type of ODataQuery[key].
  const v = value as never;
  switch (key) {
    case "filter":
      draft.filter = v;
      break;
    case "select":
      draft.select = v;
      break;
    case "expand":
      draft.expand = v;
      break;
    case "orderby":
      draft.orderby = v;
      break;
    case "top":
      draft.top = v;
      break;
    case "skip":
      draft.skip = v;
      break;
    case "count":
      draft.count = v;
      break;
    case "search":
      draft.search = v;
      break;
    case "compute":
      draft.compute = v;
      break;
    case "apply":
      draft.apply = v;
      break;
    case "levels":
      draft.levels = v;
      break;
    case "skiptoken":
      draft.skiptoken = v;
      break;
    case "deltatoken":
      draft.deltatoken = v;
      break;
    case "format":
      draft.format = v;
      break;
    case "index":
      draft.index = v;
      break;
    case "schemaversion":
      draft.schemaversion = v;
      break;
  }
}

// Bit sets of the options allowed in each kind of nested option list.
const BIT: Readonly<Record<string, number>> = {
  filter: 1,
  search: 2,
  orderby: 4,
  skip: 8,
  top: 16,
  count: 32,
  select: 64,
  expand: 128,
  compute: 256,
  levels: 512,
  apply: 1024,
};
const COUNT_OPTIONS = 1 | 2;
const REF_OPTIONS = COUNT_OPTIONS | 4 | 8 | 16 | 32;
const EXPAND_OPTIONS = REF_OPTIONS | 64 | 128 | 256 | 512 | 1024;
const SELECT_OPTIONS = REF_OPTIONS | 64 | 256;
const STAR_OPTIONS = 512;

/** The bit of a nested option (0 for options that never nest); a switch avoids hashing. */
function optionBit(key: OptionKey): number {
  switch (key) {
    case "filter":
      return 1;
    case "search":
      return 2;
    case "orderby":
      return 4;
    case "skip":
      return 8;
    case "top":
      return 16;
    case "count":
      return 32;
    case "select":
      return 64;
    case "expand":
      return 128;
    case "compute":
      return 256;
    case "levels":
      return 512;
    case "apply":
      return 1024;
    default:
      return 0;
  }
}

function allowedNames(allowed: number): string[] {
  return Object.keys(BIT).filter((name) => (BIT[name]! & allowed) !== 0).map((n) => `$${n}`);
}

/**
 * Parses `(opt=value;opt=value)` at the cursor (which is on the `(`), allowing the options in
 * the `allowed` bit set plus parameter aliases `@a=value`. Aliases defined in the list apply to
 * the whole list: when there are any, the list is parsed again with them in scope.
 */
function parseNestedOptions(
  state: ParserState,
  allowed: number,
  what: string,
): ODataQuery | undefined {
  state.pos++; // "("
  state.enter();
  const start = state.pos;
  const startNodes = state.nodeCount;
  const { query, aliases } = parseOptionList(state, allowed, what);
  state.leave();
  if (aliases === undefined) return query;
  // A list of alias definitions only (`Items(@a=1)`) has no options.
  if (isEmpty(query)) return undefined;
  // Parse again with the list's own aliases in scope (definitions may follow their uses).
  const scope = new Map<string, Expression>(state.aliases ?? []);
  for (const [name, value] of aliases) scope.set(name, value);
  const child = withAliases(state, scope);
  child.pos = start;
  child.nodeCount = startNodes;
  child.enter();
  const again = parseOptionList(child, allowed, what).query;
  state.pos = child.pos;
  state.nodeCount = child.nodeCount;
  return again;
}

function isEmpty(query: ODataQuery): boolean {
  for (const _ in query) return false;
  return true;
}

function parseOptionList(
  state: ParserState,
  allowed: number,
  what: string,
): { query: ODataQuery; aliases: [string, Expression][] | undefined } {
  const text = state.text;
  const query: QueryDraft = {};
  let aliases: [string, Expression][] | undefined;
  let seen = 0;
  for (;;) {
    if (isSpace(state.peek())) {
      // `OPEN option *( SEMI option ) CLOSE`: no whitespace, as after `$filter=` (ABNF).
      state.fail([], state.pos, `No whitespace is allowed before an option in ${what}`);
    }
    const nameStart = state.pos;
    if (state.eatChar(CH.AT)) {
      const name = readIdentifier(state, "alias name");
      if (aliases?.some(([defined]) => defined === name)) {
        state.fail([], nameStart, `Duplicate parameter alias @${name}`);
      }
      state.expectChar(CH.EQUALS, "=");
      (aliases ??= []).push([name, parseExpression(state)]);
    } else {
      state.eatChar(CH.DOLLAR);
      let i = state.pos;
      while (isIdentifierPart(text.charCodeAt(i))) i++;
      let key = optionKeyAt(text, state.pos, i);
      // Other spellings (`$Top`, `$SELECT`) are rare: only they pay for a lower-cased copy.
      const lower = key ?? text.slice(state.pos, i).toLowerCase();
      key ??= optionKey(lower);
      const bit = key === undefined ? 0 : optionBit(key);
      if ((bit & allowed) === 0) {
        const expected = allowedNames(allowed);
        state.fail(
          expected,
          nameStart,
          bit === 0
            ? undefined
            : `$${lower} is not allowed in ${what}; expected ${
              expected.map((e) => JSON.stringify(e)).join(" or ")
            }`,
        );
      }
      if ((seen & bit) !== 0) state.fail([";", ")"], nameStart, `Duplicate option $${lower}`);
      seen |= bit;
      state.pos = i;
      state.expectChar(CH.EQUALS, "=");
      setOption(query, key!, parseOptionValue(state, key!));
    }
    const end = state.pos;
    state.skipWhitespace();
    const c = state.peek();
    if (state.pos > end && (c === CH.SEMI || c === CH.RPAREN)) {
      state.fail(
        [],
        end,
        `No whitespace is allowed before the "${c === CH.SEMI ? ";" : ")"}" in ${what}`,
      );
    }
    if (c === CH.SEMI) {
      state.pos++;
      continue;
    }
    if (c === CH.RPAREN) {
      state.pos++;
      return { query, aliases };
    }
    state.fail([";", ")"]);
  }
}

/** Reads `@Namespace.Term` or `@Namespace.Term#Qualifier` (cursor on `@`). */
function readAnnotation(state: ParserState): string {
  const start = state.pos++;
  readQualifiedName(state, "annotation term");
  if (state.eatChar(CH.HASH)) readIdentifier(state, "annotation qualifier");
  return state.text.slice(start, state.pos);
}

/** True if `(` at the cursor opens an option list rather than function parameter names. */
function optionListAhead(state: ParserState): boolean {
  const text = state.text;
  let i = state.pos + 1;
  while (text.charCodeAt(i) === CH.SPACE) i++;
  const c = text.charCodeAt(i);
  if (c === CH.DOLLAR || c === CH.AT) return true;
  while (isIdentifierPart(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === CH.EQUALS;
}

/**
 * Parses `$select` items (comma-separated) at the cursor.
 *
 * @example
 * ```ts
 * import { parseSelect } from "./nested.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseSelect(new ParserState("Name,Address/City", DEFAULT_QUERY_LIMITS));
 * // [{ segments: [{ kind: "Property", name: "Name" }] },
 * //  { segments: [{ kind: "Property", name: "Address" }, { kind: "Property", name: "City" }] }]
 * ```
 */
export function parseSelect(state: ParserState): SelectItem[] {
  const items: SelectItem[] = [];
  do {
    items.push(parseSelectItem(state));
  } while (eatListComma(state, "$select items"));
  return items;
}

function parseSelectItem(state: ParserState): SelectItem {
  // Fast path: a lone property (`$select=Name,Price`), the common case.
  const text = state.text;
  const start = state.pos;
  if (isIdentifierStart(text.charCodeAt(start))) {
    let i = start + 1;
    while (isIdentifierPart(text.charCodeAt(i))) i++;
    const next = text.charCodeAt(i);
    if (next !== CH.SLASH && next !== CH.LPAREN && next !== CH.DOT) {
      state.pos = i;
      state.countNode();
      return { segments: [{ kind: "Property", name: text.slice(start, i) }] };
    }
  }
  const segments: SelectSegment[] = [];
  let options: ODataQuery | undefined;
  for (;;) {
    const c = state.peek();
    let segment: PropertySegment | TypeCastSegment | AnnotationSegment;
    if (c === CH.STAR) {
      state.pos++;
      segments.push(STAR);
      break;
    } else if (c === CH.AT) {
      segment = annotationSegment(readAnnotation(state));
    } else if (isIdentifierStart(c)) {
      const name = readQualifiedName(state, "property");
      if (
        state.text.charCodeAt(state.pos) === CH.DOT &&
        state.text.charCodeAt(state.pos + 1) === CH.STAR
      ) {
        // `Model.*`: all operations of a schema.
        state.pos += 2;
        segments.push({ kind: "AllOperations", namespace: name });
        break;
      }
      segment = name.includes(".") ? { kind: "TypeCast", type: name } : { kind: "Property", name };
    } else {
      state.fail(["property", "*"]);
    }
    if (state.peek() === CH.LPAREN) {
      if (optionListAhead(state)) {
        segments.push(segment);
        options = parseNestedOptions(state, SELECT_OPTIONS, "nested $select options");
        break;
      }
      if (segment.kind === "Annotation") {
        state.fail(
          ["/", ",", "end of $select item"],
          state.pos,
          "An annotation takes no parameter names",
        );
      }
      // Parameter names pick a function overload: `MostPopularName(Location,Kind)`.
      state.pos++;
      const parameters: string[] = [];
      do parameters.push(readIdentifier(state, "parameter name")); while (
        eatListComma(state, "parameter names")
      );
      state.expectChar(CH.RPAREN, ")");
      const name = segment.kind === "Property" ? segment.name : segment.type;
      segments.push({ kind: "Operation", name, parameters });
      if (state.peek() === CH.SLASH) {
        state.fail(
          [",", "end of $select item"],
          state.pos,
          `An operation with parameter names (${name}(...)) can only be the last step of a $select path`,
        );
      }
      break;
    }
    segments.push(segment);
    if (state.peek() !== CH.SLASH) break;
    state.pos++;
  }
  state.countNode();
  return options === undefined ? { segments } : { segments, options };
}

const STAR: SelectStarSegment = Object.freeze({ kind: "Star" });

/** The segment of an annotation step read as `@Term#Qualifier` text. */
function annotationSegment(step: string): AnnotationSegment {
  const hash = step.indexOf("#");
  return hash === -1
    ? { kind: "Annotation", term: step.slice(1) }
    : { kind: "Annotation", term: step.slice(1, hash), qualifier: step.slice(hash + 1) };
}

/**
 * Parses `$expand` items (comma-separated) at the cursor, counting one `$expand` level against
 * `maxExpandDepth`.
 *
 * @example
 * ```ts
 * import { parseExpand } from "./nested.ts";
 * import { ParserState } from "./state.ts";
 * import { DEFAULT_QUERY_LIMITS } from "../limits.ts";
 * parseExpand(new ParserState("Category($select=Name),Items/$ref", DEFAULT_QUERY_LIMITS));
 * // [{ path: ["Category"], options: { select: [{ path: ["Name"] }] } },
 * //  { path: ["Items"], ref: true }]
 * ```
 */
export function parseExpand(state: ParserState): ExpandItem[] {
  if (++state.expandDepth > state.limits.maxExpandDepth) {
    throw new QueryLimitError("maxExpandDepth", state.limits.maxExpandDepth);
  }
  const items: ExpandItem[] = [];
  do {
    items.push(parseExpandItem(state));
  } while (eatListComma(state, "$expand items"));
  state.expandDepth--;
  return items;
}

function parseExpandItem(state: ParserState): ExpandItem {
  const text = state.text;
  const path: string[] = [];
  const dollarValue = wordAt(text, state.pos, "$value", false);
  if (dollarValue !== -1 && text.charCodeAt(dollarValue) !== CH.SLASH) {
    state.pos = dollarValue;
    state.countNode();
    return { path: ["$value"] };
  }
  let star = false;
  let ref = false;
  let count = false;
  for (;;) {
    const c = state.peek();
    if (c === CH.STAR) {
      state.pos++;
      path.push("*");
      star = true;
    } else if (c === CH.AT) {
      path.push(readAnnotation(state));
    } else if (isIdentifierStart(c)) {
      path.push(readQualifiedName(state, "navigation property"));
    } else {
      state.fail(["navigation property", "*"]);
    }
    if (state.peek() !== CH.SLASH) break;
    const next = state.pos + 1;
    let end = wordAt(text, next, "$ref", false);
    if (end !== -1) {
      state.pos = end;
      ref = true;
      break;
    }
    if (!star) {
      end = wordAt(text, next, "$count", false);
      if (end !== -1) {
        state.pos = end;
        count = true;
        break;
      }
    }
    if (star) state.fail(["$ref", "(", ",", "end of $expand item"], state.pos);
    state.pos = next;
  }
  let options: ODataQuery | undefined;
  if (state.peek() === CH.LPAREN) {
    if (star) {
      if (ref) state.fail([",", "end of $expand item"]);
      options = parseNestedOptions(state, STAR_OPTIONS, "options of $expand=*");
    } else if (ref) {
      options = parseNestedOptions(state, REF_OPTIONS, "options after $ref");
    } else if (count) {
      options = parseNestedOptions(state, COUNT_OPTIONS, "options after $count");
    } else {
      options = parseNestedOptions(state, EXPAND_OPTIONS, "nested $expand options");
    }
  }
  state.countNode();
  const item: { -readonly [K in keyof ExpandItem]: ExpandItem[K] } = { path };
  if (ref) item.ref = true;
  if (count) item.count = true;
  if (options !== undefined) item.options = options;
  return item;
}
