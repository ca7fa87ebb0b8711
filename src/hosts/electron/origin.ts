/**
 * Origins as exact strings. WHATWG `URL.origin` is `'null'` for custom schemes such as `app:`, so
 * for those the origin is computed as `protocol + '//' + host`.
 * @see DESIGN.md §5 "Electron bridge"
 */
import type { FrameLike } from './surface.ts';

/** Schemes whose WHATWG origin is meaningful (a tuple origin). */
const SPECIAL_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:']);
/** Schemes that never make an allowed origin: no host, or content that carries its own origin. */
const OPAQUE_SCHEMES: ReadonlySet<string> = new Set(['file:', 'data:', 'blob:', 'about:', 'javascript:', 'filesystem:']);

/**
 * The origin of a URL as an exact string: `URL.origin` for http(s)/ws(s), `protocol//host` for a
 * custom scheme with a host, else `'null'`. Never throws.
 * @example originOf('app://main/index.html') // 'app://main'
 */
export function originOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'null';
  }
  if (SPECIAL_SCHEMES.has(parsed.protocol)) return parsed.origin;
  if (OPAQUE_SCHEMES.has(parsed.protocol) || parsed.host === '') return 'null';
  return `${parsed.protocol}//${parsed.host}`;
}

/** A URL's scheme with its colon, lower case (`https:`), or '' when it has none. Never throws. @internal */
export function schemeOf(url: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0]?.toLowerCase() ?? '';
}

/**
 * The origin a frame speaks for: its own `origin`, or for a custom-scheme document whose serialized
 * origin is `'null'`, the origin computed from its URL.
 */
export function frameOrigin(frame: FrameLike): string {
  const origin = typeof frame.origin === 'string' ? frame.origin : 'null';
  if (origin !== 'null' && origin !== '') return origin;
  const url = typeof frame.url === 'string' ? frame.url : '';
  return SPECIAL_SCHEMES.has(schemeOf(url)) ? 'null' : originOf(url);
}

/**
 * Checks a list of allowed origins given by the app: each must already be in its exact origin
 * form (`scheme://host[:port]`, no path, no trailing slash), and none may be opaque or `file:`.
 * @throws {TypeError} naming the first bad entry
 */
export function normalizeOrigins(origins: unknown, what: string): ReadonlySet<string> {
  if (!Array.isArray(origins) || origins.length === 0) throw new TypeError(`${what}: origins must be a non-empty array of origin strings`);
  const result = new Set<string>();
  for (const origin of origins) {
    if (typeof origin !== 'string' || originOf(origin) !== origin || origin === 'null') {
      throw new TypeError(`${what}: ${JSON.stringify(String(origin)).slice(0, 120)} is not an exact origin such as 'app://main' or 'https://example.com'`);
    }
    result.add(origin);
  }
  return result;
}

/** Whether a URL lies within one of the allowed origins. */
export function isAllowedUrl(url: unknown, origins: ReadonlySet<string>): boolean {
  return typeof url === 'string' && origins.has(originOf(url));
}
