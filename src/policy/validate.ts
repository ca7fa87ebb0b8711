/**
 * Structural validation of a parsed policy with the zod schema, turning zod's issues into
 * {@link RawPolicyIssue}s with short, reviewable messages.
 * @see DESIGN.md §3
 */
import type * as z from 'zod';
import { policySchema } from './schema.ts';
import type { PolicyInput } from './schema.ts';
import type { IssuePath, RawPolicyIssue } from './policy-error.ts';

/** Outcome of {@link validatePolicyShape}. @internal */
export type ShapeResult = { ok: true; value: PolicyInput } | { ok: false; issues: RawPolicyIssue[] };

/** Checks the structure of a parsed policy (types, keys, bounds, names). Throws nothing. @internal */
export function validatePolicyShape(input: unknown): ShapeResult {
  // zod drops own `__proto__` keys from records without a word; a service or operation written
  // under that name must not vanish silently.
  const protoKeys = findProtoKeys(input);
  if (protoKeys.length > 0) {
    return { ok: false, issues: protoKeys.map((path) => ({ path, message: 'invalid name: __proto__ is not allowed as a key' })) };
  }
  const result = policySchema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: result.error.issues.flatMap((issue) => toRawIssues(issue, [])) };
}

/** Paths of every own `__proto__` key (iterative: the input may be deep or shared). */
function findProtoKeys(input: unknown): IssuePath[] {
  const found: IssuePath[] = [];
  const seen = new Set<object>();
  const stack: { value: unknown; path: IssuePath }[] = [{ value: input, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: IssuePath };
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => stack.push({ value: item, path: [...path, index] }));
      continue;
    }
    if (Object.hasOwn(value, '__proto__')) found.push([...path, '__proto__']);
    for (const [key, item] of Object.entries(value)) stack.push({ value: item, path: [...path, key] });
  }
  return found;
}

function toRawIssues(issue: z.core.$ZodIssue, prefix: IssuePath): RawPolicyIssue[] {
  const path: IssuePath = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown key (not part of the policy format)' }));
    case 'invalid_key':
      return [{ path, message: `invalid name: ${issue.issues[0]?.message ?? issue.message}` }];
    case 'invalid_type':
      if (issue.input === undefined) return [{ path, message: 'is required' }];
      return [{ path, message: `must be ${article(issue.expected)}, not ${describe(issue.input)}` }];
    case 'invalid_union':
      if ('note' in issue && issue.note === 'No matching discriminator') {
        return [{ path, message: 'must be a known credential type' }];
      }
      return [{ path, message: issue.message }];
    case 'invalid_value':
      return [{ path, message: `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  return typeof input === 'object' ? 'a map' : `a ${typeof input}`;
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
