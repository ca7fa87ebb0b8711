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

/**
 * Refuses text that carries one of the bound credential's secrets, verbatim or as it reads inside
 * a JSON string (a secret with `"` or `\` is escaped there). `bytes`, when given, are also searched
 * for a non-ASCII secret as headers carry it (Latin-1), which UTF-8 decoding would not show.
 */
function refuseReflectedSecrets(text: string, secrets: readonly string[], bytes?: Buffer): void {
  for (const secret of secrets) {
    if (secret.length < MIN_REFLECTED_SECRET) continue;
    const escaped = JSON.stringify(secret).slice(1, -1);
    const reflected =
      text.includes(secret) ||
      (escaped !== secret && text.includes(escaped)) ||
      (bytes !== undefined && NON_ASCII.test(secret) && bytes.includes(Buffer.from(secret, 'latin1')));
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
    // Any escape (`\u0041`, `\/`) can spell a secret the text check missed: check the data again in
    // its canonical serialisation, where strings hold the secret exactly in one of the two forms.
    if (secrets.length > 0 && text.includes('\\')) refuseReflectedSecrets(JSON.stringify(data), secrets);
  }
  if (expectation.validate !== undefined && !expectation.validate(data)) {
    const first = expectation.validate.errors?.[0];
    throw new GatehouseFailure('schema_mismatch', `response fails the schema at ${first?.instancePath || '/'} ${first?.keyword ?? ''}`);
  }
  return data;
}
