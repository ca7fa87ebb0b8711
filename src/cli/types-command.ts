/**
 * `gatehouse types POLICY [-o FILE]`: writes the TypeScript operations map of a policy, for
 * `createClient<Operations>()` in UI code.
 * @see DESIGN.md §2 "Hosts", FR-02, TR-01
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { generateOperationsModule } from '../client/generate-operations.ts';
import { loadPolicy } from '../policy/load.ts';
import { formatPolicyIssue, isPolicyError } from '../policy/policy-error.ts';
import type { CommandOutput } from './policy-commands.ts';

const CONSOLE_OUTPUT: CommandOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** Adds the `types` command to the program. */
export function registerTypesCommand(program: Command, output: CommandOutput = CONSOLE_OUTPUT): void {
  program
    .command('types')
    .description('generate the TypeScript operations map (operation id -> { params, result }) of a policy')
    .argument('<policy>', 'policy file (.yaml, .yml or .json)')
    .option('-o, --out <file>', 'write to FILE instead of standard output')
    .action(async (policy: string, options: { out?: string }) => {
      process.exitCode = await typesCommand(policy, options.out, output);
    });
}

/**
 * Runs `types POLICY [-o FILE]`.
 * @returns the exit code: 0 written, 1 invalid policy or unwritable file (reasons written to `err`)
 */
export async function typesCommand(policyFile: string, outFile: string | undefined, output: CommandOutput): Promise<number> {
  let source: string;
  try {
    source = generateOperationsModule(await loadPolicy(policyFile), basename(policyFile));
  } catch (error) {
    if (!isPolicyError(error)) throw error;
    for (const issue of error.issues) output.err(formatPolicyIssue(issue, policyFile));
    return 1;
  }
  if (outFile === undefined) {
    output.out(source.trimEnd());
    return 0;
  }
  try {
    await writeFile(outFile, source);
  } catch (error) {
    output.err(`${outFile}: cannot write the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return 1;
  }
  output.err(`${outFile}: written`);
  return 0;
}
