import type { ImageGuardOptions } from '../data/index.js';
import type { ImageInput } from '../pipeline/index.js';
import { MedclassError, type ErrorCode } from '../errors.js';
import type { ImagesBody } from './schemas.js';

/**
 * The images of one request. Each is named `image #i` inside the server, so error messages and logs never carry
 * the client's file name; the client's own names come back only in its reply (`names`).
 */
export interface Uploads {
  inputs: ImageInput[];
  names: (string | undefined)[];
}

/**
 * One raw body (`image/*`, `application/octet-stream`) or a JSON `{images: [{name?, data}]}` as named bytes, each
 * carrying the server's image guard (pixel limit checked from the header before decoding, minimum side).
 */
export function readUploads(body: unknown, guard?: ImageGuardOptions): Uploads {
  const g = guard ? { guard } : {};
  if (Buffer.isBuffer(body)) return { inputs: [{ name: 'image #1', bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), ...g }], names: [undefined] };
  const images = (body as ImagesBody | undefined)?.images;
  if (!Array.isArray(images)) throw new MedclassError('MC_SERVE_BAD_REQUEST', 'body: expected image bytes or JSON {"images": [{"data": "<base64>"}]}');
  return {
    inputs: images.map((im, i) => ({ name: `image #${i + 1}`, bytes: new Uint8Array(Buffer.from(im.data.replace(/^data:[^,]*,/, ''), 'base64')), ...g })),
    names: images.map((im) => im.name),
  };
}

/** Guard codes that keep their own status when every image of a request fails with one of them (413, 422). */
const GUARD_CODES: readonly ErrorCode[] = ['MC_DATA_TOO_MANY_PIXELS', 'MC_DATA_IMAGE_TOO_SMALL', 'MC_DATA_MULTI_FRAME'];

/**
 * Throws when no image of the request could be read: the guard's own code (413 MC_DATA_TOO_MANY_PIXELS, 422
 * MC_DATA_IMAGE_TOO_SMALL / MC_DATA_MULTI_FRAME) when every image failed with that one code, else `MC_SERVE_BAD_IMAGE`
 * (400) naming each one's data code.
 */
export function requireOneReadable(results: readonly { error?: { code: ErrorCode; message: string } | undefined }[]): void {
  if (results.length === 0 || results.some((r) => !r.error)) return;
  const why = results.map((r) => `${r.error!.code}: ${r.error!.message}`).join('; ');
  const codes = new Set(results.map((r) => r.error!.code));
  const only = codes.size === 1 ? results[0]!.error!.code : undefined;
  if (only && GUARD_CODES.includes(only)) {
    throw new MedclassError(only, results.length === 1 ? results[0]!.error!.message : `none of the ${results.length} images could be read (${why})`);
  }
  throw new MedclassError('MC_SERVE_BAD_IMAGE', results.length === 1 ? why : `none of the ${results.length} images could be read (${why})`);
}

/** `{index, name?}` of upload `i`, the start of every per-image result. */
export function itemHead(u: Uploads, i: number): { index: number; name?: string } {
  const name = u.names[i];
  return name === undefined ? { index: i } : { index: i, name };
}
