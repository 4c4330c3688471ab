import { MedclassError } from '../errors.js';
import { writeReport, type GradCamReportInput, type ReportFiles, type SplitClassCounts } from '../report/index.js';
import { openRunDir } from '../run/index.js';
import { gradCamGallery } from './grad-cam-gallery.js';
import { loadComparison } from './report-compare.js';
import { shapTabularRun } from './tabular-attribution.js';

/** Options of `writeRunReport` (`medclass report`, and `train` / `demo` at the end of a run). */
export interface RunReportOptions {
  /** data source for the gallery and the per-class counts (default: the run's) */
  data?: string;
  /** leave the Grad-CAM gallery out (it needs model.onnx and the data source) */
  gradCam?: boolean;
  /** gallery images per cell (TP, FP, FN, TN), default 4 */
  perCell?: number;
  /** other run directories shown side by side in a "Comparison" section */
  compare?: readonly string[];
  /** compare runs on other data too (marked) instead of refusing them */
  allowDifferentData?: boolean;
  threads?: number;
  generatedAt?: string;
  /** inputs of sections hooked in by other modules, by section id */
  extras?: Record<string, unknown>;
}

/** What `writeRunReport` wrote, and why the gallery is missing when it is. */
export interface RunReport extends ReportFiles { gradCamExamples: number; gradCamUnavailable?: string }

/**
 * Writes a run's complete report: the Grad-CAM gallery and per-class split counts read from its data source (left
 * out, with the reason shown, when the source cannot be read), the comparison with `compare` runs (refused for
 * other data with `MC_RUN_DIFFERENT_DATA` unless allowed), report.html, model-card.md and figures/.
 */
export async function writeRunReport(runDir: string, opts: RunReportOptions = {}): Promise<RunReport> {
  const compare = opts.compare?.length ? loadComparison(runDir, opts.compare, opts.allowDifferentData) : undefined;
  let gradCam: GradCamReportInput;
  let classCounts: SplitClassCounts | undefined;
  if (opts.gradCam === false) gradCam = { unavailable: 'left out (--no-gradcam).' };
  else {
    try {
      const g = await gradCamGallery(runDir, { ...(opts.data ? { data: opts.data } : {}), ...(opts.perCell ? { perCell: opts.perCell } : {}), threads: opts.threads ?? 1 });
      gradCam = { layer: g.layer, examples: g.examples, perGroup: g.perGroup, note: g.note, groups: g.groups };
      classCounts = g.classCounts;
    } catch (e) {
      if (e instanceof MedclassError && e.code === 'MC_CLI_BAD_OPTION') throw e;
      gradCam = { unavailable: e instanceof MedclassError ? `${e.code}: ${e.message}` : (e as Error).message };
    }
  }
  // Runs with tabular input (tabular-mlp, early or late fusion): exact SHAP values of the tabular columns (shap.json).
  let extras = opts.extras;
  if (!extras?.shap && openRunDir(runDir).preprocess().tabularInput) {
    try {
      extras = { ...extras, shap: await shapTabularRun(runDir, { threads: opts.threads ?? 1 }) };
    } catch (e) {
      if (!(e instanceof MedclassError)) throw e; // data unreadable here: the section is left out
    }
  }
  const r = writeReport(runDir, {
    gradCam, ...(classCounts ? { classCounts } : {}), ...(compare ? { compare } : {}), ...(extras ? { extras } : {}),
    generatedAt: opts.generatedAt ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  return { ...r, gradCamExamples: 'examples' in gradCam ? gradCam.examples.length : 0, ...('unavailable' in gradCam ? { gradCamUnavailable: gradCam.unavailable } : {}) };
}
