import { mapLimit } from './concurrency.js';
import { describeFailure } from './dataset.js';
import { dHash, hamming, pixelHash } from './hash.js';
import { AuditOptions } from './options.js';
import { groupLeaks } from './splits.js';
import type { DatasetSource, OnDataEvent } from './types.js';
import type { ErrorCode } from '../errors.js';

/** A dataset member as the audit reports it: its id (relative path or `split/index`), split, label, and for npz sources the index within its split. */
export interface AuditMember { path: string; split: string; label: string; index?: number }

export interface AuditReport {
  source: { kind: string; name: string };
  classes: string[];
  total_items: number;
  readable: number;
  /** Readable images per split (`all` when the source has no split), with per-class counts. */
  splits: Record<string, { count: number; classes: Record<string, number>; imbalance_ratio: number | null }>;
  /** max/min class count over readable images (null when a class has none). */
  imbalance_ratio: number | null;
  sizes: { width: number; height: number; channels: number; count: number }[];
  unreadable: { path: string; split: string; label: string; code: ErrorCode; reason: string }[];
  duplicates: {
    /** Groups of images whose decoded pixels are identical (2+ members). */
    exact_groups: { hash: string; members: AuditMember[] }[];
    /** Images beyond the first of each exact group. */
    exact_extra_copies: number;
    /** Exact groups with members in more than one split. */
    cross_split: { kind: 'exact'; splits: string[]; members: AuditMember[] }[];
    /** Exact groups whose members carry different labels. */
    label_conflicts: { kind: 'exact'; labels: string[]; members: AuditMember[] }[];
    near: {
      method: string;
      threshold: number;
      /** Pairs of distinct-pixel images within the threshold (listing capped at `maxListed`). */
      pair_count: number;
      pairs: { distance: number; members: [AuditMember, AuditMember] }[];
      cross_split: { distance: number; members: [AuditMember, AuditMember] }[];
      label_conflicts: { distance: number; members: [AuditMember, AuditMember] }[];
    };
  };
  /** When items carry groups (a CSV group column or `groupPattern`): distinct groups, items without one, and groups
   * found in more than one of the source's own splits. */
  groups?: { count: number; without_group: number; pattern?: string; column?: { name: string; detected: boolean; from: 'csv' | 'dicom' }; cross_split: { group: string; splits: string[] }[] };
  /** With `metaKeys`: items per value of each key (missing or null counted as `''`). */
  meta?: Record<string, Record<string, number>>;
}

function metaCounts(items: DatasetSource['items'], keys: readonly string[]): Record<string, Record<string, number>> {
  return Object.fromEntries(keys.map((k) => {
    const counts: Record<string, number> = {};
    for (const it of items) {
      const v = it.meta?.[k];
      const s = v === null || v === undefined ? '' : String(v);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    return [k, counts];
  }));
}

const ratio = (counts: number[]) => {
  const min = Math.min(...counts);
  return counts.length === 0 || min === 0 ? null : Math.round((Math.max(...counts) / min) * 1000) / 1000;
};

/**
 * Audits a source: decodes every item (bounded concurrency), counts per split and class, image sizes and channels,
 * unreadable files and images the guard rejects (path, code, reason; never fatal), exact duplicates by SHA-1 of decoded pixels, near duplicates
 * by 256-bit dHash within `nearThreshold` bits (pairs whose pixels differ), duplicates across splits and with
 * conflicting labels, class imbalance. Progress and skipped files go to `onEvent`.
 */
export async function auditSource(source: DatasetSource, options: AuditOptions = {}, onEvent?: OnDataEvent): Promise<AuditReport> {
  const o = AuditOptions.parse(options);
  const items = source.items;
  const start = Date.now();
  let done = 0;
  const emitEvery = Math.max(1, Math.floor(items.length / 200));
  const info = await mapLimit(items, o.concurrency, async (item) => {
    try {
      const img = await item.load(); // file items decode through the image guard (pixel limit from the header first)
      return { ok: true as const, w: img.width, h: img.height, c: img.channels, hash: pixelHash(img), dh: dHash(img) };
    } catch (e) {
      const f = describeFailure(e);
      onEvent?.({ type: 'item-skipped', file: item.id, ...f });
      return { ok: false as const, ...f };
    } finally {
      done++;
      if (done % emitEvery === 0 || done === items.length) onEvent?.({ type: 'progress', phase: 'audit', done, total: items.length, elapsedMs: Date.now() - start });
    }
  });
  const splitOf = (i: number): string => items[i]!.split ?? 'all';
  const member = (i: number): AuditMember => {
    const m: AuditMember = { path: items[i]!.id, split: splitOf(i), label: items[i]!.label };
    const k = source.kind === 'npz' ? /\/(\d+)$/.exec(items[i]!.id) : null;
    if (k) m.index = Number(k[1]);
    return m;
  };

  const splits: AuditReport['splits'] = {};
  const order = (s: string) => { const k = ['train', 'val', 'test', 'all'].indexOf(s); return k < 0 ? 9 : k; };
  const splitNames = [...new Set(items.map((_, i) => splitOf(i)))].sort((a, b) => order(a) - order(b));
  for (const s of splitNames) splits[s] = { count: 0, classes: Object.fromEntries(source.classes.map((c) => [c, 0])), imbalance_ratio: null };
  const overall = new Array<number>(source.classes.length).fill(0);
  const sizes = new Map<string, AuditReport['sizes'][number]>();
  const unreadable: AuditReport['unreadable'] = [];
  const byHash = new Map<string, number[]>();
  info.forEach((r, i) => {
    if (!r.ok) { unreadable.push({ ...member(i), code: r.code, reason: r.reason }); return; }
    const s = splits[splitOf(i)]!;
    s.count++;
    s.classes[items[i]!.label] = (s.classes[items[i]!.label] ?? 0) + 1;
    overall[items[i]!.labelIndex]!++;
    const key = `${r.w}x${r.h}x${r.c}`;
    const e = sizes.get(key) ?? { width: r.w, height: r.h, channels: r.c, count: 0 };
    e.count++;
    sizes.set(key, e);
    const g = byHash.get(r.hash);
    if (g) g.push(i); else byHash.set(r.hash, [i]);
  });
  for (const s of Object.values(splits)) s.imbalance_ratio = ratio(Object.values(s.classes));

  const exactGroups = [...byHash].filter(([, m]) => m.length > 1);
  const exact_groups = exactGroups.map(([hash, m]) => ({ hash, members: m.map(member) }));
  const cross_split = exact_groups.flatMap((g) => {
    const ss = [...new Set(g.members.map((m) => m.split))];
    return ss.length > 1 ? [{ kind: 'exact' as const, splits: ss.sort((a, b) => order(a) - order(b)), members: g.members }] : [];
  });
  const label_conflicts = exact_groups.flatMap((g) => {
    const ls = [...new Set(g.members.map((m) => m.label))];
    return ls.length > 1 ? [{ kind: 'exact' as const, labels: ls.sort(), members: g.members }] : [];
  });

  // Near duplicates: one representative per distinct pixel hash, all pairs compared (O(U²) popcounts).
  const reps = [...byHash.values()].map((m) => m[0]!);
  const hashes = reps.map((i) => (info[i] as { dh: Uint32Array }).dh);
  const near: AuditReport['duplicates']['near'] = {
    method: 'dHash 256-bit (grey, area-resampled to 17x16, horizontal gradient signs), Hamming distance', threshold: o.nearThreshold,
    pair_count: 0, pairs: [], cross_split: [], label_conflicts: [],
  };
  for (let a = 0; a < reps.length; a++) {
    const ha = hashes[a]!;
    for (let b = a + 1; b < reps.length; b++) {
      const d = hamming(ha, hashes[b]!, o.nearThreshold);
      if (d > o.nearThreshold) continue;
      near.pair_count++;
      const pair = { distance: d, members: [member(reps[a]!), member(reps[b]!)] as [AuditMember, AuditMember] };
      if (near.pairs.length < o.maxListed) near.pairs.push(pair);
      if (pair.members[0].split !== pair.members[1].split && near.cross_split.length < o.maxListed) near.cross_split.push(pair);
      if (pair.members[0].label !== pair.members[1].label && near.label_conflicts.length < o.maxListed) near.label_conflicts.push(pair);
    }
  }
  const readable = info.filter((r) => r.ok).length;
  const withGroup = items.filter((it) => it.group !== undefined);
  const groups: AuditReport['groups'] = withGroup.length === 0 && !source.groupPattern ? undefined : {
    count: new Set(withGroup.map((it) => it.group)).size, without_group: items.length - withGroup.length,
    ...(source.groupPattern ? { pattern: source.groupPattern.pattern } : {}),
    ...(source.groupColumn ? { column: { ...source.groupColumn } } : {}),
    cross_split: groupLeaks(items, items.map((it) => it.split)),
  };
  return {
    source: { kind: source.kind, name: source.name },
    classes: [...source.classes],
    total_items: items.length,
    readable,
    splits,
    imbalance_ratio: ratio(overall),
    sizes: [...sizes.values()].sort((a, b) => b.count - a.count),
    unreadable,
    duplicates: {
      exact_groups,
      exact_extra_copies: exactGroups.reduce((a, [, m]) => a + m.length - 1, 0),
      cross_split,
      label_conflicts,
      near,
    },
    ...(groups ? { groups } : {}),
    ...(o.metaKeys.length > 0 ? { meta: metaCounts(items, o.metaKeys) } : {}),
  };
}

