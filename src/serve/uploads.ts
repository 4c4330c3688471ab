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

/** One raw body (`image/*`, `application/octet-stream`) or a JSON `{images: [{name?, data}]}` as named bytes. */
export function readUploads(body: unknown): Uploads {
  if (Buffer.isBuffer(body)) return { inputs: [{ name: 'image #1', bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) }], names: [undefined] };
  const images = (body as ImagesBody | undefined)?.images;
  if (!Array.isArray(images)) throw new MedclassError('MC_SERVE_BAD_REQUEST', 'body: expected image bytes or JSON {"images": [{"data": "<base64>"}]}');
  return {
    inputs: images.map((im, i) => ({ name: `image #${i + 1}`, bytes: new Uint8Array(Buffer.from(im.data.replace(/^data:[^,]*,/, ''), 'base64')) })),
    names: images.map((im) => im.name),
  };
}

/** Throws `MC_SERVE_BAD_IMAGE` (400) when no image of the request could be read, naming each one's data code. */
export function requireOneReadable(results: readonly { error?: { code: ErrorCode; message: string } | undefined }[]): void {
  if (results.length === 0 || results.some((r) => !r.error)) return;
  const why = results.map((r) => `${r.error!.code}: ${r.error!.message}`).join('; ');
  throw new MedclassError('MC_SERVE_BAD_IMAGE', results.length === 1 ? why : `none of the ${results.length} images could be read (${why})`);
}

/** `{index, name?}` of upload `i`, the start of every per-image result. */
export function itemHead(u: Uploads, i: number): { index: number; name?: string } {
  const name = u.names[i];
  return name === undefined ? { index: i } : { index: i, name };
}
