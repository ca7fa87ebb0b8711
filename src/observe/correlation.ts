/**
 * Correlation ids and W3C trace context.
 * @see FR-07, TR-04, https://www.w3.org/TR/trace-context/
 */
import { createHash, randomFillSync } from 'node:crypto';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's correlation id when it is safe to echo, else a new random UUID. */
export function resolveCorrelationId(candidate: unknown): string {
  return resolveCorrelation(candidate).correlationId;
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
  return newCorrelation();
}

// Generated ids are slices of pooled strings made UUIDS_PER_POOL at a time from one random fill:
// the UUIDs (RFC 9562 version 4) in one, their hex (the trace ids) in the other. A third of the
// cost of randomUUID() and its trace id, and a tenth of the garbage; an id kept long after its
// call keeps its pool (2.3 KB) in memory with it.
const UUIDS_PER_POOL = 64;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;
let uuidPool = '';
let tracePool = '';
let uuidsTaken = UUIDS_PER_POOL;

function fillUuidPools(): void {
  const random = randomFillSync(Buffer.alloc(16 * UUIDS_PER_POOL));
  const text = Buffer.alloc(36 * UUIDS_PER_POOL);
  let out = 0;
  for (let at = 0; at < random.length; at += 16) {
    random[at + 6] = (random[at + 6]! & 0x0f) | 0x40; // version 4
    random[at + 8] = (random[at + 8]! & 0x3f) | 0x80; // variant 10
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text[out++] = DASH;
      const byte = random[at + i]!;
      text[out++] = HEX_DIGITS[byte >> 4]!;
      text[out++] = HEX_DIGITS[byte & 0x0f]!;
    }
  }
  uuidPool = text.toString('latin1');
  tracePool = random.toString('hex');
  uuidsTaken = 0;
}

function newCorrelation(): Correlation {
  if (uuidsTaken === UUIDS_PER_POOL) fillUuidPools();
  const index = uuidsTaken++;
  return { correlationId: uuidPool.slice(index * 36, index * 36 + 36), traceId: tracePool.slice(index * 32, index * 32 + 32) };
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
