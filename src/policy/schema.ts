/**
 * The structure of the policy file as a zod schema, and its published JSON Schema. Checks here
 * are structural (types, keys, bounds, name shapes); rules that relate parts of the policy to
 * each other live in `compile.ts`. Every object is strict: a typo in a security policy is an
 * error, never silently ignored.
 * @see DESIGN.md §3
 */
import * as z from 'zod';

/** Service, operation, credential and role names: no dots, no `__proto__`. */
export const ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** An HTTP header name (RFC 7230 `token`). @see RFC 7230 §3.2.6 */
const HEADER_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
/** An OAuth scope token. @see RFC 6749 §3.3 */
const SCOPE_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
/** URL text as written: no whitespace or control characters (WHATWG parsing would drop some silently). */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const URL_TEXT_PATTERN = /^[^\s\u0000-\u001f\u007f]{1,2048}$/;

/** HTTP methods an operation or request rule may use. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const id = (what: string) => z.string().regex(ID_PATTERN, `${what} must match ${ID_PATTERN.source}`);
const urlText = z.string().regex(URL_TEXT_PATTERN, 'must be a URL without spaces or control characters');
const positive = (max: number) => z.int().min(1).max(max);
const method = z
  .enum([...METHODS, ...METHODS.map((m) => m.toLowerCase())] as [string, ...string[]])
  .describe('HTTP method');
const cidrList = z.array(z.string().max(64)).max(256).describe('CIDRs of private addresses allowed, e.g. 10.0.0.0/8');
const scopes = z.array(z.string().regex(SCOPE_PATTERN, 'must be an OAuth scope token')).max(64);
/** A JSON Schema, checked by ajv when the policy is compiled. */
const jsonSchema = z.record(z.string(), z.unknown()).describe('JSON Schema');

/** Limits settable in `defaults`, on a service or on an operation (most specific wins). */
export const limitsSchema = z.strictObject({
  timeoutMs: positive(600_000).optional(),
  connectTimeoutMs: positive(600_000).optional(),
  headersTimeoutMs: positive(600_000).optional(),
  idleTimeoutMs: positive(600_000).optional(),
  maxResponseBytes: positive(1024 * 1024 * 1024).optional(),
  maxRedirects: z.int().min(0).max(20).optional(),
  maxJsonDepth: positive(1000).optional(),
  retries: z.int().min(0).max(10).optional(),
  concurrency: positive(10_000).optional(),
  ratePerMinute: positive(1_000_000).optional(),
  queueTtlMs: positive(30 * 24 * 3600 * 1000).optional(),
});

const credentialSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer') }),
  z.strictObject({
    type: z.literal('apiKey'),
    header: z.string().regex(HEADER_NAME_PATTERN, 'must be an HTTP header name').default('X-Api-Key'),
  }),
  z.strictObject({ type: z.literal('basic') }),
  z.strictObject({
    type: z.literal('oauth2ClientCredentials'),
    tokenUrl: urlText,
    scopes: scopes.optional(),
    privateRanges: cidrList.optional(),
  }),
  z.strictObject({
    type: z.literal('oauth2AuthorizationCode'),
    issuer: urlText.optional(),
    authorizationUrl: urlText.optional(),
    tokenUrl: urlText.optional(),
    clientId: z.string().min(1).max(512),
    scopes: scopes.optional(),
    privateRanges: cidrList.optional(),
  }),
]);

const operationSchema = z.strictObject({
  method,
  path: z.string().startsWith('/', 'must start with /').max(2048),
  params: jsonSchema.optional(),
  query: z.array(z.string()).max(128).optional(),
  body: z.string().optional(),
  headers: z
    .record(z.string().regex(HEADER_NAME_PATTERN, 'must be an HTTP header name'), z.string())
    .optional()
    .describe('request header name -> param name'),
  response: jsonSchema.optional(),
  responseType: z.enum(['json', 'text']).optional(),
  callers: z.array(id('role')).max(64).optional(),
  idempotent: z.boolean().optional(),
  offline: z.enum(['fail', 'queue']).optional(),
  limits: limitsSchema.optional(),
  retries: z.int().min(0).max(10).optional(),
  rationale: z.string().optional(),
});

const requestRuleSchema = z.strictObject({
  methods: z.array(method).min(1),
  path: z.string().startsWith('/', 'must start with /').max(2048),
});

const serviceSchema = z.strictObject({
  baseUrl: urlText,
  rationale: z.string().trim().min(1, 'every service needs a rationale'),
  owner: z.string().optional(),
  credential: id('credential name').optional(),
  hosts: z.array(z.string().max(300)).max(64).optional().describe("'host' or 'host:port'; no wildcards"),
  privateRanges: cidrList.optional(),
  allowHttpLoopback: z.boolean().optional(),
  limits: limitsSchema.optional(),
  retries: z.int().min(0).max(10).optional(),
  operations: z.record(id('operation id'), operationSchema).optional(),
  requests: z.array(requestRuleSchema).max(256).optional(),
});

/** Limits of one caller role other than `main`, shared across services. */
const roleLimitsSchema = z.strictObject({
  ratePerMinute: positive(1_000_000).optional(),
  inFlight: positive(10_000).optional(),
});

/** The whole policy file. */
export const policySchema = z.strictObject({
  version: z.literal(1),
  defaults: limitsSchema.optional(),
  roles: z.record(id('role'), roleLimitsSchema).optional().describe('limits of each caller role other than main'),
  credentials: z.record(id('credential name'), credentialSchema).optional(),
  services: z.record(id('service id'), serviceSchema),
});

/** A policy after structural validation (defaults such as the apiKey header filled in). */
export type PolicyInput = z.output<typeof policySchema>;
/** A service as written in the policy. */
export type ServiceInput = z.output<typeof serviceSchema>;
/** An operation as written in the policy. */
export type OperationInput = z.output<typeof operationSchema>;
/** A credential as written in the policy. */
export type CredentialInput = z.output<typeof credentialSchema>;
/** A `limits` object as written in the policy. */
export type LimitsInput = z.output<typeof limitsSchema>;

/**
 * The JSON Schema (draft 2020-12) of the policy file, for editors and `gatehouse policy schema`.
 * It describes what may be written (input), so defaulted keys are optional.
 */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
