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

const HEX32 = /^[0-9a-f]{32}$/;

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

/**
 * A `traceparent` header whose trace id derives from the correlation id (a UUID's own hex, or a
 * hash of any other id), so upstream logs can be joined with the audit.
 */
export function traceparentFor(correlationId: string): string {
  const compact = correlationId.replaceAll('-', '').toLowerCase();
  const traceId = HEX32.test(compact) ? compact : createHash('sha256').update(correlationId).digest('hex').slice(0, 32);
  return `00-${traceId}-${spanId()}-01`;
}
