/* global window, document, setTimeout, clearTimeout */
/**
 * Renderer of the example app. It reaches the network only through `window.gatehouse` (the
 * preload's bridge) and shows every outcome (UXR-01..03): the data; or what happened, in plain
 * words, with what the user can do — try again, wait, sign in — and a reference for support.
 * The UI never blocks: only the button of a running action is disabled, and no spinner outlives
 * UI_DEADLINE_MS, whatever the bridge does.
 *
 * A TypeScript renderer would use `createClient<Operations>(window.gatehouse)` from
 * 'gatehouse/client' with the generated `operations.ts` instead of calling the bridge directly.
 */
'use strict';

(function main() {
  /** The gateway ends every call within its own deadline; this only guards against a stuck bridge. */
  const UI_DEADLINE_MS = 20000;
  /** After this long a running call says so, so the user knows it is still working. */
  const SLOW_MS = 3000;

  const gatehouse = window.gatehouse;
  const byId = (id) => document.getElementById(id);

  /** How each error kind is shown: a state for styling, a title, and the action offered. */
  const VIEWS = {
    offline: { state: 'offline', title: "You're offline", action: 'retry' },
    auth_required: { state: 'auth', title: 'Sign-in needed', action: 'retry' },
    blocked_by_policy: { state: 'blocked', title: 'Not allowed', action: 'none' },
    service_unavailable: { state: 'unavailable', title: 'Service unavailable', action: 'retry' },
    timeout: { state: 'unavailable', title: 'No answer in time', action: 'retry' },
    rate_limited: { state: 'unavailable', title: 'Too many requests', action: 'retry' },
  };
  const FALLBACK_VIEW = { state: 'error', title: 'Something went wrong', action: 'retry-if-retryable' };

  function localError(kind, message, retryable) {
    return { ok: false, error: { kind, message, retryable, operation: '', correlationId: '' } };
  }

  /** Calls the bridge; always resolves to an envelope, within UI_DEADLINE_MS. */
  function call(operation, params, options) {
    if (!gatehouse || typeof gatehouse.call !== 'function') {
      return Promise.resolve(localError('internal_error', 'The app is not connected to its network service. Restart the app.', false));
    }
    let timer;
    const deadline = new Promise((resolve) => {
      timer = setTimeout(() => resolve(localError('timeout', 'The service took too long to answer. Try again in a moment.', true)), UI_DEADLINE_MS);
    });
    const answer = Promise.resolve()
      .then(() => gatehouse.call(operation, params, options))
      .then(
        (result) => (result && typeof result === 'object' && 'ok' in result ? result : localError('internal_error', 'Something went wrong inside the app.', false)),
        () => localError('internal_error', 'Something went wrong inside the app. Try again, and contact support if it keeps happening.', false),
      );
    return Promise.race([answer, deadline]).finally(() => clearTimeout(timer));
  }

  /** The forecast panel. */
  const panel = {
    section: byId('result'),
    progress: byId('progress'),
    progressText: byId('progress-text'),
    title: byId('title'),
    message: byId('message'),
    days: byId('days'),
    retry: byId('retry'),
    reference: byId('reference'),
    load: byId('load'),
    retryTimer: undefined,
  };

  function setBusy(busy) {
    panel.section.setAttribute('aria-busy', String(busy));
    panel.progress.hidden = !busy;
    panel.progressText.textContent = 'Loading…';
    panel.load.disabled = busy;
  }

  function showSuccess(result) {
    panel.section.dataset.state = 'ok';
    panel.title.hidden = false;
    panel.title.textContent = `Forecast for ${String(result.data.city)}`;
    panel.message.textContent = '';
    panel.days.replaceChildren(
      ...result.data.days.map((day) => {
        const item = document.createElement('li');
        const temperatures = typeof day.high === 'number' ? ` (${day.low}–${day.high}°)` : '';
        item.textContent = `${day.date}: ${day.summary}${temperatures}`;
        return item;
      }),
    );
    panel.retry.hidden = true;
    panel.reference.hidden = true;
  }

  function showError(error) {
    const view = VIEWS[error.kind] || FALLBACK_VIEW;
    panel.section.dataset.state = view.state;
    panel.section.dataset.kind = error.kind;
    panel.title.hidden = false;
    panel.title.textContent = view.title;
    panel.message.textContent = error.message;
    panel.days.replaceChildren();
    const canRetry = view.action === 'retry' || (view.action === 'retry-if-retryable' && error.retryable);
    panel.retry.hidden = !canRetry;
    clearTimeout(panel.retryTimer);
    if (canRetry && typeof error.retryAfterMs === 'number' && error.retryAfterMs > 0) {
      // Honour the service's Retry-After without blocking anything else.
      panel.retry.disabled = true;
      panel.retry.textContent = `Try again in ${Math.ceil(error.retryAfterMs / 1000)} s`;
      panel.retryTimer = setTimeout(() => {
        panel.retry.disabled = false;
        panel.retry.textContent = 'Try again';
      }, error.retryAfterMs);
    } else {
      panel.retry.disabled = false;
      panel.retry.textContent = 'Try again';
    }
    panel.reference.hidden = !error.correlationId;
    panel.reference.textContent = error.correlationId ? `Reference for support: ${error.correlationId}` : '';
  }

  async function loadForecast() {
    const city = byId('city').value.trim();
    setBusy(true);
    const slow = setTimeout(() => {
      panel.progressText.textContent = 'Still working… you can keep using the app.';
    }, SLOW_MS);
    const result = await call('weather.getForecast', { city, days: 3 });
    clearTimeout(slow);
    setBusy(false);
    if (result.ok) showSuccess(result);
    else showError(result.error);
  }

  /** A one-line status for the smaller actions. */
  function showStatus(element, result, successText) {
    if (result.ok) {
      element.dataset.state = 'ok';
      element.textContent = successText;
    } else if (result.queued) {
      element.dataset.state = 'queued';
      element.textContent = "Saved. It will be sent when you're back online.";
    } else {
      element.dataset.state = (VIEWS[result.error.kind] || FALLBACK_VIEW).state;
      element.textContent = result.error.message;
    }
  }

  async function runAction(button, status, operation, params, successText, options) {
    button.disabled = true;
    status.dataset.state = 'loading';
    status.textContent = 'Working…';
    const result = await call(operation, params, options);
    button.disabled = false;
    showStatus(status, result, successText);
  }

  let favouriteCounter = 0;
  byId('forecast-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void loadForecast();
  });
  panel.retry.addEventListener('click', () => void loadForecast());
  byId('save').addEventListener('click', () => {
    favouriteCounter += 1;
    const city = byId('city').value.trim();
    // A stable key per save, so a retried or queued save is applied once.
    const idempotencyKey = `favourite-${Date.now().toString(36)}-${favouriteCounter}`;
    void runAction(byId('save'), byId('save-status'), 'weather.saveFavourite', { favourite: { city } }, `${city} saved as a favourite.`, { idempotencyKey });
  });
  byId('export').addEventListener('click', () => {
    void runAction(byId('export'), byId('export-status'), 'weather.exportHistory', {}, 'History exported.');
  });

  if (gatehouse && typeof gatehouse.onStatus === 'function') {
    gatehouse.onStatus((status) => {
      if (status.type === 'offline') byId('connectivity').hidden = false;
      if (status.type === 'online') byId('connectivity').hidden = true;
      if (status.type === 'queue' && status.state === 'delivered') {
        const element = byId('save-status');
        element.dataset.state = 'ok';
        element.textContent = 'Your saved favourite was sent.';
      }
    });
  }
})();
