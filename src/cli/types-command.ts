/**
 * `gatehouse types POLICY [-o FILE]`: writes the TypeScript operations map of a policy, for
 * `createClient<Operations>()` in UI code.
 * @see DESIGN.md §2 "Hosts", FR-02, TR-01
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { generateOperationsModule } from '../client/generate-operations.ts';
import { CONSOLE_OUTPUT, loadPolicyOrReport, type CommandOutput } from './policy-commands.ts';


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
  const policy = await loadPolicyOrReport(policyFile, output);
  if (policy === undefined) return 1;
  const source = generateOperationsModule(policy, basename(policyFile));
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
