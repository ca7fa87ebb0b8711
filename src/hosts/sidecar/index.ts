/**
 * `gatehouse/sidecar`: the gateway's operations over a Unix socket or a loopback port.
 * @see DESIGN.md §2 "Hosts", §4.8
 */
export { startSidecar } from './server.ts';
export type { Sidecar, SidecarOptions } from './server.ts';
export { issueClientToken, parseClients } from './client-tokens.ts';
export type { SidecarClient } from './client-tokens.ts';
