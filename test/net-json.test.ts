// Safe JSON parsing: depth limit before parsing, no prototype pollution, malformed refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFailure } from '../src/errors.ts';
import { parseJson } from '../src/net/json.ts';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(isFailure(error), 'throws a GatehouseFailure');
    return error.reason;
  }
}

const nested = (depth: number, open = '[', close = ']'): string => open.repeat(depth) + close.repeat(depth);

describe('parseJson', () => {
  it('parses objects, arrays and scalars from strings and Buffers', () => {
    assert.deepEqual(parseJson('{"a":[1,2,{"b":null}],"c":"x"}', 64), { a: [1, 2, { b: null }], c: 'x' });
    assert.deepEqual(parseJson(Buffer.from('[true,false]'), 64), [true, false]);
    assert.equal(parseJson('42', 0), 42);
    assert.equal(parseJson(Buffer.from('\uFEFF"bom"'), 64), 'bom');
  });

  it('accepts nesting of exactly maxDepth and refuses one more', () => {
    assert.deepEqual(parseJson(nested(64), 64), JSON.parse(nested(64)));
    assert.equal(reasonOf(() => parseJson(nested(65), 64)), 'too_deep');
    const objects = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    assert.ok(parseJson(objects(64), 64));
    assert.equal(reasonOf(() => parseJson(objects(65), 64)), 'too_deep');
    assert.equal(reasonOf(() => parseJson(Buffer.from(nested(65)), 64)), 'too_deep');
  });

  it('counts depth, not brackets: siblings do not add up', () => {
    const wide = `[${Array.from({ length: 1000 }, () => nested(10)).join(',')}]`;
    assert.equal((parseJson(wide, 11) as unknown[]).length, 1000);
  });

  it('does not count brackets inside strings, including after escaped quotes and backslashes', () => {
    const value = { s: '[[[[{{{{', t: 'quote \\" [[[[ \\\\', u: '\\\\\\"[[[' + '['.repeat(100) };
    const text = JSON.stringify(value);
    assert.deepEqual(parseJson(text, 1), value);
    assert.deepEqual(parseJson(`[${JSON.stringify('\\')}, [1]]`, 2), ['\\', [1]]);
    assert.equal(reasonOf(() => parseJson(`[${JSON.stringify('\\"')}, [[1]]]`, 2)), 'too_deep');
  });

  it('agrees with a reference depth for random JSON values', () => {
    const depthOf = (value: unknown): number =>
      value !== null && typeof value === 'object'
        ? 1 + Math.max(0, ...Object.values(value as Record<string, unknown>).map(depthOf))
        : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, limit) => {
        const text = JSON.stringify(value);
        const depth = depthOf(JSON.parse(text));
        const reason = reasonOf(() => parseJson(text, limit));
        return depth > limit ? reason === 'too_deep' : reason === undefined;
      }),
      { numRuns: 1000 },
    );
  });

  it('removes __proto__ keys, also when written with escapes', () => {
    const parsed = parseJson('{"a":1,"__proto__":{"polluted":true},"b":{"\\u005f_proto__":{"x":1}}}', 64) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['a', 'b']);
    assert.equal(Object.hasOwn(parsed, '__proto__'), false);
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.deepEqual(Object.keys(parsed.b as object), []);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('removes constructor.prototype', () => {
    const parsed = parseJson('{"constructor":{"prototype":{"polluted":true}},"ok":1}', 64) as Record<string, unknown>;
    assert.equal(Object.hasOwn(parsed, 'constructor'), false);
    assert.equal(parsed.ok, 1);
  });

  it('refuses malformed JSON without quoting it', () => {
    for (const bad of ['', '{', '{"a":1,}', "{'a':1}", '[1,2', 'undefined', '{"a":"secret-value', 'NaN', '1 2']) {
      try {
        parseJson(bad, 64);
        assert.fail(`accepted ${bad}`);
      } catch (error) {
        assert.ok(isFailure(error));
        assert.equal(error.reason, 'malformed_json');
        assert.equal(error.kind, 'invalid_response');
        assert.equal(error.cause, undefined);
        assert.ok(!error.message.includes('secret-value'));
      }
    }
  });

  it('refuses 1e6 levels of nesting fast, before parsing', () => {
    const started = performance.now();
    assert.equal(reasonOf(() => parseJson(nested(1_000_000), 64)), 'too_deep');
    assert.equal(reasonOf(() => parseJson(Buffer.from(nested(1_000_000, '{"a":', '}')), 64)), 'too_deep');
    assert.ok(performance.now() - started < 200, 'took under 200 ms');
  });

  it('reports its overhead over JSON.parse for 1 KiB', () => {
    const doc = {
      days: Array.from({ length: 8 }, (_, i) => ({ date: `2025-01-0${i}`, tempC: 12.5 + i, summary: 'Partly "cloudy" [x]', rain: [0.1, 0.2] })),
    };
    const text = JSON.stringify(doc);
    const time = (fn: () => unknown): number => {
      for (let i = 0; i < 5000; i++) fn();
      const started = performance.now();
      for (let i = 0; i < 50_000; i++) fn();
      return ((performance.now() - started) * 1000) / 50_000;
    };
    const base = time(() => JSON.parse(text));
    const ours = time(() => parseJson(text, 64));
    console.log(`# ${text.length} B: JSON.parse ${base.toFixed(2)} µs, parseJson ${ours.toFixed(2)} µs (+${(ours - base).toFixed(2)} µs)`);
    // Generous bound: CI machines are noisy; the point is "a few µs", not 10x.
    assert.ok(ours - base < 20, `overhead ${ours - base} µs`);
  });
});
