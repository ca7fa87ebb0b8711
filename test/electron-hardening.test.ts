/**
 * Window, session and app hardening, through the Electron stand-in: every denial happens and is
 * audited; what is allowed still works.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import {
  APP_CONTENT_SECURITY_POLICY,
  hardenApp,
  hardenSession,
  hardenWindow,
  unsafeWebPreferences,
  type DenialEvent,
} from '../src/hosts/electron/index.ts';
import { StandInApp, StandInSession, StandInWebContents } from './support/electron-standin.ts';

const APP = 'app://main';

function hardened(preferences = {}) {
  const denials: DenialEvent[] = [];
  const contents = new StandInWebContents(`${APP}/index.html`, { preferences });
  hardenWindow({ webContents: contents }, { origins: [APP], onDenied: (event) => denials.push(event) });
  return { contents, denials, session: contents.session };
}

describe('hardenWindow', () => {
  it('denies every window.open, audited with the origin only', () => {
    const { contents, denials } = hardened();
    assert.equal(contents.openWindow('https://evil.example/steal?token=secret'), false);
    assert.equal(contents.openWindow(`${APP}/other.html`), false);
    assert.deepEqual(denials.map((d) => [d.reason, d.origin]), [['window_open', 'https://evil.example'], ['window_open', APP]]);
    assert.doesNotMatch(JSON.stringify(denials), /secret/);
  });

  it('allows navigation within the allowed origins only (main frame, redirects, subframes)', () => {
    const { contents, denials } = hardened();
    assert.equal(contents.navigate(`${APP}/settings.html`), true);
    for (const url of ['https://evil.example/', 'app://main.evil/', 'file:///etc/passwd', 'data:text/html,x', 'javascript:alert(1)', 'app://other/']) {
      assert.equal(contents.navigate(url), false, url);
      assert.equal(contents.navigate(url, 'will-redirect'), false, url);
      assert.equal(contents.navigateSubframe(url), false, url);
    }
    assert.equal(contents.navigateSubframe(`${APP}/frame.html`), true);
    assert.equal(contents.mainFrame.url, `${APP}/settings.html`);
    assert.deepEqual(new Set(denials.map((d) => d.reason)), new Set(['navigation', 'redirect', 'frame_navigation']));
  });

  it('keeps WebRTC off direct UDP (webRequest and CSP do not govern it)', () => {
    const { contents } = hardened();
    assert.equal(contents.webRTCIPHandlingPolicy, 'disable_non_proxied_udp');
  });

  it('refuses every <webview>', () => {
    const { contents, denials } = hardened();
    assert.equal(contents.attachWebview(`${APP}/x.html`), false);
    assert.equal(denials[0]?.reason, 'webview');
  });

  it('throws on unsafe web preferences, naming them, and audits it', () => {
    for (const [preferences, name] of [
      [{ contextIsolation: false }, 'contextIsolation'],
      [{ sandbox: false }, 'sandbox'],
      [{ nodeIntegration: true }, 'nodeIntegration'],
      [{ webSecurity: false }, 'webSecurity'],
      [{ webviewTag: true }, 'webviewTag'],
      [{ nodeIntegrationInSubFrames: true }, 'nodeIntegrationInSubFrames'],
      [{ allowRunningInsecureContent: true }, 'allowRunningInsecureContent'],
    ] as const) {
      assert.throws(() => hardened(preferences), new RegExp(name));
    }
    assert.deepEqual(unsafeWebPreferences({}), []);
    assert.deepEqual(unsafeWebPreferences(null), []);
  });

  it('requires exact origins', () => {
    const contents = new StandInWebContents(`${APP}/`);
    assert.throws(() => hardenWindow({ webContents: contents }, { origins: ['app://main/'] }), TypeError);
    assert.throws(() => hardenWindow({ webContents: contents }, { origins: [] }), TypeError);
  });
});

describe('hardenSession (through hardenWindow)', () => {
  it('denies every permission request and check, audited', async () => {
    const { contents, session, denials } = hardened();
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'unknown']) {
      assert.equal(await session.requestPermission(contents, permission, `${APP}/index.html`), false);
      assert.equal(session.checkPermission(contents, permission, APP), false);
    }
    assert.equal(session.checkPermission(null, 'media', 'https://evil.example'), false);
    assert.equal(session.deviceHandler?.({}), false);
    assert.ok(denials.some((d) => d.reason === 'permission_request' && d.permission === 'media' && d.origin === APP));
    assert.ok(denials.some((d) => d.reason === 'permission_check' && d.origin === 'https://evil.example'));
    assert.ok(denials.some((d) => d.reason === 'device_permission'));
  });

  it('cancels every http, https, ws and wss request of the session, audited', async () => {
    const { contents, session, denials } = hardened();
    for (const url of ['http://127.0.0.1:9/x', 'https://api.example/v1?key=secret', 'ws://127.0.0.1:9/', 'wss://evil.example/socket', 'HTTPS://EVIL.EXAMPLE/']) {
      assert.equal(await session.request(url, { webContentsId: contents.id }), true, url);
    }
    assert.equal(await session.request(`${APP}/renderer.js`), false);
    assert.equal(denials.filter((d) => d.reason === 'renderer_network').length, 5);
    assert.doesNotMatch(JSON.stringify(denials), /secret/);
  });

  it('adds the strict CSP to the app origin responses, keeping stricter existing ones', async () => {
    const { session } = hardened();
    const headers = await session.receive(`${APP}/index.html`, { 'content-type': ['text/html'], 'content-security-policy': ["script-src 'none'"] });
    assert.deepEqual(headers['Content-Security-Policy'], ["script-src 'none'", APP_CONTENT_SECURITY_POLICY]);
    assert.deepEqual(headers['content-type'], ['text/html']);
    const other = await session.receive('devtools://devtools/x.html', { a: ['b'] });
    assert.deepEqual(other, { a: ['b'] });
  });

  it("the CSP says connect-src 'none', default-src 'self' and the rest of the checklist", () => {
    for (const directive of ["default-src 'self'", "connect-src 'none'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) {
      assert.ok(APP_CONTENT_SECURITY_POLICY.split('; ').includes(directive), directive);
    }
  });

  it('hardens a session once, adding origins for the CSP on later calls', async () => {
    const session = new StandInSession();
    hardenSession(session, { origins: [APP] });
    const firstListener = session.beforeRequest?.listener;
    hardenSession(session, { origins: ['app://settings'] });
    assert.equal(session.beforeRequest?.listener, firstListener);
    const headers = await session.receive('app://settings/index.html', {});
    assert.ok(headers['Content-Security-Policy']);
  });

  it('publishes denials on gatehouse:electron:denied', async () => {
    const seen: DenialEvent[] = [];
    const listener = (message: unknown) => seen.push(message as DenialEvent);
    subscribe('gatehouse:electron:denied', listener);
    try {
      const { session } = hardened();
      await session.request('https://evil.example/');
    } finally {
      unsubscribe('gatehouse:electron:denied', listener);
    }
    assert.equal(seen[0]?.reason, 'renderer_network');
    assert.equal(seen[0]?.source, 'session');
  });

  it('a throwing audit sink never turns a denial into an allow', async () => {
    const contents = new StandInWebContents(`${APP}/`);
    hardenWindow({ webContents: contents }, { origins: [APP], onDenied: () => { throw new Error('sink down'); } });
    assert.equal(contents.openWindow('https://evil.example/'), false);
    assert.equal(contents.navigate('https://evil.example/'), false);
    assert.equal(await contents.session.request('https://evil.example/'), true);
  });
});

describe('hardenApp', () => {
  it('guards every webContents as it is created, and hardens its session', async () => {
    const app = new StandInApp();
    const denials: DenialEvent[] = [];
    hardenApp(app, { origins: [APP], onDenied: (event) => denials.push(event) });
    const contents = app.createWebContents(`${APP}/index.html`);
    assert.equal(contents.openWindow('https://evil.example/'), false);
    assert.equal(contents.navigate('https://evil.example/'), false);
    assert.equal(contents.attachWebview('https://evil.example/'), false);
    assert.equal(await contents.session.request('https://evil.example/'), true);
    assert.ok(denials.every((d) => d.source === 'app' || d.source === 'session'));
  });

  it('refuses contents created with unsafe preferences: closed, and nothing may load', () => {
    const app = new StandInApp();
    const denials: DenialEvent[] = [];
    hardenApp(app, { origins: [APP], onDenied: (event) => denials.push(event) });
    const contents = app.createWebContents(`${APP}/index.html`, { preferences: { nodeIntegration: true, contextIsolation: false } });
    assert.equal(contents.isDestroyed(), true);
    assert.equal(contents.navigate(`${APP}/index.html`), false);
    assert.equal(denials[0]?.reason, 'unsafe_web_preferences');
    assert.equal(denials[0]?.detail, 'contextIsolation,nodeIntegration');
  });

  it("a window's own origins replace the app-wide ones for that window", () => {
    const app = new StandInApp();
    hardenApp(app, { origins: [APP, 'app://settings'] });
    const contents = app.createWebContents(`${APP}/index.html`);
    hardenWindow({ webContents: contents }, { origins: [APP] });
    assert.equal(contents.navigate('app://settings/'), false);
    assert.equal(contents.navigate(`${APP}/b.html`), true);
  });
});
