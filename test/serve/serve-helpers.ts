// A small trained phantom run for the server tests, PNG files of some of its cases, and HTTP on 127.0.0.1 port 0.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { phantomSource } from '../../src/data/index.js';
import { runTraining } from '../../src/pipeline/index.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

// 400 lesion phantoms at 32 px, compact CNN, 6 epochs, seed 3 (as the retrieval test: ~10 s on one core, test ROC AUC ≈ 0.99).
export const SERVE_SOURCE = 'phantom:n=400,size=32';

/** Trains the run into a fresh temp folder (with bootstrap CIs and LAC/APS q̂ at α = 0.1); no index yet. */
export async function trainServeRun(name: string): Promise<{ runDir: string; out: string; cleanup: () => void }> {
  const out = mkdtempSync(join(tmpdir(), 'medclass-serve-'));
  const s = await runTraining({
    name, out, seed: 3, threads: 1,
    data: { source: SERVE_SOURCE, preprocess: { size: 32, channels: 1 } },
    fit: { epochs: 6, batchSize: 16 },
    eval: { bootstrap: 50, alpha: 0.1 },
  });
  return { runDir: s.runDir, out, cleanup: () => removeTempDir(out) };
}

/** Writes phantom items `indices` as grey PNGs `case-<i>.png` into `dir`; returns the paths. */
export async function writePhantomPngs(dir: string, indices: readonly number[]): Promise<string[]> {
  const src = phantomSource(SERVE_SOURCE);
  return Promise.all(indices.map(async (i) => {
    const img = await src.items[i]!.load();
    const file = join(dir, `case-${i}.png`);
    writeFileSync(file, await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 1 } }).png().toBuffer());
    return file;
  }));
}

/** Listens on an ephemeral port of 127.0.0.1 and returns the base URL. */
export async function listenLocal(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  if (!a || typeof a === 'string') throw new Error('server has no TCP address');
  return `http://127.0.0.1:${a.port}`;
}
