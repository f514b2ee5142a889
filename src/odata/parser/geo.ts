/**
 * Validation of the body of geography/geometry literals (`SRID=4326;Point(1 2)`) per the ABNF
 * rules `fullPointLiteral`, `fullPolygonLiteral`, ... The literal keeps its text; this module only
 * checks the shape and finds where it ends.
 *
 * @module
 */

import { CH, type ParserState } from "./state.ts";

const GEO_KINDS = [
  "Point",
  "LineString",
  "Polygon",
  "MultiPoint",
  "MultiLineString",
  "MultiPolygon",
  "GeometryCollection",
];

/** Case-insensitive match of an ASCII `word` at `p` (ABNF quoted strings ignore case). */
function matchWord(text: string, p: number, word: string): boolean {
  if (p + word.length > text.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((text.charCodeAt(p + i) | 0x20) !== (word.charCodeAt(i) | 0x20)) return false;
  }
  return true;
}

function isDigitCode(c: number): boolean {
  return c >= CH.D0 && c <= CH.D9;
}

/**
 * Validates `SRID=n;<geoLiteral>` starting at `p` (just after the opening quote) and returns the
 * index of the closing quote. Fails with `ODataSyntaxError` at the first offending character.
 *
 * @example
 * ```ts
 * import { ParserState } from "./state.ts";
 * import { resolveLimits } from "../limits.ts";
 * import { scanGeoValue } from "./geo.ts";
 * const text = "geography'SRID=4326;Point(1 2)'";
 * scanGeoValue(new ParserState(text, resolveLimits(undefined)), 10); // 30
 * ```
 */
export function scanGeoValue(state: ParserState, p: number): number {
  const text = state.text;
  if (!matchWord(text, p, "SRID=")) state.fail(["SRID="], p);
  p += 5;
  const digits = p;
  while (isDigitCode(text.charCodeAt(p)) && p - digits < 5) p++;
  if (p === digits) state.fail(["digit"], p);
  if (text.charCodeAt(p) !== CH.SEMI) state.fail([";"], p);
  p = geoLiteral(state, p + 1);
  if (text.charCodeAt(p) !== CH.SQUOTE) state.fail(["'"], p);
  return p;
}

function expect(state: ParserState, p: number, code: number, shown: string): number {
  if (state.text.charCodeAt(p) !== code) state.fail([shown], p);
  return p + 1;
}

function geoLiteral(state: ParserState, p: number): number {
  const text = state.text;
  if (matchWord(text, p, "GeometryCollection(")) {
    // The only recursive geo rule: bounded by maxDepth like every other nesting.
    state.enter();
    p = geoLiteral(state, p + 19);
    while (text.charCodeAt(p) === CH.COMMA) p = geoLiteral(state, p + 1);
    state.leave();
    return expect(state, p, CH.RPAREN, ")");
  }
  if (matchWord(text, p, "LineString")) return lineStringData(state, p + 10);
  if (matchWord(text, p, "MultiLineString(")) return sequence(state, p + 16, lineStringData);
  if (matchWord(text, p, "MultiPoint(")) return sequence(state, p + 11, pointData);
  if (matchWord(text, p, "MultiPolygon(")) return sequence(state, p + 13, polygonData);
  if (matchWord(text, p, "Point")) return pointData(state, p + 5);
  if (matchWord(text, p, "Polygon")) return polygonData(state, p + 7);
  return state.fail(GEO_KINDS, p);
}

/** `[ item *( COMMA item ) ] CLOSE` after an opening `Multi...(`. */
function sequence(
  state: ParserState,
  p: number,
  item: (state: ParserState, p: number) => number,
): number {
  const text = state.text;
  if (text.charCodeAt(p) !== CH.RPAREN) {
    p = item(state, p);
    while (text.charCodeAt(p) === CH.COMMA) p = item(state, p + 1);
  }
  return expect(state, p, CH.RPAREN, ")");
}

/** `OPEN position 1*( COMMA position ) CLOSE`. */
function lineStringData(state: ParserState, p: number): number {
  p = position(state, expect(state, p, CH.LPAREN, "("));
  p = position(state, expect(state, p, CH.COMMA, ","));
  while (state.text.charCodeAt(p) === CH.COMMA) p = position(state, p + 1);
  return expect(state, p, CH.RPAREN, ")");
}

/** `OPEN position CLOSE`. */
function pointData(state: ParserState, p: number): number {
  p = position(state, expect(state, p, CH.LPAREN, "("));
  return expect(state, p, CH.RPAREN, ")");
}

/** `OPEN ring *( COMMA ring ) CLOSE`, each ring `OPEN position *( COMMA position ) CLOSE`. */
function polygonData(state: ParserState, p: number): number {
  const text = state.text;
  p = expect(state, p, CH.LPAREN, "(");
  for (;;) {
    p = position(state, expect(state, p, CH.LPAREN, "("));
    while (text.charCodeAt(p) === CH.COMMA) p = position(state, p + 1);
    p = expect(state, p, CH.RPAREN, ")");
    if (text.charCodeAt(p) !== CH.COMMA) break;
    p++;
  }
  return expect(state, p, CH.RPAREN, ")");
}

/** `doubleValue SP doubleValue [ SP doubleValue ] [ SP doubleValue ]`. */
function position(state: ParserState, p: number): number {
  const text = state.text;
  p = doubleValue(state, p);
  p = doubleValue(state, expect(state, p, CH.SPACE, " "));
  for (let i = 0; i < 2 && text.charCodeAt(p) === CH.SPACE; i++) p = doubleValue(state, p + 1);
  return p;
}

/** `["+"/"-"] 1*DIGIT ["." 1*DIGIT] ["e" ["+"/"-"] 1*DIGIT] / NaN / -INF / INF`. */
function doubleValue(state: ParserState, p: number): number {
  const text = state.text;
  if (text.startsWith("NaN", p) || text.startsWith("INF", p)) return p + 3;
  if (text.startsWith("-INF", p)) return p + 4;
  let c = text.charCodeAt(p);
  if (c === CH.PLUS || c === CH.MINUS) c = text.charCodeAt(++p);
  if (!isDigitCode(c)) state.fail(["number"], p);
  while (isDigitCode(text.charCodeAt(p))) p++;
  if (text.charCodeAt(p) === CH.DOT) {
    if (!isDigitCode(text.charCodeAt(++p))) state.fail(["digit"], p);
    while (isDigitCode(text.charCodeAt(p))) p++;
  }
  if ((text.charCodeAt(p) | 0x20) === 101) { // "e"
    c = text.charCodeAt(++p);
    if (c === CH.PLUS || c === CH.MINUS) p++;
    if (!isDigitCode(text.charCodeAt(p))) state.fail(["digit"], p);
    while (isDigitCode(text.charCodeAt(p))) p++;
  }
  return p;
}
