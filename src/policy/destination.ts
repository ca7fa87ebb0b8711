/**
 * Where a service may send requests: `baseUrl`, `hosts` and the origins they give, as pure data.
 * `net/` enforces it; this module only checks and normalises what the policy says.
 * @see DESIGN.md §3, §5 "Hosts and ports"
 */
import { isIP } from 'node:net';
import type { IssuePath, ReportIssue } from './policy-error.ts';

/** True for `localhost`, 127.0.0.0/8 and ::1 (a WHATWG-normalised hostname). @internal */
export function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  if (hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/** Parses a URL the policy gives, refusing userinfo and fragments (and queries unless allowed). */
function parsePolicyUrl(raw: string, path: IssuePath, report: ReportIssue, allowQuery: boolean): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    report(path, 'must be an absolute URL');
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    report(path, 'must use https');
    return undefined;
  }
  let ok = true;
  if (url.username !== '' || url.password !== '' || url.host === '' || /^[a-z]+:\/*[^/]*@/i.test(raw)) {
    report(path, 'must not contain userinfo (user:password@); credentials belong in the secret store');
    ok = false;
  }
  if (!allowQuery && (url.search !== '' || raw.includes('?'))) {
    report(path, 'must not contain a query');
    ok = false;
  }
  if (url.hash !== '' || raw.includes('#')) {
    report(path, 'must not contain a fragment');
    ok = false;
  }
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.replace(/\.+$/, '');
  if (!namesHost(url)) {
    report(path, 'must name a host and a port other than 0');
    ok = false;
  }
  return ok ? url : undefined;
}

/** A host with a label (not `.`, `..` or `%2e`, which URL parsing turns into dots) and no port 0. */
function namesHost(url: URL): boolean {
  return /[^.]/.test(url.hostname) && url.port !== '0';
}

/**
 * Checks and normalises a service's `baseUrl`: https only (http only to loopback with
 * `allowHttpLoopback`), no userinfo, query or fragment, host lower-case without trailing dot,
 * path without trailing slash.
 * @internal
 */
export function compileBaseUrl(raw: string, allowHttpLoopback: boolean, path: IssuePath, report: ReportIssue): URL | undefined {
  const url = parsePolicyUrl(raw, path, report, false);
  if (url === undefined) return undefined;
  if (url.protocol === 'http:') {
    if (!allowHttpLoopback) {
      report(path, 'must use https (http only for loopback with allowHttpLoopback: true)');
      return undefined;
    }
    if (!isLoopbackHostname(url.hostname)) {
      report(path, 'must use https: http is allowed only to localhost, 127.0.0.0/8 or ::1');
      return undefined;
    }
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** The base path of a URL from {@link compileBaseUrl} (trailing slashes already gone): '' for the root. @internal */
export function basePathOf(url: URL): string {
  return url.pathname === '/' ? '' : url.pathname;
}

/**
 * Checks an OAuth endpoint (`tokenUrl`, `authorizationUrl`, `issuer`): https only, no userinfo or
 * fragment; a query only where `allowQuery`.
 * @internal
 */
export function compileEndpointUrl(raw: string, allowQuery: boolean, path: IssuePath, report: ReportIssue): URL | undefined {
  const url = parsePolicyUrl(raw, path, report, allowQuery);
  if (url === undefined) return undefined;
  if (url.protocol !== 'https:') {
    report(path, 'must use https');
    return undefined;
  }
  return url;
}

const HOST_ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[^\s/\\:?#@[\]]+)(?::(\d{1,5}))?$/;

/**
 * The origins a service may reach: `baseUrl`'s origin plus one per `hosts` entry (`host` keeps
 * `baseUrl`'s port, `host:port` gives its own), each formatted like `URL.origin`.
 * @internal
 */
export function compileOrigins(baseUrl: URL, hosts: readonly string[] | undefined, path: IssuePath, report: ReportIssue): Set<string> {
  const origins = new Set<string>([baseUrl.origin]);
  (hosts ?? []).forEach((entry, index) => {
    const origin = hostEntryOrigin(entry, baseUrl, [...path, index], report);
    if (origin !== undefined) origins.add(origin);
  });
  return origins;
}

function hostEntryOrigin(entry: string, baseUrl: URL, path: IssuePath, report: ReportIssue): string | undefined {
  if (entry.includes('*')) {
    report(path, 'must name one host: wildcards are not allowed');
    return undefined;
  }
  const match = HOST_ENTRY.exec(entry);
  if (match === null) {
    report(path, "must be 'host' or 'host:port' (no scheme, path or userinfo)");
    return undefined;
  }
  const port = match[2] ?? baseUrl.port;
  if (Number(port) > 65535) {
    report(path, 'port must be at most 65535');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(`${baseUrl.protocol}//${match[1] ?? ''}${port === '' ? '' : `:${port}`}`);
  } catch {
    report(path, 'is not a valid host name');
    return undefined;
  }
  url.hostname = url.hostname.replace(/\.+$/, '');
  if (!namesHost(url)) {
    report(path, 'must name a host and a port other than 0');
    return undefined;
  }
  if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname)) {
    report(path, 'must be loopback: the service uses http');
    return undefined;
  }
  return url.origin;
}
