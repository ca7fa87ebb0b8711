#!/usr/bin/env node
/**
 * The `gatehouse` command. Each command group registers itself; user errors are printed as one
 * line each, never as a stack trace.
 */
import { Command } from 'commander';
import { UsageError } from './usage-error.ts';
import { registerPolicyCommands } from './policy-commands.ts';
import { registerSecretsCommands } from './secrets-commands.ts';
import { registerSidecarCommands } from './sidecar-commands.ts';
import { registerTypesCommand } from './types-command.ts';

const program = new Command()
  .name('gatehouse')
  .description('Governed, audited outbound HTTPS API calls')
  .showHelpAfterError();
registerPolicyCommands(program);
registerSecretsCommands(program);
registerSidecarCommands(program);
registerTypesCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`gatehouse: ${error.message}`);
    process.exitCode = 1;
  } else {
    // A bug, not a user error: say what happened without a stack (it may hold paths or values).
    console.error(`gatehouse: internal error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
