import { z } from 'zod';
import type { Batch, Dataset, OnDataEvent, PreprocessOptions } from '../data/index.js';

/** Images decoded and run at a time unless told otherwise: memory holds one chunk of float images, not a split. */
export const DEFAULT_LOAD_CHUNK = 512;

/** The `loadChunk` option of a command that passes over whole splits, described for its `--help`. */
export const loadChunkOption = (describe: string) => z.number().int().min(1).default(DEFAULT_LOAD_CHUNK).describe(describe);

/** What a chunked pass over a split gathered: each chunk's output in order, the labels and item indices that loaded, and files skipped. */
export interface ChunkedSplit<R> { outputs: R[]; labels: Int32Array; indices: number[]; skipped: { file: string; code: string; reason: string }[] }

/**
 * Decodes `indices` as float batches `chunk` images at a time and hands each batch that loaded anything to `use`, so
 * memory holds one chunk of float images rather than a whole split (`eval --data`, `index`). Skipped files are
 * collected; a `progress` event named `phase` follows each chunk.
 */
export async function forEachChunk<R>(ds: Dataset, indices: readonly number[], preprocess: PreprocessOptions, chunk: number, phase: string,
  use: (b: Batch) => Promise<R>, onEvent?: OnDataEvent): Promise<ChunkedSplit<R>> {
  const t0 = performance.now();
  const out: ChunkedSplit<R> = { outputs: [], labels: new Int32Array(0), indices: [], skipped: [] };
  const labels: number[] = [];
  for (let s = 0; s < indices.length; s += chunk) {
    const b = await ds.loadBatch(indices.slice(s, s + chunk), preprocess, { concurrency: 4, ...(onEvent ? { onEvent } : {}) });
    out.skipped.push(...b.skipped.map(({ file, code, reason }) => ({ file, code, reason })));
    if (b.labels.length) {
      out.outputs.push(await use(b));
      labels.push(...b.labels);
      out.indices.push(...b.indices);
    }
    onEvent?.({ type: 'progress', phase, done: Math.min(s + chunk, indices.length), total: indices.length, elapsedMs: performance.now() - t0 });
  }
  out.labels = Int32Array.from(labels);
  return out;
}
