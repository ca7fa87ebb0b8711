/**
 * The call registry: each call ends at its own deadline although the calls of one timeout length
 * share one timer, calls of other lengths keep theirs, `abortAll` ends every call in progress,
 * and no timer is left running once the calls have ended.
 * @see FR-05, UXR-02, DESIGN.md §5 "Cancellation and shutdown"
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallRegistry, type CallSignal } from '../src/gateway/deadline.ts';
import { sleep } from './support/routes.ts';

/** Resolves with the time (performance.now) at which `call` fires, or undefined after `waitMs`. */
function firedAt(call: CallSignal, waitMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), waitMs);
    call.onAbort(() => {
      clearTimeout(timer);
      resolve(performance.now());
    });
  });
}

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

describe('call deadlines (FR-05)', () => {
  it('ends each call of a shared queue at its own deadline, after earlier calls left it', async () => {
    const calls = new CallRegistry();
    const first = calls.start(100, undefined);
    await sleep(30);
    const second = calls.start(100, undefined);
    await sleep(30);
    const third = calls.start(100, undefined);
    first.dispose(); // ends early: the shared timer must still serve the others
    const [at2, at3] = await Promise.all([firedAt(second, 400), firedAt(third, 400)]);
    for (const [call, at] of [[second, at2], [third, at3]] as const) {
      assert.equal(call.fired, 'deadline');
      assert.ok(at !== undefined && at >= call.deadlineAt - 2 && at < call.deadlineAt + 60, `fired ${at! - call.deadlineAt} ms from its deadline`);
    }
    assert.equal(first.fired, undefined);
    second.dispose();
    third.dispose();
  });

  it('keeps calls of different lengths apart: a short one started later ends first', async () => {
    const calls = new CallRegistry();
    const long = calls.start(250, undefined);
    const short = calls.start(50, undefined);
    const [atLong, atShort] = await Promise.all([firedAt(long, 600), firedAt(short, 600)]);
    assert.ok(atShort !== undefined && atLong !== undefined && atShort < atLong);
    assert.ok(atShort < short.deadlineAt + 60 && atLong >= long.deadlineAt - 2);
    long.dispose();
    short.dispose();
  });

  it('ends every call in progress with abortAll, and ended calls are not touched', async () => {
    const calls = new CallRegistry();
    const ended = calls.start(10_000, undefined);
    ended.dispose();
    const running = [calls.start(10_000, undefined), calls.start(20_000, undefined), calls.start(10_000, undefined)];
    calls.abortAll('closed');
    assert.deepEqual(running.map((call) => call.fired), ['closed', 'closed', 'closed']);
    assert.equal(ended.fired, undefined);
    for (const call of running) call.dispose();
  });

  it('the first cause wins: a caller abort before the deadline is not turned into a timeout', async () => {
    const calls = new CallRegistry();
    const controller = new AbortController();
    const call = calls.start(40, controller.signal);
    controller.abort();
    await sleep(80);
    assert.equal(call.fired, 'caller');
    call.dispose();
    assert.equal(calls.start(1000, controller.signal).fired, 'caller', 'an already-aborted signal ends the call at once');
  });

  it('leaves no timer running once every call has ended', async () => {
    const before = activeTimeouts();
    const calls = new CallRegistry();
    const started = [calls.start(60_000, undefined), calls.start(60_000, undefined), calls.start(5_000, undefined)];
    assert.equal(activeTimeouts(), before + 2, 'one timer per timeout length');
    for (const call of started) {
      call.dispose();
      call.dispose(); // twice is harmless
    }
    assert.equal(activeTimeouts(), before);
  });

  it('keeps no queue for a timeout length once its calls have ended (request() may ask for any length)', async () => {
    const before = activeTimeouts();
    const calls = new CallRegistry();
    for (let i = 0; i < 200; i++) calls.start(1000 + i + 0.5, undefined).dispose();
    assert.equal(calls.lengths, 0);
    const kept = calls.start(5000, undefined);
    const again = calls.start(60, undefined);
    assert.equal(calls.lengths, 2);
    assert.ok((await firedAt(again, 400)) !== undefined, 'a length whose queue was dropped starts afresh');
    again.dispose();
    kept.dispose();
    assert.equal(calls.lengths, 0);
    assert.equal(activeTimeouts(), before);
  });

  it('keeps serving a queue whose call ends start another call of its length', async () => {
    const calls = new CallRegistry();
    const first = calls.start(200, undefined);
    await sleep(100);
    const second = calls.start(200, undefined);
    let started: CallSignal | undefined;
    first.onAbort(() => (started = calls.start(200, undefined))); // arms the timer for a call 200 ms out
    const at = await firedAt(second, 500);
    assert.ok(at !== undefined && at < second.deadlineAt + 60, `the older call fired ${at! - second.deadlineAt} ms after its deadline`);
    for (const call of [first, second, started]) call?.dispose();
  });

  it('abortAll ends every call even when ending one disposes the next', () => {
    const calls = new CallRegistry();
    const started = [0, 1, 2, 3].map(() => calls.start(10_000, undefined));
    started[0]!.onAbort(() => started[1]!.dispose());
    calls.abortAll('closed');
    assert.deepEqual(started.map((call) => call.fired), ['closed', 'closed', 'closed', 'closed']);
    for (const call of started) call.dispose();
  });

  it("a forged caller signal fails only its own call's dispose, never the shared timer", async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const forged = Object.setPrototypeOf(
        {
          aborted: false,
          addEventListener() {},
          removeEventListener() {
            throw new Error('forged');
          },
        },
        AbortSignal.prototype,
      ) as AbortSignal;
      const calls = new CallRegistry();
      const faked = calls.start(100, forged);
      const normal = calls.start(100, undefined);
      const [atFaked, atNormal] = await Promise.all([firedAt(faked, 400), firedAt(normal, 400)]);
      assert.ok(atFaked !== undefined && atNormal !== undefined && atNormal < normal.deadlineAt + 60);
      assert.deepEqual([faked.fired, normal.fired], ['deadline', 'deadline']);
      assert.throws(() => faked.dispose(), /forged/, 'the call pipeline, not the timer, meets the throw');
      normal.dispose();
      await sleep(20);
      assert.deepEqual(uncaught, []);
    } finally {
      process.off('uncaughtException', record);
    }
  });

  it('refuses a caller signal that is not an AbortSignal before starting anything', () => {
    const before = activeTimeouts();
    assert.throws(() => new CallRegistry().start(1000, { aborted: false } as AbortSignal), { reason: 'unsafe_value' });
    assert.equal(activeTimeouts(), before);
  });
});
