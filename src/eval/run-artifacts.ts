import type { ReliabilityBin } from './calibration.js';
import type { MetricsReport, SplitScores } from './evaluate.js';
import { formatPredictionsCsv } from './predictions-csv.js';

/**
 * A run's `predictions.csv` in the format `medclass metrics` reads: `split,label,logit_0..logit_{K-1}` then the
 * metadata columns of the first split, written by `formatPredictionsCsv` (scores are doubles here: shortest round-trip text).
 */
export function predictionsToCsv(splits: readonly { split: 'val' | 'test'; data: SplitScores }[], classes: number, scoreKind: 'logit' | 'prob' = 'logit'): string {
  const metaCols = Object.keys(splits[0]?.data.meta ?? {});
  const rows = splits.flatMap(({ split, data }) => Array.from(data.labels, (label, i) => ({
    split, label, scores: data.scores.subarray(i * classes, (i + 1) * classes), meta: Object.fromEntries(metaCols.map((c) => [c, data.meta?.[c]?.[i] ?? ''])),
  })));
  return formatPredictionsCsv(rows, classes, { metaCols, scoreKind, ids: false, precision: 'float64' });
}

/** The content of a run's `calibration.json`: the temperature to divide logits by, and the bins before/after. */
export interface CalibrationArtifact {
  method: 'temperature';
  /** divide logits by this before the softmax; 1 when there were no validation rows */
  temperature: number;
  fitted_on: 'val' | null;
  n_val: number;
  bins: number;
  test: {
    ece_before: number;
    ece_after: number | null;
    mce_before: number;
    mce_after: number | null;
    reliability_before: (ReliabilityBin | null)[];
    reliability_after: (ReliabilityBin | null)[] | null;
  };
}

/**
 * Extracts `calibration.json` from an evaluation report (what `serve` needs to output calibrated probabilities);
 * `bins` is the ECE bin count the report was computed with (`EvalOptions.bins`, default 15).
 */
export function calibrationArtifact(report: MetricsReport, bins = 15): CalibrationArtifact {
  const r = report as unknown as Record<string, unknown>;
  const fitted = report.temperature !== null;
  return {
    method: 'temperature',
    temperature: report.temperature ?? 1,
    fitted_on: fitted ? 'val' : null,
    n_val: report.n_val,
    bins,
    test: {
      ece_before: r[`ece_${bins}`] as number,
      ece_after: fitted ? (r[`ece_${bins}_after_temperature`] as number) : null,
      mce_before: r[`mce_${bins}`] as number,
      mce_after: fitted ? (r[`mce_${bins}_after_temperature`] as number) : null,
      reliability_before: r[`reliability_bins_${bins}`] as (ReliabilityBin | null)[],
      reliability_after: fitted ? (r[`reliability_bins_${bins}_after_temperature`] as (ReliabilityBin | null)[]) : null,
    },
  };
}
