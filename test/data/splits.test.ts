import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/index.js';
import { assignSplits, groupLeaks, kFold, stratifiedSplit, type SplitItem } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

/** 1,000 items, 3 classes 600/300/100; groups of 1–4 items of one class (like lesions). */
function makeItems(): SplitItem[] {
  const rng = new Rng(7);
  const items: SplitItem[] = [];
  let g = 0;
  for (const [label, n] of [[0, 600], [1, 300], [2, 100]] as const) {
    let left = n;
    while (left > 0) {
      const size = Math.min(left, 1 + rng.int(0, 4));
      for (let k = 0; k < size; k++) items.push({ labelIndex: label, group: `g${g}` });
      left -= size;
      g++;
    }
  }
  return items;
}

const count = (items: readonly SplitItem[], split: Map<number, string> | string[], s: string, label?: number) =>
  items.filter((it, i) => (split instanceof Map ? split.get(i) : split[i]) === s && (label === undefined || it.labelIndex === label)).length;

describe('splits', () => {
  const items = makeItems();

  it('stratified split without groups hits each class fraction to within one item', () => {
    const s = stratifiedSplit(items, [0.7, 0.15, 0.15], new Rng(1), { byGroup: false });
    for (const [label, n] of [[0, 600], [1, 300], [2, 100]] as const) {
      expect(Math.abs(count(items, s, 'train', label) - 0.7 * n)).toBeLessThanOrEqual(1);
      expect(Math.abs(count(items, s, 'val', label) - 0.15 * n)).toBeLessThanOrEqual(1);
    }
  });

  it('group-aware split puts no group in two splits and stays near the fractions', () => {
    const s = assignSplits(items, { mode: 'stratified', fractions: [0.6, 0.2, 0.2], seed: 3 });
    expect(groupLeaks(items, s)).toEqual([]);
    for (const [label, n] of [[0, 600], [1, 300], [2, 100]] as const) {
      expect(Math.abs(count(items, s, 'test', label) - 0.2 * n)).toBeLessThanOrEqual(4); // within one group
    }
    // ignoring groups does leak on this data: the check is meaningful
    const loose = assignSplits(items, { mode: 'stratified', fractions: [0.6, 0.2, 0.2], seed: 3, byGroup: false });
    expect(groupLeaks(items, loose).length).toBeGreaterThan(0);
  });

  it('is deterministic by seed and differs across seeds', () => {
    const a = assignSplits(items, { mode: 'stratified', seed: 11 });
    expect(assignSplits(items, { mode: 'stratified', seed: 11 })).toEqual(a);
    expect(assignSplits(items, { mode: 'stratified', seed: 12 })).not.toEqual(a);
  });

  it('keep uses the source split; merge-train-val re-splits train+val 80/20 stratified and keeps test', () => {
    const withSplits: SplitItem[] = items.map((it, i) => ({ ...it, split: i % 10 === 0 ? 'test' : i % 10 === 1 ? 'val' : 'train' }));
    expect(assignSplits(withSplits)).toEqual(withSplits.map((it) => it.split));
    const m = assignSplits(withSplits, { mode: 'merge-train-val', valFraction: 0.2, seed: 5 });
    withSplits.forEach((it, i) => expect(m[i] === 'test').toBe(it.split === 'test'));
    const pooled = withSplits.filter((it) => it.split !== 'test').length;
    expect(Math.abs(count(withSplits, m, 'val') - 0.2 * pooled)).toBeLessThanOrEqual(8);
    expect(groupLeaks(withSplits.map((it, i) => (m[i] === 'test' ? { ...it, group: undefined } : it)), m)).toEqual([]);
  });

  it('k-fold keeps groups whole and balances classes across folds', () => {
    const f = kFold(items, 5, new Rng(2));
    expect(f.size).toBe(items.length);
    const foldOfGroup = new Map<string, number>();
    items.forEach((it, i) => {
      const prev = foldOfGroup.get(it.group!);
      if (prev !== undefined) expect(f.get(i)).toBe(prev);
      foldOfGroup.set(it.group!, f.get(i)!);
    });
    for (const [label, n] of [[0, 600], [1, 300], [2, 100]] as const) {
      for (let k = 0; k < 5; k++) {
        const c = items.filter((it, i) => it.labelIndex === label && f.get(i) === k).length;
        expect(Math.abs(c - n / 5)).toBeLessThanOrEqual(4);
      }
    }
  });

  it('rejects impossible requests with MC_DATA_BAD_SPLIT', () => {
    const code = (fn: () => unknown) => { try { fn(); return 'ok'; } catch (e) { return isMedclassError(e) ? e.code : String(e); } };
    expect(code(() => stratifiedSplit(items, [0.5, 0.2, 0.2], new Rng(0)))).toBe('MC_DATA_BAD_SPLIT');
    expect(code(() => kFold(items.slice(0, 3), 5, new Rng(0), { byGroup: false }))).toBe('MC_DATA_BAD_SPLIT');
    expect(code(() => assignSplits(items, { mode: 'merge-train-val' }))).toBe('MC_DATA_BAD_SPLIT');
  });
});
