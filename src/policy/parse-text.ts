/**
 * Safe parsing of policy text (YAML, or JSON through the same parser so positions work), and
 * mapping of issue paths back to line and column.
 * @see FIELD-NOTES.md "Parsing untrusted data"
 */
import { LineCounter, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node, Pair, YAMLMap } from 'yaml';
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
  // Keys are checked below: yaml's own uniqueKeys compares every pair, quadratic in a map's size.
  const doc = parseDocument(text, { uniqueKeys: false, merge: false, lineCounter, prettyErrors: true });
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
  const keyIssues = checkKeys(doc, lineCounter);
  if (keyIssues.length > 0) return { ok: false, issues: keyIssues };
  const index = mapIndex();
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [{ path: '', message: `cannot read the document: ${message}` }] };
  }
  return { ok: true, value, locate: (path) => locate(doc, lineCounter, path, index) };
}

/** Every map key must be a plain scalar, once per map. */
function checkKeys(doc: Document, lineCounter: LineCounter): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const report = (node: unknown, message: string): void => {
    const offset = isNode(node) ? node.range?.[0] : undefined;
    const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
    issues.push(pos === undefined ? { path: '', message } : { path: '', line: pos.line, column: pos.col, message });
  };
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) report(pair.key, 'Map keys must be plain names');
        else if (seen.has(String(pair.key.value))) report(pair.key, 'Map keys must be unique');
        else seen.add(String(pair.key.value));
      }
    },
  });
  return issues;
}

/** A map's pairs by key, built on first use: a policy with many issues looks keys up many times. */
type MapIndex = (map: YAMLMap) => ReadonlyMap<string, Pair>;

function mapIndex(): MapIndex {
  const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();
  return (map) => {
    let index = indexes.get(map);
    if (index === undefined) {
      index = new Map();
      for (const pair of map.items) if (isScalar(pair.key)) index.set(String(pair.key.value), pair);
      indexes.set(map, index);
    }
    return index;
  };
}

/**
 * Position of the deepest node on `path` that exists: for a map entry its key (so a missing key
 * points at its parent's key), for a list item the item.
 */
function locate(doc: Document, lineCounter: LineCounter, path: IssuePath, index: MapIndex): TextPosition | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = isNode(node) ? node : undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = index(node).get(String(segment));
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
