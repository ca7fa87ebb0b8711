/**
 * Correlation ids and W3C trace context.
 * @see FR-07, TR-04, https://www.w3.org/TR/trace-context/
 */
import { createHash, randomFillSync, randomUUID } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's correlation id when it is safe to echo, else a new random UUID. */
export function resolveCorrelationId(candidate: unknown): string {
  return typeof candidate === 'string' && SAFE_ID.test(candidate) ? candidate : randomUUID();
}

/** A call's correlation id, and the trace id of its `traceparent` headers. */
export interface Correlation {
  readonly correlationId: string;
  readonly traceId: string;
}

/**
 * {@link resolveCorrelationId}, with the trace id derived from it: a UUID's own hex, or a hash of
 * any other id, so upstream logs can be joined with the audit. A generated UUID's hex needs no
 * checking, which every call without an id of its own is spared.
 */
export function resolveCorrelation(candidate: unknown): Correlation {
  if (typeof candidate === 'string' && SAFE_ID.test(candidate)) return { correlationId: candidate, traceId: traceIdOf(candidate) };
  const id = randomUUID();
  return { correlationId: id, traceId: id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24) };
}

function traceIdOf(correlationId: string): string {
  const compact = correlationId.replaceAll('-', '').toLowerCase();
  // All zeros is not a valid trace id (W3C trace context §3.2.2.3).
  return HEX32.test(compact) && compact !== ZERO_TRACE_ID ? compact : createHash('sha256').update(correlationId).digest('hex').slice(0, 32);
}

const HEX32 = /^[0-9a-f]{32}$/;
const ZERO_TRACE_ID = '0'.repeat(32);

// Span ids are slices of a pooled random hex string: one randomFillSync per 512 spans.
const POOL_BYTES = 4096;
let pool = '';
let poolOffset = 0;

function spanId(): string {
  if (poolOffset === pool.length) {
    pool = randomFillSync(Buffer.alloc(POOL_BYTES)).toString('hex');
    poolOffset = 0;
  }
  poolOffset += 16;
  return pool.slice(poolOffset - 16, poolOffset);
}

/** A `traceparent` header for one request of the trace: a new span id each time. */
export function traceparent(traceId: string): string {
  return `00-${traceId}-${spanId()}-01`;
}
