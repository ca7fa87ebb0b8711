/**
 * Docs and code stay in sync (STYLE.md §14): every error kind and reason, every policy key and
 * every CLI command appears in the README or docs/.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_KINDS, REASONS } from '../src/errors.ts';
import { policyJsonSchema } from '../src/policy/schema.ts';

const root = join(import.meta.dirname, '..');
const docs = [
  readFileSync(join(root, 'README.md'), 'utf8'),
  ...(existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(root, 'docs', f), 'utf8'))
    : []),
].join('\n');

function documented(name: string): boolean {
  return docs.includes(`\`${name}\``) || docs.includes(`\`${name},`) || new RegExp(`[\`,] ?${name}[\`,]`).test(docs);
}

/** Every property name anywhere in the policy's JSON Schema. */
function policyKeys(node: unknown, keys = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) policyKeys(item, keys);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && value !== null && typeof value === 'object') for (const name of Object.keys(value)) keys.add(name);
      policyKeys(value, keys);
    }
  }
  return keys;
}

function cliCommands(): string[] {
  const cli = join(root, 'src/cli/main.ts');
  const help = (args: string[]): string => execFileSync(process.execPath, [cli, ...args, '--help'], { encoding: 'utf8' });
  const commandsIn = (text: string): string[] =>
    [...text.split('Commands:')[1]?.matchAll(/^ {2}([a-z][\w-]*)/gm) ?? []].map((m) => m[1]!).filter((c) => c !== 'help');
  return commandsIn(help([])).flatMap((group) => {
    const sub = commandsIn(help([group]));
    return sub.length === 0 ? [`gatehouse ${group}`] : sub.map((command) => `gatehouse ${group} ${command}`);
  });
}

describe('documentation (STYLE §14)', () => {
  it('documents every error kind', () => {
    assert.deepEqual(ERROR_KINDS.filter((kind) => !documented(kind)), []);
  });

  it('documents every error reason', () => {
    assert.deepEqual(Object.keys(REASONS).filter((reason) => !documented(reason)), []);
  });

  it('documents every policy key', () => {
    assert.deepEqual([...policyKeys(policyJsonSchema())].filter((key) => !documented(key)), []);
  });

  it('documents every CLI command', () => {
    const commands = cliCommands();
    assert.ok(commands.length >= 2, `found commands: ${commands.join(', ')}`);
    assert.deepEqual(commands.filter((command) => !docs.includes(command)), []);
  });
});
