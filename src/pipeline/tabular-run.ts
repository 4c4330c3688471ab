import type { DatasetSource, TabularEncoder } from '../data/index.js';
import { encodeTabular, fitTabularEncoder } from '../data/index.js';
import { MedclassError } from '../errors.js';
import type { ImageSet } from '../train/index.js';
import type { RunConfig } from './config.js';

/** The three loaded splits of a run. */
export interface RunSets {
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
}

/**
 * Image + tabular fusion for a run: with `data.tabular`, fits the encoder on the TRAIN rows only (the items that
 * loaded) and gives every split its encoded rows `[N, F]`; without it, the sets come back unchanged.
 */
export function attachTabular(cfg: RunConfig, source: DatasetSource, sets: RunSets): RunSets & { encoder?: TabularEncoder } {
  const spec = cfg.data.tabular;
  if (!spec || spec.numeric.length + spec.categorical.length === 0) return sets;
  const metaOf = (set: ImageSet) => set.indices.map((i) => source.items[i]!.meta);
  const encoder = fitTabularEncoder(metaOf(sets.train), spec);
  const features = encoder.features.length;
  const withRows = (set: ImageSet): ImageSet => ({ ...set, tabular: { data: encodeTabular(encoder, metaOf(set)), features } });
  return { encoder, train: withRows(sets.train), val: withRows(sets.val), test: withRows(sets.test) };
}

/** The metadata columns `columns` of a set's rows as strings (null/absent → ''), for subgroup tables. */
export function metaColumns(source: DatasetSource, set: ImageSet, columns: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of columns) {
    if (!source.items.some((it) => it.meta !== undefined && c in it.meta)) {
      throw new MedclassError('MC_TRAIN_BAD_CONFIG', `eval.subgroups: '${c}' is not a metadata column of ${source.name}`, {
        hint: 'name a CSV column other than path/label/split/group, or a data.binned name',
      });
    }
    out[c] = set.indices.map((i) => {
      const v = source.items[i]!.meta?.[c];
      return v === null || v === undefined ? '' : String(v);
    });
  }
  return out;
}
