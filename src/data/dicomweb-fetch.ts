import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { MedclassError, isMedclassError, type ErrorCode } from '../errors.js';
import { mapLimit } from './concurrency.js';
import { parseCsv } from './csv.js';
import { parseDicom } from './dicom-parse.js';
import { patientGroupOf } from './dicom-groups.js';
import type { DicomWebClient, DicomWebInstance } from './dicomweb.js';

/**
 * A labelled dataset from a PACS: a CSV of StudyInstanceUID or SOPInstanceUID → label (optional split and file
 * name) is resolved by QIDO-RS, the instances are retrieved by WADO-RS into a local cache laid out as a folder
 * source (`<label>/<name>`), and a `manifest.csv` (path, label, split, group) is written beside them, with the group
 * `patientGroupId` (a keyed digest) of the PatientID (patient-level splits without the ID in plain text). Files already in the cache
 * are not fetched again, so an interrupted fetch resumes.
 */

/** One fetched (or already cached) instance, and the failures. */
export interface DicomWebFetchSummary {
  readonly rows: number;
  readonly instances: number;
  readonly fetched: number;
  readonly cached: number;
  readonly failed: { row: number; code: ErrorCode; message: string }[];
  /** the manifest written, relative to the cache folder */
  readonly manifest: string;
}

interface Row { line: number; study?: string; sop?: string; label: string; split: string; name: string }

function readRows(csvPath: string): Row[] {
  const rows = parseCsv(readFileSync(csvPath, 'utf8'), csvPath);
  if (rows.length === 0) throw new MedclassError('MC_DATA_BAD_CSV', `${csvPath}: empty`, { file: csvPath });
  const head = rows[0]!.cells.map((c) => c.trim());
  const col = (n: string) => head.indexOf(n);
  const [iStudy, iSop, iLabel, iSplit, iName] = ['study', 'sop', 'label', 'split', 'name'].map(col) as [number, number, number, number, number];
  if (iLabel < 0 || (iStudy < 0 && iSop < 0)) {
    throw new MedclassError('MC_DATA_BAD_CSV', `${csvPath}: needs a label column and a study (StudyInstanceUID) or sop (SOPInstanceUID) column; found ${head.join(', ')}`, { file: csvPath });
  }
  return rows.slice(1).map(({ line, cells }) => {
    const get = (i: number) => (i >= 0 ? (cells[i] ?? '').trim() : '');
    const name = get(iName);
    if (name && (isAbsolute(name) || normalize(name).split(sep).includes('..'))) {
      throw new MedclassError('MC_DATA_BAD_CSV', `${csvPath} line ${line}: name must be a relative file name inside the label folder`, { file: csvPath });
    }
    const r: Row = { line, label: get(iLabel), split: get(iSplit), name, ...(get(iStudy) ? { study: get(iStudy) } : {}), ...(get(iSop) ? { sop: get(iSop) } : {}) };
    if (!r.label || (!r.study && !r.sop)) throw new MedclassError('MC_DATA_BAD_CSV', `${csvPath} line ${line}: a label and a study or sop UID are needed`, { file: csvPath });
    if (/[\\/]|^\.\.?$/.test(r.label)) throw new MedclassError('MC_DATA_BAD_CSV', `${csvPath} line ${line}: a label cannot contain / or \\`, { file: csvPath });
    return r;
  });
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Resolves the CSV by QIDO-RS, caches the instances under `cacheDir` by WADO-RS, and writes `manifest.csv` there. */
export async function fetchDicomWebDataset(client: DicomWebClient, csvPath: string, cacheDir: string, opts: { concurrency?: number } = {}): Promise<DicomWebFetchSummary> {
  const rows = readRows(csvPath);
  const failed: DicomWebFetchSummary['failed'] = [];
  const fail = (row: number, e: unknown) => {
    if (!isMedclassError(e)) throw e;
    failed.push({ row, code: e.code, message: `line ${row}: ${e.message}` });
  };
  const jobs: { row: Row; inst: DicomWebInstance; path: string }[] = [];
  for (const row of rows) {
    try {
      const found = row.study ? await client.searchInstances({}, { study: row.study }) : await client.searchInstances({ SOPInstanceUID: row.sop! });
      if (found.length === 0) throw new MedclassError('MC_DATA_MISSING_FILE', 'no instance on the server matches this row');
      for (const inst of found) {
        const name = row.name && found.length === 1 ? row.name : `${digest(inst.sopInstanceUid).slice(0, 24)}.dcm`;
        jobs.push({ row, inst, path: `${row.label}/${name}` });
      }
    } catch (e) {
      fail(row.line, e);
    }
  }
  let fetched = 0;
  let cached = 0;
  const manifest: string[] = ['path,label,split,group'];
  const entries = await mapLimit(jobs, opts.concurrency ?? 4, async ({ row, inst, path }) => {
    const abs = join(cacheDir, path);
    try {
      let bytes: Uint8Array;
      if (existsSync(abs) && statSync(abs).size > 0) {
        bytes = new Uint8Array(readFileSync(abs));
        cached++;
      } else {
        bytes = await client.retrieveInstance(inst);
        mkdirSync(dirname(abs), { recursive: true });
        writeFileSync(`${abs}.part`, bytes);
        renameSync(`${abs}.part`, abs);
        fetched++;
      }
      return [path, row.label, row.split, patientGroupOf(parseDicom(bytes, path, true).elements) ?? ''].map(csvCell).join(',');
    } catch (e) {
      fail(row.line, e);
      return undefined;
    }
  });
  manifest.push(...entries.filter((e): e is string => e !== undefined).sort());
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(join(cacheDir, 'manifest.csv'), `${manifest.join('\n')}\n`);
  failed.sort((a, b) => a.row - b.row);
  return { rows: rows.length, instances: jobs.length, fetched, cached, failed, manifest: 'manifest.csv' };
}
