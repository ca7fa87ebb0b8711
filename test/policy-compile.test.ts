// What a valid policy compiles to (DESIGN.md §3, §5): normalised destinations, private ranges,
// merged limits, operation defaults and request rules.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, unusedCredentials } from '../src/policy/compile.ts';
import { mergeLimits } from '../src/policy/limits.ts';
import { basePolicy } from './fixtures/policy/base-policy.ts';

type Policy = ReturnType<typeof basePolicy>;

function compileWith(change: (p: Policy) => void) {
  const policy = basePolicy();
  change(policy);
  return compilePolicy(policy);
}

function weatherService(change: (p: Policy) => void = () => {}) {
  const service = compileWith(change).services.get('weather');
  assert.ok(service);
  return service;
}

describe('destinations', () => {
  it('normalises the baseUrl host and drops the trailing slash and dot', () => {
    const { destination } = weatherService((p) => (p.services.weather.baseUrl = 'https://API.Weather.EXAMPLE./v1/'));
    assert.equal(destination.baseUrl.href, 'https://api.weather.example/v1');
    assert.equal(destination.baseUrl.hostname, 'api.weather.example');
    assert.equal(destination.basePath, '/v1');
    assert.deepEqual([...destination.origins], ['https://api.weather.example']);
  });

  it('gives an empty base path for a root baseUrl', () => {
    const { destination } = weatherService((p) => (p.services.weather.baseUrl = 'https://api.weather.example/'));
    assert.equal(destination.basePath, '');
  });

  it('formats origins like URL.origin, default port omitted', () => {
    const { destination } = weatherService((p) => {
      p.services.weather.baseUrl = 'https://api.weather.example:443/v1';
      p.services.weather.hosts = ['CDN.weather.example.', 'files.weather.example:8443', 'bücher.example'];
    });
    assert.deepEqual([...destination.origins], [
      'https://api.weather.example',
      'https://cdn.weather.example',
      'https://files.weather.example:8443',
      'https://xn--bcher-kva.example',
    ]);
  });

  it('gives hosts entries the baseUrl port unless they name one', () => {
    const { destination } = weatherService((p) => {
      p.services.weather.baseUrl = 'https://api.weather.example:9443';
      p.services.weather.hosts = ['cdn.weather.example', 'other.example:443', '[2001:db8::1]'];
    });
    assert.deepEqual([...destination.origins], [
      'https://api.weather.example:9443',
      'https://cdn.weather.example:9443',
      'https://other.example',
      'https://[2001:db8::1]:9443',
    ]);
  });

  for (const baseUrl of ['http://localhost:8080', 'http://127.0.0.5:1/x', 'http://[::1]:3000']) {
    it(`allows http to loopback with allowHttpLoopback: ${baseUrl}`, () => {
      const { destination } = weatherService((p) => Object.assign(p.services.weather, { baseUrl, allowHttpLoopback: true }));
      assert.equal(destination.baseUrl.protocol, 'http:');
      assert.equal(destination.allowHttpLoopback, true);
      assert.ok(destination.origins.has(new URL(baseUrl).origin));
    });
  }

  it('allows reserved names the policy chooses (.test, .internal)', () => {
    const { destination } = weatherService((p) => (p.services.weather.hosts = ['api.test', 'svc.internal']));
    assert.ok(destination.origins.has('https://svc.internal'));
  });

  it('defaults allowHttpLoopback to false and privateRanges to none', () => {
    const { destination } = weatherService();
    assert.equal(destination.allowHttpLoopback, false);
    assert.equal(destination.privateRanges, undefined);
  });
});

describe('private ranges', () => {
  const ranges = () =>
    weatherService((p) => (p.services.weather.privateRanges = ['10.0.0.0/8', '127.0.0.0/8', 'fd00::/8'])).destination.privateRanges;

  it('matches IPv4 addresses inside the CIDRs only', () => {
    const list = ranges();
    assert.ok(list);
    assert.equal(list.check('10.1.2.3', 'ipv4'), true);
    assert.equal(list.check('127.0.0.1', 'ipv4'), true);
    assert.equal(list.check('11.0.0.1', 'ipv4'), false);
    assert.equal(list.check('192.168.1.1', 'ipv4'), false);
  });

  it('matches IPv6 addresses inside the CIDRs only', () => {
    const list = ranges();
    assert.ok(list);
    assert.equal(list.check('fd12::1', 'ipv6'), true);
    assert.equal(list.check('fe80::1', 'ipv6'), false);
    assert.equal(list.check('::1', 'ipv6'), false);
  });

  it('lets an IPv4 rule match the IPv4-mapped IPv6 form (::ffff:127.0.0.1)', () => {
    const list = ranges();
    assert.ok(list);
    assert.equal(list.check('::ffff:127.0.0.1', 'ipv6'), true);
    assert.equal(list.check('::ffff:7f00:1', 'ipv6'), true);
    assert.equal(list.check('::ffff:11.0.0.1', 'ipv6'), false);
  });

  it('compiles credential privateRanges too', () => {
    const policy = compileWith((p) => (p.credentials['crm-oauth'].privateRanges = ['192.168.0.0/16']));
    const spec = policy.credentials.get('crm-oauth');
    assert.ok(spec?.type === 'oauth2ClientCredentials' && spec.privateRanges?.check('192.168.4.4', 'ipv4'));
  });
});

describe('limits', () => {
  it('uses the built-in defaults when nothing is set', () => {
    assert.deepEqual(mergeLimits(), {
      timeoutMs: 15000, connectTimeoutMs: 10000, headersTimeoutMs: undefined, idleTimeoutMs: undefined, maxResponseBytes: 1048576, maxRedirects: 3, maxJsonDepth: 64,
      retries: 2, concurrency: undefined, ratePerMinute: undefined, queueTtlMs: 86400000,
    });
  });

  it('lets the operation win over the service, and the service over defaults', () => {
    const policy = compileWith((p) => {
      p.defaults = { timeoutMs: 30000, maxRedirects: 1, maxJsonDepth: 10, retries: 4 };
      p.services.weather.limits = { timeoutMs: 20000, maxRedirects: 2 };
      p.services.weather.operations.getForecast.limits = { timeoutMs: 5000 };
    });
    const op = policy.operations.get('weather.getForecast');
    assert.equal(op?.limits.timeoutMs, 5000);
    assert.equal(op?.limits.maxRedirects, 2);
    assert.equal(op?.limits.maxJsonDepth, 10);
    assert.equal(op?.limits.retries, 4);
    assert.equal(op?.limits.maxResponseBytes, 1048576);
    const saved = policy.operations.get('weather.saveFavourite');
    assert.equal(saved?.limits.timeoutMs, 20000);
    assert.equal(policy.services.get('weather')?.limits.timeoutMs, 20000);
  });

  it('treats retries next to limits as limits.retries at that level', () => {
    const policy = compileWith((p) => {
      p.defaults.retries = 5;
      p.services.weather.retries = 1;
      p.services.weather.operations.saveFavourite.retries = 0;
    });
    assert.equal(policy.operations.get('weather.getForecast')?.limits.retries, 1);
    assert.equal(policy.operations.get('weather.saveFavourite')?.limits.retries, 0);
  });

  it('defaults the connect timeout to min(10000, timeoutMs)', () => {
    assert.equal(mergeLimits({ timeoutMs: 4000 }).connectTimeoutMs, 4000);
    assert.equal(mergeLimits({ timeoutMs: 60000 }).connectTimeoutMs, 10000);
    assert.equal(mergeLimits({ timeoutMs: 60000, connectTimeoutMs: 20000 }).connectTimeoutMs, 20000);
    assert.equal(mergeLimits({ connectTimeoutMs: 20000 }, { timeoutMs: 5000 }).connectTimeoutMs, 5000);
  });

  it('keeps 0 as a value, not as unset', () => {
    assert.equal(mergeLimits({ retries: 3 }, { retries: 0 }).retries, 0);
    assert.equal(mergeLimits({ maxRedirects: 0 }).maxRedirects, 0);
  });
});

describe('operations', () => {
  const policy = () => compilePolicy(basePolicy());

  it('names operations service.operation', () => {
    assert.deepEqual([...policy().operations.keys()], ['weather.getForecast', 'weather.saveFavourite']);
  });

  it('splits the path template into literal text and param names', () => {
    const op = policy().operations.get('weather.getForecast');
    assert.deepEqual(op?.pathParts, ['/forecast/', 'city', '']);
    assert.equal(op?.pathTemplate, '/forecast/{city}');
    assert.deepEqual(op?.query, ['days']);
    assert.deepEqual([...(op?.headers ?? [])], [['accept-language', 'lang']]);
  });

  it('defaults idempotent by method and honours idempotent: false', () => {
    const methods = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'POST', 'PATCH'];
    const compiled = compileWith((p) => {
      p.services.weather.operations = Object.fromEntries(methods.map((method) => [method, { method, path: '/x' }]));
      p.services.weather.operations.noRetry = { method: 'put', path: '/y', idempotent: false };
      p.services.weather.operations.retryPost = { method: 'POST', path: '/z', idempotent: true };
    });
    const idempotent = (name: string) => compiled.operations.get(`weather.${name}`)?.idempotent;
    assert.deepEqual(methods.map(idempotent), [true, true, true, true, true, false, false]);
    assert.equal(idempotent('noRetry'), false);
    assert.equal(compiled.operations.get('weather.noRetry')?.method, 'PUT');
    assert.equal(idempotent('retryPost'), true);
  });

  it('defaults callers to none, offline to fail and responseType to json', () => {
    const op = policy().operations.get('weather.saveFavourite');
    assert.equal(op?.callers.size, 0);
    assert.equal(op?.offline, 'queue');
    assert.equal(policy().operations.get('weather.getForecast')?.offline, 'fail');
    assert.equal(op?.responseType, 'json');
    assert.equal(op?.validateResponse, undefined);
  });

  it('ignores main in callers (it is implicit)', () => {
    const compiled = compileWith((p) => (p.services.weather.operations.getForecast.callers = ['main', 'renderer']));
    assert.deepEqual([...(compiled.operations.get('weather.getForecast')?.callers ?? [])], ['renderer']);
  });

  it('accepts only an empty params object when params are not declared', () => {
    const compiled = compileWith((p) => (p.services.weather.operations.status = { method: 'GET', path: '/status' }));
    const validate = compiled.operations.get('weather.status')?.validateParams;
    assert.equal(validate?.({}), true);
    assert.equal(validate?.({ x: 1 }), false);
  });

  it('compiles params and response schemas with ajv', () => {
    const compiled = compileWith((p) => (p.services.weather.operations.getForecast.response = { type: 'object', required: ['days'] }));
    const op = compiled.operations.get('weather.getForecast');
    assert.equal(op?.validateParams({ city: 'Oslo', days: 3 }), true);
    assert.equal(op?.validateParams({ city: 'Oslo', extra: 1 }), false);
    assert.equal(op?.validateResponse?.({ days: [] }), true);
    assert.equal(op?.validateResponse?.({}), false);
  });

  it('lets two operations use the same $id without clashing', () => {
    const compiled = compileWith((p) => {
      p.services.weather.operations.getForecast.response = { $id: 'https://schemas.example/x', type: 'object' };
      p.services.weather.operations.saveFavourite.response = { $id: 'https://schemas.example/x', type: 'array' };
    });
    assert.equal(compiled.operations.get('weather.saveFavourite')?.validateResponse?.([]), true);
  });
});

describe('request rules', () => {
  it('upper-cases methods and splits paths into segments', () => {
    const { requests } = weatherService((p) => {
      p.services.weather.requests = [
        { methods: ['get', 'HEAD'], path: '/status' },
        { methods: ['POST'], path: '/items/*/tags' },
        { methods: ['GET'], path: '/files/**' },
        { methods: ['GET'], path: '/' },
      ];
    });
    assert.deepEqual([...(requests[0]?.methods ?? [])], ['GET', 'HEAD']);
    assert.deepEqual(requests.map((r) => r.segments), [['status'], ['items', '*', 'tags'], ['files', '**'], []]);
    assert.equal(requests[1]?.path, '/items/*/tags');
  });
});

describe('the compiled policy', () => {
  it('is frozen and uses Maps', () => {
    const policy = compilePolicy(basePolicy());
    assert.ok(Object.isFrozen(policy));
    assert.ok(policy.services instanceof Map && policy.operations instanceof Map && policy.credentials instanceof Map);
    const service = policy.services.get('weather');
    assert.ok(Object.isFrozen(service) && Object.isFrozen(service?.destination) && Object.isFrozen(service?.limits));
    assert.ok(Object.isFrozen(policy.operations.get('weather.getForecast')));
    assert.ok(Object.isFrozen(policy.credentials.get('weather-key')));
  });

  it('treats constructor and toString as ordinary ids, and __proto__ lookups as misses', () => {
    const policy = compileWith((p) => {
      p.services.constructor = { baseUrl: 'https://c.example', rationale: 'r', operations: { toString: { method: 'GET', path: '/' } } };
    });
    assert.equal(policy.services.get('constructor')?.destination.baseUrl.hostname, 'c.example');
    assert.equal(policy.operations.get('constructor.toString')?.method, 'GET');
    assert.equal(policy.services.get('__proto__'), undefined);
    assert.equal(policy.operations.get('weather.__proto__'), undefined);
    assert.equal(policy.operations.get('weather.constructor'), undefined);
  });

  it('binds a credential to exactly the services that name it', () => {
    const policy = compileWith((p) => {
      p.services.crm = { baseUrl: 'https://crm.example', rationale: 'CRM', credential: 'crm-oauth' };
      p.services.open = { baseUrl: 'https://open.example', rationale: 'Open data' };
    });
    assert.equal(policy.services.get('weather')?.credential?.name, 'weather-key');
    assert.equal(policy.services.get('crm')?.credential?.name, 'crm-oauth');
    assert.equal(policy.services.get('open')?.credential, undefined);
    assert.deepEqual(unusedCredentials(policy), ['crm-user']);
  });

  it('fills the apiKey header default and keeps OAuth settings without secrets', () => {
    const policy = compileWith((p) => (p.credentials['weather-key'] = { type: 'apiKey' }));
    assert.deepEqual(policy.credentials.get('weather-key'), { name: 'weather-key', type: 'apiKey', header: 'x-api-key' });
    const user = policy.credentials.get('crm-user');
    assert.ok(user?.type === 'oauth2AuthorizationCode');
    assert.equal(user.issuer?.href, 'https://auth.crm.example/');
    assert.equal(user.tokenUrl, undefined);
    assert.deepEqual(user.scopes, []);
  });
});
