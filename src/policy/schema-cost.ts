/**
 * Schema keywords whose cost grows faster than the input they check. ajv runs a `pattern` on V8's
 * backtracking engine, synchronously: one with nested quantifiers (`^(a+)+$`) takes exponential
 * time on a short crafted string, and no deadline can interrupt it. `uniqueItems` compares every
 * pair of items unless they are scalars. Params come from callers and responses from servers, so
 * both are refused in their schemas when the policy is loaded.
 * @see DESIGN.md §3, §4.6 ("no unbounded loop"), FR-05
 */
import safeRegex from 'safe-regex2';
import type { IssuePath, ReportIssue } from './policy-error.ts';

/** Most items `uniqueItems` may compare pairwise. */
export const MAX_UNIQUE_ITEMS = 1000;
const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** Keywords whose values are data, not schemas: nothing in them runs. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);
/** Keywords whose values map names to schemas (a name there is not a keyword). */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);

/** Reports every costly keyword in `schema` at its path. */
export function checkSchemaCost(schema: unknown, path: IssuePath, report: ReportIssue): void {
  if (Array.isArray(schema)) {
    schema.forEach((item, index) => checkSchemaCost(item, [...path, index], report));
    return;
  }
  if (!isRecord(schema)) return;
  if (typeof schema.pattern === 'string' && !safeRegex(schema.pattern)) {
    report([...path, 'pattern'], 'may take exponential time on a crafted value (nested quantifiers): rewrite it without them');
  }
  if (isRecord(schema.patternProperties)) {
    for (const pattern of Object.keys(schema.patternProperties)) {
      if (!safeRegex(pattern)) report([...path, 'patternProperties', pattern], 'may take exponential time on a crafted name (nested quantifiers)');
    }
  }
  if (schema.uniqueItems === true && !hasScalarItems(schema) && !(typeof schema.maxItems === 'number' && schema.maxItems <= MAX_UNIQUE_ITEMS)) {
    report([...path, 'uniqueItems'], `needs maxItems of at most ${MAX_UNIQUE_ITEMS} unless items are scalars: it compares every pair of items`);
  }
  for (const [key, value] of Object.entries(schema)) {
    if (DATA_KEYWORDS.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && isRecord(value)) {
      for (const [name, member] of Object.entries(value)) checkSchemaCost(member, [...path, key, name], report);
    } else {
      checkSchemaCost(value, [...path, key], report);
    }
  }
}

function hasScalarItems(schema: Record<string, unknown>): boolean {
  return isRecord(schema.items) && typeof schema.items.type === 'string' && SCALAR_TYPES.has(schema.items.type);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
