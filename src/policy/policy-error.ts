/**
 * The one error a policy file can cause: every problem found, each with its path in the policy
 * and, for files, its line and column.
 * @see DESIGN.md §3
 */

/** A path into the policy document, e.g. `['services', 'weather', 'baseUrl']`. */
export type IssuePath = readonly (string | number)[];

/** A problem found while validating or compiling, before positions are known. @internal */
export interface RawPolicyIssue {
  readonly path: IssuePath;
  readonly message: string;
}

/** Collects a problem found while compiling. @internal */
export type ReportIssue = (path: IssuePath, message: string) => void;

/** One problem in a policy, ready to show. */
export interface PolicyIssue {
  /** Dotted path, e.g. `services.weather.baseUrl`, `services.weather.requests[0].path`; '' for the whole document. */
  readonly path: string;
  /** 1-based line in the file, when the policy came from a file. */
  readonly line?: number;
  /** 1-based column in the file, when the policy came from a file. */
  readonly column?: number;
  readonly message: string;
}

const BRAND = Symbol.for('gatehouse.policyError');

/**
 * Thrown by `loadPolicy()` and `compilePolicy()` when a policy is refused. The message lists
 * every issue, one per line: `gatehouse.policy.yaml:12:5 services.weather.baseUrl: must use https`.
 */
export class PolicyError extends Error {
  readonly [BRAND] = true;
  /** Every problem found, in document order where known. */
  readonly issues: readonly PolicyIssue[];
  /** The file the policy came from, if any. */
  readonly file: string | undefined;

  constructor(issues: readonly PolicyIssue[], file?: string) {
    super(['invalid policy:', ...issues.map((issue) => formatPolicyIssue(issue, file))].join('\n'));
    this.name = 'PolicyError';
    this.issues = Object.freeze([...issues]);
    this.file = file;
  }
}

/** True for a {@link PolicyError}, even one from another copy of the package. */
export function isPolicyError(value: unknown): value is PolicyError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Formats a path as `services.weather.requests[0].path`. */
export function formatIssuePath(path: IssuePath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** One issue as a line: `FILE:line:col path: message` (parts that are unknown are left out). */
export function formatPolicyIssue(issue: PolicyIssue, file?: string): string {
  let where = file ?? '';
  if (issue.line !== undefined) where += `${where === '' ? '' : ':'}${issue.line}:${issue.column ?? 1}`;
  const head = [where, issue.path].filter((part) => part !== '').join(' ');
  return head === '' ? issue.message : `${head}: ${issue.message}`;
}
