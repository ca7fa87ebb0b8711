/**
 * Error kinds, reasons, the internal failure type and the public error envelope.
 *
 * Inside Gatehouse every failure is a {@link GatehouseFailure} with a stable kind and reason;
 * {@link toGatewayError} is the one place that turns it into the public {@link GatewayError}.
 * @see FR-06, TR-03, UXR-01, UXR-03
 */

/** Every error kind, in the order of DESIGN.md §2. */
export const ERROR_KINDS = [
  'blocked_by_policy',
  'invalid_input',
  'offline',
  'timeout',
  'dns_error',
  'tls_error',
  'proxy_error',
  'connection_error',
  'auth_required',
  'forbidden',
  'not_found',
  'rate_limited',
  'server_error',
  'service_unavailable',
  'client_error',
  'invalid_response',
  'cancelled',
  'internal_error',
] as const;

/** A stable classification of a failed call, suitable for choosing what the user sees. */
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Finer, machine-readable causes; each belongs to one kind. */
export const REASONS = {
  // blocked_by_policy
  unknown_operation: 'blocked_by_policy',
  unknown_service: 'blocked_by_policy',
  caller_not_allowed: 'blocked_by_policy',
  destination_not_allowed: 'blocked_by_policy',
  private_address: 'blocked_by_policy',
  insecure_transport: 'blocked_by_policy',
  redirect_blocked: 'blocked_by_policy',
  method_not_allowed: 'blocked_by_policy',
  path_not_allowed: 'blocked_by_policy',
  // invalid_input
  invalid_params: 'invalid_input',
  unsafe_value: 'invalid_input',
  forbidden_header: 'invalid_input',
  // offline
  no_network: 'offline',
  queued: 'offline',
  // timeout
  connect_timeout: 'timeout',
  headers_timeout: 'timeout',
  body_timeout: 'timeout',
  deadline: 'timeout',
  // dns_error
  not_resolved: 'dns_error',
  // tls_error
  cert_untrusted: 'tls_error',
  cert_expired: 'tls_error',
  cert_hostname_mismatch: 'tls_error',
  handshake_failed: 'tls_error',
  // proxy_error
  proxy_unreachable: 'proxy_error',
  proxy_refused: 'proxy_error',
  proxy_auth_required: 'proxy_error',
  // connection_error
  connection_refused: 'connection_error',
  connection_reset: 'connection_error',
  closed_early: 'connection_error',
  // auth_required
  missing_credential: 'auth_required',
  unauthorized: 'auth_required',
  // rate_limited
  local_limit: 'rate_limited',
  // service_unavailable
  circuit_open: 'service_unavailable',
  // invalid_response
  too_many_redirects: 'invalid_response',
  too_large: 'invalid_response',
  decompression_limit: 'invalid_response',
  unsupported_encoding: 'invalid_response',
  malformed_json: 'invalid_response',
  too_deep: 'invalid_response',
  schema_mismatch: 'invalid_response',
  unexpected_content_type: 'invalid_response',
  unexpected_status: 'invalid_response',
  malformed_response: 'invalid_response',
  secret_reflected: 'invalid_response',
  // cancelled
  aborted: 'cancelled',
  closed: 'cancelled',
  // an upstream error status: the kind comes from the status (see kindForStatus)
  upstream_status: 'client_error',
  // internal_error
  bug: 'internal_error',
} as const satisfies Record<string, ErrorKind>;

/** A finer cause of a failure, e.g. `'private_address'` or `'too_large'`. */
export type Reason = keyof typeof REASONS;

/** The public error envelope: what every failed call returns. Holds no secret, URL or value. */
export interface GatewayError {
  /** Stable classification for UX. */
  kind: ErrorKind;
  /** Finer machine-readable cause. */
  reason?: Reason;
  /** Short, user-appropriate, actionable text; never a URL, a value or a stack. */
  message: string;
  /** Whether trying the same call again later may succeed. */
  retryable: boolean;
  /** How long the upstream (or a local limit) asked to wait, in milliseconds. */
  retryAfterMs?: number;
  /** Upstream HTTP status, where there was one. */
  status?: number;
  /** The requested operation id (`service.operation`, or `service` for `request()`). */
  operation: string;
  /** Correlation id of the call. */
  correlationId: string;
}

const BRAND = Symbol.for('gatehouse.error');

/** Extra facts a failure may carry into the envelope. */
export interface FailureDetails {
  /** Overrides the reason's own kind; only for `upstream_status`. */
  kind?: ErrorKind;
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * The one internal error type. `detail` is for developers (diagnostics channel, tests) and must
 * hold no secret or value either; it never reaches the envelope.
 * @internal
 */
export class GatehouseFailure extends Error {
  readonly [BRAND] = true;
  readonly kind: ErrorKind;
  readonly reason: Reason;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(reason: Reason, detail: string, details: FailureDetails = {}) {
    super(detail, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GatehouseFailure';
    this.kind = details.kind ?? REASONS[reason];
    this.reason = reason;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** True for a {@link GatehouseFailure}, even one from another copy of the package. @internal */
export function isFailure(value: unknown): value is GatehouseFailure {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Kinds a later attempt may fix (DESIGN.md §5 "Retryable"). */
const RETRYABLE: ReadonlySet<ErrorKind> = new Set([
  'offline',
  'timeout',
  'connection_error',
  'rate_limited',
  'service_unavailable',
]);

/** Whether a failure of this kind may succeed when tried again. */
function isRetryable(kind: ErrorKind): boolean {
  return RETRYABLE.has(kind);
}

/** What the user is told for each kind (UXR-01, UXR-03): plain, actionable, no detail. */
const MESSAGES: Record<ErrorKind, string> = {
  blocked_by_policy:
    'This request was blocked by a security policy that protects your data. If you need it, contact your administrator.',
  invalid_input: 'The request could not be sent because some of its information is not valid.',
  offline: 'You appear to be offline. Check your network connection and try again.',
  timeout: 'The service took too long to answer. Try again in a moment.',
  dns_error: 'The service could not be found. Check your network connection or try again later.',
  tls_error:
    'A secure connection to the service could not be established, so nothing was sent. If this keeps happening, contact your administrator.',
  proxy_error: 'The network proxy did not let the request through. Check your proxy settings or contact your administrator.',
  connection_error: 'The connection to the service failed. Check your network connection and try again.',
  auth_required: 'You need to sign in again to continue.',
  forbidden: 'You do not have permission to do this.',
  not_found: 'The requested item was not found.',
  rate_limited: 'Too many requests right now. Wait a moment and try again.',
  server_error: 'The service had a problem. Try again later.',
  service_unavailable: 'The service is temporarily unavailable. Try again later.',
  client_error: 'The service could not accept this request.',
  invalid_response:
    'The service sent an answer that could not be used safely, so it was discarded. Try again later or contact your administrator.',
  cancelled: 'The request was cancelled.',
  internal_error: 'Something went wrong inside the app. Try again, and contact support if it keeps happening.',
};

const MAX_OPERATION_CHARS = 200;

/** Echo of a caller-supplied operation id: control characters removed, at most 200 chars. @internal */
export function sanitizeOperationId(operation: unknown): string {
  let text: string;
  try {
    text = typeof operation === 'string' ? operation : String(operation);
  } catch {
    text = '';
  }
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '').slice(0, MAX_OPERATION_CHARS);
}

/**
 * Turns any thrown value into the public envelope. Unknown errors become `internal_error`
 * without their message (it may hold anything).
 * @internal
 */
export function toGatewayError(error: unknown, operation: string, correlationId: string): GatewayError {
  const failure = isFailure(error) ? error : new GatehouseFailure('bug', 'unexpected error', { cause: error });
  const envelope: GatewayError = {
    kind: failure.kind,
    reason: failure.reason,
    message: MESSAGES[failure.kind],
    retryable: isRetryable(failure.kind),
    operation,
    correlationId,
  };
  if (failure.status !== undefined) envelope.status = failure.status;
  if (failure.retryAfterMs !== undefined) envelope.retryAfterMs = failure.retryAfterMs;
  return envelope;
}

/** The failure for an upstream error status (DESIGN.md §2). @internal */
export function statusFailure(status: number, retryAfterMs?: number): GatehouseFailure {
  if (status < 400) return new GatehouseFailure('unexpected_status', `upstream answered ${status}`, { status });
  const kind = kindForStatus(status);
  const reason: Reason = status === 401 ? 'unauthorized' : 'upstream_status';
  return new GatehouseFailure(reason, `upstream answered ${status}`, { kind, status, retryAfterMs });
}

/** Kind for an upstream HTTP error status (DESIGN.md §2). @internal */
function kindForStatus(status: number): ErrorKind {
  if (status === 401) return 'auth_required';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 502 || status === 503 || status === 504) return 'service_unavailable';
  if (status >= 500) return 'server_error';
  return 'client_error';
}

/** Node, OpenSSL and undici error codes, by the reason they mean. */
const CODE_REASONS: Readonly<Record<string, Reason>> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  ETIMEDOUT: 'connect_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'headers_timeout',
  UND_ERR_BODY_TIMEOUT: 'body_timeout',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'closed_early',
  UND_ERR_CLOSED: 'closed_early',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'closed_early',
  ERR_STREAM_PREMATURE_CLOSE: 'closed_early',
  ENOTFOUND: 'not_resolved',
  EAI_NONAME: 'not_resolved',
  EAI_NODATA: 'not_resolved',
  EAI_FAIL: 'not_resolved',
  EAI_AGAIN: 'not_resolved',
  ENETUNREACH: 'no_network',
  ENETDOWN: 'no_network',
  EHOSTUNREACH: 'no_network',
  CERT_HAS_EXPIRED: 'cert_expired',
  CERT_NOT_YET_VALID: 'cert_expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'cert_hostname_mismatch',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'cert_untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'cert_untrusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'cert_untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'cert_untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'cert_untrusted',
  CERT_UNTRUSTED: 'cert_untrusted',
  CERT_SIGNATURE_FAILURE: 'cert_untrusted',
  CERT_REVOKED: 'cert_untrusted',
  CERT_REJECTED: 'cert_untrusted',
  INVALID_CA: 'cert_untrusted',
  EPROTO: 'handshake_failed',
  UND_ERR_PROXY: 'proxy_refused',
  UND_ERR_HEADERS_OVERFLOW: 'too_large',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'too_large',
  UND_ERR_INFO: 'malformed_response',
};

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Finds a classified reason in an error, its `cause` chain or an AggregateError's members. */
function reasonOf(error: unknown, depth = 0): Reason | undefined {
  if (error === null || typeof error !== 'object' || depth > 4) return undefined;
  const code = codeOf(error);
  // Answers undici cannot read; the server did not drop the connection, it did not speak HTTP/1.1:
  // - parse errors, which lose their HPE_ code in undici 8.13 (hence the name);
  // - an unasked-for `101 Switching Protocols` ('bad upgrade') or `100 Continue` ('bad response'),
  //   which undici reports as socket errors.
  if ((error as Error).name === 'HTTPParserError') return 'malformed_response';
  if (code === 'UND_ERR_SOCKET' && ['bad upgrade', 'bad response'].includes((error as Error).message)) return 'malformed_response';
  if (code !== undefined) {
    const known = CODE_REASONS[code];
    if (known !== undefined) return known;
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'handshake_failed';
    // llhttp's parse errors: the server did not speak well-formed HTTP/1.1.
    if (code.startsWith('HPE_')) return 'malformed_response';
  }
  if (error instanceof AggregateError) {
    for (const member of error.errors) {
      const reason = reasonOf(member, depth + 1);
      if (reason !== undefined) return reason;
    }
  }
  return reasonOf((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * Classifies whatever a send threw. `aborted` says which signal ended the call, when one did:
 * the deadline makes a `timeout`, the caller's signal a `cancelled`.
 * @internal
 */
export function classifyError(error: unknown, aborted?: 'deadline' | 'caller' | 'closed'): GatehouseFailure {
  if (isFailure(error)) return error;
  if (aborted === 'deadline') return new GatehouseFailure('deadline', 'call deadline passed', { cause: error });
  if (aborted === 'caller') return new GatehouseFailure('aborted', 'caller aborted', { cause: error });
  if (aborted === 'closed') return new GatehouseFailure('closed', 'gateway closed', { cause: error });
  const reason = reasonOf(error);
  if (reason !== undefined) return new GatehouseFailure(reason, `network failure (${codeOf(error) ?? reason})`, { cause: error });
  return new GatehouseFailure('bug', 'unclassified failure', { cause: error });
}
