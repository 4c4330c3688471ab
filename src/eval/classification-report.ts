import type { PerClassScores } from './confusion.js';

/**
 * Text report in the layout of `sklearn.metrics.classification_report` (precision, recall, F1, support per
 * class, then accuracy, macro and weighted averages). `names` default to the class indices.
 * Numbers use JavaScript's `toFixed`, which rounds exact binary ties up where Python rounds half to even.
 */
export function classificationReport(pc: PerClassScores, accuracy: number, names?: readonly string[], digits = 2): string {
  const K = pc.precision.length;
  const labels = names ?? Array.from({ length: K }, (_, k) => String(k));
  const width = Math.max(...labels.map((l) => l.length), 'weighted avg'.length, digits);
  const num = (v: number) => v.toFixed(digits).padStart(9);
  const int = (v: number) => String(Math.round(v)).padStart(9);
  const name = (s: string) => s.padStart(width);
  let out = `${name('')} ${['precision', 'recall', 'f1-score', 'support'].map((h) => ` ${h.padStart(9)}`).join('')}\n\n`;
  let total = 0;
  const mean = { p: 0, r: 0, f: 0 };
  const wmean = { p: 0, r: 0, f: 0 };
  for (let k = 0; k < K; k++) {
    const s = pc.support[k]!;
    out += `${name(labels[k]!)}  ${num(pc.precision[k]!)} ${num(pc.recall[k]!)} ${num(pc.f1[k]!)} ${int(s)}\n`;
    total += s;
    mean.p += pc.precision[k]! / K;
    mean.r += pc.recall[k]! / K;
    mean.f += pc.f1[k]! / K;
    wmean.p += pc.precision[k]! * s;
    wmean.r += pc.recall[k]! * s;
    wmean.f += pc.f1[k]! * s;
  }
  out += '\n';
  out += `${name('accuracy')}  ${''.padStart(9)} ${''.padStart(9)} ${num(accuracy)} ${int(total)}\n`;
  out += `${name('macro avg')}  ${num(mean.p)} ${num(mean.r)} ${num(mean.f)} ${int(total)}\n`;
  const t = total > 0 ? total : 1;
  out += `${name('weighted avg')}  ${num(wmean.p / t)} ${num(wmean.r / t)} ${num(wmean.f / t)} ${int(total)}\n`;
  return out;
}
