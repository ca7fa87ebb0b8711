/**
 * Which proxy, if any, a destination goes through: `HTTPS_PROXY` / `NO_PROXY` from the
 * environment, none, or a fixed URL. A pure decision over the settings, no I/O.
 * @see FR-10, BR-04
 */
import { GatehouseFailure } from '../errors.ts';
import { unbracketHost } from './address.ts';

/** A forward proxy and the destinations that bypass it. */
export interface ProxyConfig {
  /** `http://[user:pass@]host:port` of the proxy. */
  readonly url: URL;
  /** `NO_PROXY` entries, lower case; `*` bypasses all. */
  readonly bypass: readonly string[];
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
    .filter((entry) => entry !== '');
  return Object.freeze({ url: parseProxyUrl(text.trim()), bypass: Object.freeze(bypass) });
}

/** Whether `host:port` bypasses the proxy per `NO_PROXY` (`*`, exact host, `.suffix`, `host:port`). */
export function bypassesProxy(config: ProxyConfig, hostname: string, port: number): boolean {
  const host = unbracketHost(hostname).toLowerCase().replace(/\.$/, '');
  return config.bypass.some((entry) => {
    if (entry === '*') return true;
    const match = /^(.*?)(?::(\d+))?$/.exec(entry)!;
    const ruleHost = unbracketHost(match[1]!).replace(/^\*?\./, '.');
    if (match[2] !== undefined && Number(match[2]) !== port) return false;
    if (ruleHost.startsWith('.')) return host.endsWith(ruleHost) || host === ruleHost.slice(1);
    return host === ruleHost || host.endsWith(`.${ruleHost}`);
  });
}
