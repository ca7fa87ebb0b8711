/**
 * Turns a parsed policy into the frozen {@link CompiledPolicy} the gateway looks things up in.
 * Every rule that relates parts of the policy is checked here; all problems are collected and
 * thrown together as one {@link PolicyError}.
 * @see DESIGN.md §3, §5
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { CompiledOperation, CompiledPolicy, CompiledService, CredentialSpec, RequestRule, RoleLimits } from './compiled.ts';
import type { PolicyInput, ServiceInput } from './schema.ts';
import type { IssuePath, RawPolicyIssue, ReportIssue } from './policy-error.ts';
import { PolicyError, formatIssuePath } from './policy-error.ts';
import { validatePolicyShape } from './validate.ts';
import { compileCredential } from './credential.ts';
import { compileCidrs } from './cidr.ts';
import { basePathOf, compileBaseUrl, compileOrigins } from './destination.ts';
import { levelLimits, mergeLimits } from './limits.ts';
import { compileOperation } from './operation.ts';
import { parseRulePath } from './path-template.ts';

/** Outcome of {@link tryCompilePolicy}. @internal */
export type CompileResult = { ok: true; policy: CompiledPolicy } | { ok: false; issues: RawPolicyIssue[] };

/**
 * Validates and compiles a parsed policy object (not a file: see `loadPolicy()` for that).
 * @param parsed the policy as plain data, e.g. from `JSON.parse` or a YAML parser
 * @throws {PolicyError} listing every problem found, each with its path
 * @see DESIGN.md §3
 */
export function compilePolicy(parsed: unknown): CompiledPolicy {
  const result = tryCompilePolicy(parsed);
  if (result.ok) return result.policy;
  throw new PolicyError(result.issues.map((issue) => ({ path: formatIssuePath(issue.path), message: issue.message })));
}

/** Like {@link compilePolicy} but returns the raw issues (with array paths) instead of throwing. @internal */
export function tryCompilePolicy(parsed: unknown): CompileResult {
  const shape = validatePolicyShape(parsed);
  if (!shape.ok) return shape;
  const issues: RawPolicyIssue[] = [];
  const policy = compileValid(shape.value, (path, message) => issues.push({ path, message }));
  return issues.length === 0 ? { ok: true, policy } : { ok: false, issues };
}

function compileValid(input: PolicyInput, report: ReportIssue): CompiledPolicy {
  // One ajv per compile: schemas of one policy never meet those of another.
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false, // `required` may name keys without `properties` (DESIGN.md §3 example)
    allowUnionTypes: true,
    allErrors: false,
    $data: false,
    addUsedSchema: false,
    validateFormats: true,
  });
  const credentials = new Map<string, CredentialSpec>();
  for (const [name, credential] of Object.entries(input.credentials ?? {})) {
    const spec = compileCredential(name, credential, ['credentials', name], report);
    if (spec !== undefined) credentials.set(name, spec);
  }
  const defaults = levelLimits(input.defaults, undefined, ['defaults'], report);
  const services = new Map<string, CompiledService>();
  const operations = new Map<string, CompiledOperation>();
  for (const [serviceId, serviceInput] of Object.entries(input.services)) {
    const path: IssuePath = ['services', serviceId];
    const credential = bindCredential(serviceInput, credentials, input, path, report);
    const serviceLimits = levelLimits(serviceInput.limits, serviceInput.retries, path, report);
    const service = compileService(serviceId, serviceInput, credential, mergeLimits(defaults, serviceLimits), path, report);
    services.set(serviceId, service);
    for (const [name, operationInput] of Object.entries(serviceInput.operations ?? {})) {
      const opPath: IssuePath = [...path, 'operations', name];
      const opLimits = levelLimits(operationInput.limits, operationInput.retries, opPath, report);
      const limits = mergeLimits(defaults, serviceLimits, opLimits);
      const id = `${serviceId}.${name}`;
      const operation = compileOperation(id, operationInput, { ajv, service, limits }, opPath, report);
      if (operation !== undefined) operations.set(id, operation);
    }
  }
  const roles = new Map<string, RoleLimits>();
  for (const [role, limits] of Object.entries(input.roles ?? {})) {
    // main is trusted process code: no per-role limit applies to it, so one here would mislead.
    if (role === 'main') report(['roles', role], 'main is never limited per role; remove it');
    else roles.set(role, Object.freeze({ ratePerMinute: limits.ratePerMinute, inFlight: limits.inFlight }));
  }
  return Object.freeze({ version: 1, roles, services, operations, credentials });
}

/** The credential a service names; it must exist. Services bind only what they name. */
function bindCredential(
  service: ServiceInput,
  credentials: ReadonlyMap<string, CredentialSpec>,
  input: PolicyInput,
  path: IssuePath,
  report: ReportIssue,
): CredentialSpec | undefined {
  if (service.credential === undefined) return undefined;
  const spec = credentials.get(service.credential);
  if (spec === undefined && !Object.hasOwn(input.credentials ?? {}, service.credential)) {
    report([...path, 'credential'], `credential ${service.credential} is not defined under credentials`);
  }
  return spec;
}

function compileService(
  id: string,
  input: ServiceInput,
  credential: CredentialSpec | undefined,
  limits: CompiledService['limits'],
  path: IssuePath,
  report: ReportIssue,
): CompiledService {
  const allowHttpLoopback = input.allowHttpLoopback ?? false;
  // After a refused baseUrl, go on with a placeholder so the operations' problems are reported
  // too; the policy is refused anyway.
  const baseUrl =
    compileBaseUrl(input.baseUrl, allowHttpLoopback, [...path, 'baseUrl'], report) ?? new URL('https://invalid.invalid');
  const privateRanges = compileCidrs(input.privateRanges, [...path, 'privateRanges'], report);
  const requests = (input.requests ?? []).flatMap((rule, index): RequestRule[] => {
    const parsed = parseRulePath(rule.path);
    if (!parsed.ok) {
      report([...path, 'requests', index, 'path'], parsed.message);
      return [];
    }
    const methods = new Set(rule.methods.map((m) => m.toUpperCase()));
    return [Object.freeze({ methods, segments: Object.freeze(parsed.segments), path: rule.path })];
  });
  const origins = compileOrigins(baseUrl, input.hosts, [...path, 'hosts'], report);
  const destination = Object.freeze({
    baseUrl,
    origin: baseUrl.origin,
    basePath: basePathOf(baseUrl),
    origins,
    privateRanges,
    allowHttpLoopback,
  });
  return Object.freeze({
    id,
    rationale: input.rationale.trim(),
    owner: input.owner,
    destination,
    credential,
    limits,
    requests: Object.freeze(requests),
  });
}

/** Names of credentials no service names: harmless, but not needed. */
export function unusedCredentials(policy: CompiledPolicy): string[] {
  const used = new Set([...policy.services.values()].flatMap((s) => (s.credential === undefined ? [] : [s.credential.name])));
  return [...policy.credentials.keys()].filter((name) => !used.has(name));
}
