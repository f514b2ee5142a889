/**
 * Content negotiation and request preferences: `$format` and `Accept` (406 for what cannot be
 * produced), `odata.metadata` and `IEEE754Compatible` parameters, `OData-MaxVersion` (4.01
 * annotation spelling), `Content-Type` of bodies (415), and `Prefer`.
 *
 * @module
 */

import { httpError } from "./errors.ts";

/** The negotiated representation of a response. */
export interface Negotiated {
  /** JSON or XML (XML only for `$metadata`). */
  readonly kind: "json" | "xml";
  /** `odata.metadata`. */
  readonly metadata: "minimal" | "none" | "full";
  /** `IEEE754Compatible=true`. */
  readonly ieee754: boolean;
}

interface MediaRange {
  readonly type: string;
  readonly params: Map<string, string>;
  readonly q: number;
}

function parseMedia(text: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const item of text.split(",")) {
    const [type, ...rest] = item.split(";");
    if (type === undefined || type.trim() === "") continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const param of rest) {
      const eq = param.indexOf("=");
      if (eq < 0) continue;
      const name = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      if (name === "q") q = Number(value);
      else params.set(name, value);
    }
    ranges.push({ type: type.trim().toLowerCase(), params, q: Number.isNaN(q) ? 0 : q });
  }
  return ranges;
}

function metadataParam(params: Map<string, string>): Negotiated["metadata"] | undefined {
  const value = params.get("odata.metadata") ?? params.get("metadata");
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower === "minimal" || lower === "none" || lower === "full") return lower;
  throw httpError("NOT_ACCEPTABLE", `Unknown odata.metadata value '${value}'`, {
    target: "odata.metadata",
  });
}

/**
 * Picks the representation from `$format` (which wins) or `Accept`. `wantsXml` is true for
 * `$metadata` (XML by default, JSON when asked).
 */
export function negotiate(
  format: string | undefined,
  accept: string | null,
  wantsXml: boolean,
): Negotiated {
  let ranges: MediaRange[];
  if (format !== undefined) {
    const lower = format.toLowerCase();
    if (lower === "json") ranges = parseMedia("application/json");
    else if (lower === "xml") ranges = parseMedia("application/xml");
    else if (lower.startsWith("application/") || lower.startsWith("*/")) {
      ranges = parseMedia(format);
    } else {
      throw httpError("NOT_ACCEPTABLE", `$format=${format} cannot be produced`, {
        target: "$format",
      });
    }
  } else {
    ranges = accept === null || accept.trim() === "" ? [] : parseMedia(accept);
  }
  if (ranges.length === 0) {
    return { kind: wantsXml ? "xml" : "json", metadata: "minimal", ieee754: false };
  }
  const sorted = [...ranges].filter((r) => r.q > 0).sort((a, b) => b.q - a.q);
  for (const range of sorted) {
    const json = range.type === "application/json";
    const xml = range.type === "application/xml" || range.type === "text/xml";
    const any = range.type === "*/*" || range.type === "application/*";
    if (json || (any && !wantsXml)) {
      return {
        kind: "json",
        metadata: metadataParam(range.params) ?? "minimal",
        ieee754: (range.params.get("ieee754compatible") ?? "").toLowerCase() === "true",
      };
    }
    if (wantsXml && (xml || any)) return { kind: "xml", metadata: "minimal", ieee754: false };
  }
  throw httpError(
    "NOT_ACCEPTABLE",
    `None of the requested formats (${format ?? accept}) can be produced; this resource is ${
      wantsXml ? "application/xml or " : ""
    }application/json`,
    { target: format === undefined ? "Accept" : "$format" },
  );
}

/** True when the client accepts OData 4.01 (its `OData-MaxVersion`, or `OData-Version`). */
export function accepts401(headers: Headers): boolean {
  return accepts401Of(headers.get("odata-version"), headers.get("odata-maxversion"));
}

function accepts401Of(version: string | null, max: string | null): boolean {
  const asked = max ?? version;
  if (asked === null) return false;
  const value = Number.parseFloat(asked);
  return !Number.isNaN(value) && value >= 4.01;
}

/**
 * {@linkcode checkVersion} and {@linkcode accepts401} together, reading each header once (a
 * header lookup costs more than the rest of the check).
 */
export function negotiateVersion(headers: Headers): boolean {
  const version = headers.get("odata-version");
  const max = headers.get("odata-maxversion");
  checkVersionOf(version, max);
  return accepts401Of(version, max);
}

/** Checks the version headers: a client that needs more than 4.01, or less than 4.0, gets 400. */
export function checkVersion(headers: Headers): void {
  checkVersionOf(headers.get("odata-version"), headers.get("odata-maxversion"));
}

function checkVersionOf(version: string | null, max: string | null): void {
  if (version !== null) {
    const value = Number.parseFloat(version);
    if (Number.isNaN(value) || value < 4 || value > 4.01) {
      throw httpError("INVALID_ARGUMENT", `OData-Version ${version} is not supported`, {
        target: "OData-Version",
      });
    }
  }
  if (max !== null) {
    const value = Number.parseFloat(max);
    if (Number.isNaN(value) || value < 4) {
      throw httpError("INVALID_ARGUMENT", `OData-MaxVersion ${max}: this service speaks 4.0`, {
        target: "OData-MaxVersion",
      });
    }
  }
}

/** The parsed `Prefer` header. */
export interface Preferences {
  /** `return=representation|minimal`. */
  readonly return?: "representation" | "minimal";
  /** `odata.maxpagesize` / `maxpagesize`, validated. */
  readonly maxPageSize?: number;
  /** `continue-on-error` (batch). */
  readonly continueOnError?: boolean;
}

/** Parses `Prefer`; a bad `maxpagesize` (≤ 0, not an integer) is a 400. */
export function preferences(header: string | null): Preferences {
  if (header === null) return {};
  const result: { -readonly [K in keyof Preferences]: Preferences[K] } = {};
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? "" : item.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    if (name === "return") {
      const lower = value.toLowerCase();
      if (lower === "representation" || lower === "minimal") result.return = lower;
    } else if (name === "odata.maxpagesize" || name === "maxpagesize") {
      const size = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(size) || size <= 0) {
        throw httpError(
          "INVALID_ARGUMENT",
          `Prefer ${name}=${value}: the page size must be a positive integer`,
          { target: "Prefer" },
        );
      }
      result.maxPageSize = size;
    } else if (name === "odata.continue-on-error" || name === "continue-on-error") {
      result.continueOnError = value === "" || value.toLowerCase() === "true";
    }
  }
  return result;
}

/**
 * Refuses (415) a body that is not JSON. No type and `text/plain` (what `fetch` sets for a
 * string body without a type) are read as JSON too: some clients send them.
 */
export function requireJsonBody(contentType: string | null): void {
  if (contentType === null || contentType.trim() === "") return;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json") || type === "text/plain") return;
  throw httpError("UNSUPPORTED_MEDIA_TYPE", `Cannot read a body of type ${type}`, {
    target: "Content-Type",
  });
}
