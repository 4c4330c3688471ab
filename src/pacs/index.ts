// Public surface of the pacs layer (PACS round trips above pipeline: DICOMweb predict, results as DICOM SR): named re-exports only.
export { DicomWebPredictOptions, DicomWebPredictor, dicomwebPredict } from './dicomweb-predict.js';
export type { DicomWebPredictEvent, DicomWebPredictOptionsInput, DicomWebPredictResult, DicomWebPredictSummary } from './dicomweb-predict.js';
export { COMPREHENSIVE_SR, MEDCLASS_SCHEME, RESEARCH_USE_STATEMENT, buildClassificationSr, srInstanceUid } from './sr.js';
export type { ClassificationSr, ClassificationSrInput } from './sr.js';
export { ProcessedState } from './state.js';
export { DicomWebWatchOptions, dicomwebWatch } from './dicomweb-watch.js';
export type { DicomWebWatchEvent, DicomWebWatchOptionsInput, DicomWebWatchSummary } from './dicomweb-watch.js';
export { SECONDARY_CAPTURE, buildGradCamSc } from './sc.js';
export type { GradCamScInput } from './sc.js';
