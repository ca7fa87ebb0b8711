/**
 * Options of `createGateway`, documented and resolved in one place.
 * @see DESIGN.md §2
 */
import { join } from 'node:path';
import type { SecretStore } from '../auth/secret-store.ts';
import { defaultSecretStore } from '../auth/default-store.ts';
import type { LookupFunction } from '../net/dispatcher.ts';
import { resolveProxyConfig, type ProxyConfig, type ProxyOption } from '../net/proxy-config.ts';
import type { AuditEvent, AuditSink } from '../observe/audit-event.ts';
import { fileAuditSink, functionAuditSink } from '../observe/file-sink.ts';

/** Network settings of a gateway. */
export interface NetworkOptions {
  /** A `dns.lookup`-compatible resolver (tests, DNS-over-HTTPS). @default node:dns lookup */
  lookup?: LookupFunction;
  /** Extra trusted root certificates in PEM (enterprise TLS inspection), added to Node's. @default [] */
  ca?: string[];
  /**
   * Forward proxy for https destinations: from `HTTPS_PROXY`/`NO_PROXY`, none, or a fixed
   * `http://[user:pass@]host:port`. Gatehouse still resolves and checks every name itself.
   * @default 'env'
   */
  proxy?: ProxyOption;
}

/** Where audit events go. */
export type AuditOptions = { file: string } | { sink: (event: AuditEvent) => void } | false;

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** Path of a YAML/JSON policy file, or an already-parsed policy object. */
  policy: string | object;
  /** Folder for the audit log, the offline queue and the encrypted secret file. @default '.gatehouse' */
  dataDir?: string;
  /**
   * Where credential payloads live. @default the OS keychain where usable, else an encrypted file
   * `secrets.enc` in `dataDir` keyed by `GATEHOUSE_SECRET_PASSPHRASE`, else none (credentialed calls
   * fail with `auth_required`); never plaintext. See docs/credentials.md.
   */
  secrets?: SecretStore;
  /** @default { file: `${dataDir}/audit.jsonl` } */
  audit?: AuditOptions;
  network?: NetworkOptions;
}

/** Options with every default filled in. @internal */
export interface ResolvedGatewayOptions {
  readonly dataDir: string;
  readonly secrets: SecretStore;
  readonly auditSink: AuditSink | undefined;
  readonly lookup: LookupFunction | undefined;
  readonly ca: readonly string[];
  readonly proxy: ProxyConfig | undefined;
}

/** Fills defaults (with `??`: 0 and false are values) and opens the audit sink. @internal */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  const dataDir = options.dataDir ?? '.gatehouse';
  const audit = options.audit ?? { file: join(dataDir, 'audit.jsonl') };
  const auditSink = audit === false ? undefined : 'sink' in audit ? functionAuditSink(audit.sink) : fileAuditSink(audit.file);
  return Object.freeze({
    dataDir,
    secrets: options.secrets ?? defaultSecretStore({ dataDir }),
    auditSink,
    lookup: options.network?.lookup,
    ca: Object.freeze([...(options.network?.ca ?? [])]),
    proxy: resolveProxyConfig(options.network?.proxy ?? 'env'),
  });
}
