import { MedclassError } from '../errors.js';
import { EXPLICIT_LE, dcmjs } from './dicom-parse.js';
import { MEDCLASS_IMPLEMENTATION_UID, MEDCLASS_IMPLEMENTATION_VERSION } from './deid.js';

interface DcmjsNaturalWrite {
  data: {
    DicomMetaDictionary: { denaturalizeDataset(d: object): Record<string, unknown> };
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(o?: Record<string, unknown>): ArrayBuffer };
  };
}

/**
 * Writes a naturalised dataset (DICOM keywords → values, sequences as arrays of objects, as dcmjs names them) as a
 * Part 10 file in explicit VR little endian, with file meta from its SOPClassUID and SOPInstanceUID and medclass's
 * implementation UID. Throws MC_DATA_DICOM_WRITE_FAILED naming `what` when dcmjs cannot encode it.
 */
export function writeDicom(dataset: Record<string, unknown>, what: string): Uint8Array {
  const sopClass = dataset.SOPClassUID;
  const sop = dataset.SOPInstanceUID;
  if (typeof sopClass !== 'string' || typeof sop !== 'string') throw new MedclassError('MC_DATA_DICOM_WRITE_FAILED', `${what}: a DICOM object needs SOPClassUID and SOPInstanceUID`);
  const lib = dcmjs() as unknown as DcmjsNaturalWrite;
  try {
    const meta = lib.data.DicomMetaDictionary.denaturalizeDataset({
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: sopClass,
      MediaStorageSOPInstanceUID: sop,
      TransferSyntaxUID: EXPLICIT_LE,
      ImplementationClassUID: MEDCLASS_IMPLEMENTATION_UID,
      ImplementationVersionName: MEDCLASS_IMPLEMENTATION_VERSION,
    });
    const d = new lib.data.DicomDict(meta);
    d.dict = lib.data.DicomMetaDictionary.denaturalizeDataset(dataset);
    return new Uint8Array(d.write());
  } catch (cause) {
    throw new MedclassError('MC_DATA_DICOM_WRITE_FAILED', `${what}: the DICOM object could not be encoded`, { cause });
  }
}
