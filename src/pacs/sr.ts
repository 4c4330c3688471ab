import { createHash } from 'node:crypto';
import { uidFromDigest, writeDicom } from '../data/index.js';

/**
 * A classification result as a DICOM Comprehensive SR (PS3.3 A.35.3), one per classified instance, in the source's
 * study: the finding as a TEXT item, one NUM item per class probability (DS text and the exact FD value), the
 * decision and its operating point, the model's name, medclass version and run fingerprint, the device observer,
 * a "research use only" statement, and an IMAGE item plus the evidence sequence referencing the source instance.
 *
 * UIDs are under the ISO/IEC 9834-8 root `2.25` (no registered organisation root needed): the SR's SOP Instance UID
 * is derived from SHA-256(run fingerprint, source SOP Instance UID), so the same model on the same instance always
 * writes the same SR (a re-post replaces rather than duplicates); its Series Instance UID from (fingerprint, study).
 */

/** The SOP Class UID of Comprehensive SR. */
export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';
/** The local coding scheme of medclass's own concepts (PS3.16 8.2: private schemes start with 99). */
export const MEDCLASS_SCHEME = '99MEDCLASS';
/** The statement every medclass SR carries. */
export const RESEARCH_USE_STATEMENT = 'Research use only. Not for diagnostic use: produced by medclass, research software, not a diagnostic device.';

/** What one SR reports: the source instance, the model, and its prediction for that instance. */
export interface ClassificationSrInput {
  /** naturalised header of the source instance (patient and study attributes are copied from it) */
  readonly source: Readonly<Record<string, unknown>>;
  readonly model: { readonly name: string; readonly fingerprint: string; readonly medclassVersion: string };
  readonly classes: readonly string[];
  /** probability per class, in `classes` order (calibrated when `temperature` is set) */
  readonly probabilities: readonly number[];
  readonly label: string;
  readonly temperature: number | null;
  readonly now: Date;
}

/** A built SR: its Part 10 bytes and UIDs. */
export interface ClassificationSr {
  readonly bytes: Uint8Array;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
}

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest();
const code = (CodeValue: string, CodingSchemeDesignator: string, CodeMeaning: string) => [{ CodeValue, CodingSchemeDesignator, CodeMeaning: CodeMeaning.slice(0, 64) }];
const text = (concept: ReturnType<typeof code>, TextValue: string, RelationshipType = 'CONTAINS') => ({ RelationshipType, ValueType: 'TEXT', ConceptNameCodeSequence: concept, TextValue });
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const da = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');
const tm = (d: Date) => d.toISOString().slice(11, 19).replace(/:/g, '');
/** A DS value (at most 16 characters) with 10 significant digits. */
const ds = (x: number) => { const s = x.toPrecision(10); return s.length <= 16 ? s : x.toPrecision(6); };

/** The SR's SOP Instance UID for a model fingerprint and a source SOP Instance UID (deterministic, see the file comment). */
export function srInstanceUid(fingerprint: string, sourceSopInstanceUid: string): string {
  return uidFromDigest(sha('medclass-sr-instance', fingerprint, sourceSopInstanceUid));
}

/** Builds the Comprehensive SR of one classification (see the file comment for its content tree). */
export function buildClassificationSr(input: ClassificationSrInput): ClassificationSr {
  const s = input.source;
  const study = str(s.StudyInstanceUID);
  const sopInstanceUid = srInstanceUid(input.model.fingerprint, str(s.SOPInstanceUID));
  const seriesInstanceUid = uidFromDigest(sha('medclass-sr-series', input.model.fingerprint, study));
  const ref = { ReferencedSOPClassUID: str(s.SOPClassUID), ReferencedSOPInstanceUID: str(s.SOPInstanceUID) };
  const operatingPoint = input.temperature !== null
    ? `arg-max of the class probabilities calibrated by temperature scaling (T = ${ds(input.temperature)})`
    : 'arg-max of the (uncalibrated) class probabilities';
  const content = [
    { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'CODE', ConceptNameCodeSequence: code('121005', 'DCM', 'Observer Type'), ConceptCodeSequence: code('121007', 'DCM', 'Device') },
    { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'UIDREF', ConceptNameCodeSequence: code('121012', 'DCM', 'Device Observer UID'), UID: uidFromDigest(sha('medclass-device', input.model.fingerprint)) },
    text(code('121013', 'DCM', 'Device Observer Name'), input.model.name, 'HAS OBS CONTEXT'),
    text(code('121014', 'DCM', 'Device Observer Manufacturer'), 'medclass', 'HAS OBS CONTEXT'),
    text(code('121106', 'DCM', 'Comment'), RESEARCH_USE_STATEMENT),
    text(code('121071', 'DCM', 'Finding'), input.label),
    ...input.classes.map((c, i) => ({
      RelationshipType: 'CONTAINS', ValueType: 'NUM', ConceptNameCodeSequence: code(`MCP${i}`, MEDCLASS_SCHEME, `Probability of ${c}`),
      MeasuredValueSequence: [{ NumericValue: ds(input.probabilities[i]!), FloatingPointValue: input.probabilities[i]!, MeasurementUnitsCodeSequence: code('1', 'UCUM', 'no units') }],
    })),
    text(code('MCDECISION', MEDCLASS_SCHEME, 'Decision'), input.label),
    text(code('MCOPPOINT', MEDCLASS_SCHEME, 'Operating point'), operatingPoint),
    text(code('111001', 'DCM', 'Algorithm Name'), input.model.name),
    text(code('111003', 'DCM', 'Algorithm Version'), `medclass ${input.model.medclassVersion}`),
    text(code('MCRUNFP', MEDCLASS_SCHEME, 'Run fingerprint (model.onnx SHA-256)'), input.model.fingerprint),
    { RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ConceptNameCodeSequence: code('121112', 'DCM', 'Source of Measurement'), ReferencedSOPSequence: [ref] },
  ];
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: COMPREHENSIVE_SR, SOPInstanceUID: sopInstanceUid, InstanceCreationDate: da(input.now), InstanceCreationTime: tm(input.now),
    // Patient and General Study modules: the source's, so the SR files into the same patient and study.
    PatientName: s.PatientName ?? '', PatientID: str(s.PatientID), PatientBirthDate: str(s.PatientBirthDate), PatientSex: str(s.PatientSex),
    StudyInstanceUID: study, StudyDate: str(s.StudyDate), StudyTime: str(s.StudyTime), ReferringPhysicianName: s.ReferringPhysicianName ?? '',
    StudyID: str(s.StudyID), AccessionNumber: str(s.AccessionNumber),
    Modality: 'SR', SeriesInstanceUID: seriesInstanceUid, SeriesNumber: 9901, SeriesDescription: 'medclass classification (research use only)',
    Manufacturer: 'medclass', SoftwareVersions: input.model.medclassVersion,
    InstanceNumber: 1, ContentDate: da(input.now), ContentTime: tm(input.now), CompletionFlag: 'COMPLETE', VerificationFlag: 'UNVERIFIED',
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [{ StudyInstanceUID: study, ReferencedSeriesSequence: [{ SeriesInstanceUID: str(s.SeriesInstanceUID), ReferencedSOPSequence: [ref] }] }],
    ValueType: 'CONTAINER', ContinuityOfContent: 'SEPARATE', ConceptNameCodeSequence: code('18748-4', 'LN', 'Diagnostic imaging report'),
    ContentSequence: content,
  };
  return { bytes: writeDicom(dataset, 'classification SR'), sopInstanceUid, seriesInstanceUid, studyInstanceUid: study };
}
