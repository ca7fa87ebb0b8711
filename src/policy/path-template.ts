/**
 * Operation path templates (`/forecast/{city}`) and `requests` rule paths (`/items/*`,
 * `/files/**`), split into the parts the gateway matches and expands.
 * @see DESIGN.md §5 "Paths"
 */

/** Characters a literal path piece may hold (RFC 3986 `pchar` and `/`). */
const LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A parsed template, or why it was refused. @internal */
export type TemplateResult = { ok: true; parts: string[]; params: string[] } | { ok: false; message: string };

/**
 * Splits `/a/{x}/b` into alternating literal text and parameter names: `['/a/', 'x', '/b']`.
 * Refuses unbalanced braces, `.`/`..`/empty segments, `?`, `#`, and a param used twice.
 * @internal
 */
export function parsePathTemplate(template: string): TemplateResult {
  const segmentProblem = checkSegments(template.replace(/\{[^{}]*\}/g, 'x'));
  if (segmentProblem !== undefined) return { ok: false, message: segmentProblem };
  const parts: string[] = [];
  const params: string[] = [];
  const re = /\{([^{}]*)\}/g;
  let last = 0;
  for (let match = re.exec(template); match !== null; match = re.exec(template)) {
    const name = match[1] ?? '';
    if (!PARAM_NAME.test(name)) return { ok: false, message: `{${name}} is not a valid parameter name` };
    if (params.includes(name)) return { ok: false, message: `{${name}} is used twice` };
    parts.push(template.slice(last, match.index), name);
    params.push(name);
    last = re.lastIndex;
  }
  parts.push(template.slice(last));
  for (let i = 0; i < parts.length; i += 2) {
    const literal = parts[i] ?? '';
    if (literal.includes('{') || literal.includes('}')) return { ok: false, message: 'has an unbalanced { or }' };
    if (!LITERAL.test(literal)) return { ok: false, message: 'may only hold URL path characters (no spaces, ? or #)' };
  }
  return { ok: true, parts, params };
}

/** A `%` not starting a two-hex-digit escape (also a `%` right before a `{param}`). */
const BARE_PERCENT = /%(?![0-9A-Fa-f]{2})/;

function checkSegments(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with /';
  if (path === '/') return undefined;
  if (BARE_PERCENT.test(path)) return 'must use % only in %XX escapes (and not before a {param})';
  const segments = path.slice(1).split('/');
  if (segments.some((s, i) => s === '' && i < segments.length - 1)) return 'must not contain empty segments (//)';
  // URL parsers read `%2e%2e` as `..`: judge segments as decoded.
  for (const segment of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return 'has a %XX escape that is not UTF-8';
    }
    if (decoded === '.' || decoded === '..') return 'must not contain . or .. segments (escaped or not)';
    if (/[/\\]/.test(decoded)) return 'must not contain an escaped / or \\';
  }
  return undefined;
}

/** A parsed `requests` rule path, or why it was refused. @internal */
export type RulePathResult = { ok: true; segments: string[] } | { ok: false; message: string };

/**
 * Splits a `requests` rule path into segments: `*` matches one segment, a final `**` any rest.
 * `/` gives no segments (the base path itself).
 * @internal
 */
export function parseRulePath(path: string): RulePathResult {
  const problem = checkSegments(path);
  if (problem !== undefined) return { ok: false, message: problem };
  if (path === '/') return { ok: true, segments: [] };
  const segments = path.slice(1).split('/');
  if (segments.at(-1) === '') return { ok: false, message: 'must not end with / (except the root rule /)' };
  for (const [index, segment] of segments.entries()) {
    if (segment === '**' && index !== segments.length - 1) return { ok: false, message: '** is allowed only as the last segment' };
    if (segment === '*' || segment === '**') continue;
    if (segment.includes('*')) return { ok: false, message: '* must be a whole segment' };
    if (!LITERAL.test(segment)) return { ok: false, message: 'may only hold URL path characters (no spaces, ?, # or braces)' };
  }
  return { ok: true, segments };
}
