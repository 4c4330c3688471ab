import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { MedclassError, isMedclassError, type ErrorCode } from '../errors.js';
import { mapLimit } from './concurrency.js';
import { DeidOptions, deidentifyDicom } from './deid.js';
import { isDicomFile } from './dicom-source.js';

/** Options of `deidentifyTree`: the per-file `DeidOptions` plus how output files are named. */
export const DeidTreeOptions = DeidOptions.extend({
  paths: z.enum(['uid', 'keep']).default('uid')
    .describe("uid: OUT/<new StudyInstanceUID>/<new SOPInstanceUID>.dcm (no input name survives); keep: the input's relative paths (folder and file names are copied as they are — only if they carry no identifiers)"),
  concurrency: z.number().int().min(1).default(4).describe('files processed at once'),
});
export type DeidTreeOptionsInput = z.input<typeof DeidTreeOptions>;

/** The re-identification mapping of a de-identification run (identifying: written only on request, kept apart). */
export interface DeidMapping {
  /** original UID → replacement */
  readonly uids: Record<string, string>;
  /** original PatientID → pseudonym and date offset (days back; 0 when dates were removed) */
  readonly patients: Record<string, { pseudonym: string; dateOffsetDays: number }>;
}

/** What `deidentifyTree` did: written files (relative paths), refused or failed ones, and the timing. */
export interface DeidTreeSummary {
  readonly written: { file: string; out: string; burnedIn: boolean }[];
  readonly failed: { file: string; code: ErrorCode; message: string }[];
  /** files under the input that are not DICOM (left out) */
  readonly notDicom: number;
  readonly mapping: DeidMapping;
  readonly seconds: number;
  readonly filesPerSecond: number;
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(root);
  return out;
}

/**
 * De-identifies every DICOM file under `input` (a file or folder) into `output` with one key, so UIDs and
 * pseudonyms agree across the whole tree. Bad files are collected as `{file, code, message}` and the rest go on.
 * `output` must not be or lie inside `input` (MC_CLI_BAD_OPTION would be the CLI's; here MC_DATA_DEID_FAILED).
 */
export async function deidentifyTree(input: string, output: string, key: Uint8Array, options: DeidTreeOptionsInput = {}): Promise<DeidTreeSummary> {
  const o = DeidTreeOptions.parse(options);
  const fileOptions = { dates: o.dates, maxShiftDays: o.maxShiftDays, burnedIn: o.burnedIn };
  const inAbs = resolve(input);
  const outAbs = resolve(output);
  const isDir = (await stat(inAbs)).isDirectory();
  const base = isDir ? inAbs : dirname(inAbs);
  if (outAbs === base || outAbs.startsWith(base + sep)) {
    throw new MedclassError('MC_DATA_DEID_FAILED', 'the output folder lies inside the input folder', { hint: 'write the de-identified files to a folder outside the input' });
  }
  const started = performance.now();
  const all = isDir ? await listFiles(inAbs) : [inAbs];
  const dicom = all.filter(isDicomFile);
  const uids: Record<string, string> = {};
  const patients: Record<string, { pseudonym: string; dateOffsetDays: number }> = {};
  const written: DeidTreeSummary['written'] = [];
  const failed: DeidTreeSummary['failed'] = [];
  const used = new Set<string>();
  await mapLimit(dicom, o.concurrency, async (abs) => {
    const file = relative(base, abs).split(sep).join('/');
    try {
      const r = deidentifyDicom(new Uint8Array(await readFile(abs)), file, key, fileOptions);
      const out = o.paths === 'keep' ? file : `${r.studyInstanceUid || 'unknown-study'}/${r.sopInstanceUid}.dcm`;
      if (used.has(out)) throw new MedclassError('MC_DATA_DEID_FAILED', `${file}: another input file maps to the same output ${o.paths === 'keep' ? 'path' : 'SOP Instance UID'}`, { file });
      used.add(out);
      await mkdir(dirname(join(outAbs, out)), { recursive: true });
      await writeFile(join(outAbs, out), r.bytes);
      for (const [a, b] of r.uids) uids[a] = b;
      patients[r.patient.id] = { pseudonym: r.patient.pseudonym, dateOffsetDays: r.patient.dateOffsetDays };
      written.push({ file, out, burnedIn: r.burnedIn });
    } catch (e) {
      if (!isMedclassError(e)) throw e;
      failed.push({ file, code: e.code, message: e.message });
    }
  });
  const seconds = (performance.now() - started) / 1000;
  written.sort((a, b) => a.file.localeCompare(b.file));
  failed.sort((a, b) => a.file.localeCompare(b.file));
  return { written, failed, notDicom: all.length - dicom.length, mapping: { uids, patients }, seconds, filesPerSecond: written.length / Math.max(seconds, 1e-9) };
}
