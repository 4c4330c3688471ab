import { MedclassError } from '../errors.js';
import { Rng } from '../engine/index.js';
import { SplitOptions } from './options.js';
import { SPLIT_ORDER } from './split-names.js';
import type { SplitName } from './types.js';

/** What the split functions need of an item. */
export interface SplitItem { readonly labelIndex: number; readonly group?: string; readonly split?: SplitName }

/** A unit that must stay together: a group (patient, lesion) or a single item; stratified by its majority label. */
interface Unit { members: number[]; label: number }

function units(items: readonly SplitItem[], subset: readonly number[], byGroup: boolean): Unit[] {
  const byKey = new Map<string, number[]>();
  const out: number[][] = [];
  for (const i of subset) {
    const g = items[i]!.group;
    if (!byGroup || g === undefined) { out.push([i]); continue; }
    let m = byKey.get(g);
    if (!m) { byKey.set(g, (m = [])); out.push(m); }
    m.push(i);
  }
  return out.map((members) => {
    const counts = new Map<number, number>();
    for (const i of members) counts.set(items[i]!.labelIndex, (counts.get(items[i]!.labelIndex) ?? 0) + 1);
    let label = -1;
    let best = -1;
    for (const [l, c] of [...counts].sort((a, b) => a[0] - b[0])) if (c > best) { best = c; label = l; }
    return { members, label };
  });
}

function byLabel(us: Unit[]): Unit[][] {
  const m = new Map<number, Unit[]>();
  for (const u of us) {
    let b = m.get(u.label);
    if (!b) m.set(u.label, (b = []));
    b.push(u);
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
}

function checkFractions(fractions: readonly number[]): number[] {
  const sum = fractions.reduce((a, b) => a + b, 0);
  if (fractions.some((f) => !(f >= 0)) || Math.abs(sum - 1) > 1e-6) {
    throw new MedclassError('MC_DATA_BAD_SPLIT', `split fractions ${fractions.join('/')} must be non-negative and sum to 1 (sum ${sum})`);
  }
  return fractions.map((f) => f / sum);
}

/**
 * Stratified split of `subset` (default: all items) into train/val/test by `fractions`. With `byGroup`, every group
 * goes whole to one split (stratified by its majority label). Per label, units are shuffled by `rng`, then a unit goes
 * to the split whose cumulative-fraction interval holds the unit's midpoint in the running item count, so each
 * class is divided in the requested proportions (up to one unit).
 */
export function stratifiedSplit(
  items: readonly SplitItem[], fractions: readonly [number, number, number], rng: Rng,
  opts: { byGroup?: boolean; subset?: readonly number[] } = {},
): Map<number, SplitName> {
  const f = checkFractions(fractions);
  const bounds = [f[0]!, f[0]! + f[1]!, 1];
  const subset = opts.subset ?? items.map((_, i) => i);
  const out = new Map<number, SplitName>();
  for (const bucket of byLabel(units(items, subset, opts.byGroup ?? true))) {
    rng.shuffle(bucket);
    const total = bucket.reduce((a, u) => a + u.members.length, 0);
    let cum = 0;
    for (const u of bucket) {
      const mid = (cum + u.members.length / 2) / total;
      cum += u.members.length;
      let s = bounds.findIndex((b) => mid < b);
      if (s < 0) s = 2;
      while (f[s] === 0 && s > 0) s--; // never land in a split asked to be empty
      while (f[s] === 0 && s < 2) s++;
      for (const i of u.members) out.set(i, SPLIT_ORDER[s]!);
    }
  }
  return out;
}

/**
 * Stratified k-fold: fold index (0..k-1) per item of `subset`. Groups stay in one fold when `byGroup`. Per label, units
 * are shuffled, ordered largest first, and each goes to the fold holding the fewest items of that label (ties: fewest
 * items overall, then lowest fold), which balances both class and fold sizes.
 */
export function kFold(items: readonly SplitItem[], k: number, rng: Rng, opts: { byGroup?: boolean; subset?: readonly number[] } = {}): Map<number, number> {
  const subset = opts.subset ?? items.map((_, i) => i);
  const us = units(items, subset, opts.byGroup ?? true);
  if (!Number.isInteger(k) || k < 2 || k > us.length) {
    throw new MedclassError('MC_DATA_BAD_SPLIT', `k-fold needs 2 ≤ k ≤ ${us.length} (the number of ${opts.byGroup ?? true ? 'groups' : 'items'}), got ${k}`);
  }
  const total = new Array<number>(k).fill(0);
  const out = new Map<number, number>();
  for (const bucket of byLabel(us)) {
    rng.shuffle(bucket);
    const order = bucket.map((u, pos) => ({ u, pos })).sort((a, b) => b.u.members.length - a.u.members.length || a.pos - b.pos);
    const inLabel = new Array<number>(k).fill(0);
    for (const { u } of order) {
      let best = 0;
      for (let j = 1; j < k; j++) {
        if (inLabel[j]! < inLabel[best]! || (inLabel[j] === inLabel[best] && total[j]! < total[best]!)) best = j;
      }
      inLabel[best]! += u.members.length;
      total[best]! += u.members.length;
      for (const i of u.members) out.set(i, best);
    }
  }
  return out;
}

/**
 * The split of every item under `options` (seeded: `Rng(seed).fork('split')`):
 * - `keep`: the source's split; items without one are split stratified by `fractions` (all of them, when none has one).
 * - `stratified`: ignore the source's splits, re-split everything by `fractions`.
 * - `merge-train-val`: pool train+val and re-split them stratified into train/val with `valFraction`; test is kept.
 * Group-aware whenever items carry groups and `byGroup` is on. A source's own split is kept as given even when it
 * leaks groups (`groupLeaks` finds them).
 */
export function assignSplits(items: readonly SplitItem[], options: SplitOptions = {}): SplitName[] {
  const o = SplitOptions.parse(options);
  const rng = new Rng(o.seed).fork('split');
  const out: (SplitName | undefined)[] = items.map((it) => (o.mode === 'stratified' ? undefined : it.split));
  let subset: number[];
  let fractions: [number, number, number] = o.fractions;
  if (o.mode === 'merge-train-val') {
    subset = items.flatMap((it, i) => (it.split === 'train' || it.split === 'val' ? [i] : []));
    if (subset.length === 0) throw new MedclassError('MC_DATA_BAD_SPLIT', 'merge-train-val needs items in train or val; the source has none', { hint: 'use mode stratified' });
    fractions = [1 - o.valFraction, o.valFraction, 0];
  } else {
    subset = out.flatMap((s, i) => (s === undefined ? [i] : []));
  }
  if (subset.length > 0) for (const [i, s] of stratifiedSplit(items, fractions, rng, { byGroup: o.byGroup, subset })) out[i] = s;
  return out as SplitName[];
}

/** Groups that appear in more than one split (empty when the split is leak-free). */
export function groupLeaks(items: readonly SplitItem[], splits: readonly (SplitName | undefined)[]): { group: string; splits: SplitName[] }[] {
  const seen = new Map<string, Set<SplitName>>();
  items.forEach((it, i) => {
    const s = splits[i];
    if (it.group === undefined || s === undefined) return;
    let set = seen.get(it.group);
    if (!set) seen.set(it.group, (set = new Set()));
    set.add(s);
  });
  return [...seen].filter(([, s]) => s.size > 1).map(([group, s]) => ({ group, splits: SPLIT_ORDER.filter((x) => s.has(x)) }));
}
