/**
 * Safe JSON parsing for hostile response bodies: nesting depth is limited before parsing, and
 * prototype-polluting keys (`__proto__`, `constructor.prototype`) are removed.
 * @see DESIGN.md §4.4, §5 "Bodies"; FIELD-NOTES "Parsing untrusted data"
 */
import sjson from 'secure-json-parse';
import { GatehouseFailure } from '../errors.ts';

const QUOTE = 34; // "
const BACKSLASH = 92; // \
const OPEN_BRACE = 123; // {
const OPEN_BRACKET = 91; // [
const CLOSE_BRACE = 125; // }
const CLOSE_BRACKET = 93; // ]

const BOM = 0xfeff;
const PARSE_OPTIONS = Object.freeze({ protoAction: 'remove', constructorAction: 'remove' } as const);

/**
 * Parses a JSON response body.
 *
 * Nesting deeper than `maxDepth` (objects and arrays; a scalar is depth 0, `[]` depth 1) is
 * refused by an O(n) pre-scan before any parsing, so a 1e6-deep body costs one pass and no stack.
 * A Buffer is decoded as UTF-8 (invalid sequences become U+FFFD); a leading BOM is ignored.
 *
 * @param text the body bytes or text.
 * @param maxDepth deepest nesting accepted (`limits.maxJsonDepth`, default 64).
 * @returns the parsed value, without `__proto__` keys or `constructor` keys holding `prototype`.
 * @throws GatehouseFailure `too_deep` past `maxDepth`; `malformed_json` when not valid JSON.
 * @example parseJson(body, 64)
 * @see DESIGN.md §5 "Bodies"
 */
export function parseJson(text: Buffer | string, maxDepth: number): unknown {
  const source = typeof text === 'string' ? text : text.toString('utf8');
  if (!fewerOpeningsThan(source, maxDepth + 1) && nestingExceeds(source, maxDepth)) {
    throw new GatehouseFailure('too_deep', `JSON nesting deeper than ${maxDepth}`);
  }
  try {
    // Only text that could spell a polluting key needs the slower secure parse; every spelling of
    // `__proto__` or `constructor` contains one of these substrings (escapes need a backslash).
    if (mayPollute(source)) return sjson.parse(source, null, PARSE_OPTIONS) as unknown;
    return JSON.parse(source.charCodeAt(0) === BOM ? source.slice(1) : source) as unknown;
  } catch {
    // The SyntaxError quotes the input: keep it out of the failure (no cause).
    throw new GatehouseFailure('malformed_json', 'response body is not valid JSON');
  }
}

/** Whether the text could spell `__proto__` or `constructor` (escaped spellings need a backslash). */
function mayPollute(text: string): boolean {
  // Three substring searches are several times faster than one alternation regex.
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\');
}

/**
 * True when the text has fewer than `limit` opening brackets in all: then no nesting can reach
 * `limit`, and the exact scan is skipped. `indexOf` makes this several times cheaper than the scan.
 */
function fewerOpeningsThan(text: string, limit: number): boolean {
  let count = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count >= limit) return false;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count >= limit) return false;
  return true;
}

/**
 * True when brackets outside strings nest deeper than `maxDepth`. Exact for valid JSON; for
 * invalid JSON the answer does not matter because parsing refuses it next.
 */
function nestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false; // unterminated string: malformed, the parser says so
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote closing the string that opens at `open`, or -1. Linear overall. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    // The quote is escaped when an odd number of backslashes precedes it.
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if ((backslashes & 1) === 0) return at;
  }
}
