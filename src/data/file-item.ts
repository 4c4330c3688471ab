import { readFile } from 'node:fs/promises';
import { MedclassError } from '../errors.js';
import { decodeBytes } from './decode.js';
import type { ImageGuardOptions } from './options.js';
import type { DatasetItem, MetaValue, SplitName } from './types.js';

/** Reads a file, turning a missing file into MC_DATA_MISSING_FILE that names the relative id. */
export async function readItemFile(absPath: string, id: string): Promise<Uint8Array> {
  try {
    const b = await readFile(absPath);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MedclassError('MC_DATA_MISSING_FILE', `${id}: file does not exist`, { file: id, cause, hint: 'paths are relative to the dataset root or CSV folder' });
    if (code === 'EISDIR') throw new MedclassError('MC_DATA_NOT_AN_IMAGE', `${id}: is a directory`, { file: id, cause });
    throw new MedclassError('MC_DATA_UNREADABLE_IMAGE', `${id}: could not be read (${code ?? String(cause)})`, { file: id, cause });
  }
}

/**
 * An item backed by an image file; `id` is its path relative to the dataset root (no absolute paths leak). `load()`
 * decodes through the image guard (`guard`, defaults when absent), so a rejected image fails its own load only.
 */
export function fileItem(fields: {
  absPath: string; id: string; label: string; labelIndex: number; split?: SplitName; group?: string; meta?: Record<string, MetaValue>;
  guard?: ImageGuardOptions;
}): DatasetItem {
  const { absPath, guard, ...rest } = fields;
  const bytes = () => readItemFile(absPath, fields.id);
  return {
    ...rest,
    bytes,
    load: async () => decodeBytes(await bytes(), fields.id, guard),
  };
}
