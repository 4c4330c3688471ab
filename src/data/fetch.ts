import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MedclassError } from '../errors.js';
import type { OnDataEvent } from './types.js';

/** Official MedMNIST v2 28×28 files (MedMNIST `INFO`, v3.0 release on Zenodo record 10519652). */
export const MEDMNIST_FILES: Record<string, { url: string; md5: string }> = {
  pneumoniamnist: { url: 'https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1', md5: '28209eda62fecd6e6a2d98b1501bb15f' },
  breastmnist: { url: 'https://zenodo.org/records/10519652/files/breastmnist.npz?download=1', md5: '750601b1f35ba3300ea97c75c52ff8f6' },
  retinamnist: { url: 'https://zenodo.org/records/10519652/files/retinamnist.npz?download=1', md5: 'bd4c0672f1bba3e3a89f0e4e876791e4' },
  bloodmnist: { url: 'https://zenodo.org/records/10519652/files/bloodmnist.npz?download=1', md5: '7053d0359d879ad8a5505303e11de1dc' },
};

/** MD5 of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface FetchOptions {
  /** Folder to write `<name>.npz` into (created if missing). */
  dir: string;
  /** Download from here instead of the official URL (a mirror). */
  url?: string;
  /** Expected MD5; defaults to the official one for known names. */
  md5?: string;
  onEvent?: OnDataEvent;
}

/**
 * Downloads a MedMNIST `.npz` over HTTP(S) into `dir/<name>.npz`, hashing while streaming to a temporary file, then
 * renaming it into place only when the MD5 matches (a mismatch leaves nothing behind). A file already present with
 * the right MD5 is not downloaded again. Returns the path and whether a download happened.
 */
export async function fetchMedmnist(name: string, options: FetchOptions): Promise<{ path: string; md5: string; downloaded: boolean; bytes: number }> {
  const known = MEDMNIST_FILES[name.toLowerCase()];
  const url = options.url ?? known?.url;
  const expected = (options.md5 ?? known?.md5)?.toLowerCase();
  if (!url) {
    throw new MedclassError('MC_DATA_DOWNLOAD_FAILED', `${name}: unknown dataset and no --url given`, { hint: `known: ${Object.keys(MEDMNIST_FILES).join(', ')}` });
  }
  mkdirSync(options.dir, { recursive: true });
  const target = join(options.dir, `${name.toLowerCase()}.npz`);
  if (expected && existsSync(target) && (await md5File(target)) === expected) return { path: target, md5: expected, downloaded: false, bytes: 0 };
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (cause) {
    throw new MedclassError('MC_DATA_DOWNLOAD_FAILED', `${name}: request to ${url} failed (${String((cause as Error).cause ?? cause)})`, { cause, hint: 'check the network or pass a mirror with --url' });
  }
  if (!res.ok || !res.body) throw new MedclassError('MC_DATA_DOWNLOAD_FAILED', `${name}: ${url} answered HTTP ${res.status}`, { hint: 'check the URL or pass a mirror with --url' });
  const total = Number(res.headers.get('content-length') ?? 0);
  const tmp = `${target}.part-${process.pid}`;
  const hash = createHash('md5');
  const out = createWriteStream(tmp);
  const start = Date.now();
  let bytes = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      options.onEvent?.({ type: 'progress', phase: `fetch ${name}`, done: bytes, total: total || bytes, elapsedMs: Date.now() - start });
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (cause) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw new MedclassError('MC_DATA_DOWNLOAD_FAILED', `${name}: download from ${url} broke off after ${bytes} bytes (${String(cause)})`, { cause });
  }
  const md5 = hash.digest('hex');
  if (total && bytes !== total) {
    rmSync(tmp, { force: true });
    throw new MedclassError('MC_DATA_DOWNLOAD_FAILED', `${name}: got ${bytes} of ${total} bytes from ${url}`);
  }
  if (expected && md5 !== expected) {
    rmSync(tmp, { force: true });
    throw new MedclassError('MC_DATA_CHECKSUM_MISMATCH', `${name}: MD5 ${md5} of the ${bytes} bytes from ${url}, expected ${expected}; nothing was kept`, { hint: 'retry, or pass --md5 for a known re-packaging' });
  }
  renameSync(tmp, target);
  return { path: target, md5, downloaded: true, bytes };
}
