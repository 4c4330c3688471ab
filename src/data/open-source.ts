import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { MedclassError } from '../errors.js';
import { openCsvSource } from './csv-source.js';
import { isDicomFile, openDicomFile } from './dicom-source.js';
import { openFolderSource } from './folder-source.js';
import { withGroupPattern } from './group-pattern.js';
import { openNpzSource } from './npz-source.js';
import { SourceOptions } from './options.js';
import { phantomSource } from './phantoms.js';
import type { DatasetSource } from './types.js';

/**
 * Opens a dataset by path or spec: `phantom:[n=..,size=..,seed=..]`, a `.npz` (MedMNIST layout), a `.csv`/`.tsv`
 * manifest (column mapping in `options.csv`), an image folder (`<class>/*`, `<split>/<class>/*`; DICOM files in it
 * are decoded like any image), or a single DICOM file (a one-item source, by `.dcm`/`.dicom` or by content).
 * With `options.groupPattern`, items take their group from their file name (`withGroupPattern`).
 */
export function openSource(pathOrSpec: string, options: SourceOptions = {}): DatasetSource {
  const o = SourceOptions.parse(options);
  const source = openBySpec(pathOrSpec, o);
  return o.groupPattern === undefined ? source : withGroupPattern(source, o.groupPattern);
}

function openBySpec(pathOrSpec: string, o: SourceOptions): DatasetSource {
  if (/^phantom(:|$)/.test(pathOrSpec)) return phantomSource(pathOrSpec);
  const name = basename(pathOrSpec);
  if (!existsSync(pathOrSpec)) {
    throw new MedclassError('MC_DATA_BAD_SOURCE', `${name}: no such file or folder`, { file: name, hint: 'pass an image folder, a .npz, a .csv manifest or phantom:' });
  }
  if (statSync(pathOrSpec).isDirectory()) return openFolderSource(pathOrSpec, '', o.guard);
  const lower = pathOrSpec.toLowerCase();
  if (lower.endsWith('.npz')) return openNpzSource(pathOrSpec);
  if (lower.endsWith('.csv')) return openCsvSource(pathOrSpec, o.csv, o.guard);
  if (lower.endsWith('.tsv')) return openCsvSource(pathOrSpec, { delimiter: '\t', ...o.csv }, o.guard);
  if (/\.(dcm|dicom)$/.test(lower) || isDicomFile(pathOrSpec)) return openDicomFile(pathOrSpec, o.guard);
  throw new MedclassError('MC_DATA_BAD_SOURCE', `${name}: is neither a folder, a .npz, a .csv manifest nor a DICOM file`, { file: name, hint: 'pass one of the supported sources' });
}
