import { readFile } from 'node:fs/promises';
import { decodeBytes, describeFailure, mapLimit, preprocessImage, type ImageGuardOptions, type PreprocessConfig } from '../data/index.js';
import { MedclassError, type ErrorCode } from '../errors.js';

/**
 * An image to run a model on: a file path, uploaded bytes with a display name, or a named file path; the object
 * forms may carry their own image guard (pixel limit, minimum side; defaults otherwise).
 */
export type ImageInput = string
  | { name: string; bytes: Uint8Array; guard?: ImageGuardOptions }
  | { name: string; path: string; guard?: ImageGuardOptions };

/** A per-file failure: the file's display name, a catalogue code and a message. */
export interface InputError { code: ErrorCode; message: string }

/** Decoded inputs: one entry per input (its name, and an error when it failed), the rows that loaded as one batch. */
export interface DecodedInputs {
  entries: { name: string; error?: InputError }[];
  /** Indices into `entries` of the inputs that decoded, in batch order. */
  ok: number[];
  /** `[ok.length, C, H, W]` float32, preprocessed as the run was trained. */
  x: Float32Array;
}

async function readInput(f: ImageInput, name: string): Promise<Uint8Array> {
  if (typeof f !== 'string' && 'bytes' in f) return f.bytes;
  try {
    return new Uint8Array(await readFile(typeof f === 'string' ? f : f.path));
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new MedclassError(missing ? 'MC_DATA_MISSING_FILE' : 'MC_DATA_UNREADABLE_IMAGE', `${name}: ${missing ? 'no such file' : (cause as Error).message}`, { file: name, cause });
  }
}

/**
 * Reads and preprocesses images with bounded concurrency into one batch. Every image passes the image guard
 * (`decodeBytes`: pixel limit from the header before decoding, single frame, minimum side, EXIF orientation). A file
 * that is missing, refused by the guard or does not decode becomes an entry with an error (code + message) and the
 * rest go on.
 */
export async function decodeInputs(files: readonly ImageInput[], pre: PreprocessConfig, concurrency: number): Promise<DecodedInputs> {
  const per = pre.channels * pre.size * pre.size;
  const decoded = await mapLimit(files, concurrency, async (f) => {
    const name = typeof f === 'string' ? f : f.name;
    try {
      const img = await decodeBytes(await readInput(f, name), name, typeof f === 'string' ? undefined : f.guard);
      return { name, x: (await preprocessImage(img, pre, name)).data };
    } catch (e) {
      const d = describeFailure(e);
      return { name, error: { code: d.code, message: d.reason } };
    }
  });
  const ok = decoded.flatMap((d, i) => ('x' in d ? [i] : []));
  const x = new Float32Array(ok.length * per);
  ok.forEach((i, j) => x.set((decoded[i] as { x: Float32Array }).x, j * per));
  return { entries: decoded.map((d) => ('error' in d ? { name: d.name, error: d.error } : { name: d.name })), ok, x };
}
