/**
 * The Electron security checklist for `webPreferences`, as a pure check. Absent fields take
 * Electron's defaults, which are the safe values (contextIsolation, sandbox and webSecurity on;
 * nodeIntegration and webviewTag off).
 * @see FIELD-NOTES "Electron", https://www.electronjs.org/docs/latest/tutorial/security
 */
import type { WebPreferencesLike } from './surface.ts';

/**
 * The unsafe settings in a set of web preferences, by field name; empty when it is safe.
 * @example unsafeWebPreferences({ sandbox: false }) // ['sandbox']
 */
export function unsafeWebPreferences(preferences: WebPreferencesLike | null | undefined): string[] {
  if (preferences === null || preferences === undefined) return [];
  const problems: string[] = [];
  if (preferences.contextIsolation === false) problems.push('contextIsolation');
  if (preferences.sandbox === false) problems.push('sandbox');
  if (preferences.nodeIntegration === true) problems.push('nodeIntegration');
  if (preferences.nodeIntegrationInSubFrames === true) problems.push('nodeIntegrationInSubFrames');
  if (preferences.nodeIntegrationInWorker === true) problems.push('nodeIntegrationInWorker');
  if (preferences.webSecurity === false) problems.push('webSecurity');
  if (preferences.webviewTag === true) problems.push('webviewTag');
  if (preferences.allowRunningInsecureContent === true) problems.push('allowRunningInsecureContent');
  if (preferences.experimentalFeatures === true) problems.push('experimentalFeatures');
  if (typeof preferences.enableBlinkFeatures === 'string' && preferences.enableBlinkFeatures !== '') problems.push('enableBlinkFeatures');
  return problems;
}
