/**
 * `gatehouse secrets ...` commands: `set NAME`, `list`, `delete NAME`, `status`. They use the same
 * store a gateway with the same `--data-dir` picks by default (OS keychain, else the encrypted
 * file keyed by GATEHOUSE_SECRET_PASSPHRASE). A value is read from a prompt without echo or from
 * stdin — never from argv, where other users and shell history could see it. Nothing printed
 * ever holds a value.
 * @see FR-03, DESIGN.md §2
 */
import type { Command } from 'commander';
import { defaultSecretStore, type DefaultSecretStore } from '../auth/default-store.ts';
import { isPayload } from '../auth/payload-codec.ts';
import type { CredentialPayload } from '../auth/secret-store.ts';
import { CONSOLE_OUTPUT, type CommandOutput } from './policy-commands.ts';
import { readHidden, readStdin } from './secret-input.ts';

/** The payload fields of each credential type. */
const PAYLOAD_FIELDS: Readonly<Record<string, readonly string[]>> = {
  bearer: ['token'],
  apiKey: ['key'],
  basic: ['username', 'password'],
  oauth2ClientCredentials: ['clientId', 'clientSecret'],
  oauth2AuthorizationCode: ['refreshToken'],
};


interface StoreFlags {
  dataDir: string;
}

/** Adds the `secrets` command group to the program. */
export function registerSecretsCommands(program: Command, output: CommandOutput = CONSOLE_OUTPUT): void {
  const secrets = program
    .command('secrets')
    .description('manage credential payloads in the secret store (OS keychain, else encrypted file)')
    .option('--data-dir <dir>', 'the gateway data folder (selects the keychain service and the fallback file)', '.gatehouse');
  const storeOf = (): DefaultSecretStore => defaultSecretStore({ dataDir: (secrets.opts() as StoreFlags).dataDir });

  secrets
    .command('set')
    .description('store a payload: prompted without echo on a terminal, else read from stdin (never from arguments)')
    .argument('<name>', 'credential name, as in the policy')
    .option('--type <type>', `credential type, to prompt for / accept its fields: ${Object.keys(PAYLOAD_FIELDS).join(', ')}`)
    // Extra arguments and unknown options reach the action instead of commander's error, which
    // would quote them: someone who typed the value there must not see it printed (logs, CI).
    .allowExcessArguments(true)
    .allowUnknownOption(true)
    .action(async (name: string, flags: { type?: string }, command: Command) => {
      if (command.args.length !== 1) {
        output.err('gatehouse: secrets set takes only the credential name (and --type); give the value at the prompt or on stdin, never as an argument. Nothing was stored.');
        process.exitCode = 1;
        return;
      }
      process.exitCode = await setSecretCommand(storeOf(), name, flags.type, output);
    });
  secrets
    .command('list')
    .description('print the names held (never values)')
    .action(async () => {
      process.exitCode = await guard(output, async () => {
        for (const name of (await storeOf().list()).sort()) output.out(name);
      });
    });
  secrets
    .command('delete')
    .description('remove a payload')
    .argument('<name>', 'credential name')
    .action(async (name: string) => {
      process.exitCode = await guard(output, async () => {
        await storeOf().delete(name);
        output.out(`deleted ${name}`);
      });
    });
  secrets
    .command('status')
    .description('say which store is used and whether it is usable')
    .action(async () => {
      const choice = await storeOf().choice();
      output.out(`store: ${choice.store}${choice.location === '' ? '' : ` (${choice.location})`}`);
      output.out(`usable: ${choice.store === 'none' ? 'no' : 'yes'}`);
      output.out(`detail: ${choice.detail}`);
      process.exitCode = choice.store === 'none' ? 1 : 0;
    });
}

/**
 * Runs `secrets set NAME [--type TYPE]`.
 * With a type, a terminal prompts each field; stdin gives the raw value for one-field types
 * (bearer, apiKey; one trailing newline removed) or a JSON object. Without a type, a JSON object.
 * @returns the exit code: 0 stored, 1 refused.
 */
async function setSecretCommand(store: DefaultSecretStore, name: string, type: string | undefined, output: CommandOutput, input: NodeJS.ReadStream = process.stdin): Promise<number> {
  const fields = type === undefined ? undefined : PAYLOAD_FIELDS[type];
  if (type !== undefined && fields === undefined) {
    // The type is not repeated: a value typed in its place must not be printed.
    output.err(`gatehouse: unknown credential type (one of ${Object.keys(PAYLOAD_FIELDS).join(', ')})`);
    return 1;
  }
  return guard(output, async () => {
    const payload = input.isTTY ? await promptPayload(fields, input) : parsePayload(await readStdin(input), fields);
    await store.set(name, payload);
    const choice = await store.choice();
    output.out(`stored ${name} in ${choice.store}${choice.location === '' ? '' : ` (${choice.location})`}`);
  });
}

async function promptPayload(fields: readonly string[] | undefined, input: NodeJS.ReadStream): Promise<CredentialPayload> {
  if (fields === undefined) return parsePayload(await readHidden('payload (JSON object): ', input), undefined);
  const payload: Record<string, string> = {};
  for (const field of fields) payload[field] = await readHidden(`${field}: `, input);
  return checkFields(payload, fields);
}

function parsePayload(text: string, fields: readonly string[] | undefined): CredentialPayload {
  const raw = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (fields?.length === 1 && !raw.trimStart().startsWith('{')) return checkFields({ [fields[0]!]: raw }, fields);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // The parser's message may quote the input: say only what was expected.
    throw new InputError('the value is not a JSON object (give --type for a raw token or key)');
  }
  if (!isPayload(parsed)) throw new InputError('the payload must be a JSON object whose values are strings');
  return fields === undefined ? parsed : checkFields(parsed as Record<string, string>, fields);
}

function checkFields(payload: Record<string, string>, fields: readonly string[]): CredentialPayload {
  for (const field of fields) {
    if (typeof payload[field] !== 'string' || payload[field] === '') throw new InputError(`missing field '${field}'`);
  }
  const extra = Object.keys(payload).filter((key) => !fields.includes(key));
  if (extra.length > 0) throw new InputError(`unexpected field(s): ${extra.join(', ')}`);
  return payload as CredentialPayload;
}

class InputError extends Error {}

/** Runs a command; prints a failure as one line (store errors never hold values). */
async function guard(output: CommandOutput, run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return 0;
  } catch (error) {
    output.err(`gatehouse: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
