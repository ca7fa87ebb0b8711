/**
 * `gatehouse policy ...` commands: `check FILE` and `schema`.
 * @see DESIGN.md §3
 */
import type { Command } from 'commander';
import type { CompiledPolicy } from '../policy/compiled.ts';
import { loadPolicy } from '../policy/load.ts';
import { unusedCredentials } from '../policy/compile.ts';
import { formatPolicyIssue, isPolicyError } from '../policy/policy-error.ts';
import { policyJsonSchema } from '../policy/schema.ts';

/** Where a command writes; each call is one line. */
export interface CommandOutput {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Writes to the terminal: `out` to stdout, `err` to stderr. */
export const CONSOLE_OUTPUT: CommandOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** Loads a policy, or writes its problems as FILE:line:col lines and resolves undefined. */
export async function loadPolicyOrReport(file: string, output: CommandOutput): Promise<CompiledPolicy | undefined> {
  try {
    return await loadPolicy(file);
  } catch (error) {
    if (!isPolicyError(error)) throw error;
    for (const issue of error.issues) output.err(formatPolicyIssue(issue, file));
    return undefined;
  }
}

/** Adds the `policy` command group to the program. */
export function registerPolicyCommands(program: Command, output: CommandOutput = CONSOLE_OUTPUT): void {
  const policy = program.command('policy').description('check and describe policy files');
  policy
    .command('check')
    .description('validate a policy file; prints every problem as FILE:line:col path: message')
    .argument('<file>', 'policy file (.yaml, .yml or .json)')
    .action(async (file: string) => {
      process.exitCode = await checkPolicyCommand(file, output);
    });
  policy
    .command('schema')
    .description('print the JSON Schema (draft 2020-12) of the policy file')
    .action(() => {
      output.out(JSON.stringify(policyJsonSchema(), null, 2));
    });
}

/**
 * Runs `policy check FILE`.
 * @returns the exit code: 0 valid, 1 invalid (each issue written to `err`)
 */
async function checkPolicyCommand(file: string, output: CommandOutput): Promise<number> {
  const policy = await loadPolicyOrReport(file, output);
  if (policy === undefined) return 1;
  output.out(`${file}: ok — ${count(policy.services.size, 'service')}, ${count(policy.operations.size, 'operation')}`);
  for (const name of unusedCredentials(policy)) {
    output.err(`${file}: note: credentials.${name} is not used by any service`);
  }
  return 0;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
