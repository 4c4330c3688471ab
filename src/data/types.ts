import type { ErrorCode } from '../errors.js';

/** Decoded pixels, row-major HWC uint8 (channels 1 grey, 3 RGB, 4 RGBA), at the image's own size. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array;
}

/** Canonical split names; source-specific names (Training, Testing, valid, …) are mapped onto these. */
export type SplitName = 'train' | 'val' | 'test';

/** Scalar metadata carried along with an item (CSV extra columns, phantom blob position, …). */
export type MetaValue = string | number | boolean | null;

/** One labelled image of a source. `id` is stable: a path relative to the dataset root, or `split/index` in an npz. */
export interface DatasetItem {
  readonly id: string;
  readonly label: string;
  readonly labelIndex: number;
  readonly split?: SplitName;
  readonly group?: string;
  readonly meta?: Readonly<Record<string, MetaValue>>;
  /** Decodes the image at its own size; rejects with a MedclassError (empty, not an image, unreadable, missing). */
  load(): Promise<DecodedImage>;
  /** The encoded file bytes, for file-backed items (lets decoding and resizing run in one sharp pipeline). */
  bytes?(): Promise<Uint8Array>;
}

/** A dataset as a list of items and its class names (index = labelIndex). */
export interface DatasetSource {
  /** What the source is: `folder`, `npz`, `csv` or `phantom`. */
  readonly kind: 'folder' | 'npz' | 'csv' | 'phantom';
  /** Printable description (a relative path or spec). */
  readonly name: string;
  readonly classes: readonly string[];
  readonly items: readonly DatasetItem[];
  /** Set when groups come from file names (`SourceOptions.groupPattern`): distinct groups and unmatched items. */
  readonly groupPattern?: { readonly pattern: string; readonly groups: number; readonly unmatched: number };
  /**
   * Set when groups come from a CSV column or DICOM PatientIDs (`withDicomPatientGroups`, digested): the column or tag,
   * whether it was detected rather than named, and where it was read.
   */
  readonly groupColumn?: { readonly name: string; readonly detected: boolean; readonly from: 'csv' | 'dicom' };
}

/** Events the data layer reports through `onEvent`; the CLI renders them. */
export type DataEvent =
  | { type: 'progress'; phase: string; done: number; total: number; elapsedMs: number }
  | { type: 'item-skipped'; file: string; code: ErrorCode; reason: string };

export type OnDataEvent = (e: DataEvent) => void;
