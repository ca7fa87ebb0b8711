/**
 * The gateway: the call pipeline from a named operation (or a trusted request) to a typed result
 * or an error envelope, with one audit event per call. Nothing the network, the policy or the
 * caller does makes `call` or `request` throw.
 *
 * lookup -> authorize caller -> validate params -> build request -> [offline queue] -> limits
 * -> retries -> breaker -> credentials -> send -> read body -> validate response -> envelope -> audit
 * (the bracketed and resilience steps live in `resilience/`; see `resilience/resilience.ts`)
 * @see FR-02, FR-06, FR-07, FR-08, FR-09, TR-01, DESIGN.md §2, §4, §5
 */
import type { Agent } from 'undici';
import {
  createCredentialProvider,
  type AuthStatus,
  type CredentialProvider,
  type SignInOptions,
} from '../auth/credential-provider.ts';
import { GatehouseFailure, classifyError, toGatewayError, type GatewayError } from '../errors.ts';
import { createServiceDispatcher } from '../net/dispatcher.ts';
import type { AuditEvent } from '../observe/audit-event.ts';
import { callEndChannel, internalErrorChannel, policyDeniedChannel } from '../observe/channels.ts';
import type { CompiledPolicy, CompiledService } from '../policy/compiled.ts';
import { isIdempotent } from '../policy/operation.ts';
import { METHODS } from '../policy/schema.ts';
import { OfflineQueue, QueuedCall } from '../resilience/offline-queue.ts';
import type { QueueItem } from '../resilience/queue-store.ts';
import { Resilience, type CallPlan } from '../resilience/resilience.ts';
import type { CircuitStatus } from '../resilience/service-circuit.ts';
import { openSqliteQueueStore } from '../resilience/sqlite-queue-store.ts';
import type { StatusListener } from '../resilience/status-events.ts';
import { TRUSTED_CALLER, authorizeOperation, authorizeRequest } from './authorize.ts';
import { buildOperationRequest, validateParams } from './build-operation-request.ts';
import { buildTrustedRequest, type TrustedRequest } from './build-trusted-request.ts';
import { describeRecord, startRecord, toAuditEvent, type CallRecord } from './call-record.ts';
import { CallRegistry } from './deadline.ts';
import type { ResolvedGatewayOptions } from './options.ts';
import { jsonData } from './safe-values.ts';
import { sendAttempt, type Exchange } from './send-attempt.ts';

/** Options of one call. */
export interface CallOptions {
  /** Role of the code asking. @default 'main' (trusted process code) */
  caller?: string;
  /** Passed through to the result, the error and the audit; generated when absent or unsafe. */
  correlationId?: string;
  /** Aborting it ends the call as `cancelled`; an already-aborted signal sends nothing. */
  signal?: AbortSignal;
  /**
   * Sent as `Idempotency-Key`; lets a non-idempotent operation be retried (the upstream must
   * dedupe by it). A queued call keeps it, or gets a generated one. @default none
   */
  idempotencyKey?: string;
}

/** Options of a trusted `request()`. */
export type RequestOptions = Omit<CallOptions, 'caller'> & { caller?: typeof TRUSTED_CALLER };

/**
 * The outcome of every call: a typed result or an error envelope. The gateway sets `attempts`:
 * the requests sent, retries included (0 when nothing was sent).
 */
export type CallResult<T = unknown> =
  | { ok: true; status: number; data: T; correlationId: string; attempts?: number }
  | { ok: false; error: GatewayError; attempts?: number; queued?: { id: string } };

/** The durable offline queue, as the host sees it. */
export interface GatewayQueue {
  /** Every kept entry, oldest first: `[{ id, operation, caller, createdAt, expiresAt, attempts, state }]`. */
  list(): Promise<QueueItem[]>;
  /** Cancels a `pending` entry; false if it is not pending (sending, finished or unknown). */
  cancel(id: string): Promise<boolean>;
}

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
  /** The host's network signal (Electron: `net.isOnline()`, 'online'/'offline'); `true` replays the queue. */
  setOnline(online: boolean): void;
  /** Online/offline changes and queue entry states; returns the unsubscribe function. */
  onStatus(listener: StatusListener): () => void;
  /** The durable queue of `offline: queue` operations. */
  readonly queue: GatewayQueue;
  /** Each service's circuit breaker: `closed`, `open` (with `retryAfterMs`) or `half-open`. */
  circuits(): CircuitStatus[];
  /** Ends in-flight calls as `cancelled`/`closed`, closes connections, flushes the audit. */
  close(): Promise<void>;
}

/** @internal Built by `createGateway`. */
export class GatewayImpl implements Gateway {
  readonly #policy: CompiledPolicy;
  readonly #options: ResolvedGatewayOptions;
  readonly #dispatchers = new Map<string, Agent>();
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Calls not yet settled; `close()` waits until there are none. */
  #unsettled = 0;
  #allSettled: (() => void) | undefined;
  /** Calls on the network, ended at their deadline, or with `'closed'` by `close()`. */
  readonly #calls = new CallRegistry();
  readonly #credentials: CredentialProvider;
  readonly #resilience: Resilience;
  readonly #queue: OfflineQueue;
  readonly queue: GatewayQueue;

  constructor(policy: CompiledPolicy, options: ResolvedGatewayOptions) {
    this.#policy = policy;
    this.#options = options;
    this.#resilience = new Resilience(TRUSTED_CALLER, policy.roles);
    this.#credentials = createCredentialProvider({ policy, secrets: options.secrets, lookup: options.lookup, ca: options.ca, proxy: options.proxy });
    const queues = [...policy.operations.values()].some((operation) => operation.offline === 'queue');
    this.#queue = new OfflineQueue({
      open: queues ? () => openSqliteQueueStore(options.dataDir) : undefined,
      connectivity: this.#resilience.connectivity,
      events: this.#resilience.events,
      deliver: (entry) =>
        this.#runOperation(entry.operation, JSON.parse(entry.params), { caller: entry.caller, correlationId: entry.correlationId, idempotencyKey: entry.idempotencyKey }, false),
    });
    this.queue = Object.freeze({ list: () => this.#queue.list(), cancel: (id: string) => this.#queue.cancel(id) });
  }

  call<T = unknown>(operationId: string, params?: unknown, options?: CallOptions): Promise<CallResult<T>> {
    return this.#runOperation(operationId, params, readOptions(options), true);
  }

  /** A named operation; `queueing` is false when replaying a queued entry. */
  #runOperation<T>(operationId: string, params: unknown, options: CallOptions, queueing: boolean): Promise<CallResult<T>> {
    const record = startRecord(operationId, options.caller, options.correlationId);
    return this.#track(record, options, () => {
      const decision = authorizeOperation(this.#policy, operationId, record.caller);
      if (!decision.allow) throw new GatehouseFailure(decision.reason, 'operation refused');
      const { operation } = decision;
      describeRecord(record, operation.service, operation.method, operation.pathTemplate);
      const valid = validateParams(operation, params);
      const built = buildOperationRequest(operation, valid, options.idempotencyKey);
      const expectation = {
        responseType: operation.responseType,
        validate: operation.validateResponse,
        maxJsonDepth: operation.limits.maxJsonDepth,
      };
      const idempotencyKey = built.headers['idempotency-key'];
      const plan = { limitKey: operation.id, retryable: operation.idempotent || idempotencyKey !== undefined };
      const exchange = { service: operation.service, built, limits: operation.limits, expectation };
      const send = () => this.#exchange(exchange, options.signal, record, plan);
      if (!queueing || operation.offline !== 'queue') return send();
      if (options.signal?.aborted === true) throw new GatehouseFailure('aborted', 'signal aborted before queueing');
      const ttlMs = operation.limits.queueTtlMs;
      return this.#queue.sendOrQueue({ operation: operation.id, caller: record.caller, params: valid, idempotencyKey, correlationId: record.correlationId, ttlMs }, send);
    });
  }

  request<T = unknown>(serviceId: string, request: TrustedRequest, requestOptions?: RequestOptions): Promise<CallResult<T>> {
    const options = readOptions(requestOptions);
    const record = startRecord(serviceId, options.caller, options.correlationId);
    return this.#track(record, options, () => {
      const decision = authorizeRequest(this.#policy, serviceId, record.caller);
      if (!decision.allow) throw new GatehouseFailure(decision.reason, 'request refused');
      const { service } = decision;
      // Read once, as JSON data: a getter or Proxy can neither throw later nor change under the checks.
      const asked = (jsonData(request ?? {}, 'request') ?? {}) as Partial<TrustedRequest>;
      describeRecord(record, service, auditedMethod(asked.method), '');
      const built = buildTrustedRequest(service, asked);
      record.method = built.method;
      record.pathTemplate = built.rule.path;
      const timeoutMs = Math.min(service.limits.timeoutMs, positiveOr(asked.timeoutMs, Infinity));
      const limits = { ...service.limits, timeoutMs };
      const expectation = { responseType: 'auto', validate: undefined, maxJsonDepth: limits.maxJsonDepth } as const;
      const retryable = isIdempotent(built.method, undefined) || built.headers['idempotency-key'] !== undefined;
      return this.#exchange({ service, built, limits, expectation }, options.signal, record, { limitKey: `${service.id} requests`, retryable });
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

  setOnline(online: boolean): void {
    this.#resilience.connectivity.setHostOnline(online === true);
  }

  onStatus(listener: StatusListener): () => void {
    return this.#resilience.events.on(listener);
  }

  circuits(): CircuitStatus[] {
    return this.#resilience.circuits(this.#policy.services.values());
  }

  close(): Promise<void> {
    // Every close() waits for the same shutdown: a second one must not resolve before the first.
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#calls.abortAll('closed');
    await this.#queue.close();
    if (this.#unsettled > 0) await new Promise<void>((resolve) => (this.#allSettled = resolve));
    await Promise.allSettled([...this.#dispatchers.values()].map((dispatcher) => dispatcher.destroy()));
    await this.#credentials.close();
    await this.#options.auditSink?.close();
  }

  /**
   * Runs one call to its envelope and audit event; counted so `close()` can wait for it. `run`
   * may throw synchronously (a refusal) or reject: both end as an error envelope.
   */
  async #track<T>(record: CallRecord, options: CallOptions, run: () => Promise<{ status: number; data: unknown }>): Promise<CallResult<T>> {
    this.#unsettled += 1;
    try {
      if (this.#closed) throw new GatehouseFailure('closed', 'gateway is closed');
      if (options === UNREADABLE_OPTIONS) throw new GatehouseFailure('unsafe_value', 'options could not be read');
      const { status, data } = await run();
      this.#audit(record, 'ok');
      return { ok: true, status, data: data as T, correlationId: record.correlationId, attempts: record.attempts };
    } catch (thrown) {
      const error = toGatewayError(thrown, record.operation, record.correlationId);
      if (error.kind === 'internal_error' && internalErrorChannel.hasSubscribers) {
        internalErrorChannel.publish({ correlationId: record.correlationId, error: thrown });
      }
      if (error.kind === 'blocked_by_policy' && policyDeniedChannel.hasSubscribers) {
        policyDeniedChannel.publish({ operation: record.operation, caller: record.caller, reason: error.reason, correlationId: record.correlationId });
      }
      this.#audit(record, error.kind, error);
      const { attempts } = record;
      return thrown instanceof QueuedCall ? { ok: false, error, attempts, queued: { id: thrown.queuedId } } : { ok: false, error, attempts };
    } finally {
      this.#unsettled -= 1;
      if (this.#unsettled === 0) this.#allSettled?.();
    }
  }

  /** Runs the attempts of one call under its resilience policy, all within the call's deadline. May throw a refusal. */
  #exchange(
    exchange: Exchange,
    callerSignal: AbortSignal | undefined,
    record: CallRecord,
    plan: Pick<CallPlan, 'limitKey' | 'retryable'>,
  ): Promise<{ status: number; data: unknown }> {
    if (callerSignal?.aborted) throw new GatehouseFailure('aborted', 'signal aborted before sending');
    const { service, limits } = exchange;
    const context = { credentials: this.#credentials, dispatcher: this.#dispatcherFor(service) };
    const call = this.#calls.start(limits.timeoutMs, callerSignal);
    if (this.#closed) call.abort('closed');
    // Settled with handlers rather than an async frame: every call passes here.
    return this.#resilience.run({ ...plan, service, limits, caller: record.caller }, call, () => sendAttempt(context, exchange, call, record)).then(
      (outcome) => {
        call.dispose();
        return outcome;
      },
      (error: unknown) => {
        call.dispose();
        throw classifyError(error, call.fired);
      },
    );
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
    const event = toAuditEvent(record, outcome, error);
    sink?.write(event);
    if (callEndChannel.hasSubscribers) callEndChannel.publish(event);
  }
}

/** Stands for options whose fields could not be read (a throwing getter): the call is refused. */
const UNREADABLE_OPTIONS: CallOptions = Object.freeze({});

/** AbortSignal's own `aborted` getter: it throws for anything that is not a real AbortSignal. */
const readAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;

/**
 * The known fields of caller-supplied options, each read once, so nothing later can throw. A
 * signal must be a real AbortSignal: an object merely given its prototype could throw later.
 */
function readOptions(options: unknown): CallOptions {
  if (options === undefined || options === null) return {};
  try {
    const { caller, correlationId, signal, idempotencyKey } = options as CallOptions;
    if (signal !== undefined) readAborted.call(signal);
    return { caller, correlationId, signal, idempotencyKey };
  } catch {
    return UNREADABLE_OPTIONS;
  }
}

/** The method as the audit records it before the request is checked: a caller's other text is not copied there. */
function auditedMethod(method: unknown): string {
  const upper = typeof method === 'string' ? method.toUpperCase() : method === undefined ? 'GET' : '';
  return (METHODS as readonly string[]).includes(upper) ? upper : '(other)';
}

function positiveOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
