/**
 * The Content-Security-Policy for the app's own pages: scripts, styles and images from the app's
 * origin only, and no network at all from page script (`connect-src 'none'`) — the renderer
 * reaches the internet only through the bridge.
 * @see DESIGN.md §4.8, FIELD-NOTES "Electron"
 */

/** The CSP Gatehouse installs for the app's origins (and that the app's protocol handler should send). */
export const APP_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Response headers with the CSP added. Existing CSP headers are kept: several policies only ever
 * restrict further, so a page can never loosen this one.
 * @internal
 */
export function withContentSecurityPolicy(
  headers: Record<string, string[]> | undefined,
  policy: string = APP_CONTENT_SECURITY_POLICY,
): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  let existing: string[] = [];
  for (const [name, values] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'content-security-policy') existing = existing.concat(values);
    else result[name] = values;
  }
  result['Content-Security-Policy'] = [...existing, policy];
  return result;
}
