import { openRunDir } from '../run/index.js';
import type { GradCamReportInput } from './grad-cam-section.js';
import { readEmbeddingMap } from './embedding-map-section.js';
import { renderReportHtml } from './html.js';
import { modelCardMarkdown } from './model-card.js';
import { readRunData } from './run-data.js';

/** What `writeReport` wrote: file names inside the run directory and their sizes in bytes. */
export interface ReportFiles {
  html: string;
  modelCard: string;
  htmlBytes: number;
  modelCardBytes: number;
}

/**
 * Writes `report.html` (one self-contained page: inline SVG plots and CSS, no scripts or external assets) and
 * `model-card.md` into a run directory (recorded with their SHA-256 in run.json), from its metrics.json, run.json,
 * history.csv and preprocess.json.
 * `gradCam` (computed by the pipeline, which can run the model) fills the "Grad-CAM examples" section.
 * Throws `MC_TRAIN_BAD_RUN_DIR` when metrics.json is missing.
 */
export function writeReport(runDir: string, opts: { generatedAt?: string; gradCam?: GradCamReportInput } = {}): ReportFiles {
  const data = readRunData(runDir);
  const run = openRunDir(runDir);
  const embeddingMap = readEmbeddingMap(run);
  const html = renderReportHtml(data, { ...opts, ...(embeddingMap ? { embeddingMap } : {}) });
  const card = modelCardMarkdown(data);
  run.writeFile('report.html', html);
  run.writeFile('model-card.md', card);
  return { html: 'report.html', modelCard: 'model-card.md', htmlBytes: Buffer.byteLength(html), modelCardBytes: Buffer.byteLength(card) };
}
