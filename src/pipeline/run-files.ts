import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpochRecord } from '../train/index.js';

/** Writes a file atomically (temp file, then rename), creating the folder. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** JSON with NaN/Infinity written as null and a trailing newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** history.csv: one row per epoch. */
export function historyCsv(history: readonly EpochRecord[], monitorName: string): string {
  const head = `phase,epoch,train_loss,val_loss,${monitorName},lr,seconds,images_per_s`;
  const rows = history.map((h) => [h.phase, h.epoch, h.trainLoss, h.valLoss, h.valScore, h.lr, h.seconds.toFixed(2), h.imagesPerSecond.toFixed(1)].join(','));
  return `${[head, ...rows].join('\n')}\n`;
}

/**
 * predictions.csv in the format `medclass metrics` reads: split, id, label, logit_0..k-1, then the metadata columns
 * `metaCols` (the run's subgroup columns, so `medclass eval --run` reproduces its subgroup tables).
 */
export function predictionsCsv(rows: { split: string; id: string; label: number; logits: ArrayLike<number>; meta?: Record<string, string> }[], k: number, metaCols: readonly string[] = []): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const head = ['split', 'id', 'label', ...Array.from({ length: k }, (_, i) => `logit_${i}`), ...metaCols.map(q)].join(',');
  return `${[head, ...rows.map((r) => [r.split, q(r.id), r.label, ...Array.from(r.logits, (v) => v.toPrecision(8)), ...metaCols.map((c) => q(r.meta?.[c] ?? ''))].join(','))].join('\n')}\n`;
}

/** A fingerprint of the data as used: item ids, labels and splits, hashed (no pixels, no paths outside the root). */
export function dataFingerprint(items: readonly { id: string; label: string }[], splits: readonly (string | undefined)[]): string {
  const h = createHash('sha256');
  items.forEach((it, i) => h.update(`${it.id}\t${it.label}\t${splits[i] ?? ''}\n`));
  return h.digest('hex').slice(0, 16);
}
