import { assignSplits, openSource, withDicomPatientGroups, type CsvOptions, type DatasetSource, type ImageGuardOptions, type SplitName } from '../data/index.js';
import { splitOptionsOf, type RunDir } from '../run/index.js';

/** The parts of a run config's `data` that decide how a source is read and split. */
export interface RunDataSpec { csv?: CsvOptions; groupPattern?: string; guard?: ImageGuardOptions }

/**
 * Opens a data source the way a run reads it: with the run's CSV column mapping (unless `csv` overrides it) and its
 * file-name group pattern, since groups decide the splits. Training and every command that re-reads a run's data
 * (eval --data, index, the report's Grad-CAM examples) open sources through this.
 */
export function openRunSource(spec: string, data: RunDataSpec | undefined, csv?: CsvOptions): DatasetSource {
  const mapping = csv ?? data?.csv;
  return openSource(spec, { ...(mapping ? { csv: mapping } : {}), ...(data?.groupPattern ? { groupPattern: data.groupPattern } : {}), ...(data?.guard ? { guard: data.guard } : {}) });
}

/**
 * The split of each item of `source` for the run: as run.json records it; an item the run never saw joins its
 * group's recorded split (DICOM files grouped by patient, as training grouped them), else is split as the run's
 * config says. Every command that re-reads a run's data splits it through this.
 */
export async function runSplits(run: RunDir, source: DatasetSource): Promise<{ splits: SplitName[]; recorded: number; unknown: number }> {
  const cfg = run.config;
  // DICOM headers are read only when some item needs placing: then its patient group decides, as in training
  const placed = run.unseenCount(source) > 0 ? await withDicomPatientGroups(source) : source;
  return run.splitsFor(placed, () => assignSplits(placed.items, splitOptionsOf(cfg)));
}
