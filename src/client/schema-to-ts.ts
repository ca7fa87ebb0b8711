/**
 * A small JSON Schema -> TypeScript converter for the subset policies use: `type` (one or a
 * list), `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`,
 * `oneOf`, `allOf`. Anything else (`$ref`, `not`, `if`, tuples, ...) becomes `unknown`, which
 * is always safe: it never claims more than the schema says. Output holds only identifiers,
 * JSON literals and fixed keywords, so no schema text can inject code.
 * @see FR-02, TR-01
 */

/** Deepest schema nesting converted; deeper parts become `unknown`. */
const MAX_DEPTH = 32;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

type Schema = Record<string, unknown>;

/**
 * The TypeScript type for a JSON Schema.
 * @param indent the indentation of the line the type starts on
 * @example schemaToTs({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] })
 * // '{\n  city: string;\n}'
 */
export function schemaToTs(schema: unknown, indent = '', depth = 0): string {
  if (schema === true || schema === undefined) return 'unknown';
  if (schema === false) return 'never';
  if (!isRecord(schema) || depth > MAX_DEPTH) return 'unknown';

  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return union(schema.enum.map(literal));
  const variants = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined;
  if (variants !== undefined) return union(variants.map((variant) => schemaToTs(variant, indent, depth + 1)));
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const parts = schema.allOf.map((part) => schemaToTs(part, indent, depth + 1)).filter((part) => part !== 'unknown');
    return parts.length === 0 ? 'unknown' : parts.map((part) => (part.includes('|') ? `(${part})` : part)).join(' & ');
  }

  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? undefined : [schema.type];
  if (types === undefined) return 'properties' in schema ? objectType(schema, indent, depth) : 'unknown';
  return union(types.map((type) => typeFor(type, schema, indent, depth)));
}

function typeFor(type: unknown, schema: Schema, indent: string, depth: number): string {
  switch (type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      if (!isRecord(schema.items) && typeof schema.items !== 'boolean') return 'unknown[]';
      const item = schemaToTs(schema.items, indent, depth + 1);
      return /^[\w$]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case 'object':
      return objectType(schema, indent, depth);
    default:
      return 'unknown';
  }
}

function objectType(schema: Schema, indent: string, depth: number): string {
  const properties = isRecord(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : []);
  const inner = `${indent}  `;
  const lines: string[] = [];
  const memberTypes: string[] = [];
  for (const [name, propertySchema] of Object.entries(properties)) {
    const type = schemaToTs(propertySchema, inner, depth + 1);
    memberTypes.push(type);
    lines.push(`${inner}${propertyKey(name)}${required.has(name) ? '' : '?'}: ${type};`);
  }
  for (const name of required) {
    if (Object.hasOwn(properties, name)) continue;
    memberTypes.push('unknown');
    lines.push(`${inner}${propertyKey(name)}: unknown;`);
  }
  const extra = schema.additionalProperties;
  if (extra !== false) {
    // An index signature must admit every declared property's type too.
    const extraType = extra === undefined || extra === true ? 'unknown' : schemaToTs(extra, inner, depth + 1);
    const optional = Object.keys(properties).some((name) => !required.has(name));
    const indexType = extraType === 'unknown' ? 'unknown' : union([extraType, ...memberTypes, ...(optional ? ['undefined'] : [])]);
    lines.push(`${inner}[key: string]: ${indexType};`);
  }
  if (lines.length === 0) return 'Record<string, never>';
  return `{\n${lines.join('\n')}\n${indent}}`;
}

function union(members: readonly string[]): string {
  const unique = [...new Set(members)];
  if (unique.length === 0) return 'never';
  if (unique.includes('unknown')) return 'unknown';
  return unique.join(' | ');
}

/** A JSON literal as a TypeScript literal type; objects and arrays are not literal types. */
function literal(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return 'unknown';
}

function propertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function isRecord(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
