/**
 * The example app's renderer in headless Debian Chromium (playwright-core): the page is served
 * from a loopback HTTP server with the app's CSP header, and `window.gatehouse` comes from the
 * real preload script, whose `ipcRenderer` is routed through `page.exposeFunction` into the
 * Electron stand-in and so to the real main-side bridge handler. A second loopback server counts
 * every connection, request and WebSocket upgrade that reaches it (the exfiltration target).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { extname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { APP_CONTENT_SECURITY_POLICY, CALL_CHANNEL } from '../../src/hosts/electron/index.ts';
import { preloadJavaScript } from './preload-harness.ts';
import type { StandInIpcMain, StandInWebContents } from './electron-standin.ts';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';
/** Why the browser tests cannot run here, or undefined when they can. */
export const browserSkipReason = existsSync(CHROMIUM)
  ? undefined
  : `Debian chromium is not installed at ${CHROMIUM} (apt-get install -y chromium): the real-browser test is skipped`;

const RENDERER_DIR = new URL('../../examples/electron-app/renderer/', import.meta.url);
const FILES = new Set(['index.html', 'renderer.js', 'styles.css']);
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** A loopback HTTP server and how to stop it. */
export interface LoopbackServer {
  readonly origin: string;
  close(): Promise<void>;
}

async function listen(server: Server, sockets: Set<Socket>): Promise<string> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
}

/**
 * Serves the example renderer with the app's CSP header. `/control.html` is the same page with no
 * CSP at all: the positive control that proves the exfiltration target is reachable otherwise.
 */
export async function startRendererServer(): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'index.html';
    const control = path === 'control.html';
    const file = control ? 'index.html' : path;
    if (!FILES.has(file)) {
      res.writeHead(404).end();
      return;
    }
    void readFile(new URL(file, RENDERER_DIR)).then((body) => {
      const headers: Record<string, string> = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' };
      if (!control) headers['content-security-policy'] = APP_CONTENT_SECURITY_POLICY;
      // The control page drops the meta CSP too.
      const text = control ? body.toString('utf8').replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '') : body;
      res.writeHead(200, headers).end(text);
    });
  });
  const origin = await listen(server, sockets);
  return { origin, close: closer(server, sockets) };
}

/** The exfiltration target: counts everything that reaches it, down to the byte. */
export interface CountingServer extends LoopbackServer {
  /** TCP connections accepted, bytes received on them, HTTP requests, WebSocket upgrades. */
  readonly hits: { connections: number; bytes: number; requests: number; upgrades: number; paths: string[] };
}

/** Starts the counting server on another loopback port (another origin). */
export async function startCountingServer(): Promise<CountingServer> {
  const sockets = new Set<Socket>();
  const hits = { connections: 0, bytes: 0, requests: 0, upgrades: 0, paths: [] as string[] };
  const server = createServer((req, res) => {
    hits.requests++;
    hits.paths.push(req.url ?? '');
    res.writeHead(200, { 'access-control-allow-origin': '*', 'content-type': 'text/plain' }).end('ok');
  });
  server.on('connection', (socket: Socket) => {
    hits.connections++;
    socket.on('data', (chunk: Buffer) => (hits.bytes += chunk.length));
  });
  server.on('upgrade', (req, socket: Socket) => {
    hits.upgrades++;
    hits.paths.push(req.url ?? '');
    socket.destroy();
  });
  const origin = await listen(server, sockets);
  return { origin, hits, close: closer(server, sockets) };
}

/** Launches Debian Chromium headless, with nothing reaching out on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * Opens a page whose `window.gatehouse` is the real preload, talking to `ipcMain` as `contents`
 * (whose main frame has the page's origin). Status events sent to `contents` reach the page.
 */
export async function openRendererPage(browser: Browser, url: string, ipcMain: StandInIpcMain, contents: StandInWebContents): Promise<Page> {
  const page = await browser.newPage();
  await page.exposeFunction('__gatehouseIpcInvoke', (channel: string, args: unknown[]) => {
    if (channel !== CALL_CHANNEL) throw new Error('unknown channel');
    return ipcMain.invoke(contents, contents.mainFrame, channel, ...args);
  });
  contents.deliver = (channel, args) => {
    void page.evaluate(`window.__gatehouseIpcDeliver(${JSON.stringify(channel)}, ${JSON.stringify(args)})`).catch(() => {});
  };
  await page.addInitScript(`(() => {
    const invoke = window.__gatehouseIpcInvoke;
    const listeners = new Map();
    const ipcRenderer = {
      invoke: (channel, ...args) => invoke(channel, args),
      on(channel, listener) { if (!listeners.has(channel)) listeners.set(channel, new Set()); listeners.get(channel).add(listener); return ipcRenderer; },
      removeListener(channel, listener) { listeners.get(channel)?.delete(listener); return ipcRenderer; },
    };
    window.__gatehouseIpcDeliver = (channel, args) => { for (const l of [...(listeners.get(channel) ?? [])]) l({ sender: ipcRenderer }, ...args); };
    const contextBridge = { exposeInMainWorld(key, api) { Object.defineProperty(window, key, { value: api, enumerable: true }); } };
    const require = (name) => { if (name === 'electron') return { contextBridge, ipcRenderer }; throw new Error('no module ' + name); };
    const module = { exports: {} };
    (function (require, module, exports) {
${preloadJavaScript()}
    })(require, module, module.exports);
  })();`);
  await page.goto(url);
  return page;
}
