import { openRunDir, readUncertainty, writeFigures, type WrittenFigure } from '../run/index.js';
import type { CompareInput } from './compare-section.js';
import { readEmbeddingMap } from './embedding-map-section.js';
import type { GradCamReportInput } from './grad-cam-section.js';
import { renderReport } from './html.js';
import { modelCardMarkdown } from './model-card.js';
import { readTestPredictions } from './predictions.js';
import { readRunData, type SplitClassCounts } from './run-data.js';
import { readSimilarCases } from './similar-section.js';

/** What `writeReport` wrote: file names inside the run directory, sizes in bytes, the sections and figure files. */
export interface ReportFiles {
  html: string;
  modelCard: string;
  htmlBytes: number;
  modelCardBytes: number;
  sections: string[];
  figures: WrittenFigure[];
}

/** Inputs of `writeReport` that only the pipeline can compute (it runs the model and reads the data). */
export interface WriteReportOptions {
  generatedAt?: string;
  /** fills the "Grad-CAM gallery" section */
  gradCam?: GradCamReportInput;
  /** per-class image counts of each split (the data source's), for the Data table */
  classCounts?: SplitClassCounts;
  /** other runs shown side by side (the pipeline checks their data) */
  compare?: CompareInput;
  /** inputs of sections hooked in by other modules, by section id */
  extras?: Record<string, unknown>;
  /** write figures/*.svg and *.png (default true) */
  figures?: boolean;
}

/**
 * Writes `report.html` (one self-contained page: inline SVG plots and CSS, no scripts or external assets),
 * `model-card.md` and every plot as `figures/<section>-<plot>.svg` + `.png` into a run directory (recorded with
 * their SHA-256 in run.json), from its metrics.json, run.json, history.csv, preprocess.json, predictions.csv and index/.
 * Throws `MC_TRAIN_BAD_RUN_DIR` when metrics.json is missing.
 */
export function writeReport(runDir: string, opts: WriteReportOptions = {}): ReportFiles {
  const data = readRunData(runDir);
  if (opts.classCounts) data.classCounts = opts.classCounts;
  const run = openRunDir(runDir);
  const predictions = readTestPredictions(run);
  const embeddingMap = readEmbeddingMap(run, predictions);
  const similar = readSimilarCases(run);
  const { figures: _f, classCounts: _c, ...ctxOpts } = opts;
  const uncertainty = readUncertainty(run); // ensembles and MC-dropout runs: uncertainty-section.ts
  const r = renderReport({ ...ctxOpts, ...(uncertainty ? { extras: { uncertainty, ...ctxOpts.extras } } : {}), data, ...(predictions ? { predictions } : {}), ...(embeddingMap ? { embeddingMap } : {}), ...(similar ? { similar } : {}) });
  const card = modelCardMarkdown(data);
  run.writeFile('report.html', r.html);
  run.writeFile('model-card.md', card);
  const figures = opts.figures === false ? [] : writeFigures(run, r.figures);
  return { html: 'report.html', modelCard: 'model-card.md', htmlBytes: Buffer.byteLength(r.html), modelCardBytes: Buffer.byteLength(card), sections: r.sections, figures };
}
