/**
 * Turns a 2xx body into the caller's data, treating it as hostile: secrets echoed back are
 * refused, JSON content type checked, JSON parsed safely with a depth limit, schema validated.
 * @see FR-05, SR-04, DESIGN.md §4.4, §5 "Bodies"
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ValidateFunction } from 'ajv';
import { GatehouseFailure } from '../errors.ts';
import { parseJson } from '../net/json.ts';

/** What the caller expects of a body. */
export interface ResponseExpectation {
  /** `json` requires a JSON content type; `auto` parses JSON when labelled so, else gives text. */
  readonly responseType: 'json' | 'text' | 'auto';
  readonly validate: ValidateFunction | undefined;
  readonly maxJsonDepth: number;
}

const JSON_TYPE = /^application\/(?:[a-z0-9!#$&^_.+-]+\+)?json\s*(?:;|$)/i;
/** Shorter secrets would match innocent bodies by chance. */
const MIN_REFLECTED_SECRET = 4;

function isJson(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && JSON_TYPE.test(type);
}

const NON_ASCII = /[\u0080-\uffff]/;
/** Backslash escapes of JSON and JavaScript strings: `\u0074`, `\x74`, `\"`, `\\`, `\/`, `\n`, ... */
const ESCAPE = /\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(.))/gs;
const ESCAPED_CHARS: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** The text with its backslash escapes undone, as a JSON or JavaScript parser would read them. */
function unescaped(text: string): string {
  return text.replace(ESCAPE, (_escape, unicode: string | undefined, hex: string | undefined, char: string | undefined) => {
    const code = unicode ?? hex;
    return code !== undefined ? String.fromCharCode(parseInt(code, 16)) : (ESCAPED_CHARS[char!] ?? char!);
  });
}

/** The secret as a URL carries it, upper- and lower-case hex, when that differs from the secret. */
function percentEncoded(secret: string): readonly string[] {
  let upper: string;
  try {
    upper = encodeURIComponent(secret);
  } catch {
    return NONE; // a lone surrogate: no URL can carry it
  }
  return upper === secret ? NONE : [upper, upper.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase())];
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Refuses a body that carries one of the bound credential's secrets, whatever the body's type:
 * verbatim; behind backslash escapes (`\u0074…` in a JSON or JavaScript string, where a secret
 * with `"` or `\` is always escaped); percent-encoded (a URL in the body); or, for a non-ASCII
 * secret, as a header carries it (Latin-1 bytes, which UTF-8 decoding would not show).
 */
function refuseReflectedSecrets(text: string, secrets: readonly string[], bytes: Buffer): void {
  const plain = text.includes('\\') ? unescaped(text) : undefined;
  for (const secret of secrets) {
    if (secret.length < MIN_REFLECTED_SECRET) continue;
    const reflected =
      text.includes(secret) ||
      (plain !== undefined && plain.includes(secret)) ||
      percentEncoded(secret).some((encoded) => text.includes(encoded)) ||
      (NON_ASCII.test(secret) && bytes.includes(Buffer.from(secret, 'latin1')));
    if (reflected) throw new GatehouseFailure('secret_reflected', 'response contains a credential secret');
  }
}

/** The body as UTF-8 text. @throws GatehouseFailure `too_large` past the longest string V8 can hold (~512 MiB). */
function bodyText(body: Buffer): string {
  try {
    return body.toString('utf8');
  } catch {
    throw new GatehouseFailure('too_large', 'body too large to read as text');
  }
}

/** The data a successful call returns. An empty body is `null`. */
export function interpretResponse(
  body: Buffer,
  headers: IncomingHttpHeaders,
  expectation: ResponseExpectation,
  secrets: readonly string[] = [],
): unknown {
  // Decoded once: the secret check and the parser read the same text (invalid UTF-8 becomes U+FFFD,
  // which cannot hide a secret's own bytes).
  const text = bodyText(body);
  refuseReflectedSecrets(text, secrets, body);
  let data: unknown;
  const labelledJson = expectation.responseType !== 'text' && isJson(headers);
  if (body.length === 0) {
    data = null;
  } else if (!labelledJson) {
    if (expectation.responseType === 'json') throw new GatehouseFailure('unexpected_content_type', 'response is not JSON');
    data = text;
  } else {
    data = parseJson(text, expectation.maxJsonDepth);
  }
  if (expectation.validate !== undefined && !expectation.validate(data)) {
    const first = expectation.validate.errors?.[0];
    throw new GatehouseFailure('schema_mismatch', `response fails the schema at ${first?.instancePath || '/'} ${first?.keyword ?? ''}`);
  }
  return data;
}
