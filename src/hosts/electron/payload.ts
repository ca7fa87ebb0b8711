/**
 * Validation of one IPC call message from a renderer. The message is data from an untrusted
 * process: only own data properties are read, only JSON values are accepted, and the params are
 * copied into fresh plain objects (no `__proto__` key, no accessor, no exotic object) so nothing
 * the renderer shaped reaches the gateway. Pure; throws nothing.
 * @see DESIGN.md §5 "Electron bridge"
 */

/** Largest params accepted, as serialized JSON bytes. @default 1048576 */
export const MAX_PARAMS_BYTES = 1024 * 1024;
/** Deepest nesting of params accepted (`{}` is depth 1). @default 64 */
export const MAX_PARAMS_DEPTH = 64;
/** Longest operation id accepted from a renderer. */
const MAX_OPERATION_CHARS = 200;
/** Idempotency keys: visible ASCII, at most 255 characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** Correlation ids longer than this are dropped (the gateway generates one). */
const MAX_CORRELATION_CHARS = 256;

/** What a renderer may send: `{ operation, params?, options?: { correlationId?, idempotencyKey? } }`. */
export type CallMessage = {
  readonly operation: string;
  readonly params: unknown;
  readonly correlationId: string | undefined;
  readonly idempotencyKey: string | undefined;
};

/** Why a message was refused. */
export type PayloadRefusal = 'malformed_payload' | 'params_too_large' | 'params_too_deep';

/** The outcome of {@link checkCallMessage}. */
export type PayloadCheck =
  | { readonly ok: true; readonly message: CallMessage }
  | {
      readonly ok: false;
      readonly reason: PayloadRefusal;
      /** Which field or rule failed; never a value. */
      readonly detail: string;
      /** The operation id, when one could be read, for the error envelope. */
      readonly operation: string;
      readonly correlationId: string | undefined;
    };

type Field = { present: false } | { present: true; value: unknown } | { present: true; accessor: true };

/**
 * Checks a message and returns a clean copy, or why it was refused.
 * @example checkCallMessage({ operation: 'weather.getForecast', params: { city: 'Oslo' } })
 */
export function checkCallMessage(payload: unknown): PayloadCheck {
  try {
    return checkMessage(payload);
  } catch {
    // Only an exotic object (a Proxy whose trap throws, a revoked Proxy) gets here. What it threw
    // is the renderer's: neither rethrown nor repeated.
    return { ok: false, reason: 'malformed_payload', detail: 'message could not be read as plain data', operation: '', correlationId: undefined };
  }
}

function checkMessage(payload: unknown): PayloadCheck {
  const refuse = (reason: PayloadRefusal, detail: string, operation = '', correlationId?: string): PayloadCheck => ({
    ok: false,
    reason,
    detail,
    operation,
    correlationId,
  });
  if (!isPlainRecord(payload)) return refuse('malformed_payload', 'message is not a plain object');
  const unknownKey = firstUnknownKey(payload, ['operation', 'params', 'options']);
  if (unknownKey !== undefined) return refuse('malformed_payload', `unexpected field ${unknownKey}`);

  const operationField = readField(payload, 'operation');
  const operation = operationField.present && 'value' in operationField ? operationField.value : undefined;
  if (typeof operation !== 'string' || operation.length === 0 || operation.length > MAX_OPERATION_CHARS) {
    return refuse('malformed_payload', 'operation must be a string of 1 to 200 characters', typeof operation === 'string' ? operation : '');
  }

  const options = readOptions(payload);
  if (typeof options === 'string') return refuse('malformed_payload', options, operation);

  const paramsField = readField(payload, 'params');
  if (paramsField.present && 'accessor' in paramsField) return refuse('malformed_payload', 'params is an accessor', operation, options.correlationId);
  const raw = paramsField.present && 'value' in paramsField ? paramsField.value : undefined;
  if (raw === undefined) return { ok: true, message: { operation, params: undefined, ...options } };

  const budget = { bytes: 0 };
  const copied = copyJson(raw, 1, budget);
  if (typeof copied === 'object' && copied !== null && 'refused' in copied && copied.refused !== undefined) {
    const refusal = copied.refused;
    return refuse(refusal.reason, refusal.detail, operation, options.correlationId);
  }
  return { ok: true, message: { operation, params: (copied as { value: unknown }).value, ...options } };
}

/** Reads `options`; a string is the reason it is malformed. */
function readOptions(payload: object): { correlationId: string | undefined; idempotencyKey: string | undefined } | string {
  const field = readField(payload, 'options');
  if (!field.present) return { correlationId: undefined, idempotencyKey: undefined };
  if ('accessor' in field) return 'options is an accessor';
  if (field.value === undefined) return { correlationId: undefined, idempotencyKey: undefined };
  if (!isPlainRecord(field.value)) return 'options must be a plain object';
  // `caller` and `signal` are refused here by name: the role comes from allow(), never the renderer.
  const unknownKey = firstUnknownKey(field.value, ['correlationId', 'idempotencyKey']);
  if (unknownKey !== undefined) return `unexpected option ${unknownKey}`;
  const correlation = readField(field.value, 'correlationId');
  const idempotency = readField(field.value, 'idempotencyKey');
  if ('accessor' in correlation || 'accessor' in idempotency) return 'options hold an accessor';
  const correlationId = correlation.present ? correlation.value : undefined;
  const idempotencyKey = idempotency.present ? idempotency.value : undefined;
  if (correlationId !== undefined && typeof correlationId !== 'string') return 'correlationId must be a string';
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))) {
    return 'idempotencyKey must be 1 to 255 visible ASCII characters';
  }
  return {
    correlationId: correlationId !== undefined && correlationId.length <= MAX_CORRELATION_CHARS ? correlationId : undefined,
    idempotencyKey,
  };
}

type Copied = { value: unknown; refused?: undefined } | { refused: { reason: PayloadRefusal; detail: string } };

/** Copies a JSON value, counting its serialized size and nesting; refuses anything else. */
function copyJson(value: unknown, depth: number, budget: { bytes: number }): Copied {
  const over = (): Copied => ({ refused: { reason: 'params_too_large', detail: `params exceed ${MAX_PARAMS_BYTES} bytes` } });
  const malformed = (detail: string): Copied => ({ refused: { reason: 'malformed_payload', detail } });
  switch (typeof value) {
    case 'string':
      budget.bytes += Buffer.byteLength(JSON.stringify(value));
      return budget.bytes > MAX_PARAMS_BYTES ? over() : { value };
    case 'number':
      if (!Number.isFinite(value)) return malformed('params hold a non-finite number');
      budget.bytes += String(value).length;
      return budget.bytes > MAX_PARAMS_BYTES ? over() : { value };
    case 'boolean':
      budget.bytes += value ? 4 : 5;
      return { value };
    case 'object':
      if (value === null) {
        budget.bytes += 4;
        return { value };
      }
      break;
    default:
      return malformed(`params hold a ${typeof value}`);
  }
  if (depth > MAX_PARAMS_DEPTH) return { refused: { reason: 'params_too_deep', detail: `params nest deeper than ${MAX_PARAMS_DEPTH}` } };
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return malformed('params hold an exotic array');
    const out: unknown[] = [];
    budget.bytes += 1 + Math.max(1, value.length);
    for (let i = 0; i < value.length; i++) {
      const field = readField(value, String(i));
      if (!field.present || 'accessor' in field) return malformed('params hold a sparse array or an accessor');
      const item = copyJson(field.value, depth + 1, budget);
      if (item.refused !== undefined) return item;
      out.push(item.value);
    }
    return budget.bytes > MAX_PARAMS_BYTES ? over() : { value: out };
  }
  if (!isPlainRecord(value)) return malformed('params hold an object that is not plain data');
  const out: Record<string, unknown> = {};
  budget.bytes += 1;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string') return malformed('params hold a symbol key');
    if (key === '__proto__') return malformed('params hold a __proto__ key');
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined || !descriptor.enumerable) continue;
    if (!('value' in descriptor)) return malformed('params hold an accessor');
    if (descriptor.value === undefined) continue; // as JSON.stringify: an undefined property is absent
    budget.bytes += Buffer.byteLength(JSON.stringify(key)) + 2;
    const item = copyJson(descriptor.value, depth + 1, budget);
    if (item.refused !== undefined) return item;
    out[key] = item.value;
  }
  return budget.bytes > MAX_PARAMS_BYTES ? over() : { value: out };
}

/** A plain object: prototype `Object.prototype` or `null`, not an array. */
function isPlainRecord(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The first own key not in the allowed list (symbols included), if any. */
function firstUnknownKey(record: object, allowed: readonly string[]): string | undefined {
  for (const key of Reflect.ownKeys(record)) {
    if (typeof key !== 'string') return 'symbol';
    if (!allowed.includes(key)) return key.replace(/[^\w$.-]/g, '?').slice(0, 64);
  }
  return undefined;
}

/** An own property read without running any getter. */
function readField(record: object, key: string): Field {
  const descriptor = Object.getOwnPropertyDescriptor(record, key);
  if (descriptor === undefined) return { present: false };
  if (!('value' in descriptor)) return { present: true, accessor: true };
  return { present: true, value: descriptor.value };
}
