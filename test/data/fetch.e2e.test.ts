import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMedmnist, MEDMNIST_FILES, openSource } from '../../src/data/index.js';
import { isMedclassError } from '../../src/errors.js';

const FILE = new URL('../../../shared/data/breastmnist/BreastMNIST.npz', import.meta.url).pathname;
const bytes = readFileSync(FILE);
const md5 = createHash('md5').update(bytes).digest('hex');
let server: Server;
let base: string;
let hits = 0;
const dir = mkdtempSync(join(tmpdir(), 'medclass-fetch-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/breastmnist.npz') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('MedMNIST fetch over HTTP (local server on 127.0.0.1)', () => {
  it('downloads, verifies the MD5 and the file opens as a source; a second call does not download again', async () => {
    const events: number[] = [];
    const r = await fetchMedmnist('breastmnist', { dir, url: `${base}/breastmnist.npz`, md5, onEvent: (e) => e.type === 'progress' && events.push(e.done) });
    expect(r).toMatchObject({ downloaded: true, bytes: bytes.length, md5 });
    expect(events.at(-1)).toBe(bytes.length);
    expect(openSource(r.path).items.filter((i) => i.split === 'train')).toHaveLength(546);
    const before = hits;
    const again = await fetchMedmnist('breastmnist', { dir, url: `${base}/breastmnist.npz`, md5 });
    expect(again.downloaded).toBe(false);
    expect(hits).toBe(before);
  });

  it('rejects a file whose MD5 differs (this copy is not the official file) and keeps nothing', async () => {
    const d2 = join(dir, 'official');
    expect(MEDMNIST_FILES.breastmnist!.md5).not.toBe(md5);
    const err = await fetchMedmnist('breastmnist', { dir: d2, url: `${base}/breastmnist.npz` }).catch((e) => e);
    expect(isMedclassError(err, 'MC_DATA_CHECKSUM_MISMATCH')).toBe(true);
    expect((err as Error).message).toContain(`MD5 ${md5}`);
    expect(readdirSync(d2)).toEqual([]);
  });

  it('reports HTTP errors and unknown names with MC_DATA_DOWNLOAD_FAILED', async () => {
    const e404 = await fetchMedmnist('breastmnist', { dir: join(dir, 'x'), url: `${base}/nope.npz`, md5 }).catch((e) => e);
    expect(isMedclassError(e404, 'MC_DATA_DOWNLOAD_FAILED')).toBe(true);
    expect((e404 as Error).message).toContain('HTTP 404');
    const unknown = await fetchMedmnist('nosuchmnist', { dir }).catch((e) => e);
    expect(isMedclassError(unknown, 'MC_DATA_DOWNLOAD_FAILED')).toBe(true);
    expect(existsSync(join(dir, 'x', 'breastmnist.npz'))).toBe(false);
  });
});
