/**
 * Parses `Retry-After` (delay-seconds or HTTP-date) into milliseconds.
 * @see RFC 9110 §10.2.3
 */

/** Milliseconds to wait, or undefined when the header is absent or malformed. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, date - now);
}
