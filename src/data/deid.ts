import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { MedclassError } from '../errors.js';
import { dcmjs, pixelDataExtent, sniffDicom } from './dicom-parse.js';
import { DATE_OPTION_TAGS, isPrivateTag, profileCode, resolveAction, type DeidAction } from './deid-profile.js';

/**
 * De-identification of one DICOM Part 10 file by the PS3.15 Annex E Basic Application Level Confidentiality Profile
 * (`deid-profile.ts` holds Table E.1-1), as a pure bytes → bytes transform. Secrets come in as a key: every
 * replacement (UIDs, the patient pseudonym, the date offset) is an HMAC-SHA-256 of the original under that key, so
 * one key maps a study consistently across files and runs, and without the key nothing maps back.
 */

/** Options of `deidentifyDicom` (and `medclass dicom deid`). */
export const DeidOptions = z.strictObject({
  dates: z.enum(['remove', 'shift']).default('remove')
    .describe('remove: dates as the Basic Profile says (emptied or removed); shift: dates move back by a per-patient offset (Retain Longitudinal Temporal Information with Modified Dates Option), times kept'),
  maxShiftDays: z.number().int().min(1).max(36500).default(3650).describe('with dates = shift: the offset is 1 … maxShiftDays days back, drawn per patient from the key'),
  burnedIn: z.enum(['refuse', 'include']).default('refuse')
    .describe('files with BurnedInAnnotation = YES: refuse (MC_DATA_DEID_BURNED_IN), or include them and flag them in the result (their pixels are not cleaned)'),
});
export type DeidOptions = z.output<typeof DeidOptions>;
export type DeidOptionsInput = z.input<typeof DeidOptions>;

/** One de-identified file: the new bytes, the new UIDs, and what was replaced (for an optional mapping file). */
export interface DeidResult {
  readonly bytes: Uint8Array;
  readonly sopInstanceUid: string;
  readonly studyInstanceUid: string;
  /** original UID → replacement, every UID this file held */
  readonly uids: ReadonlyMap<string, string>;
  /** the original PatientID (or '' when none), its pseudonym and the date offset in days (0 when dates were removed) */
  readonly patient: { readonly id: string; readonly pseudonym: string; readonly dateOffsetDays: number };
  /** true when the file declared BurnedInAnnotation = YES and was included anyway */
  readonly burnedIn: boolean;
}

/** The implementation class UID medclass writes into file meta (a UUID-derived 2.25 UID, fixed). */
export const MEDCLASS_IMPLEMENTATION_UID = '2.25.250490839544881833678355575002631501376';
/** The implementation version name medclass writes into file meta. */
export const MEDCLASS_IMPLEMENTATION_VERSION = 'MEDCLASS_0_1';

/**
 * A UID under the ISO/IEC 9834-8 root `2.25` from the first 16 bytes of a digest, marked as an RFC 9562 version-8
 * (custom) UUID, so it is valid (≤ 44 characters, no leading zero) and needs no registered organisation root.
 */
export function uidFromDigest(digest: Uint8Array): string {
  if (digest.length < 16) throw new MedclassError('MC_DATA_DEID_FAILED', `uidFromDigest: expected ≥ 16 bytes, got ${digest.length}`);
  const b = Uint8Array.from(digest.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${Buffer.from(b).toString('hex')}`).toString()}`;
}

type Element = { vr: string; Value?: unknown[]; [k: string]: unknown };
type Dict = Record<string, Element>;
interface DcmjsWrite {
  data: {
    DicomMessage: { readFile(b: ArrayBuffer, o?: Record<string, unknown>): { meta: Dict; dict: Dict } };
    DicomDict: new (meta: Dict) => { dict: Dict; write(o?: Record<string, unknown>): ArrayBuffer };
  };
}

interface Ctx {
  readonly hmac: (label: string) => Buffer;
  readonly o: DeidOptions;
  readonly uids: Map<string, string>;
  offsetDays: number;
  pseudonym: string;
  /** inside a sequence the table marks D (e.g. Content Sequence): free text is replaced, codes kept */
  readonly scrub?: boolean;
}

const DUMMY = 'ANONYMIZED';
const PERSON_ID_CODE_SEQ = '00401101';
const FREE_TEXT = new Set(['LO', 'SH', 'ST', 'LT', 'UT', 'UC', 'PN']);
/** Code Value, Coding Scheme Designator and Version, Code Meaning, Long/URN Code Value: kept inside scrubbed sequences. */
const CODE_PARTS = new Set(['00080100', '00080102', '00080103', '00080104', '00080119', '00080120']);
const str = (e: Element | undefined): string => {
  const v = e?.Value?.[0];
  if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic?: string }).Alphabetic ?? '').trim();
  return typeof v === 'string' || typeof v === 'number' ? String(v).replace(/\0+$/, '').trim() : '';
};

function remapUid(uid: unknown, ctx: Ctx): unknown {
  if (typeof uid !== 'string') return uid;
  const clean = uid.replace(/\0+$/, '').trim();
  if (!clean) return clean;
  let out = ctx.uids.get(clean);
  if (!out) ctx.uids.set(clean, (out = uidFromDigest(ctx.hmac(`uid:${clean}`))));
  return out;
}

/** DA `YYYYMMDD` (or the date part of a DT) moved `days` back; malformed values come back empty. */
function shiftDate(v: unknown, days: number, vr: string): string {
  const s = typeof v === 'string' ? v.trim() : '';
  const m = /^(\d{4})(\d{2})(\d{2})(.*)$/.exec(s);
  if (!m) return '';
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - days * 86_400_000);
  if (Number.isNaN(d.getTime())) return '';
  const ymd = `${String(d.getUTCFullYear()).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return vr === 'DT' ? ymd + m[4] : ymd;
}

function dummy(tag: string, el: Element, ctx: Ctx): Element | undefined {
  switch (el.vr) {
    case 'SQ':
      if (tag === PERSON_ID_CODE_SEQ) {
        return { vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: [DUMMY] }, '00080102': { vr: 'SH', Value: ['99MEDCLASS'] }, '00080104': { vr: 'LO', Value: [DUMMY] } }] };
      }
      // D on a sequence: keep its structure, clean every item, and replace the free text in it (SR TEXT items, …)
      return { ...el, Value: (el.Value ?? []).map((item) => cleanDict(item as Dict, { ...ctx, scrub: true })) };
    case 'UI': return { ...el, Value: (el.Value ?? []).map((u) => remapUid(u, ctx)) };
    case 'PN': return { vr: 'PN', Value: [{ Alphabetic: DUMMY }] };
    case 'DA': return { vr: 'DA', Value: ['19000101'] };
    case 'DT': return { vr: 'DT', Value: ['19000101000000'] };
    case 'TM': return { vr: 'TM', Value: ['000000'] };
    case 'AS': return { vr: 'AS', Value: ['000Y'] };
    case 'IS': case 'DS': case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD': case 'UV': case 'SV': return { vr: el.vr, Value: [0] };
    case 'AE': case 'CS': case 'SH': case 'LO': case 'ST': case 'LT': case 'UT': case 'UC': case 'UR': return { vr: el.vr, Value: [DUMMY] };
    default: return { vr: el.vr, Value: [] }; // binary or attribute-tag values: no meaningful dummy, so zero length
  }
}

function apply(tag: string, el: Element, action: DeidAction | undefined, ctx: Ctx): Element | undefined {
  if (tag === '00100020' || tag === '00100010') {
    // Z allows a dummy: one keyed pseudonym per patient keeps a study's instances (and a patient's studies) together.
    return tag === '00100020' ? { vr: el.vr, Value: [ctx.pseudonym] } : { vr: 'PN', Value: [{ Alphabetic: ctx.pseudonym }] };
  }
  const isDate = el.vr === 'DA' || el.vr === 'DT';
  if (ctx.o.dates === 'shift' && (DATE_OPTION_TAGS.has(tag) || (isDate && action === undefined))) {
    return isDate ? { ...el, Value: (el.Value ?? []).map((v) => shiftDate(v, ctx.offsetDays, el.vr)) } : el;
  }
  if (action === undefined && isDate) action = 'Z'; // dates not in the table, by VR (Table E.1-1 note 4)
  switch (action) {
    case 'X': return undefined;
    case 'Z': return { vr: el.vr, Value: [] };
    case 'D': return dummy(tag, el, ctx);
    case 'U': return el.vr === 'SQ' ? { ...el, Value: (el.Value ?? []).map((item) => cleanDict(item as Dict, ctx)) } : { ...el, Value: (el.Value ?? []).map((u) => remapUid(u, ctx)) };
    default:
      if (el.vr === 'SQ') return { ...el, Value: (el.Value ?? []).map((item) => cleanDict(item as Dict, ctx)) };
      return ctx.scrub && FREE_TEXT.has(el.vr) && !CODE_PARTS.has(tag) ? dummy(tag, el, ctx) : el;
  }
}

function cleanDict(dict: Dict, ctx: Ctx): Dict {
  const out: Dict = {};
  for (const [tag, el] of Object.entries(dict)) {
    const t = tag.toUpperCase();
    if (isPrivateTag(t) || t.startsWith('0002')) continue;
    const code = profileCode(t);
    const next = apply(t, el, code && resolveAction(code), ctx);
    if (next) out[tag] = next;
  }
  return out;
}

const code = (value: string, meaning: string) => ({
  '00080100': { vr: 'SH', Value: [value] }, '00080102': { vr: 'SH', Value: ['DCM'] }, '00080104': { vr: 'LO', Value: [meaning] },
});

/**
 * De-identifies one DICOM Part 10 file (bytes): Table E.1-1 actions on every attribute, in sequences too; private
 * attributes removed; UIDs replaced by keyed 2.25 UIDs; PatientID and PatientName by a keyed pseudonym; dates removed
 * or shifted per patient; Patient Identity Removed = YES with the method codes (DCM 113100, and 113107 when shifted);
 * new file meta and a zero preamble. Throws MC_DATA_DEID_BURNED_IN (BurnedInAnnotation = YES, unless included),
 * MC_DATA_NOT_AN_IMAGE (not DICOM), MC_DATA_DICOM_TRUNCATED (pixel data cut short) or MC_DATA_DEID_FAILED (parse or
 * write failure), naming `file` only.
 */
export function deidentifyDicom(bytes: Uint8Array, file: string, key: Uint8Array, options: DeidOptionsInput = {}): DeidResult {
  const o = DeidOptions.parse(options);
  if (key.length < 16) throw new MedclassError('MC_DATA_DEID_FAILED', `de-identification key: expected ≥ 16 bytes, got ${key.length}`, { hint: 'use 32 random bytes' });
  const layout = sniffDicom(bytes);
  if (!layout) throw new MedclassError('MC_DATA_NOT_AN_IMAGE', `${file}: not a DICOM file`, { file });
  if (layout === 'no-meta') {
    throw new MedclassError('MC_DATA_DEID_FAILED', `${file}: DICOM without a file meta header is not de-identified`, { file, hint: 'convert it to a Part 10 file first (dcmconv)' });
  }
  const part10 = layout === 'part10' ? bytes : new Uint8Array([...new Uint8Array(128), ...bytes]);
  const lib = dcmjs() as unknown as DcmjsWrite;
  let parsed: { meta: Dict; dict: Dict };
  try {
    parsed = lib.data.DicomMessage.readFile(part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.length) as ArrayBuffer, { ignoreErrors: true });
  } catch (cause) {
    throw new MedclassError('MC_DATA_DEID_FAILED', `${file}: DICOM could not be parsed`, { file, cause });
  }
  const { dict, meta } = parsed;
  const extent = pixelDataExtent(part10, str(meta['00020010']) || '1.2.840.10008.1.2.1');
  if (extent && extent.length !== 0xffffffff && extent.offset + extent.length > part10.length) {
    // dcmjs pads a value cut short by the end of the file: writing it back would invent pixels.
    throw new MedclassError('MC_DATA_DICOM_TRUNCATED', `${file}: DICOM pixel data is truncated (${part10.length - extent.offset} of ${extent.length} bytes)`, { file, hint: 'copy or export the file again' });
  }
  const burnedIn = str(dict['00280301']).toUpperCase() === 'YES';
  if (burnedIn && o.burnedIn === 'refuse') {
    throw new MedclassError('MC_DATA_DEID_BURNED_IN', `${file}: BurnedInAnnotation is YES (identifiers may be burned into the pixels)`,
      { file, hint: 'clean the pixels first, or pass --include-burned-in to de-identify the tags anyway (the file is flagged)' });
  }
  const hmac = (label: string) => createHmac('sha256', key).update(label).digest();
  const patientKey = str(dict['00100020']) || `${str(dict['00100010'])}|${str(dict['00100030'])}|${str(dict['0020000D'])}`;
  const ctx: Ctx = {
    hmac, o, uids: new Map(),
    pseudonym: `MC${hmac(`patient:${patientKey}`).toString('hex').slice(0, 16).toUpperCase()}`,
    offsetDays: o.dates === 'shift' ? 1 + (hmac(`date-offset:${patientKey}`).readUInt32BE(0) % o.maxShiftDays) : 0,
  };
  const out = cleanDict(dict, ctx);
  out['00120062'] = { vr: 'CS', Value: ['YES'] };
  out['00120063'] = { vr: 'LO', Value: [o.dates === 'shift' ? 'medclass PS3.15 E.1 Basic Profile, Modified Dates' : 'medclass PS3.15 E.1 Basic Profile'] };
  out['00120064'] = { vr: 'SQ', Value: [code('113100', 'Basic Application Confidentiality Profile'), ...(o.dates === 'shift' ? [code('113107', 'Retain Longitudinal Temporal Information Modified Dates Option')] : [])] };
  out['00280303'] = { vr: 'CS', Value: [o.dates === 'shift' ? 'MODIFIED' : 'REMOVED'] };
  const sopClass = str(dict['00080016']) || str(meta['00020002']);
  const sop = str(out['00080018']) || uidFromDigest(hmac(`missing-sop:${file}`));
  const ts = str(meta['00020010']) || '1.2.840.10008.1.2.1';
  const newMeta: Dict = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [sopClass] },
    '00020003': { vr: 'UI', Value: [sop] },
    '00020010': { vr: 'UI', Value: [ts] },
    '00020012': { vr: 'UI', Value: [MEDCLASS_IMPLEMENTATION_UID] },
    '00020013': { vr: 'SH', Value: [MEDCLASS_IMPLEMENTATION_VERSION] },
  };
  let written: ArrayBuffer;
  try {
    const d = new lib.data.DicomDict(newMeta);
    d.dict = out;
    written = d.write({ allowInvalidVRLength: true });
  } catch (cause) {
    throw new MedclassError('MC_DATA_DEID_FAILED', `${file}: the de-identified DICOM could not be written`, { file, cause });
  }
  return {
    bytes: new Uint8Array(written), sopInstanceUid: sop, studyInstanceUid: str(out['0020000D']), uids: ctx.uids,
    patient: { id: str(dict['00100020']), pseudonym: ctx.pseudonym, dateOffsetDays: ctx.offsetDays }, burnedIn,
  };
}
