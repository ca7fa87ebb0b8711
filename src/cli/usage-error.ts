/** A mistake in how a command was called, or in a file it was given: reported in one line, exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
