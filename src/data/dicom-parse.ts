import { createRequire } from 'node:module';
import { MedclassError } from '../errors.js';

/**
 * DICOM Part 10 parsing with dcmjs: sniffing (with or without the 128-byte preamble, with or without a file meta
 * header), the naturalised dataset and its transfer syntax. No tag value ever goes into an error message: messages
 * name the file (its relative id), the transfer syntax UID and sizes only.
 */

/** The shape of a naturalised dcmjs dataset as this layer reads it (keywords → values). */
export type DicomElements = Record<string, unknown>;

interface Dcmjs {
  log: { setLevel(l: string): void; getLogger(name: string): { setLevel(l: string): void } };
  data: {
    DicomMessage: { readFile(b: ArrayBuffer, o?: Record<string, unknown>): { meta: object; dict: object } };
    DicomMetaDictionary: { naturalizeDataset(d: object): DicomElements };
  };
}

const require = createRequire(import.meta.url);
let dcmjsLib: Dcmjs | undefined;

/**
 * dcmjs, loaded on first use as the same CommonJS instance dcmjs-imaging requires, with its loggers silenced
 * (dcmjs writes parser warnings such as "Invalid vr type" to the console, and no library code may).
 */
export function dcmjs(): Dcmjs {
  if (!dcmjsLib) {
    dcmjsLib = require('dcmjs') as Dcmjs;
    dcmjsLib.log.setLevel('silent');
    for (const name of ['validation.dcmjs', 'dcmjs']) dcmjsLib.log.getLogger(name).setLevel('silent');
  }
  return dcmjsLib;
}

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';

/** How the DICOM bytes are laid out: Part 10 with preamble, Part 10 without preamble, or a bare dataset (no meta). */
export type DicomLayout = 'part10' | 'no-preamble' | 'no-meta';

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));
const VRS = new Set('AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '));
const isVr = (b: Uint8Array, at: number) => VRS.has(ascii(b, at, 2));

/**
 * Whether the bytes are DICOM and how they are laid out: `DICM` at offset 128 (Part 10), `DICM` at offset 0
 * (preamble stripped), or a bare little-endian dataset starting at group 0008 (no file meta header; explicit VR when
 * the first element carries a VR, implicit otherwise).
 */
export function sniffDicom(b: Uint8Array): DicomLayout | undefined {
  if (b.length >= 132 && ascii(b, 128, 4) === 'DICM') return 'part10';
  if (b.length >= 4 && ascii(b, 0, 4) === 'DICM') return 'no-preamble';
  return bareDatasetStart(b) === undefined ? undefined : 'no-meta';
}

/**
 * Where a bare little-endian dataset (no preamble, no meta) starts: its first element is (0008,00xx) followed by
 * a VR (explicit) or a short 32-bit length (implicit). Explicit datasets may follow up to 7 stray bytes — pydicom's
 * `no_meta.dcm` begins with one (0x20, the last byte of the meta group it was cut from).
 */
function bareDatasetStart(b: Uint8Array): number | undefined {
  const group8 = (at: number) => b[at] === 0x08 && b[at + 1] === 0x00 && b[at + 3] === 0x00;
  for (let at = 0; at < 8 && at + 12 <= b.length; at++) if (group8(at) && isVr(b, at + 4)) return at;
  if (b.length >= 12 && group8(0) && b[6] === 0 && b[7] === 0) return 0; // implicit VR: length < 65536
  return undefined;
}

/** A minimal file meta group — (0002,0000) group length and (0002,0010) transfer syntax — in explicit VR little endian. */
function metaGroup(transferSyntax: string): Uint8Array {
  const uid = transferSyntax.length % 2 ? `${transferSyntax}\0` : transferSyntax;
  const out = new Uint8Array(12 + 8 + uid.length);
  const v = new DataView(out.buffer);
  out.set([0x02, 0x00, 0x00, 0x00, 0x55, 0x4c], 0); // (0002,0000) UL
  v.setUint16(6, 4, true);
  v.setUint32(8, 8 + uid.length, true);
  out.set([0x02, 0x00, 0x10, 0x00, 0x55, 0x49], 12); // (0002,0010) UI
  v.setUint16(18, uid.length, true);
  for (let i = 0; i < uid.length; i++) out[20 + i] = uid.charCodeAt(i);
  return out;
}

/** The bytes as a Part 10 file (preamble + DICM + meta) that dcmjs reads. */
function asPart10(b: Uint8Array, layout: DicomLayout): ArrayBuffer {
  if (layout === 'part10') return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  const head = new Uint8Array(132);
  head.set([0x44, 0x49, 0x43, 0x4d], 128);
  const start = bareDatasetStart(b) ?? 0;
  const parts = layout === 'no-preamble' ? [head.subarray(0, 128), b] : [head, metaGroup(isVr(b, start + 4) ? EXPLICIT_LE : IMPLICIT_LE), b.subarray(start)];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out.buffer;
}

/** A parsed DICOM file: naturalised elements (keywords as keys) and the transfer syntax UID. */
export interface ParsedDicom {
  readonly layout: DicomLayout;
  readonly transferSyntax: string;
  readonly elements: DicomElements;
}

/**
 * Parses DICOM bytes with dcmjs. `headerOnly` stops before the pixel data (for metadata). Malformed files reject
 * with MC_DATA_UNREADABLE_IMAGE naming `file`; bytes that are not DICOM with MC_DATA_NOT_AN_IMAGE.
 */
export function parseDicom(bytes: Uint8Array, file: string, headerOnly = false): ParsedDicom {
  const layout = sniffDicom(bytes);
  if (!layout) throw new MedclassError('MC_DATA_NOT_AN_IMAGE', `${file}: not a DICOM file (no DICM marker, no bare dataset)`, { file });
  const lib = dcmjs();
  try {
    const opts = headerOnly ? { untilTag: '7FE00010', includeUntilTagValue: false } : {};
    const d = lib.data.DicomMessage.readFile(asPart10(bytes, layout), { ignoreErrors: true, noCopy: false, forceStoreRaw: false, ...opts });
    const meta = lib.data.DicomMetaDictionary.naturalizeDataset(d.meta);
    const ts = typeof meta.TransferSyntaxUID === 'string' ? meta.TransferSyntaxUID.replace(/\0+$/, '').trim() : IMPLICIT_LE;
    return { layout, transferSyntax: ts, elements: lib.data.DicomMetaDictionary.naturalizeDataset(d.dict) };
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 120) : 'parse error';
    throw new MedclassError('MC_DATA_UNREADABLE_IMAGE', `${file}: DICOM could not be parsed (${why})`, { file, cause, hint: 're-export the file; it is skipped meanwhile' });
  }
}

/**
 * The declared length and byte offset of the top-level Pixel Data (7FE0,0010) value, found by scanning back from the
 * end of the file (it is the last top-level element in practice), or undefined when absent.
 */
export function pixelDataExtent(b: Uint8Array, transferSyntax: string): { offset: number; length: number } | undefined {
  const be = transferSyntax === EXPLICIT_BE;
  const implicit = transferSyntax === IMPLICIT_LE;
  const tag = be ? [0x7f, 0xe0, 0x00, 0x10] : [0xe0, 0x7f, 0x10, 0x00];
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = b.length - 8; i >= 0; i--) {
    if (b[i] !== tag[0] || b[i + 1] !== tag[1] || b[i + 2] !== tag[2] || b[i + 3] !== tag[3]) continue;
    if (implicit) return { offset: i + 8, length: v.getUint32(i + 4, true) };
    if (i + 12 > b.length || !/^(O[BWDFLV]|UN)$/.test(ascii(b, i + 4, 2))) continue;
    return { offset: i + 12, length: v.getUint32(i + 8, !be) };
  }
  return undefined;
}

/**
 * Walks the encapsulated fragments from `offset` (the first item tag after the Pixel Data header): items
 * (FFFE,E000) with their lengths up to the sequence delimiter (FFFE,E0DD). Returns the fragment count, or why the
 * walk failed: an item running past the end of the file, or no delimiter before it.
 */
export function walkFragments(b: Uint8Array, offset: number): { items: number } | { error: string } {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  let at = offset;
  let items = 0;
  while (at + 8 <= b.length) {
    const group = v.getUint16(at, true);
    const element = v.getUint16(at + 2, true);
    const len = v.getUint32(at + 4, true);
    if (group !== 0xfffe) return { error: `fragment ${items} has no item tag` };
    if (element === 0xe0dd) return { items };
    if (element !== 0xe000) return { error: `fragment ${items} has no item tag` };
    if (at + 8 + len > b.length) return { error: `fragment ${items} declares ${len} bytes, ${b.length - at - 8} remain` };
    at += 8 + len;
    items++;
  }
  return { error: `${items} fragment(s) and no sequence delimiter before the end of the file` };
}
