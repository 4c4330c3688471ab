// Public surface of the report layer (HTML report, SVG plots, model card): named re-exports only.
export { binsOf, fmt, headlineRows, perClassRows } from './headline.js';
export type { HeadlineRow } from './headline.js';
export { conformalOf, parseHistoryCsv, readRunData, reportBins, sourceName } from './run-data.js';
export type { HistoryRow, ReportConformal, RunReportData } from './run-data.js';
export { PALETTE, barChart, esc, heatmap, linePlot, niceTicks } from './svg.js';
export type { LinePlotSpec, Series } from './svg.js';
export { conformalPlot, confusionPlot, historyPlots, prPlot, reliabilityPlot, rocPlot } from './plots.js';
export { modelCard, modelCardHtml, modelCardMarkdown } from './model-card.js';
export type { ModelCardSection } from './model-card.js';
export { renderReportHtml } from './html.js';
export { writeReport } from './write-report.js';
export type { ReportFiles } from './write-report.js';
export { gradCamSection } from './grad-cam-section.js';
export type { GradCamExample, GradCamReportInput } from './grad-cam-section.js';
export { embeddingMapSection, readEmbeddingMap, scatterPlot } from './embedding-map-section.js';
export type { EmbeddingMapInput } from './embedding-map-section.js';
export { shapBarPlot, shapReportSection, shapSection } from './shap-section.js';
export type { ShapReportInput } from './shap-section.js';
