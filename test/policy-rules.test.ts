// Every refusal of the policy loader, one test each (DESIGN.md §3, §5).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy } from '../src/policy/compile.ts';
import { isPolicyError } from '../src/policy/policy-error.ts';
import { basePolicy } from './fixtures/policy/base-policy.ts';

type Policy = ReturnType<typeof basePolicy>;

/** Compiles `policy` and asserts it is refused with an issue at `path` whose message matches. */
function assertRefused(policy: unknown, path: string, message: RegExp): void {
  assert.throws(
    () => compilePolicy(policy),
    (error: unknown) => {
      assert.ok(isPolicyError(error), 'expected a PolicyError');
      const found = error.issues.some((issue) => issue.path === path && message.test(issue.message));
      assert.ok(found, `no issue at ${path} matching ${message}; got:\n${error.message}`);
      return true;
    },
  );
}

const weather = (p: Policy) => p.services.weather;
const forecast = (p: Policy) => p.services.weather.operations.getForecast;
const favourite = (p: Policy) => p.services.weather.operations.saveFavourite;
const W = 'services.weather';
const F = `${W}.operations.getForecast`;

const refusals: { name: string; change: (p: Policy) => void; path: string; message: RegExp }[] = [
  // transport and baseUrl
  { name: 'refuses an http baseUrl that is not loopback', change: (p) => Object.assign(weather(p), { baseUrl: 'http://api.example.com', allowHttpLoopback: true }), path: `${W}.baseUrl`, message: /https/ },
  { name: 'refuses an http loopback baseUrl without allowHttpLoopback', change: (p) => (weather(p).baseUrl = 'http://127.0.0.1:8080'), path: `${W}.baseUrl`, message: /allowHttpLoopback/ },
  { name: 'refuses an http baseUrl to an IPv4-mapped loopback address', change: (p) => Object.assign(weather(p), { baseUrl: 'http://[::ffff:127.0.0.1]/', allowHttpLoopback: true }), path: `${W}.baseUrl`, message: /https/ },
  { name: 'refuses a baseUrl with another scheme', change: (p) => (weather(p).baseUrl = 'ftp://api.example.com'), path: `${W}.baseUrl`, message: /https/ },
  { name: 'refuses a relative baseUrl', change: (p) => (weather(p).baseUrl = '/v1'), path: `${W}.baseUrl`, message: /absolute URL/ },
  { name: 'refuses a baseUrl with userinfo', change: (p) => (weather(p).baseUrl = 'https://user:pw@api.example.com'), path: `${W}.baseUrl`, message: /userinfo/ },
  { name: 'refuses a baseUrl with an empty userinfo', change: (p) => (weather(p).baseUrl = 'https://@api.example.com'), path: `${W}.baseUrl`, message: /userinfo/ },
  { name: 'refuses a baseUrl with a query', change: (p) => (weather(p).baseUrl = 'https://api.example.com/v1?key=1'), path: `${W}.baseUrl`, message: /query/ },
  { name: 'refuses a baseUrl with an empty query', change: (p) => (weather(p).baseUrl = 'https://api.example.com/v1?'), path: `${W}.baseUrl`, message: /query/ },
  { name: 'refuses a baseUrl with a fragment', change: (p) => (weather(p).baseUrl = 'https://api.example.com/v1#x'), path: `${W}.baseUrl`, message: /fragment/ },
  { name: 'refuses a baseUrl with control characters', change: (p) => (weather(p).baseUrl = 'https://api.exa\nmple.com'), path: `${W}.baseUrl`, message: /control/ },
  // service structure
  { name: 'refuses a service without a rationale', change: (p) => delete weather(p).rationale, path: `${W}.rationale`, message: /required/ },
  { name: 'refuses a blank rationale', change: (p) => (weather(p).rationale = '   '), path: `${W}.rationale`, message: /rationale/ },
  { name: 'refuses an unknown key in a service (a typo)', change: (p) => (weather(p).baseURL = 'https://x.example'), path: `${W}.baseURL`, message: /unknown key/ },
  { name: 'refuses an unknown top-level key', change: (p) => (p.service = {}), path: 'service', message: /unknown key/ },
  { name: 'refuses an unknown key in an operation', change: (p) => (forecast(p).caller = ['x']), path: `${F}.caller`, message: /unknown key/ },
  { name: 'refuses a version other than 1', change: (p) => (p.version = 2), path: 'version', message: /1/ },
  { name: 'refuses a policy without services', change: (p) => delete p.services, path: 'services', message: /required/ },
  { name: 'refuses a service id with a dot', change: (p) => (p.services['a.b'] = weather(p)), path: 'services.a.b', message: /invalid name/ },
  { name: 'refuses an operation id with a dot', change: (p) => (weather(p).operations['get.x'] = forecast(p)), path: `${W}.operations.get.x`, message: /invalid name/ },
  { name: 'refuses __proto__ as a service id', change: (p) => (p.services = JSON.parse('{"__proto__": {"baseUrl": "https://x.example", "rationale": "r"}}')), path: 'services.__proto__', message: /invalid name/ },
  { name: 'refuses __proto__ as an operation id', change: (p) => (weather(p).operations = JSON.parse('{"__proto__": {"method": "GET", "path": "/"}}')), path: `${W}.operations.__proto__`, message: /invalid name/ },
  // hosts and private ranges
  { name: 'refuses a wildcard host', change: (p) => (weather(p).hosts = ['*.weather.example']), path: `${W}.hosts[0]`, message: /wildcard/ },
  { name: 'refuses a hosts entry with a scheme or path', change: (p) => (weather(p).hosts = ['https://cdn.example/x']), path: `${W}.hosts[0]`, message: /host:port/ },
  { name: 'refuses a hosts entry with userinfo', change: (p) => (weather(p).hosts = ['user@cdn.example']), path: `${W}.hosts[0]`, message: /host:port/ },
  { name: 'refuses a hosts entry with a port above 65535', change: (p) => (weather(p).hosts = ['cdn.example:70000']), path: `${W}.hosts[0]`, message: /65535/ },
  { name: 'refuses a non-loopback host for an http loopback service', change: (p) => Object.assign(weather(p), { baseUrl: 'http://localhost:8080', allowHttpLoopback: true, hosts: ['cdn.example'] }), path: `${W}.hosts[0]`, message: /loopback/ },
  { name: 'refuses an invalid CIDR', change: (p) => (weather(p).privateRanges = ['10.0.0.0/8', '10.0.0/8']), path: `${W}.privateRanges[1]`, message: /CIDR/ },
  { name: 'refuses an IPv4 prefix longer than 32', change: (p) => (weather(p).privateRanges = ['10.0.0.0/33']), path: `${W}.privateRanges[0]`, message: /CIDR/ },
  { name: 'refuses a CIDR without a prefix', change: (p) => (weather(p).privateRanges = ['10.0.0.1']), path: `${W}.privateRanges[0]`, message: /CIDR/ },
  // credentials
  { name: 'refuses a credential that is not defined', change: (p) => (weather(p).credential = 'missing-key'), path: `${W}.credential`, message: /not defined/ },
  { name: 'refuses a credential named like an Object.prototype key that is not defined', change: (p) => (weather(p).credential = 'constructor'), path: `${W}.credential`, message: /not defined/ },
  { name: 'refuses an unknown credential type', change: (p) => (p.credentials['weather-key'] = { type: 'password' }), path: 'credentials.weather-key.type', message: /credential type/ },
  { name: 'refuses an apiKey header that is not a header name', change: (p) => (p.credentials['weather-key'].header = 'X Api Key'), path: 'credentials.weather-key.header', message: /header name/ },
  { name: 'refuses an unknown key in a credential', change: (p) => (p.credentials['weather-key'].value = 'secret'), path: 'credentials.weather-key.value', message: /unknown key/ },
  { name: 'refuses an http tokenUrl', change: (p) => (p.credentials['crm-oauth'].tokenUrl = 'http://auth.crm.example/token'), path: 'credentials.crm-oauth.tokenUrl', message: /https/ },
  { name: 'refuses an issuer with a query', change: (p) => (p.credentials['crm-user'].issuer = 'https://auth.crm.example/?x=1'), path: 'credentials.crm-user.issuer', message: /query/ },
  { name: 'refuses an authorization-code credential without issuer or endpoints', change: (p) => delete p.credentials['crm-user'].issuer, path: 'credentials.crm-user', message: /issuer/ },
  { name: 'refuses an authorization-code credential with issuer and endpoints', change: (p) => (p.credentials['crm-user'].tokenUrl = 'https://auth.crm.example/token'), path: 'credentials.crm-user', message: /not both/ },
  { name: 'refuses a scope with a space', change: (p) => (p.credentials['crm-oauth'].scopes = ['read write']), path: 'credentials.crm-oauth.scopes[0]', message: /scope/ },
  // operations: paths and params
  { name: 'refuses an operation path that does not start with /', change: (p) => (forecast(p).path = 'forecast/{city}'), path: `${F}.path`, message: /start with \// },
  { name: 'refuses a .. segment in an operation path', change: (p) => (forecast(p).path = '/a/../{city}'), path: `${F}.path`, message: /\.\./ },
  { name: 'refuses an escaped .. segment in an operation path (URL parsers decode %2e%2e)', change: (p) => (forecast(p).path = '/public/.%2e/{city}'), path: `${F}.path`, message: /\.\./ },
  { name: 'refuses a % right before a {param} (two values could spell %2e%2e)', change: (p) => (forecast(p).path = '/files/%{city}'), path: `${F}.path`, message: /%XX/ },
  { name: 'refuses a bare % in an operation path', change: (p) => (forecast(p).path = '/a%zz/{city}'), path: `${F}.path`, message: /%XX/ },
  { name: 'refuses an escaped slash in an operation path', change: (p) => (forecast(p).path = '/a%2Fb/{city}'), path: `${F}.path`, message: /escaped \// },
  { name: 'refuses an escaped .. segment in a request rule', change: (p) => (weather(p).requests = [{ methods: ['GET'], path: '/a/%2E%2E/b' }]), path: `${W}.requests[0].path`, message: /\.\./ },
  { name: 'refuses an unbalanced brace in an operation path', change: (p) => (forecast(p).path = '/forecast/{city'), path: `${F}.path`, message: /unbalanced/ },
  { name: 'refuses a query string in an operation path', change: (p) => (forecast(p).path = '/forecast/{city}?x=1'), path: `${F}.path`, message: /path characters/ },
  { name: 'refuses a path param used twice', change: (p) => (forecast(p).path = '/{city}/{city}'), path: `${F}.path`, message: /used twice/ },
  { name: 'refuses a path param not declared in params', change: (p) => (forecast(p).path = '/forecast/{town}'), path: `${F}.path`, message: /town is not declared/ },
  { name: 'refuses a path param not listed in required', change: (p) => { forecast(p).path = '/forecast/{city}/{days}'; forecast(p).query = []; }, path: `${F}.path`, message: /days must be listed in params.required/ },
  { name: 'refuses a path param on an operation without params', change: (p) => delete forecast(p).params, path: `${F}.path`, message: /not declared/ },
  { name: 'refuses a query param not declared in params', change: (p) => (forecast(p).query = ['units']), path: `${F}.query[0]`, message: /units is not declared/ },
  { name: 'refuses a body param not declared in params', change: (p) => (favourite(p).body = 'payload'), path: `${W}.operations.saveFavourite.body`, message: /payload is not declared/ },
  { name: 'refuses a header param not declared in params', change: (p) => (forecast(p).headers = { 'X-Trace': 'trace' }), path: `${F}.headers.X-Trace`, message: /trace is not declared/ },
  { name: 'refuses a param used in two places', change: (p) => (forecast(p).query = ['city']), path: `${F}.query[0]`, message: /already sent in the path/ },
  { name: 'refuses a body on a GET operation', change: (p) => { forecast(p).body = 'days'; forecast(p).query = []; }, path: `${F}.body`, message: /no body/ },
  { name: 'refuses setting Authorization from a param', change: (p) => (forecast(p).headers = { Authorization: 'lang' }), path: `${F}.headers.Authorization`, message: /may not be set/ },
  { name: 'refuses setting traceparent (Gatehouse sends its own) from a param', change: (p) => (forecast(p).headers = { traceparent: 'lang' }), path: `${F}.headers.traceparent`, message: /may not be set/ },
  { name: 'refuses setting a proxy-* header from a param', change: (p) => (forecast(p).headers = { 'Proxy-Foo': 'lang' }), path: `${F}.headers.Proxy-Foo`, message: /may not be set/ },
  { name: "refuses setting the service credential's apiKey header from a param", change: (p) => (forecast(p).headers = { 'x-api-key': 'lang' }), path: `${F}.headers.x-api-key`, message: /may not be set/ },
  { name: 'refuses a header name that is not a token', change: (p) => (forecast(p).headers = { 'X Lang': 'lang' }), path: `${F}.headers.X Lang`, message: /invalid name/ },
  { name: 'refuses params that are not an object schema', change: (p) => (forecast(p).params = { type: 'string' }), path: `${F}.params.type`, message: /object schema/ },
  { name: 'refuses an invalid params JSON Schema', change: (p) => (forecast(p).params.properties.days.type = 'integr'), path: `${F}.params`, message: /not a valid JSON Schema/ },
  { name: 'refuses an unknown JSON Schema keyword (strict mode)', change: (p) => (forecast(p).params.properties.city.maxLenght = 3), path: `${F}.params`, message: /unknown keyword/ },
  { name: 'refuses an invalid response schema', change: (p) => (forecast(p).response = { type: 'object', required: 'days' }), path: `${F}.response`, message: /not a valid JSON Schema/ },
  { name: 'refuses a remote $ref in a schema', change: (p) => (forecast(p).response = { $ref: 'https://schemas.example/x.json' }), path: `${F}.response`, message: /can't resolve reference|not a valid/ },
  // credentials and hosts that cannot be used safely
  ...['Host', 'Content-Length', 'Transfer-Encoding', 'Cookie', 'traceparent', 'Proxy-Authorization'].map((header) => ({
    name: `refuses an apiKey credential sent in ${header}`,
    change: (p: Policy) => (p.credentials['weather-key'] = { type: 'apiKey', header }),
    path: 'credentials.weather-key.header',
    message: /cannot carry a key/,
  })),
  { name: 'refuses a baseUrl whose host is only a dot', change: (p) => (weather(p).baseUrl = 'https://./v1'), path: `${W}.baseUrl`, message: /name a host/ },
  { name: 'refuses a baseUrl with port 0', change: (p) => (weather(p).baseUrl = 'https://api.example.com:0/v1'), path: `${W}.baseUrl`, message: /port other than 0/ },
  ...['.', '..', '%2e', 'api.example.com:0'].map((entry) => ({
    name: `refuses the hosts entry ${entry}`,
    change: (p: Policy) => (weather(p).hosts = [entry]),
    path: `${W}.hosts[0]`,
    message: /name a host/,
  })),
  // schema keywords whose cost grows faster than the input (a crafted param or answer would stall the event loop)
  { name: 'refuses a params pattern with nested quantifiers (exponential backtracking)', change: (p) => (forecast(p).params.properties.city.pattern = '^(a+)+$'), path: `${F}.params.properties.city.pattern`, message: /exponential/ },
  { name: 'refuses such a pattern deep in a response schema', change: (p) => (forecast(p).response = { type: 'object', properties: { list: { type: 'array', items: { anyOf: [{ type: 'string', pattern: '(\\w+\\s?)*$' }] } } } }), path: `${F}.response.properties.list.items.anyOf[0].pattern`, message: /exponential/ },
  { name: 'refuses a patternProperties name with nested quantifiers', change: (p) => (forecast(p).response = { type: 'object', patternProperties: { '^(x+)+$': { type: 'string' } } }), path: `${F}.response.patternProperties.^(x+)+$`, message: /exponential/ },
  { name: 'refuses uniqueItems over objects without a maxItems', change: (p) => (forecast(p).response = { type: 'array', uniqueItems: true, items: { type: 'object' } }), path: `${F}.response.uniqueItems`, message: /maxItems/ },
  { name: 'refuses uniqueItems over objects with a maxItems over 1000', change: (p) => (forecast(p).response = { type: 'array', uniqueItems: true, maxItems: 1001, items: { type: 'object' } }), path: `${F}.response.uniqueItems`, message: /maxItems/ },
  { name: 'refuses a string format it cannot check', change: (p) => (forecast(p).params.properties.city.format = 'email'), path: `${F}.params`, message: /unknown format/ },
  { name: 'refuses an unknown method', change: (p) => (forecast(p).method = 'TRACE'), path: `${F}.method`, message: /must be/ },
  { name: 'refuses an unknown offline mode', change: (p) => (favourite(p).offline = 'retry'), path: `${W}.operations.saveFavourite.offline`, message: /"queue"/ },
  { name: 'refuses a caller role with a dot', change: (p) => (forecast(p).callers = ['a.b']), path: `${F}.callers[0]`, message: /role/ },
  // request rules
  { name: 'refuses ** before the last segment of a request rule', change: (p) => (weather(p).requests = [{ methods: ['GET'], path: '/**/x' }]), path: `${W}.requests[0].path`, message: /last segment/ },
  { name: 'refuses a partial wildcard segment in a request rule', change: (p) => (weather(p).requests = [{ methods: ['GET'], path: '/files/a*' }]), path: `${W}.requests[0].path`, message: /whole segment/ },
  { name: 'refuses a request rule without methods', change: (p) => (weather(p).requests = [{ methods: [], path: '/x' }]), path: `${W}.requests[0].methods`, message: /./ },
  { name: 'refuses a request rule path with ..', change: (p) => (weather(p).requests = [{ methods: ['GET'], path: '/a/../b' }]), path: `${W}.requests[0].path`, message: /\.\./ },
  // per-role limits
  { name: 'refuses per-role limits for main (never limited per role)', change: (p) => Object.assign(p, { roles: { main: { inFlight: 1 } } }), path: 'roles.main', message: /main/ },
  { name: 'refuses an unknown key in per-role limits', change: (p) => Object.assign(p, { roles: { renderer: { burst: 3 } } }), path: 'roles.renderer.burst', message: /unknown key/ },
  { name: 'refuses a role name with a dot in per-role limits', change: (p) => Object.assign(p, { roles: { 'a.b': { inFlight: 1 } } }), path: 'roles.a.b', message: /role/ },
  // limits
  { name: 'refuses a timeout over 10 minutes', change: (p) => (p.defaults.timeoutMs = 600_001), path: 'defaults.timeoutMs', message: /./ },
  { name: 'refuses more than 20 redirects', change: (p) => (weather(p).limits.maxRedirects = 21), path: `${W}.limits.maxRedirects`, message: /./ },
  { name: 'refuses a response cap over 1 GiB', change: (p) => (weather(p).limits.maxResponseBytes = 2 ** 30 + 1), path: `${W}.limits.maxResponseBytes`, message: /./ },
  { name: 'refuses a JSON depth over 1000', change: (p) => (forecast(p).limits = { maxJsonDepth: 1001 }), path: `${F}.limits.maxJsonDepth`, message: /./ },
  { name: 'refuses negative retries', change: (p) => (forecast(p).retries = -1), path: `${F}.retries`, message: /./ },
  { name: 'refuses a fractional limit', change: (p) => (weather(p).limits.concurrency = 1.5), path: `${W}.limits.concurrency`, message: /integer/ },
  { name: 'refuses a zero timeout', change: (p) => (weather(p).limits.timeoutMs = 0), path: `${W}.limits.timeoutMs`, message: /./ },
  { name: 'refuses a limit given as a string', change: (p) => (weather(p).limits.timeoutMs = '8000'), path: `${W}.limits.timeoutMs`, message: /number|integer/ },
  { name: 'refuses an unknown limit key', change: (p) => (weather(p).limits.timeout = 5), path: `${W}.limits.timeout`, message: /unknown key/ },
  { name: 'refuses retries given both as shorthand and in limits', change: (p) => { weather(p).retries = 1; weather(p).limits.retries = 3; }, path: `${W}.retries`, message: /twice/ },
  { name: 'refuses ratePerMinute on an operation (it is per service)', change: (p) => (forecast(p).limits = { ratePerMinute: 5 }), path: `${F}.limits.ratePerMinute`, message: /per service/ },
];

describe('policy loader refusals', () => {
  for (const { name, change, path, message } of refusals) {
    it(name, () => {
      const policy = basePolicy();
      change(policy);
      assertRefused(policy, path, message);
    });
  }

  it('accepts the unchanged base policy', () => {
    assert.equal(compilePolicy(basePolicy()).operations.size, 2);
  });

  it('accepts linear patterns, uniqueItems over scalars, and uniqueItems under a small maxItems', () => {
    const policy = basePolicy();
    forecast(policy).params.properties.city.pattern = '^[A-Za-z][A-Za-z .-]{0,63}$';
    forecast(policy).response = {
      type: 'object',
      properties: {
        tags: { type: 'array', uniqueItems: true, items: { type: 'string' } },
        rows: { type: 'array', uniqueItems: true, maxItems: 100, items: { type: 'object' } },
        // names of properties and data are not keywords
        pattern: { type: 'string' },
        uniqueItems: { const: { pattern: '(a+)+' } },
      },
    };
    assert.equal(compilePolicy(policy).operations.size, 2);
  });

  it('accepts an apiKey sent in Authorization', () => {
    const policy = basePolicy();
    policy.credentials['weather-key'] = { type: 'apiKey', header: 'Authorization' };
    assert.equal(compilePolicy(policy).credentials.get('weather-key')?.type, 'apiKey');
  });

  it('reports every problem at once, not only the first', () => {
    const policy = basePolicy();
    weather(policy).baseUrl = 'http://api.example.com';
    forecast(policy).query = ['units'];
    policy.credentials['crm-oauth'].tokenUrl = 'http://auth.example/token';
    assert.throws(() => compilePolicy(policy), (error: unknown) => isPolicyError(error) && error.issues.length === 3);
  });

  it('refuses a policy that is not an object', () => {
    for (const value of [null, 'x', 42, []]) assertRefused(value, '', /object/);
  });
});
