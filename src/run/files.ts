import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { EpochRecord } from '../train/index.js';

/** Writes a file atomically (temp file, then rename), creating the folder. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** JSON with NaN/Infinity written as null, 2-space indent and a trailing newline (every JSON file of a run). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** SHA-256 (hex) of bytes or of a file's content. */
export function sha256Of(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 (hex) of a file. */
export function sha256File(path: string): string {
  return sha256Of(readFileSync(path));
}

/** history.csv: one row per epoch; column 5 is the monitored score, named by the monitor (e.g. `val_auc`). */
export function historyCsv(history: readonly EpochRecord[], monitorName: string): string {
  const head = `phase,epoch,train_loss,val_loss,${monitorName},lr,seconds,images_per_s,train_accuracy,val_accuracy`;
  const acc = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));
  const rows = history.map((h) => [h.phase, h.epoch, h.trainLoss, h.valLoss, h.valScore, h.lr, h.seconds.toFixed(2), h.imagesPerSecond.toFixed(1), acc(h.trainAccuracy), acc(h.valAccuracy)].join(','));
  return `${[head, ...rows].join('\n')}\n`;
}

/** A fingerprint of the data as used: item ids, labels and splits, hashed (no pixels, no paths outside the root). */
export function dataFingerprint(items: readonly { id: string; label: string }[], splits: readonly (string | undefined)[]): string {
  const h = createHash('sha256');
  items.forEach((it, i) => h.update(`${it.id}\t${it.label}\t${splits[i] ?? ''}\n`));
  return h.digest('hex').slice(0, 16);
}

/** A data source spec without the folders above it: `phantom:…` stays, paths become their last part. */
export function sourceName(spec: string): string {
  return spec.startsWith('phantom:') ? spec : basename(spec.replace(/[\\/]+$/, ''));
}
