/**
 * Bounded response-body reading: a byte cap on the wire (and from Content-Length up front), and
 * streaming decompression capped on decompressed bytes, so memory stays bounded whatever the
 * server sends.
 * @see DESIGN.md §4.4, §5 "Bodies"; FIELD-NOTES "undici"
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflateRaw } from 'node:zlib';
import { GatehouseFailure, isFailure } from '../errors.ts';

/** What {@link readBody} returns. */
export interface BodyResult {
  /** The body after undoing every content coding. */
  bytes: Buffer;
  /** Bytes received on the wire (before decompression), for the audit's `bytesIn`. */
  wireBytes: number;
}

/** Caps for one body. */
export interface BodyLimits {
  /** Largest body accepted, both on the wire and after decompression (`maxResponseBytes`). */
  maxBytes: number;
}

/** Counts wire bytes as they arrive, so a body refused part-way still reports what it read. */
export interface BodyMeter {
  bytesIn: number;
}

/** Response headers as undici gives them (lower-case names). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

type Coding = 'gzip' | 'deflate' | 'br';
type Stage = NodeJS.ReadWriteStream | ((source: AsyncIterable<Buffer>) => AsyncIterable<Buffer>);

const MAX_CODINGS = 2;
const noop = (): void => {};

/**
 * Reads a response body within `limits.maxBytes`, undoing `Content-Encoding`.
 *
 * - `Content-Length` over the cap: refused before reading anything (`too_large`).
 * - More than `maxBytes` on the wire: `too_large`; more after decompression: `decompression_limit`.
 * - Codings: `gzip`, `x-gzip`, `deflate` (zlib-wrapped or raw, detected like browsers do), `br`,
 *   `identity`, or a comma list of at most two (undone in reverse order). Any other coding, and
 *   corrupt or truncated compressed data, is `unsupported_encoding`.
 *
 * On every refusal the body stream is destroyed, so the connection is not read further (undici
 * then closes it instead of reusing it). Do not call it for answers that have no body (HEAD, 204,
 * 304): their Content-Length describes a body that is not sent. Errors of the body stream itself (socket reset,
 * `BodyTimeoutError`, abort) are rethrown as they are, for the caller to classify.
 *
 * @param body an undici `Dispatcher.ResponseData['body']` (any byte Readable works).
 * @param headers the response headers.
 * @param limits the caps for this body.
 * @param meter counts wire bytes as they arrive (the audit's `bytesIn`), also for a body then refused.
 * @throws GatehouseFailure `too_large`, `decompression_limit` or `unsupported_encoding`.
 * @example const { bytes, wireBytes } = await readBody(res.body, res.headers, { maxBytes: 1 << 20 });
 * @see DESIGN.md §5 "Bodies"
 */
export async function readBody(body: Readable, headers: ResponseHeaders, limits: BodyLimits, meter: BodyMeter = { bytesIn: 0 }): Promise<BodyResult> {
  const { maxBytes } = limits;
  let codings: Coding[];
  try {
    if (declaredLength(headers['content-length']) > maxBytes) {
      throw new GatehouseFailure('too_large', `Content-Length over the ${maxBytes}-byte cap`);
    }
    codings = parseCodings(headers['content-encoding']);
  } catch (error) {
    discard(body);
    throw error;
  }
  return codings.length === 0 ? readPlain(body, maxBytes, meter) : readDecoded(body, codings, maxBytes, meter);
}

/**
 * Collects an uncoded body with plain listeners: a `for await` loop costs an async iterator, a
 * promise per chunk and end-of-stream machinery on every call, and this is the hot path.
 */
function readPlain(body: Readable, maxBytes: number, meter: BodyMeter): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    const stop = (): void => {
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      body.on('error', noop); // undici reports its own abort after destroy
    };
    const onData = (chunk: Buffer): void => {
      wireBytes += chunk.length;
      meter.bytesIn += chunk.length;
      if (wireBytes <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      stop();
      body.destroy();
      reject(new GatehouseFailure('too_large', `body over the ${maxBytes}-byte cap`));
    };
    const onEnd = (): void => {
      stop();
      resolve({ bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, wireBytes), wireBytes });
    };
    const onError = (error: unknown): void => {
      stop();
      reject(error);
    };
    // Closed before its end: the connection broke mid-body.
    const onClose = (): void => onError(Object.assign(new Error('body closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    if (body.destroyed) return onClose();
    body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

async function readDecoded(body: Readable, codings: readonly Coding[], maxBytes: number, meter: BodyMeter): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let wireBytes = 0;
  let decodedBytes = 0;
  // pipeline forwards the first error to every stream: whoever emits an error first owns it, so a
  // body error passing through a decoder is not taken for corrupt data, nor the reverse.
  let bodyError: unknown;
  let decoderError: unknown;
  const onBodyError = (error: unknown): void => {
    if (error !== decoderError) bodyError ??= error;
  };
  const onDecoderError = (error: unknown): void => {
    if (error !== bodyError) decoderError ??= error;
  };

  const countWire = async function* (source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    for await (const chunk of source) {
      wireBytes += chunk.length;
      meter.bytesIn += chunk.length;
      if (wireBytes > maxBytes) throw new GatehouseFailure('too_large', `body over the ${maxBytes}-byte cap`);
      yield chunk;
    }
  };
  const collect = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      decodedBytes += chunk.length;
      if (decodedBytes > maxBytes) {
        throw new GatehouseFailure('decompression_limit', `decompressed body over the ${maxBytes}-byte cap`);
      }
      chunks.push(chunk);
    }
  };

  const stages: Stage[] = [countWire];
  // Codings are listed in the order they were applied: undo the last one first.
  for (let i = codings.length - 1; i >= 0; i--) {
    for (const stage of decoderStages(codings[i] as Coding)) {
      if (typeof stage !== 'function') stage.on('error', onDecoderError);
      stages.push(stage);
    }
  }

  body.on('error', onBodyError);
  try {
    // pipeline's typings cannot express a variable number of stages.
    await (pipeline as (...streams: unknown[]) => Promise<void>)(body, ...stages, collect);
  } catch (error) {
    // pipeline destroyed the body; undici may still report its own abort error afterwards.
    body.on('error', noop);
    if (isFailure(error)) throw error;
    if (error !== undefined && error === decoderError) {
      // A coding header on an empty body (HEAD-like answers, 204) is not an error.
      if (wireBytes === 0) return { bytes: Buffer.alloc(0), wireBytes };
      throw new GatehouseFailure('unsupported_encoding', 'corrupt compressed body', { cause: error });
    }
    throw error;
  } finally {
    body.off('error', onBodyError);
  }
  return { bytes: Buffer.concat(chunks, decodedBytes), wireBytes };
}

/** The streams that undo one coding. `deflate` is zlib-wrapped or raw, detected like browsers. */
function decoderStages(coding: Coding): Stage[] {
  if (coding === 'gzip') return [createGunzip()];
  if (coding === 'br') return [createBrotliDecompress()];
  return [stripZlibHeader, createInflateRaw()];
}

/**
 * Removes a zlib (RFC 1950) header so raw inflate reads both forms of `deflate`; the Adler-32
 * trailer is then trailing data, which raw inflate ignores. Detection is undici's and browsers':
 * CM = 8 and the header checksum holds.
 */
async function* stripZlibHeader(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of source) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    if (head.length < 2) continue;
    const b0 = head[0] as number;
    const b1 = head[1] as number;
    const zlibWrapped = (b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0;
    yield zlibWrapped ? head.subarray(2) : head;
    head = undefined;
  }
  if (head !== undefined && head.length > 0) yield head;
}

/**
 * The codings of a `Content-Encoding` header in the order applied, without `identity`.
 * @throws GatehouseFailure `unsupported_encoding` for an unknown coding or more than two.
 */
function parseCodings(header: string | string[] | undefined): Coding[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  const codings: Coding[] = [];
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    if (name === 'gzip' || name === 'x-gzip') codings.push('gzip');
    else if (name === 'deflate') codings.push('deflate');
    else if (name === 'br') codings.push('br');
    else throw new GatehouseFailure('unsupported_encoding', 'unsupported content coding');
    if (codings.length > MAX_CODINGS) {
      throw new GatehouseFailure('unsupported_encoding', `more than ${MAX_CODINGS} content codings`);
    }
  }
  return codings;
}

/** The declared Content-Length, or -1 when absent or not a plain number (undici checks it). */
function declaredLength(header: string | string[] | undefined): number {
  if (header === undefined) return -1;
  let largest = -1;
  for (const value of Array.isArray(header) ? header : [header]) {
    const text = value.trim();
    if (/^\d+$/.test(text)) largest = Math.max(largest, Number(text));
  }
  return largest;
}

/** Stops reading a body we refuse: destroying it aborts the request and closes the socket. */
function discard(body: Readable): void {
  body.on('error', noop); // undici emits RequestAbortedError on destroy
  body.destroy();
}
