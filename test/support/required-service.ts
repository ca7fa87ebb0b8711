/**
 * Tests that need a real service of the machine (the Secret Service, Chromium) are skipped with a
 * reason where it is missing — but never under CI (`.ci/run` sets `CI`), which installs them all:
 * there a missing service fails the run instead of letting it pass by skipping.
 */

/** `reason` as a `describe` skip option; throws under CI. */
export function skipUnlessCi(reason: string | undefined): string | false {
  if (reason === undefined) return false;
  if (process.env.CI) throw new Error(`${reason} — CI installs it, so this must not be skipped there`);
  return reason;
}
