/**
 * `gatehouse serve` runs the sidecar; `gatehouse sidecar token` registers a client.
 * @see DESIGN.md §2 "Hosts", §4.8
 */
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import { isLoopbackAddress } from '../net/address.ts';
import { UsageError } from './usage-error.ts';
import { writeFileAtomic } from '../auth/atomic-file.ts';
import { createGateway } from '../gateway/create-gateway.ts';
import { issueClientToken, parseClients, type SidecarClient } from '../hosts/sidecar/client-tokens.ts';
import { startSidecar } from '../hosts/sidecar/server.ts';

async function readClients(file: string): Promise<SidecarClient[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UsageError(`cannot read the tokens file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`the tokens file ${file} is not JSON`);
  }
  try {
    return parseClients(value);
  } catch (error) {
    throw new UsageError(`the tokens file ${file} is not usable: ${(error as Error).message}`);
  }
}

/** `--port`: a whole number from 0 (any free port) to 65535. */
function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535');
  return port;
}

/** `--host`: a loopback address, since any other would hand the gateway to the network. */
function parseLoopbackHost(value: string): string {
  if (!isLoopbackAddress(value)) throw new InvalidArgumentError('must be a loopback address such as 127.0.0.1 or ::1');
  return value;
}

/** Adds `serve` and `sidecar token` to the program. */
export function registerSidecarCommands(program: Command): void {
  program
    .command('serve')
    .description('run the sidecar: POST /v1/operations/{id} over a Unix socket or a loopback port')
    .requiredOption('--policy <file>', 'policy file')
    .option('--tokens <file>', 'client tokens file (see `gatehouse sidecar token`); required with --port')
    .option('--role <role>', 'role of token-less clients on a socket when no --tokens file is given', 'sidecar')
    .option('--socket <path>', 'Unix socket to listen on (created 0600)')
    .option('--port <port>', 'loopback port to listen on instead of a socket', parsePort)
    .option('--host <address>', 'loopback address for --port: 127.0.0.1 or ::1', parseLoopbackHost, '127.0.0.1')
    .option('--data-dir <dir>', 'audit log, queue and encrypted secrets', '.gatehouse')
    .action(async (options: { policy: string; tokens?: string; role: string; socket?: string; port?: number; host: string; dataDir: string }) => {
      const problem =
        (options.socket === undefined) === (options.port === undefined) ? 'give exactly one of --socket or --port'
        : options.port !== undefined && options.tokens === undefined ? '--port needs --tokens (any local user can reach a port)'
        : undefined;
      if (problem !== undefined) throw new UsageError(`serve: ${problem}`);
      const clients = options.tokens === undefined ? [] : await readClients(options.tokens);
      if (options.tokens !== undefined && clients.length === 0) console.error(`gatehouse serve: no clients in ${options.tokens}; every request will be refused`);
      // Without a tokens file, the socket's 0600 mode is the authentication.
      const socketRole = options.tokens === undefined ? options.role : undefined;
      const gateway = await createGateway({ policy: options.policy, dataDir: options.dataDir });
      const listen = options.socket !== undefined
        ? { socket: options.socket }
        : { host: options.host, port: options.port! };
      // The socket is created 0600 from the start (no window before the chmod): this process is
      // the sidecar alone, so its umask may be strict.
      process.umask(0o077);
      const sidecar = await startSidecar(gateway, { listen, clients, ...(socketRole === undefined ? {} : { socketRole }) });
      console.error(`gatehouse serve: listening on ${sidecar.address}`);
      await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
      await sidecar.close();
      await gateway.close();
    });

  program
    .command('sidecar')
    .description('manage sidecar clients')
    .command('token')
    .description('register a client role; prints its token once (only a SHA-256 is stored)')
    .requiredOption('--role <role>', 'caller role the token maps to (as listed in operations\' callers)')
    .requiredOption('--tokens <file>', 'client tokens file to add to (created 0600)')
    .action(async (options: { role: string; tokens: string }) => {
      const clients = await readClients(options.tokens);
      let issued;
      try {
        issued = issueClientToken(options.role);
      } catch (error) {
        throw new UsageError(`sidecar token: ${(error as Error).message}`);
      }
      const { token, client } = issued;
      await writeFileAtomic(options.tokens, JSON.stringify({ clients: [...clients, client] }, null, 2) + '\n');
      console.log(token);
    });
}
