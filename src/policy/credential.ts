/**
 * Credential declarations compiled into {@link CredentialSpec}s: names and non-secret settings
 * only (secret values live in the secret store).
 * @see DESIGN.md §3, §5 "Token endpoints", "OAuth details"
 */
import type { CredentialSpec } from './compiled.ts';
import type { CredentialInput } from './schema.ts';
import type { IssuePath, ReportIssue } from './policy-error.ts';
import { compileCidrs } from './cidr.ts';
import { compileEndpointUrl } from './destination.ts';
import { isReservedHeader } from './operation.ts';

/** Compiles one credential; returns undefined when it has errors (already reported). @internal */
export function compileCredential(
  name: string,
  input: CredentialInput,
  path: IssuePath,
  report: ReportIssue,
): CredentialSpec | undefined {
  switch (input.type) {
    case 'bearer':
    case 'basic':
      return Object.freeze({ name, type: input.type });
    case 'apiKey': {
      // Sent lower-case, like every header Gatehouse builds. The key may go in Authorization;
      // headers that route, frame or trace a request, or carry cookies, belong to Gatehouse or the connection.
      const header = input.header.toLowerCase();
      if (header !== 'authorization' && isReservedHeader(header)) {
        report([...path, 'header'], `${input.header} cannot carry a key: Gatehouse or the connection sets it`);
        return undefined;
      }
      return Object.freeze({ name, type: 'apiKey', header });
    }
    case 'oauth2ClientCredentials': {
      const tokenUrl = compileEndpointUrl(input.tokenUrl, true, [...path, 'tokenUrl'], report);
      const privateRanges = compileCidrs(input.privateRanges, [...path, 'privateRanges'], report);
      if (tokenUrl === undefined) return undefined;
      return Object.freeze({
        name,
        type: 'oauth2ClientCredentials',
        tokenUrl,
        scopes: Object.freeze([...(input.scopes ?? [])]),
        privateRanges,
      });
    }
    case 'oauth2AuthorizationCode': {
      const endpoint = (key: 'issuer' | 'authorizationUrl' | 'tokenUrl') => {
        const raw = input[key];
        return raw === undefined ? undefined : compileEndpointUrl(raw, key !== 'issuer', [...path, key], report);
      };
      const issuer = endpoint('issuer');
      const authorizationUrl = endpoint('authorizationUrl');
      const tokenUrl = endpoint('tokenUrl');
      const privateRanges = compileCidrs(input.privateRanges, [...path, 'privateRanges'], report);
      const explicit = input.authorizationUrl !== undefined || input.tokenUrl !== undefined;
      if (input.issuer !== undefined && explicit) {
        report(path, 'give either issuer (discovery) or authorizationUrl and tokenUrl, not both');
        return undefined;
      }
      if (input.issuer === undefined && (input.authorizationUrl === undefined || input.tokenUrl === undefined)) {
        report(path, 'needs issuer (discovery) or both authorizationUrl and tokenUrl');
        return undefined;
      }
      if (issuer === undefined && (authorizationUrl === undefined || tokenUrl === undefined)) return undefined;
      return Object.freeze({
        name,
        type: 'oauth2AuthorizationCode',
        issuer,
        authorizationUrl,
        tokenUrl,
        clientId: input.clientId,
        scopes: Object.freeze([...(input.scopes ?? [])]),
        privateRanges,
      });
    }
  }
}
