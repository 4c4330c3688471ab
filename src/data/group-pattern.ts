import { MedclassError } from '../errors.js';
import type { DatasetItem, DatasetSource } from './types.js';

/** Whether `pattern` compiles as a JavaScript regular expression (no flags). */
export function isValidGroupPattern(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** The last part of an item id (its file name for file-backed items). */
const fileNameOf = (id: string) => id.slice(id.lastIndexOf('/') + 1);

/**
 * A copy of `source` whose items take their group (patient, lesion) from their file name: `pattern` is matched
 * against the last part of each id, and the first capture group — or, without one, the whole match — becomes the
 * item's `group`, replacing any group the source gave it. Items whose name does not match get no group; their count
 * is `source.groupPattern.unmatched` (never an error). An invalid pattern is `MC_DATA_BAD_SOURCE`.
 * @example
 * // Kermany chest X-rays: person1_bacteria_1.jpeg → person1, NORMAL2-IM-1427-0001.jpeg → NORMAL2-IM-1427
 * withGroupPattern(openSource('chest/'), '^(person\\d+|(?:NORMAL2-)?IM-\\d+)').groupPattern; // {pattern, groups, unmatched}
 */
export function withGroupPattern(source: DatasetSource, pattern: string): DatasetSource {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (cause) {
    throw new MedclassError('MC_DATA_BAD_SOURCE', `group pattern /${pattern}/ is not a valid regular expression`, { cause, hint: 'its first capture group (or the whole match) is the group id, e.g. ^(person\\d+)' });
  }
  let unmatched = 0;
  const groups = new Set<string>();
  const items = source.items.map((item): DatasetItem => {
    const m = re.exec(fileNameOf(item.id));
    const group = m ? (m[1] ?? m[0]) : undefined;
    if (!group) {
      unmatched++;
      const { group: _dropped, ...rest } = item;
      return rest;
    }
    groups.add(group);
    return { ...item, group };
  });
  const { groupColumn: _replaced, ...rest } = source;
  return { ...rest, items, groupPattern: { pattern, groups: groups.size, unmatched } };
}
