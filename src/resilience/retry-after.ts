/**
 * Parses `Retry-After` (delay-seconds or HTTP-date) into milliseconds.
 * @see RFC 9110 §10.2.3
 */

/** The longest wait reported: any longer delay (`99999999999`) is read as this, a year. */
const MAX_RETRY_AFTER_MS = 365 * 24 * 3600 * 1000;

/** Milliseconds to wait, or undefined when the header is absent or malformed. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}
