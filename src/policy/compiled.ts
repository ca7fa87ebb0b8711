/**
 * The compiled policy: what the gateway looks things up in at call time. Built once by
 * `compilePolicy()`; frozen; holds no secret (credential *bindings* only).
 * @see TR-02, SR-02
 */
import type { BlockList } from 'node:net';
import type { ValidateFunction } from 'ajv';

/** Effective limits after defaults -> service -> operation (the most specific wins). */
export interface Limits {
  /** Whole-call deadline, every attempt and wait included. @default 15000 */
  readonly timeoutMs: number;
  /** TCP+TLS connect deadline per connection. @default min(10000, timeoutMs) */
  readonly connectTimeoutMs: number;
  /** Per attempt: longest wait for the response headers once the request starts on its connection; undefined = the call's deadline only. */
  readonly headersTimeoutMs: number | undefined;
  /** Per attempt: longest pause between two chunks of the response body; undefined = the call's deadline only. */
  readonly idleTimeoutMs: number | undefined;
  /** Cap on body bytes, on the wire and after decompression. @default 1048576 */
  readonly maxResponseBytes: number;
  /** Redirect hops Gatehouse follows in one attempt. @default 3 */
  readonly maxRedirects: number;
  /** Deepest JSON nesting accepted. @default 64 */
  readonly maxJsonDepth: number;
  /** Retries after the first attempt (idempotent calls only). @default 2 */
  readonly retries: number;
  /** Calls of one operation in flight at once; undefined = unlimited. */
  readonly concurrency: number | undefined;
  /** Per-service token bucket; undefined = unlimited. */
  readonly ratePerMinute: number | undefined;
  /** How long a queued offline call may wait. @default 86400000 */
  readonly queueTtlMs: number;
}

/** Credential types and the non-secret settings the policy gives them. */
export type CredentialSpec =
  | { readonly name: string; readonly type: 'bearer' }
  | { readonly name: string; readonly type: 'apiKey'; /** Lower case. */ readonly header: string }
  | { readonly name: string; readonly type: 'basic' }
  | {
      readonly name: string;
      readonly type: 'oauth2ClientCredentials';
      readonly tokenUrl: URL;
      readonly scopes: readonly string[];
      readonly privateRanges: BlockList | undefined;
    }
  | {
      readonly name: string;
      readonly type: 'oauth2AuthorizationCode';
      readonly issuer: URL | undefined;
      readonly authorizationUrl: URL | undefined;
      readonly tokenUrl: URL | undefined;
      readonly clientId: string;
      readonly scopes: readonly string[];
      readonly privateRanges: BlockList | undefined;
    };

/** Where a service may send requests. Pure data; `net/` enforces it. */
export interface Destination {
  /** `baseUrl` parsed and WHATWG-normalised; its path has no trailing slash ('' for root). */
  readonly baseUrl: URL;
  /** `baseUrl`'s origin (`https://host:port`), where operations and requests are sent. */
  readonly origin: string;
  /** `baseUrl`'s path without trailing slash: '' for the root, '/v1' otherwise (a URL's pathname is never ''). */
  readonly basePath: string;
  /** Origins (`https://host:port`, normalised, default port omitted) the service may reach. */
  readonly origins: ReadonlySet<string>;
  /** Operator-approved private CIDRs (`privateRanges`), or undefined when none. */
  readonly privateRanges: BlockList | undefined;
  /** `http:` allowed, and only to loopback (`allowHttpLoopback: true`). */
  readonly allowHttpLoopback: boolean;
}

/** A `requests` rule for trusted `request()` calls. */
export interface RequestRule {
  readonly methods: ReadonlySet<string>;
  /** Path segments relative to the base path; `*` one segment, final `**` any rest. */
  readonly segments: readonly string[];
  /** The rule as written, for the audit (`pathTemplate`). */
  readonly path: string;
}

/** A service after compilation. */
export interface CompiledService {
  readonly id: string;
  readonly rationale: string;
  readonly owner: string | undefined;
  readonly destination: Destination;
  readonly credential: CredentialSpec | undefined;
  readonly limits: Limits;
  readonly requests: readonly RequestRule[];
}

/** A named operation after compilation. */
export interface CompiledOperation {
  /** `service.operation`. */
  readonly id: string;
  readonly service: CompiledService;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The path template as written, e.g. `/forecast/{city}` (relative to the base path). */
  readonly pathTemplate: string;
  /** The template split into literal text and parameter names, alternating: [lit, name, lit, ...]. */
  readonly pathParts: readonly string[];
  /** Params sent in the query string, in policy order. */
  readonly query: readonly string[];
  /** Param sent as the JSON request body, if any. */
  readonly body: string | undefined;
  /** Header name -> param name, for params sent as request headers. */
  readonly headers: ReadonlyMap<string, string>;
  /** Compiled JSON Schema of the params object. */
  readonly validateParams: ValidateFunction;
  /** Compiled JSON Schema of the response body, when the policy gives one. */
  readonly validateResponse: ValidateFunction | undefined;
  /** `json` (default: content type checked, parsed safely) or `text`. */
  readonly responseType: 'json' | 'text';
  /** Roles other than `main` that may call it. */
  readonly callers: ReadonlySet<string>;
  /** Whether a retry may repeat it (GET, HEAD, OPTIONS, PUT, DELETE unless the policy says no). */
  readonly idempotent: boolean;
  /** What happens while offline: fail at once, or queue durably. */
  readonly offline: 'fail' | 'queue';
  readonly limits: Limits;
}

/** Limits of one caller role other than `main` (unset values take the gateway's defaults). */
export interface RoleLimits {
  /** Calls a minute, token bucket with a burst of max(1, rate / 6). @default 600 */
  readonly ratePerMinute: number | undefined;
  /** Calls in flight at once; more fail at once. @default 32 */
  readonly inFlight: number | undefined;
}

/** The whole compiled policy. Lookups use `Map` so ids like `__proto__` are just misses. */
export interface CompiledPolicy {
  readonly version: 1;
  /** Per-role limits the policy sets (`roles:`); other roles get the defaults. */
  readonly roles: ReadonlyMap<string, RoleLimits>;
  readonly services: ReadonlyMap<string, CompiledService>;
  readonly operations: ReadonlyMap<string, CompiledOperation>;
  readonly credentials: ReadonlyMap<string, CredentialSpec>;
}
