/**
 * One operation compiled: path template, where each param goes, its JSON Schemas compiled by
 * ajv, callers, idempotency and offline behaviour. Limits are merged by the caller.
 * @see DESIGN.md §3, §5
 */
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { CompiledOperation, CompiledService, Limits } from './compiled.ts';
import type { OperationInput } from './schema.ts';
import type { IssuePath, ReportIssue } from './policy-error.ts';
import { parsePathTemplate } from './path-template.ts';
import { checkSchemaCost } from './schema-cost.ts';

/** Params of an operation that declares none: an empty object only. */
const NO_PARAMS = Object.freeze({ type: 'object', additionalProperties: false });

/** Methods a retry may repeat unless the operation says `idempotent: false`. @see DESIGN.md §5 "Retries" */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host', 'authorization', 'cookie', 'content-length', 'transfer-encoding',
  'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'idempotency-key', 'traceparent',
]);

/**
 * Whether Gatehouse owns a header (lower-case name), so that neither a param nor a trusted request
 * may set it, nor an apiKey travel in it (Authorization excepted): routing, framing, credentials,
 * cookies, tracing, and every `proxy-*` header.
 */
export function isReservedHeader(lower: string): boolean {
  return RESERVED_HEADERS.has(lower) || lower.startsWith('proxy-');
}

/** What an operation needs from its surroundings. @internal */
export interface OperationContext {
  readonly ajv: Ajv2020;
  readonly service: CompiledService;
  readonly limits: Limits;
}

/** Whether an operation may be retried: its `idempotent` flag, else its method. */
export function isIdempotent(method: string, idempotent: boolean | undefined): boolean {
  return idempotent ?? IDEMPOTENT_METHODS.has(method);
}

/** Compiles one operation; returns undefined when it has errors (already reported). @internal */
export function compileOperation(
  id: string,
  input: OperationInput,
  context: OperationContext,
  path: IssuePath,
  report: ReportIssue,
): CompiledOperation | undefined {
  const before = countingReport(report);
  const method = input.method.toUpperCase();
  const template = parsePathTemplate(input.path);
  if (!template.ok) before.report([...path, 'path'], template.message);

  const params = input.params ?? NO_PARAMS;
  const declared = declaredParams(params, [...path, 'params'], before.report);
  const used = new Map<string, string>();
  const place = (name: string, where: string, at: IssuePath, mustBeRequired = false) => {
    if (declared === undefined) return;
    if (!declared.properties.has(name)) before.report(at, `param ${name} is not declared in params.properties`);
    else if (mustBeRequired && !declared.required.has(name)) before.report(at, `path param ${name} must be listed in params.required`);
    const previous = used.get(name);
    if (previous !== undefined) before.report(at, `param ${name} is already sent in the ${previous}`);
    used.set(name, where);
  };
  if (template.ok) for (const name of template.params) place(name, 'path', [...path, 'path'], true);
  (input.query ?? []).forEach((name, i) => place(name, 'query', [...path, 'query', i]));
  if (input.body !== undefined) {
    place(input.body, 'body', [...path, 'body']);
    if (method === 'GET' || method === 'HEAD') before.report([...path, 'body'], `a ${method} request has no body`);
  }
  const headers = new Map<string, string>();
  const credential = context.service.credential;
  const credentialHeader = credential?.type === 'apiKey' ? credential.header : undefined;
  for (const [header, name] of Object.entries(input.headers ?? {})) {
    const lower = header.toLowerCase();
    const at = [...path, 'headers', header];
    if (isReservedHeader(lower) || lower === credentialHeader) {
      before.report(at, `header ${header} may not be set from a param`);
    } else if (headers.has(lower)) before.report(at, `header ${header} is given twice`);
    place(name, 'headers', at);
    headers.set(lower, name); // sent lower-case, like every header Gatehouse builds
  }
  if (input.limits?.ratePerMinute !== undefined) {
    before.report([...path, 'limits', 'ratePerMinute'], 'is per service: set it on the service or in defaults');
  }

  checkSchemaCost(params, [...path, 'params'], before.report);
  if (input.response !== undefined) checkSchemaCost(input.response, [...path, 'response'], before.report);
  const validateParams = compileSchema(context.ajv, params, [...path, 'params'], before.report);
  const validateResponse =
    input.response === undefined ? undefined : compileSchema(context.ajv, input.response, [...path, 'response'], before.report);
  if (before.count() > 0 || !template.ok || validateParams === undefined) return undefined;

  const callers = new Set(input.callers ?? []);
  callers.delete('main'); // implicit: trusted process code may call every operation
  return Object.freeze({
    id,
    service: context.service,
    method,
    pathTemplate: input.path,
    pathParts: Object.freeze(template.parts),
    query: Object.freeze([...(input.query ?? [])]),
    body: input.body,
    headers,
    validateParams,
    validateResponse,
    responseType: input.responseType ?? 'json',
    callers,
    idempotent: isIdempotent(method, input.idempotent),
    offline: input.offline ?? 'fail',
    limits: context.limits,
  });
}

/** The names a params schema declares, or undefined (reported) when it is not an object schema. */
function declaredParams(
  schema: Record<string, unknown>,
  path: IssuePath,
  report: ReportIssue,
): { properties: Set<string>; required: Set<string> } | undefined {
  if (schema.type !== 'object') {
    report([...path, 'type'], 'params must be an object schema (type: object)');
    return undefined;
  }
  const properties = schema.properties;
  const required = schema.required;
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  return {
    properties: new Set(isRecord(properties) ? Object.keys(properties) : []),
    required: new Set(Array.isArray(required) ? required.filter((r): r is string => typeof r === 'string') : []),
  };
}

/** Compiles a JSON Schema once; an invalid schema is a policy error at its path. */
function compileSchema(ajv: Ajv2020, schema: object, path: IssuePath, report: ReportIssue): ValidateFunction | undefined {
  try {
    return ajv.compile(schema);
  } catch (error) {
    report(path, `is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function countingReport(report: ReportIssue): { report: ReportIssue; count: () => number } {
  let count = 0;
  return {
    report: (path, message) => {
      count += 1;
      report(path, message);
    },
    count: () => count,
  };
}
