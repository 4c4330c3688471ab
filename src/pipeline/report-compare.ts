import { MedclassError } from '../errors.js';
import { readRunData, type CompareInput } from '../report/index.js';
import { openRunDir } from '../run/index.js';

/** The data a run's metrics describe: run.json's fingerprint (ids, labels, splits) and where metrics.json was evaluated. */
function dataKey(dir: string): { fingerprint: string | undefined; evaluatedOn: string; classes: string } {
  const run = openRunDir(dir);
  const raw = run.rawMetrics() as { evaluated_on?: string; classes?: string[] } | undefined;
  return { fingerprint: run.hasManifest ? run.manifest.data?.fingerprint : undefined, evaluatedOn: raw?.evaluated_on ?? '', classes: (raw?.classes ?? []).join(',') };
}

/**
 * The runs of `report --compare`: `runDir` first, then `others`, each read for the report. Runs whose data
 * fingerprint, evaluation data or classes differ from `runDir`'s are refused with `MC_RUN_DIFFERENT_DATA` (metrics
 * on other test images are not comparable) unless `allowDifferentData`, which shows them marked.
 */
export function loadComparison(runDir: string, others: readonly string[], allowDifferentData = false): CompareInput {
  const base = dataKey(runDir);
  const runs: CompareInput['runs'] = [{ data: readRunData(runDir), sameData: true }];
  const differing: string[] = [];
  for (const dir of others) {
    const k = dataKey(dir);
    const same = base.fingerprint !== undefined && k.fingerprint === base.fingerprint && k.evaluatedOn === base.evaluatedOn && k.classes === base.classes;
    if (!same) differing.push(`${dir} (fingerprint ${k.fingerprint ?? 'none'} vs ${base.fingerprint ?? 'none'}${k.evaluatedOn !== base.evaluatedOn ? `, evaluated on ${k.evaluatedOn || '?'} vs ${base.evaluatedOn || '?'}` : ''}${k.classes !== base.classes ? ', other classes' : ''})`);
    runs.push({ data: readRunData(dir), sameData: same });
  }
  if (differing.length && !allowDifferentData) {
    throw new MedclassError('MC_RUN_DIFFERENT_DATA', `${differing.join('; ')}: not the data of ${runDir}, so the test metrics are not comparable`, {
      hint: 'compare runs trained and evaluated on the same data, or pass --allow-different-data to show them side by side, marked',
    });
  }
  return { runs };
}
