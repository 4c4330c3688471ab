import { createHash } from 'node:crypto';
import { uidFromDigest, writeDicom, type DecodedImage } from '../data/index.js';
import { RESEARCH_USE_STATEMENT } from './sr.js';

/**
 * The Grad-CAM overlay of a classified instance as a Secondary Capture Image (PS3.3 A.8.1), in the source's study:
 * 8-bit RGB at the model's input size, Source Image Sequence referencing the source instance, Derivation Description
 * naming the model, the explained class and the run fingerprint, and Burned In Annotation NO (the overlay draws no
 * text). UIDs under `2.25` from SHA-256 of (run fingerprint, source SOP Instance UID), like the SR's.
 */

/** The SOP Class UID of Secondary Capture Image Storage. */
export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

/** What one Grad-CAM Secondary Capture carries. */
export interface GradCamScInput {
  readonly source: Readonly<Record<string, unknown>>;
  readonly model: { readonly name: string; readonly fingerprint: string; readonly medclassVersion: string };
  /** the overlay, HWC uint8 (grey, RGB or RGBA; stored as RGB) */
  readonly image: DecodedImage;
  readonly explained: string;
  readonly now: Date;
}

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest();
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const da = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');
const tm = (d: Date) => d.toISOString().slice(11, 19).replace(/:/g, '');

function rgb(img: DecodedImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3 + ((n * 3) % 2)); // OB values have even length
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = img.data[i * img.channels + (img.channels >= 3 ? c : 0)]!;
  }
  return out;
}

/** Builds the Secondary Capture of one Grad-CAM overlay (see the file comment). */
export function buildGradCamSc(input: GradCamScInput): { bytes: Uint8Array; sopInstanceUid: string } {
  const s = input.source;
  const study = str(s.StudyInstanceUID);
  const sopInstanceUid = uidFromDigest(sha('medclass-sc-instance', input.model.fingerprint, str(s.SOPInstanceUID)));
  const pixels = rgb(input.image);
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192', SOPClassUID: SECONDARY_CAPTURE, SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: da(input.now), InstanceCreationTime: tm(input.now), ImageType: ['DERIVED', 'SECONDARY'],
    PatientName: s.PatientName ?? '', PatientID: str(s.PatientID), PatientBirthDate: str(s.PatientBirthDate), PatientSex: str(s.PatientSex),
    StudyInstanceUID: study, StudyDate: str(s.StudyDate), StudyTime: str(s.StudyTime), ReferringPhysicianName: s.ReferringPhysicianName ?? '',
    StudyID: str(s.StudyID), AccessionNumber: str(s.AccessionNumber),
    Modality: 'OT', SeriesInstanceUID: uidFromDigest(sha('medclass-sc-series', input.model.fingerprint, study)), SeriesNumber: 9902,
    SeriesDescription: 'medclass Grad-CAM (research use only)', Manufacturer: 'medclass', SoftwareVersions: input.model.medclassVersion,
    ConversionType: 'WSD', InstanceNumber: 1, ContentDate: da(input.now), ContentTime: tm(input.now), PatientOrientation: '',
    BurnedInAnnotation: 'NO', ImageComments: RESEARCH_USE_STATEMENT,
    DerivationDescription: `Grad-CAM of class '${input.explained}' by model ${input.model.name} (run ${input.model.fingerprint.slice(0, 16)})`.slice(0, 1024),
    SourceImageSequence: [{ ReferencedSOPClassUID: str(s.SOPClassUID), ReferencedSOPInstanceUID: str(s.SOPInstanceUID) }],
    SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0, Rows: input.image.height, Columns: input.image.width,
    BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0,
    PixelData: [pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.length)],
    _vrMap: { PixelData: 'OB' },
  };
  return { bytes: writeDicom(dataset, 'Grad-CAM secondary capture'), sopInstanceUid };
}
