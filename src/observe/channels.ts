/**
 * Diagnostics channels: how Gatehouse reports to the host without printing anything.
 * Subscribe with `diagnostics_channel.subscribe('gatehouse:call:end', fn)`.
 * @see STYLE.md §11
 */
import { channel } from 'node:diagnostics_channel';

/** Every finished call's audit event. */
export const callEndChannel = channel('gatehouse:call:end');
/** Calls refused by policy: `{ operation, caller, reason, correlationId }`. */
export const policyDeniedChannel = channel('gatehouse:policy:denied');
/** Internal errors with their detail, for developers: `{ correlationId, error }`. */
export const internalErrorChannel = channel('gatehouse:error');
