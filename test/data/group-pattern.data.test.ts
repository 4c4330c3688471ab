import { describe, expect, it } from 'vitest';
import { assignSplits, auditSource, groupLeaks, openSource, type SplitName } from '../../src/data/index.js';

const CHEST = new URL('../../../shared/data/chest-xray-pneumonia-224/dataset', import.meta.url).pathname;
const PATTERN = '^(person\\d+|(?:NORMAL2-)?IM-\\d+)';

/** The patient of a Kermany file name, by string splitting (no regex): person<N>_…, IM-<N>-…, NORMAL2-IM-<N>-…. */
function patientOf(id: string): string {
  const name = id.slice(id.lastIndexOf('/') + 1);
  if (name.startsWith('person')) return name.split('_')[0]!;
  const parts = name.split('-');
  return parts.slice(0, name.startsWith('NORMAL2-') ? 3 : 2).join('-');
}

/** Patients found in both train and val, by the file-name reference above. */
function trainValPatients(ids: readonly string[], splits: readonly SplitName[]): number {
  const seen = new Map<string, Set<SplitName>>();
  ids.forEach((id, i) => {
    const p = patientOf(id);
    if (!seen.has(p)) seen.set(p, new Set());
    seen.get(p)!.add(splits[i]!);
  });
  return [...seen.values()].filter((s) => s.has('train') && s.has('val')).length;
}

describe('groupPattern on the Kermany chest X-ray folder (5,840 files)', () => {
  const grouped = openSource(CHEST, { groupPattern: PATTERN });
  const plain = openSource(CHEST);

  it('gives every file its patient (3,103 patients over train and test folders), none unmatched', () => {
    expect(grouped.items).toHaveLength(5840);
    for (const it of grouped.items) expect(it.group, it.id).toBe(patientOf(it.id));
    expect(grouped.groupPattern).toEqual({ pattern: PATTERN, groups: 3103, unmatched: 0 });
    expect(new Set(grouped.items.map((i) => patientOf(i.id))).size).toBe(3103);
    expect(plain.items.every((i) => i.group === undefined)).toBe(true);
    expect(grouped.items.map((i) => [i.id, i.label, i.split])).toEqual(plain.items.map((i) => [i.id, i.label, i.split]));
  });

  it('merge-train-val (val 0.15) keeps each patient in one split with the pattern; without it patients leak', () => {
    const opts = { mode: 'merge-train-val' as const, valFraction: 0.15, seed: 0 };
    const withGroups = assignSplits(grouped.items, opts);
    const trainVal = (splits: SplitName[]) => splits.map((s) => (s === 'test' ? undefined : s));
    expect(groupLeaks(grouped.items, trainVal(withGroups))).toEqual([]);
    // The official folders share 170 ids (train/ vs test/ by `ls | sed | comm -12`); the numbering may restart per
    // folder, and merge-train-val keeps the test folder as it is, so only train vs val is asked of the split.
    expect(groupLeaks(grouped.items, withGroups)).toHaveLength(170);
    expect(trainValPatients(grouped.items.map((i) => i.id), withGroups)).toBe(0);
    const val = withGroups.filter((s) => s === 'val').length;
    expect(val / withGroups.filter((s) => s !== 'test').length).toBeCloseTo(0.15, 2);
    expect(withGroups.filter((s) => s === 'test')).toHaveLength(624); // the official test folder stays test

    const withoutGroups = assignSplits(plain.items, opts);
    const leaked = trainValPatients(plain.items.map((i) => i.id), withoutGroups);
    expect(leaked).toBeGreaterThan(100); // 402 patients at seed 0
    // the same split seen through the pattern's groups: the same patients
    expect(groupLeaks(grouped.items, trainVal(withoutGroups))).toHaveLength(leaked);
  });

  it('the audit counts groups and items without one', async () => {
    const sub = { ...grouped, items: grouped.items.filter((_, i) => i % 97 === 0) };
    const r = await auditSource(sub);
    expect(r.groups?.pattern).toBe(PATTERN);
    expect(r.groups?.without_group).toBe(0);
    expect(r.groups?.count).toBe(new Set(sub.items.map((i) => patientOf(i.id))).size);
  }, 60_000);
});
