/**
 * The gateway: the call pipeline from a named operation (or a trusted request) to a typed result
 * or an error envelope, with one audit event per call. Nothing the network, the policy or the
 * caller does makes `call` or `request` throw.
 *
 * lookup -> authorize caller -> validate params -> build request -> credentials -> send
 * -> read body -> validate response -> envelope -> audit
 * @see FR-02, FR-06, FR-07, TR-01, DESIGN.md §2, §4
 */
import type { Agent } from 'undici';
import {
  createCredentialProvider,
  type AuthStatus,
  type CredentialProvider,
  type SignInOptions,
} from '../auth/credential-provider.ts';
import {
  GatehouseFailure,
  classifyError,
  sanitizeOperationId,
  statusFailure,
  toGatewayError,
  type GatewayError,
} from '../errors.ts';
import { createServiceDispatcher } from '../net/dispatcher.ts';
import { send, type TransferStats } from '../net/send.ts';
import type { AuditEvent } from '../observe/audit-event.ts';
import { callEndChannel, internalErrorChannel, policyDeniedChannel } from '../observe/channels.ts';
import { resolveCorrelationId, traceparentFor } from '../observe/correlation.ts';
import type { CompiledPolicy, CompiledService, Limits } from '../policy/compiled.ts';
import { parseRetryAfter } from '../resilience/retry-after.ts';
import { TRUSTED_CALLER, authorizeOperation, authorizeRequest } from './authorize.ts';
import { buildOperationRequest, validateParams, type BuiltRequest } from './build-operation-request.ts';
import { buildTrustedRequest, type TrustedRequest } from './build-trusted-request.ts';
import { startCallSignal } from './deadline.ts';
import { interpretResponse, refuseReflectedSecrets, type ResponseExpectation } from './interpret-response.ts';
import type { ResolvedGatewayOptions } from './options.ts';

/** Options of one call. */
export interface CallOptions {
  /** Role of the code asking. @default 'main' (trusted process code) */
  caller?: string;
  /** Passed through to the result, the error and the audit; generated when absent or unsafe. */
  correlationId?: string;
  /** Aborting it ends the call as `cancelled`; an already-aborted signal sends nothing. */
  signal?: AbortSignal;
}

/** Options of a trusted `request()`. */
export type RequestOptions = Omit<CallOptions, 'caller'> & { caller?: typeof TRUSTED_CALLER };

/** The outcome of every call: a typed result or an error envelope. */
export type CallResult<T = unknown> =
  | { ok: true; status: number; data: T; correlationId: string }
  | { ok: false; error: GatewayError };

/** The governed egress point. */
export interface Gateway {
  /** Runs a named operation (`service.operation`) with params. Never throws. */
  call<T = unknown>(operation: string, params?: unknown, options?: CallOptions): Promise<CallResult<T>>;
  /** A trusted request within the service's `requests` rules; for process code only. Never throws. */
  request<T = unknown>(service: string, request: TrustedRequest, options?: RequestOptions): Promise<CallResult<T>>;
  /** Signs a user in for an `oauth2AuthorizationCode` credential (RFC 8252: system browser, loopback, PKCE). */
  signIn(credential: string, options: SignInOptions): Promise<void>;
  /** Forgets the user's tokens for the credential. */
  signOut(credential: string): Promise<void>;
  /** Whether the user is signed in; never a token. Synchronous. */
  authStatus(credential: string): AuthStatus;
  /** Ends in-flight calls as `cancelled`/`closed`, closes connections, flushes the audit. */
  close(): Promise<void>;
}

/** What the audit learns as a call goes; filled step by step. */
interface CallRecord {
  readonly started: number;
  readonly correlationId: string;
  readonly caller: string;
  readonly operation: string;
  service: string;
  method: string;
  pathTemplate: string;
  host: string;
  status: number | undefined;
  attempts: number;
  readonly stats: TransferStats;
}

const USER_AGENT = 'gatehouse/0.1';

/** @internal Built by `createGateway`. */
export class GatewayImpl implements Gateway {
  readonly #policy: CompiledPolicy;
  readonly #options: ResolvedGatewayOptions;
  readonly #dispatchers = new Map<string, Agent>();
  readonly #closing = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #credentials: CredentialProvider;

  constructor(policy: CompiledPolicy, options: ResolvedGatewayOptions) {
    this.#policy = policy;
    this.#options = options;
    this.#credentials = createCredentialProvider({ policy, secrets: options.secrets });
  }

  call<T = unknown>(operationId: string, params?: unknown, options: CallOptions = {}): Promise<CallResult<T>> {
    const record = this.#startRecord(operationId, options.caller, options.correlationId);
    return this.#track(record, async () => {
      const decision = authorizeOperation(this.#policy, operationId, record.caller);
      if (!decision.allow) throw new GatehouseFailure(decision.reason, 'operation refused');
      const { operation } = decision;
      this.#describe(record, operation.service, operation.method, operation.pathTemplate);
      const built = buildOperationRequest(operation, validateParams(operation, params));
      const expectation = {
        responseType: operation.responseType,
        validate: operation.validateResponse,
        maxJsonDepth: operation.limits.maxJsonDepth,
      };
      return this.#exchange(operation.service, built, operation.limits, expectation, options.signal, record);
    });
  }

  request<T = unknown>(serviceId: string, request: TrustedRequest, options: RequestOptions = {}): Promise<CallResult<T>> {
    const record = this.#startRecord(serviceId, options.caller, options.correlationId);
    return this.#track(record, async () => {
      const decision = authorizeRequest(this.#policy, serviceId, record.caller);
      if (!decision.allow) throw new GatehouseFailure(decision.reason, 'request refused');
      const { service } = decision;
      const asked: Partial<TrustedRequest> = request ?? {};
      this.#describe(record, service, sanitizeOperationId(asked.method ?? 'GET').toUpperCase().slice(0, 16), '');
      const built = buildTrustedRequest(service, asked);
      record.method = built.method;
      record.pathTemplate = built.rule.path;
      const timeoutMs = Math.min(service.limits.timeoutMs, positiveOr(asked.timeoutMs, Infinity));
      const limits = { ...service.limits, timeoutMs };
      const expectation = { responseType: 'auto', validate: undefined, maxJsonDepth: limits.maxJsonDepth } as const;
      return this.#exchange(service, built, limits, expectation, options.signal, record);
    });
  }

  signIn(credential: string, options: SignInOptions): Promise<void> {
    return this.#credentials.signIn(credential, options);
  }

  signOut(credential: string): Promise<void> {
    return this.#credentials.signOut(credential);
  }

  authStatus(credential: string): AuthStatus {
    return this.#credentials.authStatus(credential);
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await Promise.allSettled(this.#inFlight);
    await Promise.allSettled([...this.#dispatchers.values()].map((dispatcher) => dispatcher.destroy()));
    await this.#options.auditSink?.close();
  }

  #startRecord(operation: unknown, caller: unknown, correlationId: unknown): CallRecord {
    return {
      started: performance.now(),
      correlationId: resolveCorrelationId(correlationId),
      caller: typeof caller === 'string' ? sanitizeOperationId(caller) : TRUSTED_CALLER,
      operation: sanitizeOperationId(operation),
      service: '',
      method: '',
      pathTemplate: '',
      host: '',
      status: undefined,
      attempts: 0,
      stats: { bytesIn: 0, bytesOut: 0, redirects: 0 },
    };
  }

  #describe(record: CallRecord, service: CompiledService, method: string, pathTemplate: string): void {
    record.service = service.id;
    record.method = method;
    record.pathTemplate = pathTemplate;
    record.host = service.destination.baseUrl.host;
  }

  /** Runs one call to its envelope and audit event; tracked so `close()` can wait for it. */
  #track<T>(record: CallRecord, run: () => Promise<{ status: number; data: unknown }>): Promise<CallResult<T>> {
    const promise = (async (): Promise<CallResult<T>> => {
      try {
        if (this.#closing.signal.aborted) throw new GatehouseFailure('closed', 'gateway is closed');
        const { status, data } = await run();
        this.#audit(record, 'ok');
        return { ok: true, status, data: data as T, correlationId: record.correlationId };
      } catch (thrown) {
        const error = toGatewayError(thrown, record.operation, record.correlationId);
        if (error.kind === 'internal_error' && internalErrorChannel.hasSubscribers) {
          internalErrorChannel.publish({ correlationId: record.correlationId, error: thrown });
        }
        if (error.kind === 'blocked_by_policy' && policyDeniedChannel.hasSubscribers) {
          policyDeniedChannel.publish({ operation: record.operation, caller: record.caller, reason: error.reason, correlationId: record.correlationId });
        }
        this.#audit(record, error.kind, error);
        return { ok: false, error };
      }
    })();
    this.#inFlight.add(promise);
    void promise.finally(() => this.#inFlight.delete(promise));
    return promise;
  }

  async #exchange(
    service: CompiledService,
    built: BuiltRequest,
    limits: Limits,
    expectation: ResponseExpectation,
    callerSignal: AbortSignal | undefined,
    record: CallRecord,
  ): Promise<{ status: number; data: unknown }> {
    if (callerSignal?.aborted) throw new GatehouseFailure('aborted', 'signal aborted before sending');
    const call = startCallSignal(limits.timeoutMs, callerSignal, this.#closing.signal);
    const spec = service.credential;
    try {
      for (;;) {
        const credential = spec === undefined ? undefined : await this.#credentials.apply(spec, call.signal);
        record.attempts += 1;
        const headers = {
          'user-agent': USER_AGENT,
          accept: expectation.responseType === 'text' ? '*/*' : 'application/json',
          traceparent: traceparentFor(record.correlationId),
          ...built.headers,
        };
        const received = await send(
          { url: built.url, method: built.method, headers, credentialHeaders: credential?.headers, body: built.body },
          {
            dispatcher: this.#dispatcherFor(service),
            destination: service.destination,
            maxRedirects: limits.maxRedirects,
            maxResponseBytes: limits.maxResponseBytes,
            signal: call.signal,
            headersTimeoutMs: limits.timeoutMs,
            bodyTimeoutMs: limits.timeoutMs,
          },
          record.stats,
        );
        record.status = received.status;
        // A 401 drops a cached access token; one more attempt with a fresh token (DESIGN.md §5).
        if (received.status === 401 && spec !== undefined && record.attempts === 1 && this.#credentials.invalidate(spec)) continue;
        if (received.body === undefined) throw statusFailure(received.status, parseRetryAfter(received.headers['retry-after']));
        if (credential !== undefined) refuseReflectedSecrets(received.body, credential.secrets);
        return { status: received.status, data: interpretResponse(received.body, received.headers, expectation) };
      }
    } catch (error) {
      throw classifyError(error, call.fired);
    } finally {
      call.dispose();
    }
  }

  #dispatcherFor(service: CompiledService): Agent {
    let dispatcher = this.#dispatchers.get(service.id);
    if (dispatcher === undefined) {
      dispatcher = createServiceDispatcher({
        privateRanges: service.destination.privateRanges,
        lookup: this.#options.lookup,
        ca: this.#options.ca,
        connectTimeoutMs: service.limits.connectTimeoutMs,
        proxy: this.#options.proxy,
      });
      this.#dispatchers.set(service.id, dispatcher);
    }
    return dispatcher;
  }

  #audit(record: CallRecord, outcome: AuditEvent['outcome'], error?: GatewayError): void {
    const sink = this.#options.auditSink;
    if (sink === undefined && !callEndChannel.hasSubscribers) return;
    const event: AuditEvent = {
      time: new Date().toISOString(),
      correlationId: record.correlationId,
      caller: record.caller,
      operation: record.operation,
      service: record.service,
      method: record.method,
      pathTemplate: record.pathTemplate,
      host: record.host,
      ...(record.status === undefined ? {} : { status: record.status }),
      outcome,
      ...(error?.reason === undefined ? {} : { reason: error.reason }),
      durationMs: Math.round((performance.now() - record.started) * 1000) / 1000,
      bytesIn: record.stats.bytesIn,
      bytesOut: record.stats.bytesOut,
      attempts: record.attempts,
      redirects: record.stats.redirects,
    };
    sink?.write(event);
    if (callEndChannel.hasSubscribers) callEndChannel.publish(event);
  }
}

function positiveOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
