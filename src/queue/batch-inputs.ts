import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { describeFailure, openSource, type DatasetItem } from '../data/index.js';
import { MedclassError, type ErrorCode } from '../errors.js';

/** One input of a batch: its source (index into the batch's sources) and its id within that source. */
export type BatchEntry = readonly [source: number, id: string];

/** A source of a batch: the path or spec as given (for the CSV) and its absolute form (what workers open). */
export interface BatchSourceRef { name: string; spec: string }

interface OpenedSource { items: Map<string, () => Promise<Uint8Array>> }

const IMAGE_FILE = /\.(png|jpe?g|tiff?|bmp|gif|webp)$/i;

/** The absolute spec of a source as a worker on another machine opens it (shared folder at the same path). */
export function sourceRef(spec: string): BatchSourceRef {
  return { name: spec, spec: /^phantom(:|$)/.test(spec) ? spec : resolve(spec) };
}

function fileEntries(path: string): OpenedSource {
  return { items: new Map([[basename(path), async () => new Uint8Array(await readFile(path))]]) };
}

/** Every visible file below `dir` (sorted), for a folder without class sub-folders. */
function flatFolder(dir: string, files: string[]): OpenedSource {
  return { items: new Map(files.map((f) => [relative(dir, f).split('\\').join('/'), async () => new Uint8Array(await readFile(f))])) };
}

async function itemBytes(item: DatasetItem): Promise<Uint8Array> {
  if (item.bytes) return item.bytes();
  // npz and phantom items have pixels only: a lossless PNG goes through the same decode as an image file.
  const img = await item.load();
  return new Uint8Array(await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } }).png().toBuffer());
}

function open(spec: string): OpenedSource {
  if (!/^phantom(:|$)/.test(spec) && existsSync(spec) && statSync(spec).isFile() && IMAGE_FILE.test(spec)) return fileEntries(spec);
  try {
    const src = openSource(spec);
    return { items: new Map(src.items.map((it) => [it.id, () => itemBytes(it)])) };
  } catch (e) {
    if (existsSync(spec) && statSync(spec).isDirectory()) {
      const files = listFiles(spec);
      if (files.length) return flatFolder(spec, files);
    }
    throw e;
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const p = `${d}/${name}`;
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Opens batch sources for reading inputs by id, caching each opened source (a worker handles many chunks of the
 * same folder). Any source `openSource` reads (image folder, CSV manifest, DICOM folder or file, npz, phantom:), a
 * single image file, or a folder of images without class sub-folders.
 */
export class BatchInputs {
  private readonly cache = new Map<string, OpenedSource>();

  private get(spec: string): OpenedSource {
    let s = this.cache.get(spec);
    if (!s) { s = open(spec); this.cache.set(spec, s); }
    return s;
  }

  /** The ids of a source, in its own order. */
  ids(spec: string): string[] { return [...this.get(spec).items.keys()]; }

  /** The bytes of one input named by its id (an `ImageInput`), or its coded failure (missing, unreadable). */
  async input(spec: string, id: string): Promise<{ name: string; bytes: Uint8Array } | { error: { code: ErrorCode; message: string } }> {
    const read = this.get(spec).items.get(id);
    try {
      if (!read) throw new MedclassError('MC_DATA_MISSING_FILE', `${id}: not in ${basename(spec)} any more`, { file: id });
      return { name: id, bytes: await read() };
    } catch (e) {
      const d = describeFailure(e);
      return { error: { code: d.code, message: d.reason } };
    }
  }
}
