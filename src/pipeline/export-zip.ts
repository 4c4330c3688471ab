import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { DISCLAIMER } from '../eval/index.js';
import { MedclassError } from '../errors.js';
import { FIGURES_DIR, listFigures, openRunDir, runFileBytes, sha256Of, toJson } from '../run/index.js';

/** Files of a run an export zip carries when present (model.onnx, preprocess.json and metrics.json are required). */
export const EXPORT_FILES = ['model.onnx', 'preprocess.json', 'calibration.json', 'metrics.json', 'predictions.csv', 'history.csv', 'run.json', 'report.html', 'model-card.md', 'tabular.json'] as const;
const REQUIRED = ['model.onnx', 'preprocess.json', 'metrics.json'];

/** The zip's `manifest.json`: every other entry with its size and SHA-256. */
export interface ExportManifest {
  format: 'medclass.export';
  version: 1;
  disclaimer: string;
  run: string;
  files: { path: string; bytes: number; sha256: string }[];
}

/** What `exportZip` wrote. */
export interface ZipExport { file: string; bytes: number; manifest: ExportManifest; missing: string[] }

/**
 * Writes a run as one zip: model.onnx, preprocess.json, calibration.json, metrics.json, predictions.csv,
 * history.csv, run.json, report.html, model-card.md and figures/*.svg + *.png, plus `manifest.json` listing each
 * entry's size and SHA-256. Entries carry a fixed date, so the same run gives the same bytes. A run without
 * model.onnx, preprocess.json or metrics.json is `MC_TRAIN_BAD_RUN_DIR`; the report and figures are optional
 * (`missing` names what was absent: write them with medclass report).
 */
export function exportZip(runDir: string, file: string): ZipExport {
  const run = openRunDir(runDir);
  const lacking = REQUIRED.filter((f) => !run.has(f));
  if (lacking.length) throw new MedclassError('MC_TRAIN_BAD_RUN_DIR', `${runDir} lacks ${lacking.join(', ')}: not a finished run`, { hint: `train it to the end (medclass train --resume ${runDir})` });
  const names = [
    ...EXPORT_FILES.filter((f) => run.has(f)),
    ...listFigures(run).flatMap((n) => ['svg', 'png'].map((ext) => `${FIGURES_DIR}/${n}.${ext}`)).filter((f) => run.has(f)),
  ];
  const missing = ['report.html', 'model-card.md', 'calibration.json', 'predictions.csv'].filter((f) => !run.has(f));
  if (!listFigures(run).length) missing.push(`${FIGURES_DIR}/`);
  const entries: Zippable = {};
  const files: ExportManifest['files'] = [];
  const mtime = new Date('2000-01-01T00:00:00Z');
  for (const name of names) {
    const data = runFileBytes(run, name);
    entries[name] = [data, { mtime, level: name.endsWith('.png') ? 0 : 6 }];
    files.push({ path: name, bytes: data.length, sha256: sha256Of(data) });
  }
  const manifest: ExportManifest = { format: 'medclass.export', version: 1, disclaimer: DISCLAIMER, run: run.hasManifest ? run.manifest.name : '', files };
  entries['manifest.json'] = [new TextEncoder().encode(toJson(manifest)), { mtime }];
  const zip = zipSync(entries);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, zip);
  return { file, bytes: zip.length, manifest, missing };
}
