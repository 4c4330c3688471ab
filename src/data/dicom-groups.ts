import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { MedclassError } from '../errors.js';
import { mapLimit } from './concurrency.js';
import { parseDicom, type DicomElements } from './dicom-parse.js';
import type { DatasetItem, DatasetSource } from './types.js';

/** Environment variable holding a hex key (≥ 16 bytes) that makes patient group ids the same across processes. */
export const GROUP_KEY_ENV = 'MEDCLASS_GROUP_KEY';

let processKey: Buffer | undefined;
let configuredKey: Buffer | undefined;

/**
 * Sets the hex key (≥ 16 bytes) of `patientGroupId`; the CLI passes MEDCLASS_GROUP_KEY, library users call this
 * themselves. Undefined or empty goes back to the per-process random key. A malformed key throws here, at start-up,
 * rather than inside a folder scan that skips unreadable headers.
 */
export function setPatientGroupKey(hex: string | undefined): void {
  const key = hex?.trim();
  if (key && !/^([0-9a-fA-F]{2}){16,}$/.test(key)) {
    throw new MedclassError('MC_DATA_BAD_GROUP_KEY', `${GROUP_KEY_ENV}: expected at least 32 hex digits (16 bytes), got ${key.length} characters`, { hint: 'e.g. openssl rand -hex 32' });
  }
  configuredKey = key ? Buffer.from(key, 'hex') : undefined;
}

/**
 * The key of `patientGroupId`: the key set by `setPatientGroupKey` (MEDCLASS_GROUP_KEY in the CLI), else 32 random
 * bytes drawn once per process and never written anywhere. An unkeyed digest of a short numeric MRN can be reversed
 * by hashing every candidate; a digest under a key nobody holds cannot. Splits do not depend on the ids' values (units
 * are taken in item order), so a per-process key changes no split, only the ids printed or written (`data split`, a
 * fetch's manifest).
 */
function groupKey(): Buffer {
  if (configuredKey) return configuredKey;
  processKey ??= randomBytes(32);
  return processKey;
}

/**
 * The group id of a DICOM PatientID: 16 hex digits of an HMAC-SHA-256 under `groupKey()`, so patient-level splits
 * never hold the ID in plain text nor a digest anyone can reverse (the DICOMweb fetch writes the same id into its
 * manifest's group column).
 */
export function patientGroupId(patientId: string): string {
  return createHmac('sha256', groupKey()).update(`medclass-group\u0000${patientId}`).digest('hex').slice(0, 16);
}

/** The group id of a parsed DICOM header's PatientID (undefined when it has none), as folders and the DICOMweb fetch use it. */
export function patientGroupOf(elements: DicomElements): string | undefined {
  const id = elements.PatientID;
  const patient = String((Array.isArray(id) ? id[0] : id) ?? '').replace(/\0+$/, '').trim();
  return patient ? patientGroupId(patient) : undefined;
}

/** Files named like these are never DICOM here, so their bytes are not read for a PatientID. */
const IMAGE_EXTENSION = /\.(png|jpe?g|bmp|tiff?|webp|gif|avif|heic)$/i;

export const DicomGroupOptions = z.strictObject({
  concurrency: z.number().int().min(1).max(64).default(4).describe('headers read at once'),
});
export type DicomGroupOptions = z.input<typeof DicomGroupOptions>;

/**
 * A copy of `source` whose DICOM files are grouped by patient: each file-backed item that parses as DICOM and has a
 * PatientID gets `group = patientGroupId(PatientID)`, so splits keep a patient's images together. The source is returned
 * as is when any item already has a group (a CSV group column or a group pattern decides) or when no file yields a
 * PatientID; otherwise it says so in `groupColumn` ({ name: 'PatientID', detected: true, from: 'dicom' }). Files that
 * are not DICOM, fail to parse or carry no PatientID stay without a group (their load() reports broken files).
 * @example const src = await withDicomPatientGroups(openSource('cxr-dicom/')); // src.groupColumn?.from === 'dicom'
 */
export async function withDicomPatientGroups(source: DatasetSource, options: DicomGroupOptions = {}): Promise<DatasetSource> {
  const o = DicomGroupOptions.parse(options);
  if (source.groupPattern || source.items.some((it) => it.group !== undefined)) return source;
  let grouped = 0;
  const items = await mapLimit(source.items, o.concurrency, async (item): Promise<DatasetItem> => {
    if (!item.bytes || IMAGE_EXTENSION.test(item.id)) return item;
    try {
      const group = patientGroupOf(parseDicom(await item.bytes(), item.id, true).elements); // throws on files that are not DICOM
      if (!group) return item;
      grouped++;
      return { ...item, group };
    } catch {
      return item;
    }
  });
  return grouped === 0 ? source : { ...source, items, groupColumn: { name: 'PatientID', detected: true, from: 'dicom' } };
}

/** Where a source's groups came from, for messages: `column 'lesion_id', detected as a patient/lesion id`, `DICOM PatientID, digested`. */
export function groupSourcePhrase(g: NonNullable<DatasetSource['groupColumn']>): string {
  if (g.from === 'dicom') return 'DICOM PatientID, digested';
  return `column '${g.name}'${g.detected ? ', detected as a patient/lesion id' : ''}`;
}
