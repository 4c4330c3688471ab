import { z } from 'zod';
import { isValidGroupPattern } from './group-pattern.js';

/** How an image becomes a model input tensor `[C,H,W]` float32. */
export const PreprocessOptions = z.strictObject({
  size: z.number().int().min(1).max(4096).default(64).describe('output height and width in pixels'),
  channels: z.union([z.literal(1), z.literal(3)]).default(1).describe('1 = grey, 3 = RGB; grey↔RGB converted as needed'),
  fit: z.enum(['letterbox', 'squash']).default('squash').describe('letterbox keeps the aspect ratio and pads with black; squash stretches'),
  normalize: z.enum(['imagenet', 'half', 'none']).default('none')
    .describe('imagenet: (x-mean)/std with ImageNet statistics (grey: 0.449/0.226); half: (x-0.5)/0.5; none: x in [0,1]'),
});
export type PreprocessOptions = z.input<typeof PreprocessOptions>;
export type PreprocessConfig = z.output<typeof PreprocessOptions>;

/** Column mapping for CSV manifests; defaults read `path,label[,split][,group]`, every other column is metadata. */
export const CsvOptions = z.strictObject({
  pathCol: z.string().default('path').describe('column holding the image path (or id, with pathTemplate)'),
  labelCol: z.string().default('label').describe('column holding the class name'),
  splitCol: z.string().default('split').describe('column holding train/val/test (optional in the file)'),
  groupCol: z.string().default('group').describe("column holding a patient/lesion id for group-aware splits (optional in the file); by default a 'group' column, else a patient_id / subject_id / lesion_id-like column if present; '' = no groups"),
  pathTemplate: z.string().default('{}').describe("turns the path column into a path relative to the CSV: '{}' is replaced by the value, e.g. 'images/{}.jpg'"),
  delimiter: z.string().length(1).default(',').describe('field delimiter'),
  allowOutsidePaths: z.boolean().default(false)
    .describe("let paths point outside the CSV's folder (absolute or '../'); off: such a row fails with MC_DATA_OUTSIDE_ROOT"),
});
export type CsvOptions = z.input<typeof CsvOptions>;

/** A regex over file names whose first capture group (or whole match) is the item's group; see `withGroupPattern`. */
export const GroupPattern = z.string().min(1).refine(isValidGroupPattern, 'not a valid regular expression')
  .describe('regex over each file name (last part of the item id); its first capture group, or the whole match, is the patient/group id; unmatched files get no group');

/** Limits every encoded image must meet before (pixel count) and after (side length) decoding; see `image-guard.ts`. */
export const ImageGuardOptions = z.strictObject({
  maxPixels: z.number().int().min(1).default(40_000_000)
    .describe('largest width × height accepted, read from the file header before any pixel is decoded (MC_DATA_TOO_MANY_PIXELS beyond)'),
  minSide: z.number().int().min(1).default(8).describe('smallest width and height accepted in pixels (MC_DATA_IMAGE_TOO_SMALL below)'),
});
export type ImageGuardOptions = z.input<typeof ImageGuardOptions>;
export type ImageGuardConfig = z.output<typeof ImageGuardOptions>;

/** Options for `openSource`. */
export const SourceOptions = z.strictObject({
  csv: CsvOptions.optional().describe('column mapping when the source is a CSV manifest'),
  groupPattern: GroupPattern.optional(),
  guard: ImageGuardOptions.optional().describe('pixel limit and minimum size of the image files of folder, CSV and DICOM sources (defaults when absent)'),
});
export type SourceOptions = z.input<typeof SourceOptions>;

/** How splits are made. `keep` uses the source's own split (and falls back to `stratified` when it has none). */
export const SplitOptions = z.strictObject({
  mode: z.enum(['keep', 'stratified', 'merge-train-val']).default('keep')
    .describe('keep the source split; stratified: re-split everything by fractions; merge-train-val: pool train+val, re-split by valFraction, keep test'),
  fractions: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]).default([0.7, 0.15, 0.15])
    .describe('train, val, test fractions (sum 1) for stratified splits'),
  valFraction: z.number().gt(0).lt(1).default(0.2).describe('share of pooled train+val that becomes val in merge-train-val'),
  byGroup: z.boolean().default(true).describe('keep every group (patient, lesion) inside one split when items have groups'),
  seed: z.number().int().default(0).describe('seed; splits draw from Rng(seed).fork("split")'),
});
export type SplitOptions = z.input<typeof SplitOptions>;

/** Options of the dataset audit. */
export const AuditOptions = z.strictObject({
  nearThreshold: z.number().int().min(0).max(256).default(10)
    .describe('near duplicate when the 256-bit dHash Hamming distance is at most this (and pixels differ)'),
  concurrency: z.number().int().min(1).max(64).default(4).describe('images decoded at once'),
  maxListed: z.number().int().min(0).default(10_000).describe('cap on near-duplicate pairs listed in the JSON'),
  metaKeys: z.array(z.string()).default([]).describe('metadata keys (e.g. DICOM tags from withDicomMeta) to count items per value of'),
});
export type AuditOptions = z.input<typeof AuditOptions>;
