import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { MedclassError } from '../errors.js';
import { parseCsv } from './csv.js';
import { fileItem } from './file-item.js';
import { CsvOptions, type ImageGuardOptions } from './options.js';
import { canonicalSplit } from './split-names.js';
import type { DatasetItem, DatasetSource, MetaValue, SplitName } from './types.js';

const DEFAULTS = CsvOptions.parse({});

/**
 * Column names (lower case, without `_`, `-`, spaces) taken as the group when the manifest has no `group` column and
 * none was named, coarsest first: a patient holds lesions, so patient-level wins when both are present. A split that
 * ignores such a column puts one patient's images on both sides and overstates every test figure.
 */
const GROUP_COLUMN_NAMES = ['patientid', 'patient', 'patientno', 'patientnumber', 'subjectid', 'subject', 'participantid', 'participant', 'lesionid', 'lesion'];
const normalisedName = (h: string) => h.toLowerCase().replace(/[\s_-]+/g, '');

/** The index of the detected group column in `header` (−1 when none): the first of GROUP_COLUMN_NAMES present. */
function detectGroupColumn(header: readonly string[], taken: ReadonlySet<number>): number {
  for (const name of GROUP_COLUMN_NAMES) {
    const i = header.findIndex((h, j) => !taken.has(j) && normalisedName(h) === name);
    if (i >= 0) return i;
  }
  return -1;
}

function metaValue(s: string): MetaValue {
  const t = s.trim();
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? n : t;
}

/**
 * A CSV manifest: one row per image. By default columns `path,label[,split][,group]`, every other column is
 * metadata (numbers parsed, empty → null). Paths are relative to the CSV's folder; `pathTemplate` turns an id
 * column into a path (HAM10000: pathCol `image_id`, labelCol `dx`, groupCol `lesion_id`, pathTemplate `images/{}.jpg`).
 * Item ids are the paths relative to the CSV's folder. A path that leads outside that folder (absolute, or through
 * `..`) fails the whole manifest with MC_DATA_OUTSIDE_ROOT naming its line, before any file is opened, unless
 * `allowOutsidePaths` is set. `guard` sets the images' pixel limit and minimum size (defaults when absent).
 * With the default `groupCol` and no `group` column, a patient/subject/lesion id column (`patient_id`, `PatientID`,
 * `lesion_id`, …) is taken as the group and the source says so (`groupColumn.detected`); `groupCol: ''` turns groups off.
 */
export function openCsvSource(path: string, options: CsvOptions = {}, guard?: ImageGuardOptions): DatasetSource {
  const o = CsvOptions.parse(options);
  const file = basename(path);
  const bad = (why: string, hint?: string) => new MedclassError('MC_DATA_BAD_CSV', `${file}: ${why}`, { file, hint });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new MedclassError('MC_DATA_MISSING_FILE', `${file}: could not be read`, { file, cause });
  }
  const rows = parseCsv(text, file, o.delimiter);
  if (rows.length === 0) throw bad('is empty (no header row)');
  const header = rows[0]!.cells.map((h) => h.trim());
  const col = (name: string, role: string, required: boolean, isDefault: boolean): number => {
    const i = header.indexOf(name);
    if (i < 0 && (required || !isDefault)) {
      throw bad(`no ${role} column '${name}' (columns: ${header.join(', ')})`, `name the column with --${role}-col`);
    }
    return i;
  };
  const pathIdx = col(o.pathCol, 'path', true, false);
  const labelIdx = col(o.labelCol, 'label', true, false);
  const splitIdx = col(o.splitCol, 'split', false, o.splitCol === DEFAULTS.splitCol);
  const isDefaultGroup = o.groupCol === DEFAULTS.groupCol;
  let groupIdx = o.groupCol === '' ? -1 : col(o.groupCol, 'group', false, isDefaultGroup);
  const detected = groupIdx < 0 && isDefaultGroup;
  if (detected) groupIdx = detectGroupColumn(header, new Set([pathIdx, labelIdx, splitIdx]));
  const used = new Set([pathIdx, labelIdx, splitIdx, groupIdx]);
  const metaCols = header.map((h, i) => [h, i] as const).filter(([, i]) => !used.has(i));
  const root = dirname(path);
  const absRoot = resolve(root);
  const outside = (rel: string) => {
    const r = relative(absRoot, resolve(absRoot, rel));
    return r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r);
  };
  const rowsOut: { rel: string; label: string; split?: SplitName; group?: string; meta: Record<string, MetaValue> }[] = [];
  for (const { line, cells } of rows.slice(1)) {
    if (cells.length !== header.length) throw bad(`line ${line}: ${cells.length} fields, header has ${header.length}`);
    const value = cells[pathIdx]!.trim();
    const label = cells[labelIdx]!.trim();
    if (!value) throw bad(`line ${line}: empty ${o.pathCol}`);
    if (!label) throw bad(`line ${line}: empty ${o.labelCol}`);
    let split: SplitName | undefined;
    if (splitIdx >= 0 && cells[splitIdx]!.trim() !== '') {
      split = canonicalSplit(cells[splitIdx]!);
      if (!split) throw bad(`line ${line}: ${o.splitCol} '${cells[splitIdx]}' is not train/val/test`);
    }
    const group = groupIdx >= 0 && cells[groupIdx]!.trim() !== '' ? cells[groupIdx]!.trim() : undefined;
    const p = o.pathTemplate.split('{}').join(value);
    const rel = isAbsolute(p) ? relative(root, p) : p.replace(/\\/g, '/').replace(/^\.\//, '');
    if (!o.allowOutsidePaths && outside(rel)) {
      throw new MedclassError('MC_DATA_OUTSIDE_ROOT', `${file}: line ${line}: ${o.pathCol} '${value}'${o.pathTemplate === '{}' ? '' : ' (through pathTemplate)'} leads outside the manifest's folder; the file was not opened`,
        { file, hint: "keep the images below the CSV's folder, or pass --allow-outside-paths (csv.allowOutsidePaths) if you trust this manifest" });
    }
    const meta = Object.fromEntries(metaCols.map(([h, i]) => [h, metaValue(cells[i]!)]));
    rowsOut.push({ rel, label, split, group, meta });
  }
  const classes = [...new Set(rowsOut.map((r) => r.label))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(classes.map((c, i) => [c, i]));
  const items: DatasetItem[] = rowsOut.map((r) => fileItem({
    absPath: join(root, r.rel), id: r.rel, label: r.label, labelIndex: index.get(r.label)!,
    ...(r.split ? { split: r.split } : {}), ...(r.group !== undefined ? { group: r.group } : {}),
    ...(metaCols.length ? { meta: r.meta } : {}), ...(guard ? { guard } : {}),
  }));
  return { kind: 'csv', name: file, classes, items, ...(groupIdx >= 0 ? { groupColumn: { name: header[groupIdx]!, detected, from: 'csv' as const } } : {}) };
}
