// Public surface of the data layer: named re-exports only.
export type { DatasetItem, DatasetSource, DecodedImage, DataEvent, OnDataEvent, MetaValue, SplitName } from './types.js';
export { PreprocessOptions, CsvOptions, SourceOptions, GroupPattern, SplitOptions, AuditOptions } from './options.js';
export { withGroupPattern } from './group-pattern.js';
export type { PreprocessConfig } from './options.js';
export { openSource } from './open-source.js';
export { openFolderSource } from './folder-source.js';
export { openNpzSource } from './npz-source.js';
export { openCsvSource } from './csv-source.js';
export { phantomSource, parsePhantomSpec } from './phantoms.js';
export type { PhantomOptions } from './phantoms.js';
export { decodeBytes, preprocessImage, sniffFormat, normalizationStats } from './decode.js';
export type { ImageFormat } from './decode.js';
export { Dataset, describeFailure } from './dataset.js';
export type { Batch, DatasetOptions, SkippedItem } from './dataset.js';
export { stratifiedSplit, kFold, assignSplits, groupLeaks } from './splits.js';
export type { SplitItem } from './splits.js';
export { canonicalSplit } from './split-names.js';
export { auditSource } from './audit.js';
export type { AuditReport, AuditMember } from './audit.js';
export { pixelHash, canonicalPixels, dHash, hamming, hashHex } from './hash.js';
export { mapLimit } from './concurrency.js';
export { fetchMedmnist, md5File, MEDMNIST_FILES } from './fetch.js';
export type { FetchOptions } from './fetch.js';
export { decodeDicom, dicomTransferSyntaxes } from './dicom.js';
export type { DicomImageData, DicomWindow } from './dicom.js';
export { sniffDicom, parseDicom } from './dicom-parse.js';
export type { DicomLayout, ParsedDicom } from './dicom-parse.js';
export { withDicomMeta, pickDicomMeta, DicomMetaOptions, DicomMetaTagList, DICOM_META_TAGS } from './dicom-meta.js';
export type { DicomMetaTag } from './dicom-meta.js';
export { openDicomFile, isDicomFile } from './dicom-source.js';
export { resampleBilinear } from './resample.js';
export {
  BinnedColumn, TabularOptions, binLabels, binValue, checkTabularEncoder, encodeTabular, fitTabularEncoder, occlusionRows, tabularColumns, withBinnedColumns, withBinnedSource,
} from './tabular.js';
export type { BinnedColumnInput, OcclusionColumn, TabularEncoder, TabularOptionsInput } from './tabular.js';
