import type { Rng } from '../engine/index.js';
import { entropyRows, oneMinusMaxProbability, selectiveMetrics, softmax, type PredictionSplit, type SelectiveReport } from '../eval/index.js';
import { MedclassError } from '../errors.js';

/** Selective-prediction figures of one run's split, named by the run (a baseline in uncertainty.json). */
export type SplitUncertainty = SelectiveReport & { name: string };

/** Reads a numeric uncertainty column of predictions.csv (`entropy`, `mutual_information`). */
function column(split: PredictionSplit, name: string): Float64Array | undefined {
  const v = split.meta[name];
  if (!v) return undefined;
  const out = Float64Array.from(v, Number);
  if (out.some((x) => !Number.isFinite(x))) throw new MedclassError('MC_EVAL_BAD_PREDICTIONS', `predictions.csv: column ${name} holds a non-numeric value`, { file: 'predictions.csv' });
  return out;
}

/**
 * The value of a run's uncertainty on one split of its predictions.csv (`selectiveMetrics`): scores `entropy` (the
 * ensemble's or MC-dropout's H(p̄) column, else the entropy of the softmax of the logits), `mutual_information` (when
 * the column exists and is not constant) and `one_minus_max_probability`, all of the uncalibrated probabilities (the arg-max, and so
 * what counts as an error, does not depend on the temperature).
 */
export function splitSelective(split: PredictionSplit, k: number, bootstrap: number, rng: Rng): SelectiveReport {
  const probs = softmax(split.scores, k);
  const raw = column(split, 'mutual_information');
  const mi = raw && raw.some((v) => v !== raw[0]) ? raw : undefined; // one member: MI ≡ 0 ranks nothing
  const scores: Record<string, Float64Array> = {
    entropy: column(split, 'entropy') ?? entropyRows(probs, k),
    ...(mi ? { mutual_information: mi } : {}),
    one_minus_max_probability: oneMinusMaxProbability(probs, k),
  };
  return selectiveMetrics(split.labels, probs, k, scores, rng, { bootstrap });
}
