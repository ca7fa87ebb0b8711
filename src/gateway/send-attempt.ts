/**
 * One attempt of a call: credentials, send, read the answer — plus the one fresh-token retry
 * after a 401. Retries, limits and the breaker wrap it (see `resilience/resilience.ts`).
 * @see DESIGN.md §4.4, §4.5, §5 "Token endpoints"
 */
import type { Agent } from 'undici';
import type { AppliedCredential } from '../auth/credential-headers.ts';
import type { CredentialProvider } from '../auth/credential-provider.ts';
import { classifyError, statusFailure } from '../errors.ts';
import { send } from '../net/send.ts';
import { traceparent } from '../observe/correlation.ts';
import type { CompiledService, Limits } from '../policy/compiled.ts';
import { parseRetryAfter } from '../resilience/retry-after.ts';
import type { BuiltRequest } from './build-operation-request.ts';
import type { CallRecord } from './call-record.ts';
import type { CallSignal } from './deadline.ts';
import { interpretResponse, type ResponseExpectation } from './interpret-response.ts';

/** What one exchange sends and expects. @internal */
export interface Exchange {
  service: CompiledService;
  built: BuiltRequest;
  limits: Limits;
  expectation: ResponseExpectation;
}

/** What an attempt sends with. @internal */
export interface AttemptContext {
  credentials: CredentialProvider;
  dispatcher: Agent;
}

const USER_AGENT = 'gatehouse/0.1';
const UNDICI_TIMER_SLACK_MS = 1000;

/** Sends once (twice after a 401 that dropped a cached token); throws a classified failure. @internal */
export async function sendAttempt(
  context: AttemptContext,
  exchange: Exchange,
  call: CallSignal,
  record: CallRecord,
): Promise<{ status: number; data: unknown }> {
  const { service, built, limits, expectation } = exchange;
  const spec = service.credential;
  const sendOptions = {
    dispatcher: context.dispatcher,
    destination: service.destination,
    maxRedirects: limits.maxRedirects,
    maxResponseBytes: limits.maxResponseBytes,
    cancel: call,
    headersTimeoutMs: limits.headersTimeoutMs,
    idleTimeoutMs: limits.idleTimeoutMs,
    backstopMs: limits.timeoutMs + UNDICI_TIMER_SLACK_MS,
  };
  let refreshed = false;
  try {
    for (;;) {
      let credential: AppliedCredential | undefined;
      if (spec !== undefined) {
        // Recorded as failed until the provider answers.
        const used: NonNullable<CallRecord['credential']> = { name: spec.name, use: 'failed' };
        record.credential = used;
        // A secret store may hang (a locked keychain waiting for its user): never past the deadline.
        credential = await call.race(context.credentials.apply(spec, call));
        used.use = credential.use;
      }
      record.attempts += 1;
      const headers: Record<string, string> = {
        'user-agent': USER_AGENT,
        accept: expectation.responseType === 'text' ? '*/*' : 'application/json',
        traceparent: traceparent(record.traceId),
      };
      Object.assign(headers, built.headers, credential?.headers);
      const request = { path: built.path, method: built.method, headers, credentialHeaders: credential?.headers, body: built.body };
      const received = await send(request, sendOptions, record);
      if (received.status === 401 && spec !== undefined && !refreshed && context.credentials.invalidate(spec)) {
        refreshed = true;
        continue;
      }
      if (received.body === undefined) throw statusFailure(received.status, parseRetryAfter(received.headers['retry-after']));
      return { status: received.status, data: interpretResponse(received.body, received.headers, expectation, credential?.secrets) };
    }
  } catch (error) {
    throw classifyError(error, call.fired);
  }
}
