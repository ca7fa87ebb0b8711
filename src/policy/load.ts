/**
 * Loads a policy from a file (YAML or JSON) or an already-parsed object, with the file's line
 * and column in every error.
 * @see DESIGN.md §3
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { CompiledPolicy } from './compiled.ts';
import type { PolicyIssue, RawPolicyIssue } from './policy-error.ts';
import { PolicyError, formatIssuePath } from './policy-error.ts';
import { compilePolicy, tryCompilePolicy } from './compile.ts';
import { parsePolicyText } from './parse-text.ts';
import type { TextPosition } from './parse-text.ts';

/** Largest policy file read, in bytes. @default 1048576 */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;

/** Options of {@link loadPolicy}. */
export interface LoadPolicyOptions {
  /** Directory a relative policy path is resolved against. @default process.cwd() */
  readonly baseDir?: string;
}

/**
 * Loads and compiles a policy.
 * @param source a path to a `.yaml`, `.yml` or `.json` file, or an already-parsed policy object
 * @throws {PolicyError} listing every problem, each with its path and (for files) line:column
 * @example const policy = await loadPolicy('gatehouse.policy.yaml');
 * @see DESIGN.md §3
 */
export async function loadPolicy(source: string | object, options: LoadPolicyOptions = {}): Promise<CompiledPolicy> {
  if (typeof source !== 'string') return compilePolicy(source);
  const result = await compilePolicyFile(source, options);
  if (!result.ok) throw new PolicyError(result.issues, source);
  return result.policy;
}

/**
 * Checks a policy file without throwing.
 * @returns every problem found, each with its path and line:column; empty when the file is valid
 */
export async function checkPolicyFile(file: string, options: LoadPolicyOptions = {}): Promise<PolicyIssue[]> {
  const result = await compilePolicyFile(file, options);
  return result.ok ? [] : result.issues;
}

type FileResult = { ok: true; policy: CompiledPolicy } | { ok: false; issues: PolicyIssue[] };

async function compilePolicyFile(file: string, options: LoadPolicyOptions): Promise<FileResult> {
  const extension = extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(extension)) {
    return { ok: false, issues: [{ path: '', message: 'a policy file must end in .yaml, .yml or .json' }] };
  }
  const text = await readPolicyText(resolve(options.baseDir ?? process.cwd(), file));
  if (typeof text !== 'string') return { ok: false, issues: [text] };
  const parsed = parsePolicyText(text);
  if (!parsed.ok) return parsed;
  const compiled = tryCompilePolicy(parsed.value);
  if (compiled.ok) return compiled;
  return { ok: false, issues: withPositions(compiled.issues, parsed.locate) };
}

function withPositions(issues: readonly RawPolicyIssue[], locate: (path: RawPolicyIssue['path']) => TextPosition | undefined): PolicyIssue[] {
  return issues.map((issue) => {
    const position = locate(issue.path);
    const path = formatIssuePath(issue.path);
    return position === undefined ? { path, message: issue.message } : { path, ...position, message: issue.message };
  });
}

/** Reads at most {@link MAX_POLICY_FILE_BYTES} of a regular file as strict UTF-8, or says why not. */
async function readPolicyText(path: string): Promise<string | PolicyIssue> {
  let handle;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer, for ever.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { path: '', message: code === 'ENOENT' ? 'file not found' : `cannot open the file (${code ?? 'error'})` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { path: '', message: 'is not a regular file' };
    if (stat.size > MAX_POLICY_FILE_BYTES) return tooLarge();
    // Read one byte past the cap in case the file grew since stat.
    const buffer = Buffer.alloc(MAX_POLICY_FILE_BYTES + 1);
    let bytesRead = 0;
    while (bytesRead < buffer.length) {
      const { bytesRead: n } = await handle.read(buffer, bytesRead, buffer.length - bytesRead, bytesRead);
      if (n === 0) break;
      bytesRead += n;
    }
    if (bytesRead > MAX_POLICY_FILE_BYTES) return tooLarge();
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, bytesRead));
    } catch {
      return { path: '', message: 'is not valid UTF-8' };
    }
  } catch (error) {
    return { path: '', message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  } finally {
    await handle.close();
  }
}

function tooLarge(): PolicyIssue {
  return { path: '', message: `is larger than ${MAX_POLICY_FILE_BYTES} bytes` };
}
