/**
 * Content codings of response bodies: which codings a `Content-Encoding` names, and streaming
 * decompression capped on wire and decompressed bytes, so memory stays bounded whatever the server
 * sends. Uncoded bodies are collected by `request-once.ts` directly.
 * @see DESIGN.md §4.4, §5 "Bodies"; FIELD-NOTES "undici"
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflateRaw } from 'node:zlib';
import { GatehouseFailure, isFailure } from '../errors.ts';

/** Counts wire bytes as they arrive, so a body refused part-way still reports what it read. */
export interface BodyMeter {
  bytesIn: number;
}

/** A content coding Gatehouse undoes. */
export type Coding = 'gzip' | 'deflate' | 'br';
type Stage = NodeJS.ReadWriteStream | ((source: AsyncIterable<Buffer>) => AsyncIterable<Buffer>);

const MAX_CODINGS = 2;
/** A body without content coding. */
const NO_CODINGS: readonly Coding[] = Object.freeze([]);
const noop = (): void => {};

/**
 * Decodes a compressed body within `maxBytes`, undoing its codings (as {@link parseCodings}
 * lists them) in reverse order.
 *
 * - More than `maxBytes` on the wire: `too_large`; more after decompression: `decompression_limit`.
 * - Corrupt or truncated compressed data: `unsupported_encoding` (a coding header on an empty
 *   body is not an error).
 *
 * On a refusal the source is destroyed. Errors of the source itself (socket reset, body timeout,
 * abort) are rethrown as they are, for the caller to classify.
 *
 * @param body the body as it arrives on the wire.
 * @param meter counts wire bytes as they arrive (the audit's `bytesIn`), also for a body then refused.
 * @throws GatehouseFailure `too_large`, `decompression_limit` or `unsupported_encoding`.
 * @see DESIGN.md §5 "Bodies"
 */
export async function decodeBody(body: Readable, codings: readonly Coding[], maxBytes: number, meter: BodyMeter): Promise<Buffer> {
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
    // pipeline destroyed the body; its source may still report the abort afterwards.
    body.on('error', noop);
    if (isFailure(error)) throw error;
    if (error !== undefined && error === decoderError) {
      // A coding header on an empty 2xx body is not an error.
      if (wireBytes === 0) return Buffer.alloc(0);
      throw new GatehouseFailure('unsupported_encoding', 'corrupt compressed body', { cause: error });
    }
    throw error;
  } finally {
    body.off('error', onBodyError);
  }
  return Buffer.concat(chunks, decodedBytes);
}

/** The streams that undo one coding. `deflate` is zlib-wrapped or raw, detected like browsers. */
function decoderStages(coding: Coding): Stage[] {
  if (coding === 'gzip') return [createGunzip()];
  if (coding === 'br') return [refuseWideBrotliWindow, createBrotliDecompress()];
  return [stripZlibHeader, createInflateRaw()];
}

/**
 * The largest brotli window accepted: 4 MiB (WBITS 22, what encoders use by default). A stream may
 * ask for up to 16 MiB, and its decoder then holds that much while it expands, whatever the cap on
 * its output: 64 such answers at once would take a gigabyte.
 */
const MAX_BROTLI_WBITS = 22;

/** The window size exponent in a brotli stream's first byte (RFC 7932 §9.1), or -1 for the large-window extension. */
function brotliWindowBits(first: number): number {
  if ((first & 1) === 0) return 16;
  const n = (first >> 1) & 7;
  if (n !== 0) return 17 + n;
  const m = (first >> 4) & 7;
  if (m === 0) return 17;
  return m === 1 ? -1 : 8 + m;
}

/** Passes a brotli stream on, refusing it first if it asks for a window over {@link MAX_BROTLI_WBITS}. */
async function* refuseWideBrotliWindow(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let checked = false;
  for await (const chunk of source) {
    if (!checked && chunk.length > 0) {
      const bits = brotliWindowBits(chunk[0] as number);
      if (bits < 0 || bits > MAX_BROTLI_WBITS) throw new GatehouseFailure('unsupported_encoding', 'brotli window over 4 MiB');
      checked = true;
    }
    yield chunk;
  }
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
export function parseCodings(header: string | string[] | undefined): readonly Coding[] {
  if (header === undefined) return NO_CODINGS;
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

/**
 * The declared Content-Length, or -1 when there is none. Ambiguous framing is refused rather than
 * guessed at: a repeated or listed length, or a length beside Transfer-Encoding, a mark of
 * response smuggling (RFC 9112 §6.3). undici's parser refuses these first today (see
 * request-once.ts); this is the check should it ever pass one through.
 * @throws GatehouseFailure `malformed_response`
 */
export function declaredLength(headers: IncomingHttpHeaders): number {
  const value = headers['content-length'];
  if (value === undefined) return -1;
  const text = typeof value === 'string' ? value.trim() : '';
  if (!/^\d+$/.test(text) || headers['transfer-encoding'] !== undefined) throw new GatehouseFailure('malformed_response', 'ambiguous Content-Length');
  return Number(text);
}
