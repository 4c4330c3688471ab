import { openSource, type CsvOptions, type DatasetSource, type ImageGuardOptions } from '../data/index.js';

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
