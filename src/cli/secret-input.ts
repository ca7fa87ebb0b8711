/**
 * Reading a secret from the user: a terminal prompt that echoes nothing, or all of stdin.
 * @internal
 */

const MAX_INPUT_BYTES = 64 * 1024;

/** Reads all of a non-terminal stdin (at most 64 KiB). */
export async function readStdin(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += bytes.length;
    if (total > MAX_INPUT_BYTES) throw new Error('input too large (over 64 KiB)');
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Prompts on stderr and reads one line from a terminal in raw mode, echoing nothing. */
export function readHidden(prompt: string, input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let value = '';
    const finish = (error?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
