import type { FigureFile } from '../run/index.js';
import type { CompareInput } from './compare-section.js';
import type { EmbeddingMapInput } from './embedding-map-section.js';
import type { GradCamReportInput } from './grad-cam-section.js';
import type { TestPredictions } from './predictions.js';
import type { RunReportData } from './run-data.js';
import type { SimilarCasesInput } from './similar-section.js';

/** Everything the report sections read: the run's data plus what the pipeline computed for it (each optional). */
export interface ReportContext {
  data: RunReportData;
  /** calibrated test predictions (predictions.csv + calibration.json), for the ROC band, confidence histogram and error marks */
  predictions?: TestPredictions;
  gradCam?: GradCamReportInput;
  embeddingMap?: EmbeddingMapInput;
  similar?: SimilarCasesInput;
  compare?: CompareInput;
  /** inputs of sections hooked in by other modules (keyed by the section's id) */
  extras?: Record<string, unknown>;
  generatedAt?: string;
}

/** One section of report.html: an id (the figure prefix), its HTML, and its plots as standalone SVG files. */
export interface ReportSection { id: string; html: string; figures?: FigureFile[] }

/** A section builder: undefined (or empty html) leaves the section out. */
export type SectionBuilder = (ctx: ReportContext) => ReportSection | undefined;

/** A figure of a section: `<section>-<plot>` as its file stem, when the plot exists. */
export const fig = (section: string, plot: string, svg: string | undefined): FigureFile[] => (svg ? [{ name: `${section}-${plot}`, svg }] : []);
