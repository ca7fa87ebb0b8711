/**
 * Opens a TLS connection through an HTTP forward proxy with `CONNECT`, to an address Gatehouse
 * resolved and checked itself: the proxy never chooses where the bytes go. SNI and the
 * certificate check still use the hostname.
 * @see FR-10, BR-04, DESIGN.md §4.1
 */
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect, type TLSSocket, type ConnectionOptions } from 'node:tls';
import { isIP, isIPv6, type Socket } from 'node:net';
import { GatehouseFailure, classifyError } from '../errors.ts';
import { unbracketHost } from './address.ts';
import type { ProxyConfig } from './proxy-config.ts';

/** Where to tunnel to and how. */
export interface TunnelTarget {
  readonly proxy: ProxyConfig;
  /** The checked address to CONNECT to. */
  readonly address: string;
  readonly port: number;
  /** The hostname for SNI and the certificate check. */
  readonly servername: string;
  readonly tls: Pick<ConnectionOptions, 'secureContext'>;
  readonly timeoutMs: number;
}

function proxyFailure(status: number): GatehouseFailure {
  return status === 407
    ? new GatehouseFailure('proxy_auth_required', 'proxy requires authentication')
    : new GatehouseFailure('proxy_refused', `proxy refused CONNECT with ${status}`);
}

/** Establishes the tunnel and the TLS session inside it. */
export function openTunnel(target: TunnelTarget): Promise<TLSSocket> {
  const authority = `${isIPv6(target.address) ? `[${target.address}]` : target.address}:${target.port}`;
  const { url, authorization } = target.proxy;
  return new Promise<TLSSocket>((resolve, reject) => {
    let settled = false;
    let tunnelSocket: Socket | undefined;
    // Made before the timer, so that nothing the timer touches can be missing when it fires.
    const connectRequest = httpRequest({
      host: unbracketHost(url.hostname),
      port: Number(url.port || 80),
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, ...(authorization === undefined ? {} : { 'proxy-authorization': authorization }) },
      agent: false,
    });
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tunnelSocket?.destroy();
      connectRequest.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new GatehouseFailure('connect_timeout', 'proxy tunnel not established in time')), target.timeoutMs);
    connectRequest.once('error', (error) => {
      const classified = classifyError(error);
      fail(classified.kind === 'connection_error' || classified.kind === 'dns_error' || classified.kind === 'timeout'
        ? new GatehouseFailure('proxy_unreachable', 'proxy not reachable', { cause: error })
        : classified);
    });
    connectRequest.once('response', (response) => fail(proxyFailure(response.statusCode ?? 0)));
    connectRequest.once('connect', (response, socket) => {
      tunnelSocket = socket;
      if (response.statusCode !== 200) return fail(proxyFailure(response.statusCode ?? 0));
      const servername = isIP(target.servername) === 0 ? target.servername : undefined;
      const secure = tlsConnect({ socket, host: target.servername, servername, ALPNProtocols: ['http/1.1'], ...target.tls });
      secure.once('secureConnect', () => {
        if (settled) return secure.destroy();
        settled = true;
        clearTimeout(timer);
        resolve(secure);
      });
      secure.once('error', fail);
    });
    connectRequest.end();
  });
}
