/**
 * Test-time PKI: a CA and leaf certificates for loopback HTTPS servers, generated with
 * `selfsigned` (EC P-256, SHA-256). CAs and leaves are cached per process, so tests pay once.
 */
import { generate } from 'selfsigned';

/** A leaf certificate and its private key, in PEM. */
export interface TestCertificate {
  key: string;
  cert: string;
}

/** Options of {@link TestPki.issue}. */
export interface IssueOptions {
  /** Valid from two days ago until yesterday. @default false */
  expired?: boolean;
  /** Signed by a second CA that is not in `caPem`. @default false */
  untrusted?: boolean;
}

/** The test CA and a way to issue leaves under it. */
export interface TestPki {
  /** The trusted test CA, to pass as `ca` to clients. */
  caPem: string;
  /** The other CA, which clients do not trust (for `issue(..., { untrusted: true })`). */
  untrustedCaPem: string;
  /**
   * A server certificate whose SANs are `names`: IP literals become IP SANs, anything else DNS.
   * @example const { key, cert } = await pki.issue(['localhost', '127.0.0.1', '::1']);
   */
  issue(names: readonly string[], options?: IssueOptions): Promise<TestCertificate>;
}

/** The SANs most tests need: both loopback literals, `localhost`, and `api.test`. */
export const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1', 'api.test'];

const DAY_MS = 86_400_000;
const IP = /^[\d.]+$|:/;

let pki: Promise<TestPki> | undefined;

/** The process-wide test PKI (created on first use). */
export function makeTestPki(): Promise<TestPki> {
  pki ??= createPki();
  return pki;
}

async function createPki(): Promise<TestPki> {
  const [trusted, untrusted] = await Promise.all([makeCa('Gatehouse Test CA'), makeCa('Untrusted Test CA')]);
  const leaves = new Map<string, Promise<TestCertificate>>();
  return {
    caPem: trusted.cert,
    untrustedCaPem: untrusted.cert,
    issue(names, options = {}) {
      const id = JSON.stringify([names, options.expired === true, options.untrusted === true]);
      let leaf = leaves.get(id);
      if (leaf === undefined) {
        leaf = makeLeaf(names, options.untrusted === true ? untrusted : trusted, options.expired === true);
        leaves.set(id, leaf);
      }
      return leaf;
    },
  };
}

async function makeCa(commonName: string): Promise<TestCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY_MS * 7),
    notAfterDate: new Date(now + DAY_MS * 365),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

async function makeLeaf(names: readonly string[], ca: TestCertificate, expired: boolean): Promise<TestCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - (expired ? DAY_MS * 2 : DAY_MS)),
    notAfterDate: new Date(now + (expired ? -DAY_MS : DAY_MS * 30)),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((name) => (IP.test(name) ? { type: 7 as const, ip: name } : { type: 2 as const, value: name })),
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
