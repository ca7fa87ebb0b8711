/**
 * One HTTP request through an undici dispatcher, its answer read as it arrives within the caps.
 *
 * It drives `dispatcher.dispatch` with its own handler instead of calling `undici.request`: that
 * one wraps every answer in a Readable stream, an async resource and an abort listener, which cost
 * ~3 µs per call, a third of what the rest of a governed call costs (see bench/). An uncoded
 * body is collected straight from the handler; only a compressed body goes through a stream,
 * into the decoders.
 * @see DESIGN.md §4.4, §5 "Bodies"; FIELD-NOTES "undici"
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { GatehouseFailure } from '../errors.ts';
import { declaredLength, decodeBody, parseCodings, type BodyMeter } from './body.ts';

/** A request ready to leave: path and headers final, lower-case header names. */
export interface WireRequest {
  readonly origin: string;
  /** Path and query, e.g. `/v1/items/a%2Fb?limit=10`. */
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** Ends the request early: `onAbort` registers the one function to call, `reason` says if it already happened. */
export interface Cancellation {
  readonly reason: Error | undefined;
  onAbort(hook: ((reason: Error) => void) | undefined): void;
}

/** Limits of one request. */
export interface RequestOnceOptions {
  /** Largest body accepted, on the wire and after decompression. */
  readonly maxResponseBytes: number;
  /** Longest wait for the response headers once the request starts; undefined = none. */
  readonly headersTimeoutMs: number | undefined;
  /** Longest pause between two chunks of a body being read; undefined = none. */
  readonly idleTimeoutMs: number | undefined;
  /**
   * undici's own header and body timers: a backstop only, set past the caller's deadline, since
   * they tick every ~0.5 s. The two limits above are precise timers of Gatehouse's.
   */
  readonly backstopMs: number;
  readonly cancel: Cancellation;
}

/** The answer. The body is read for 2xx answers only (empty for HEAD, 204 and 205). */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Decoded body (2xx), or undefined for any other status. */
  readonly body: Buffer | undefined;
}

/** Counters the audit reports, updated as bytes arrive so that a refused answer keeps them. */
export interface AnswerMeter extends BodyMeter {
  /** Status of the last answer received, even when its body is then refused. */
  status: number | undefined;
  /** Request body bytes sent, counted once the server answers. */
  bytesOut: number;
}

/**
 * How much of an unread answer is drained, and for how long, so the connection can be reused;
 * past either, the connection is closed instead of being held for a server that keeps sending.
 */
const DRAIN_BYTES = 64 * 1024;
const DRAIN_MS = 1000;
const EMPTY = Buffer.alloc(0);

/**
 * What undici's parser says about an answer before any header reached the handler, when it is the
 * answer that is not HTTP/1.1 rather than the connection that dropped:
 * - a repeated, listed or chunked-beside Content-Length is reported as a body shorter than its
 *   length (RFC 9112 §6.3: ambiguous framing);
 * - a status below 100, or a 101 without `Upgrade`, trips one of undici's assertions.
 */
function unreadableAnswer(cause: Error): GatehouseFailure | undefined {
  const { code } = cause as { code?: unknown };
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return new GatehouseFailure('malformed_response', 'ambiguous Content-Length', { cause });
  if (code === 'ERR_ASSERTION') return new GatehouseFailure('malformed_response', 'answer undici could not read', { cause });
  return undefined;
}

/**
 * undici's hook for taking a request that still waits for a connection out of its queue — what
 * `undici.request` uses for a signal. Without it a cancelled call's request (credential headers
 * and all) would stay queued, and be aborted on the socket it finally gets. It is internal to
 * undici 8 (hence the pinned minor version); test/net-body.test.ts notices if it is gone.
 */
const kQueuedAbort = ((): symbol | undefined => {
  try {
    return (createRequire(import.meta.url)('undici/lib/core/symbols.js') as { kQueuedAbort?: symbol }).kQueuedAbort;
  } catch {
    return undefined; // bundled without undici's internals: cancelled requests then leave the queue when they start
  }
})();

/**
 * Sends `request` once and reads its answer.
 * @throws GatehouseFailure `too_large`, `decompression_limit`, `unsupported_encoding`; undici and
 *   Node errors as they come (the caller classifies them); the cancellation's reason when cancelled.
 */
export function requestOnce(dispatcher: Dispatcher, request: WireRequest, options: RequestOnceOptions, meter: AnswerMeter): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (options.cancel.reason !== undefined) return reject(options.cancel.reason);
    const handler = new AnswerHandler(request, options, meter, resolve, reject);
    options.cancel.onAbort((reason) => handler.cancel(reason));
    const dispatchOptions: Dispatcher.DispatchOptions & { [hook: symbol]: unknown } = {
      origin: request.origin,
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: request.body,
      headersTimeout: options.backstopMs,
      bodyTimeout: options.backstopMs,
    };
    if (kQueuedAbort !== undefined) dispatchOptions[kQueuedAbort] = (dequeue: (reason: Error) => void) => handler.queued(dequeue);
    dispatcher.dispatch(dispatchOptions, handler);
  });
}

/** What the handler does with body chunks. */
type Mode = 'head' | 'collect' | 'decode' | 'drain' | 'done';

class AnswerHandler implements Dispatcher.DispatchHandler {
  readonly #method: string;
  readonly #bodyBytes: number;
  readonly #options: RequestOnceOptions;
  readonly #meter: AnswerMeter;
  readonly #resolve: (answer: Answer) => void;
  readonly #reject: (error: unknown) => void;
  #settled = false;
  #mode: Mode = 'head';
  #controller: Dispatcher.DispatchController | undefined;
  /** Takes the request out of undici's queue while it waits for a connection. */
  #dequeue: ((reason: Error) => void) | undefined;
  #cancelled: Error | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  /** The body so far: most come in one chunk, kept without an array. */
  #first: Buffer | undefined;
  #chunks: Buffer[] | undefined;
  #bytes = 0;
  /** Feeds a compressed body to its decoders. */
  #source: Readable | undefined;
  /** The timer of the current phase: waiting for headers, reading a body, or draining one. */
  #timer: NodeJS.Timeout | undefined;

  constructor(request: WireRequest, options: RequestOnceOptions, meter: AnswerMeter, resolve: (answer: Answer) => void, reject: (error: unknown) => void) {
    this.#method = request.method;
    this.#bodyBytes = request.body?.length ?? 0;
    this.#options = options;
    this.#meter = meter;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** The call ended early: settle now, and stop the request, or take it out of the queue. */
  cancel(reason: Error): void {
    this.#cancelled = reason;
    this.#fail(reason);
    if (this.#controller !== undefined) this.#controller.abort(reason);
    else this.#dequeue?.(reason);
  }

  /** undici queued the request until a connection is free; `dequeue` takes it out. */
  queued(dequeue: (reason: Error) => void): void {
    if (this.#cancelled !== undefined) dequeue(this.#cancelled);
    else this.#dequeue = dequeue;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#dequeue = undefined;
    if (this.#cancelled !== undefined) return controller.abort(this.#cancelled);
    const { headersTimeoutMs } = this.#options;
    if (headersTimeoutMs !== undefined) this.#timer = setTimeout(() => this.#expire(controller, new errors.HeadersTimeoutError()), headersTimeoutMs);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200 || this.#settled) return;
    clearTimeout(this.#timer);
    this.#status = status;
    this.#headers = headers;
    this.#meter.status = status;
    this.#meter.bytesOut += this.#bodyBytes;
    let length: number;
    try {
      length = declaredLength(headers);
    } catch (error) {
      this.#refuse(controller, error);
      return;
    }
    if (status >= 300 || this.#method === 'HEAD' || status === 204 || status === 205) {
      // Not read: settled now, drained in the background so the connection can be reused.
      this.#mode = 'drain';
      this.#timer = setTimeout(() => controller.abort(new Error('unread answer too slow to drain')), DRAIN_MS).unref();
      this.#settle({ status, headers, body: status < 300 ? EMPTY : undefined });
      return;
    }
    try {
      if (length > this.#options.maxResponseBytes) {
        throw new GatehouseFailure('too_large', `Content-Length over the ${this.#options.maxResponseBytes}-byte cap`);
      }
      const codings = parseCodings(headers['content-encoding']);
      const { idleTimeoutMs } = this.#options;
      if (idleTimeoutMs !== undefined) this.#timer = setTimeout(() => this.#expire(controller, new errors.BodyTimeoutError()), idleTimeoutMs);
      if (codings.length === 0) {
        this.#mode = 'collect';
        return;
      }
      this.#mode = 'decode';
      this.#source = new Readable({
        // Time spent paused for the decoders is not the server's pause.
        read: () => {
          this.#timer?.refresh();
          controller.resume();
        },
        destroy: (error, callback) => {
          if (this.#mode === 'decode') {
            this.#mode = 'done';
            controller.abort(error ?? new Error('decoding stopped'));
          }
          callback(error);
        },
      });
      decodeBody(this.#source, codings, this.#options.maxResponseBytes, this.#meter).then(
        (body) => this.#settle({ status, headers, body }),
        (error: unknown) => this.#fail(error),
      );
    } catch (error) {
      this.#refuse(controller, error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#mode !== 'drain') this.#timer?.refresh();
    if (this.#mode === 'decode') {
      if (this.#source?.push(chunk) === false) controller.pause();
      return;
    }
    if (this.#mode === 'done' || this.#mode === 'head') return;
    this.#bytes += chunk.length;
    if (this.#mode === 'drain') {
      if (this.#bytes > DRAIN_BYTES) controller.abort(new Error('unread answer too long to drain'));
      return;
    }
    this.#meter.bytesIn += chunk.length;
    if (this.#bytes > this.#options.maxResponseBytes) {
      this.#refuse(controller, new GatehouseFailure('too_large', `body over the ${this.#options.maxResponseBytes}-byte cap`));
      return;
    }
    if (this.#first === undefined) this.#first = chunk;
    else (this.#chunks ??= [this.#first]).push(chunk);
  }

  onResponseEnd(): void {
    const mode = this.#mode;
    this.#mode = 'done';
    clearTimeout(this.#timer);
    if (mode === 'decode') this.#source?.push(null);
    else if (mode === 'collect') {
      const body = this.#chunks === undefined ? (this.#first ?? EMPTY) : Buffer.concat(this.#chunks, this.#bytes);
      this.#settle({ status: this.#status, headers: this.#headers, body });
    }
  }

  // Must not throw: undici turns a throw from the other callbacks into this one, but a throw from
  // here reaches the client's 'error' event, which nobody listens to.
  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    this.#mode = 'done';
    clearTimeout(this.#timer);
    // A compressed body's outcome is decodeBody's to tell: it sees the error through its source.
    if (this.#source !== undefined) this.#source.destroy(error);
    else this.#fail(this.#status === 0 ? unreadableAnswer(error) ?? error : error);
  }

  /** A per-request timer ran out: ends the request as undici's own timer would. */
  #expire(controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#mode === 'done') return;
    // Paused by Gatehouse while the decoders catch up: not the server's pause. The decoders'
    // next read refreshes (and so re-arms) the timer.
    if (this.#mode === 'decode' && controller.paused) return;
    controller.abort(error);
  }

  /** Refuses the answer and stops reading it (undici then closes the connection). */
  #refuse(controller: Dispatcher.DispatchController, error: unknown): void {
    this.#mode = 'done';
    clearTimeout(this.#timer);
    this.#fail(error);
    controller.abort(error as Error);
  }

  #settle(answer: Answer): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#options.cancel.onAbort(undefined);
    this.#resolve(answer);
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#options.cancel.onAbort(undefined);
    this.#reject(error);
  }
}
