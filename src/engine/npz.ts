import { unzipSync } from 'fflate';
import { MedclassError } from '../errors.js';
import type { DType, Tensor } from './tensor.js';

/** dtype codes of `.npy` headers that the engine reads, little-endian (and byte-sized) only. */
const NPY_DTYPES: Record<string, DType> = {
  '<f4': 'float32',
  '<i8': 'int64',
  '<i4': 'int32',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '|b1': 'bool',
};

/**
 * Reads a NumPy `.npz` archive (zip entries stored or deflated) into tensors keyed by array name (`.npy` dropped).
 * Supports little-endian float32, int64, int32, uint8 and bool, C order. `source` names the file in errors.
 */
export function readNpz(bytes: Uint8Array, source = 'archive.npz'): Map<string, Tensor> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (cause) {
    throw new MedclassError('MC_DATA_BAD_NPZ', `${source}: not a readable zip archive (${String(cause)})`, { file: source, cause });
  }
  const out = new Map<string, Tensor>();
  for (const [name, data] of Object.entries(entries)) {
    if (!name.endsWith('.npy')) continue;
    out.set(name.slice(0, -4), readNpy(data, `${source}:${name}`));
  }
  return out;
}

/** Parses one `.npy` buffer (format version 1–3). */
export function readNpy(buf: Uint8Array, source = 'array.npy'): Tensor {
  const bad = (why: string) => new MedclassError('MC_DATA_BAD_NPZ', `${source}: ${why}`, { file: source });
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') throw bad('missing NPY magic');
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw bad(`unreadable header ${header.trim()}`);
  if (fortran) throw bad('Fortran-ordered arrays are not supported');
  const dtype = NPY_DTYPES[descr];
  if (!dtype) throw bad(`dtype ${descr} is not supported`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const body = buf.slice(start + headerLen); // copy: aligned, and detached from the zip buffer
  const need = n * ({ float32: 4, int64: 8, int32: 4, uint8: 1, int8: 1, bool: 1 } as const)[dtype];
  if (body.byteLength < need) throw bad(`truncated: ${body.byteLength} bytes for ${need}`);
  const ab = body.buffer;
  switch (dtype) {
    case 'float32': return { dtype, dims, data: new Float32Array(ab, 0, n) };
    case 'int64': return { dtype, dims, data: new BigInt64Array(ab, 0, n) };
    case 'int32': return { dtype, dims, data: new Int32Array(ab, 0, n) };
    default: return { dtype, dims, data: new Uint8Array(ab, 0, n) };
  }
}
