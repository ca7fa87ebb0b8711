/**
 * Which proxy, if any, a destination goes through: `HTTPS_PROXY` / `NO_PROXY` from the
 * environment, none, or a fixed URL. A pure decision over the settings, no I/O.
 * @see FR-10, BR-04
 */
import { GatehouseFailure } from '../errors.ts';
import { isIP } from 'node:net';
import { unbracketHost } from './address.ts';

/** One `NO_PROXY` entry, parsed. */
interface BypassRule {
  /** Lower case, unbracketed, without a leading `.` or `*.`: matches itself and its subdomains. `*` matches all. */
  readonly host: string;
  /** Only this port, when the entry names one. */
  readonly port: number | undefined;
}

/** A forward proxy and the destinations that bypass it. */
export interface ProxyConfig {
  /** `http://[user:pass@]host:port` of the proxy. */
  readonly url: URL;
  /** `Proxy-Authorization` (Basic) for the URL's user and password, when it has them. */
  readonly authorization: string | undefined;
  /** `NO_PROXY` entries, parsed once. */
  readonly bypass: readonly BypassRule[];
}

/** The proxy option of a gateway. */
export type ProxyOption = 'env' | 'none' | { readonly url: string };

function parseProxyUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw new GatehouseFailure('proxy_unreachable', 'proxy URL is malformed');
  }
  if (url.protocol !== 'http:') throw new GatehouseFailure('proxy_unreachable', 'only http:// forward proxies are supported');
  return url;
}

/**
 * Resolves the proxy option once, at gateway creation.
 * @throws GatehouseFailure when the configured proxy URL is unusable.
 */
export function resolveProxyConfig(option: ProxyOption, env: NodeJS.ProcessEnv = process.env): ProxyConfig | undefined {
  if (option === 'none') return undefined;
  const text = option === 'env' ? (env.HTTPS_PROXY ?? env.https_proxy) : option.url;
  if (text === undefined || text.trim() === '') return undefined;
  const noProxy = option === 'env' ? (env.NO_PROXY ?? env.no_proxy ?? '') : '';
  const bypass = noProxy
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '')
    .map(parseBypassRule);
  const url = parseProxyUrl(text.trim());
  return Object.freeze({ url, authorization: basicAuthorization(url), bypass: Object.freeze(bypass) });
}

function basicAuthorization(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  return `Basic ${Buffer.from(`${lenientlyDecoded(url.username)}:${lenientlyDecoded(url.password)}`).toString('base64')}`;
}

/** Percent-decoded, keeping a `%` that starts no valid escape as it is (a password may be `50%off`). */
function lenientlyDecoded(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes; // not UTF-8
    }
  });
}

function parseBypassRule(entry: string): BypassRule {
  if (entry === '*') return { host: '*', port: undefined };
  // A bare IPv6 address (`::1`) has colons but no port; `[::1]:8443` and `host:port` have one.
  if (isIP(entry) === 6) return { host: entry, port: undefined };
  const match = /^(.*?)(?::(\d+))?$/.exec(entry)!;
  const host = withoutTrailingDots(unbracketHost(match[1]!).replace(/^\*?\./, ''));
  return { host, port: match[2] === undefined ? undefined : Number(match[2]) };
}

/** `api.test.` is `api.test` (DESIGN §5 "Hosts and ports"). */
function withoutTrailingDots(host: string): string {
  return host.replace(/\.+$/, '');
}

/** Whether `host:port` bypasses the proxy per `NO_PROXY` (`*`, exact host, `.suffix`, `host:port`). */
export function bypassesProxy(config: ProxyConfig, hostname: string, port: number): boolean {
  const host = withoutTrailingDots(unbracketHost(hostname).toLowerCase());
  return config.bypass.some((rule) => {
    if (rule.host === '*') return true;
    if (rule.port !== undefined && rule.port !== port) return false;
    return host === rule.host || host.endsWith(`.${rule.host}`);
  });
}
