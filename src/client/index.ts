/**
 * `gatehouse/client`: the typed caller for UI code (an Electron renderer, over the preload's
 * `window.gatehouse`). Safe to bundle into a renderer: it imports nothing at run time.
 * @see DESIGN.md §2 "Hosts"
 * @packageDocumentation
 */
export { createClient } from './create-client.ts';
export type { GatehouseClient } from './create-client.ts';
export type {
  CallArgs,
  ClientCallOptions,
  ClientResult,
  ClientStatus,
  GatehouseBridge,
  OperationTypes,
  OperationsMap,
} from './types.ts';
export type { GatewayError, ErrorKind, Reason } from '../errors.ts';
