/**
 * Safe parsing of policy text (YAML, or JSON through the same parser so positions work), and
 * mapping of issue paths back to line and column.
 * @see FIELD-NOTES.md "Parsing untrusted data"
 */
import { LineCounter, isAlias, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import type { IssuePath, PolicyIssue } from './policy-error.ts';

/** Aliases a policy may expand; far below what a "billion laughs" document needs. @default 100 */
export const MAX_ALIAS_COUNT = 100;

/** A 1-based position in the text. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

/** Parsed text, or every syntax problem in it. @internal */
export type ParsedText =
  | { ok: true; value: unknown; locate: (path: IssuePath) => TextPosition | undefined }
  | { ok: false; issues: PolicyIssue[] };

/**
 * Parses YAML or JSON text. Duplicate keys, unknown tags (`!!js/function`), several documents
 * and alias bombs are errors. Merge keys (`<<`) are not special. Throws nothing.
 * @internal
 */
export function parsePolicyText(text: string): ParsedText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, merge: false, lineCounter, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      issues: problems.map((problem) => {
        const pos = problem.linePos?.[0];
        const message =
          problem.code === 'MULTIPLE_DOCS'
            ? 'a policy file holds exactly one document'
            : (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return pos === undefined ? { path: '', message } : { path: '', line: pos.line, column: pos.col, message };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [{ path: '', message: `cannot read the document: ${message}` }] };
  }
  return { ok: true, value, locate: (path) => locate(doc, lineCounter, path) };
}

/**
 * Position of the deepest node on `path` that exists: for a map entry its key (so a missing key
 * points at its parent's key), for a list item the item.
 */
function locate(doc: Document, lineCounter: LineCounter, path: IssuePath): TextPosition | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = isNode(node) ? node : undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) break;
      if (isNode(pair.key)) found = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isNode(item)) break;
      found = item;
      node = item;
    } else break;
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
