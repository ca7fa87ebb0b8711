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

/**
 * Refuses text that carries one of the bound credential's secrets, verbatim or as it reads inside
 * a JSON string (a secret with `"` or `\` is escaped there).
 */
function refuseReflectedSecrets(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    if (secret.length < MIN_REFLECTED_SECRET) continue;
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (text.includes(secret) || (escaped !== secret && text.includes(escaped))) {
      throw new GatehouseFailure('secret_reflected', 'response contains a credential secret');
    }
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
  const text = body.toString('utf8');
  refuseReflectedSecrets(text, secrets);
  let data: unknown;
  if (body.length === 0) {
    data = null;
  } else if (expectation.responseType === 'text' || (expectation.responseType === 'auto' && !isJson(headers))) {
    data = text;
  } else {
    if (!isJson(headers)) throw new GatehouseFailure('unexpected_content_type', 'response is not JSON');
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
