import { readFileSync } from 'node:fs';
import { MedclassError } from '../errors.js';

/** Rows of a predictions file: split, label, K scores (logits or probabilities) and any metadata columns. */
export interface PredictionTable {
  classes: number;
  /** whether the score columns are `logit_k` (pre-softmax) or `prob_k` (rows summing to 1) */
  scoreKind: 'logit' | 'prob';
  /** split per row (`val` or `test`); every row is `test` when the file has no split column */
  split: string[];
  labels: Int32Array;
  /** row-major [N, classes] */
  scores: Float64Array;
  /** metadata columns (everything but split, label and the scores), by header name */
  meta: Record<string, string[]>;
}

/** One split of a predictions table. */
export interface PredictionSplit {
  labels: Int32Array;
  scores: Float64Array;
  meta: Record<string, string[]>;
}

const SPLITS = new Set(['val', 'test']);

/** Splits one CSV line into fields, honouring double quotes ("" escapes a quote). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * Parses a predictions CSV (`split,label,logit_0..logit_{K-1}` or `prob_0..prob_{K-1}`, optional metadata
 * columns) as written by `medclass eval` and found in `../shared/fixtures/metrics`. Malformed input throws
 * `MC_EVAL_BAD_PREDICTIONS` naming the file, line and column.
 */
export function parsePredictionsCsv(text: string, file = 'predictions.csv'): PredictionTable {
  const bad = (line: number, column: string | undefined, what: string) =>
    new MedclassError('MC_EVAL_BAD_PREDICTIONS', `${file}: line ${line}${column === undefined ? '' : `, column ${column}`}: ${what}`, {
      file,
      hint: 'expected a header split,label,logit_0..logit_{K-1} (or prob_0..prob_{K-1}) and one row per image',
    });
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw bad(1, undefined, 'file is empty, expected a header line');
  const header = splitCsvLine(lines[0]!).map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  const labelCol = col('label');
  if (labelCol < 0) throw bad(1, undefined, `no "label" column in header [${header.join(',')}]`);
  const splitCol = col('split');
  const logitCols = header.filter((h) => /^logit_\d+$/.test(h));
  const probCols = header.filter((h) => /^prob_\d+$/.test(h));
  if (logitCols.length > 0 && probCols.length > 0) throw bad(1, probCols[0], 'both logit_* and prob_* columns; give one kind');
  const scoreKind = probCols.length > 0 ? 'prob' : 'logit';
  const prefix = `${scoreKind}_`;
  const classes = Math.max(logitCols.length, probCols.length);
  if (classes < 2) throw bad(1, undefined, `expected at least 2 score columns ${prefix}0, ${prefix}1, found ${classes}`);
  const scoreCols: number[] = [];
  for (let k = 0; k < classes; k++) {
    const c = col(`${prefix}${k}`);
    if (c < 0) throw bad(1, `${prefix}${k}`, `missing; score columns must be ${prefix}0..${prefix}${classes - 1}`);
    scoreCols.push(c);
  }
  const metaCols = header.map((h, c) => [h, c] as const).filter(([, c]) => c !== labelCol && c !== splitCol && !scoreCols.includes(c));
  const n = lines.length - 1;
  const labels = new Int32Array(n);
  const scores = new Float64Array(n * classes);
  const split: string[] = [];
  const meta: Record<string, string[]> = Object.fromEntries(metaCols.map(([h]) => [h, [] as string[]]));
  for (let r = 0; r < n; r++) {
    const lineNo = r + 2;
    const fields = splitCsvLine(lines[r + 1]!);
    if (fields.length !== header.length) throw bad(lineNo, undefined, `expected ${header.length} fields as in the header, found ${fields.length}`);
    const label = fields[labelCol]!.trim();
    if (!/^\d+$/.test(label) || Number(label) >= classes) throw bad(lineNo, 'label', `expected an integer class index in 0..${classes - 1}, found "${label}"`);
    labels[r] = Number(label);
    const s = splitCol < 0 ? 'test' : fields[splitCol]!.trim();
    if (!SPLITS.has(s)) throw bad(lineNo, 'split', `expected "val" or "test", found "${s}"`);
    split.push(s);
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      const raw = fields[scoreCols[k]!]!.trim();
      const v = raw === '' ? NaN : Number(raw);
      if (!Number.isFinite(v)) throw bad(lineNo, `${prefix}${k}`, `expected a finite number, found "${raw}"`);
      if (scoreKind === 'prob' && (v < 0 || v > 1)) throw bad(lineNo, `${prefix}${k}`, `expected a probability in [0, 1], found ${raw}`);
      scores[r * classes + k] = v;
      sum += v;
    }
    if (scoreKind === 'prob' && Math.abs(sum - 1) > 1e-3) throw bad(lineNo, `${prefix}0..${prefix}${classes - 1}`, `probabilities sum to ${sum}, expected 1 (±1e-3)`);
    for (const [h, c] of metaCols) meta[h]!.push(fields[c]!);
  }
  if (n === 0) throw bad(2, undefined, 'no data rows after the header');
  return { classes, scoreKind, split, labels, scores, meta };
}

/** Reads and parses a predictions CSV file (see `parsePredictionsCsv`). */
export function readPredictionsCsv(path: string, displayName = path): PredictionTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `${displayName}: cannot be read (${(e as Error).message})`, { file: displayName, cause: e });
  }
  return parsePredictionsCsv(text, displayName);
}

/** The rows of one split, in file order; `undefined` when the split has no rows. */
export function selectSplit(table: PredictionTable, split: 'val' | 'test'): PredictionSplit | undefined {
  const idx: number[] = [];
  table.split.forEach((s, i) => s === split && idx.push(i));
  if (idx.length === 0) return undefined;
  const K = table.classes;
  const scores = new Float64Array(idx.length * K);
  idx.forEach((i, j) => scores.set(table.scores.subarray(i * K, i * K + K), j * K));
  return {
    labels: Int32Array.from(idx, (i) => table.labels[i]!),
    scores,
    meta: Object.fromEntries(Object.entries(table.meta).map(([h, v]) => [h, idx.map((i) => v[i]!)])),
  };
}

/** One row of a predictions CSV: its split, optional item id, label index and K scores. */
export interface PredictionRow {
  split: string;
  id?: string;
  label: number;
  scores: ArrayLike<number>;
  /** metadata values by column name ('' when missing) */
  meta?: Readonly<Record<string, string>>;
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * The one predictions CSV writer: `split[,id],label,<kind>_0..<kind>_{K-1}`, then `metaCols`. `precision` 'float32'
 * writes 9 significant digits of the float32 value (`Math.fround(parse(s))` gives the same float32 back, so logits of
 * a model round-trip exactly); 'float64' writes the shortest text that parses to the same double.
 *
 * @example
 * formatPredictionsCsv([{ split: 'test', id: 'a.png', label: 1, scores: [0.1, 2.5] }], 2); // "split,id,label,logit_0,logit_1\ntest,a.png,1,0.100000001,2.50000000\n"
 */
export function formatPredictionsCsv(rows: readonly PredictionRow[], classes: number, opts: { metaCols?: readonly string[]; scoreKind?: 'logit' | 'prob'; precision?: 'float32' | 'float64'; ids?: boolean } = {}): string {
  const metaCols = opts.metaCols ?? [];
  const withIds = opts.ids ?? rows.some((r) => r.id !== undefined);
  const num = opts.precision === 'float64' ? (v: number) => String(v) : (v: number) => Math.fround(v).toPrecision(9);
  const head = ['split', ...(withIds ? ['id'] : []), 'label', ...Array.from({ length: classes }, (_, k) => `${opts.scoreKind ?? 'logit'}_${k}`), ...metaCols].map(csvField).join(',');
  const lines = rows.map((r) => [
    r.split, ...(withIds ? [csvField(r.id ?? '')] : []), String(r.label), ...Array.from({ length: classes }, (_, k) => num(r.scores[k]!)),
    ...metaCols.map((c) => csvField(r.meta?.[c] ?? '')),
  ].join(','));
  return `${[head, ...lines].join('\n')}\n`;
}
